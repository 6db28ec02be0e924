//! JPEG quantisation and frame tables, read from the source: the quality estimate that
//! re-encoding and re-rendered previews use, and the component count.

use img_parts::{jpeg::Jpeg, Bytes};

/// libjpeg's standard luminance quantisation table (quality 50).
const STD_LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// Estimate the libjpeg quality of a JPEG from its first (luminance) quantisation table.
pub fn jpeg_quality(src: &[u8]) -> Option<u8> {
    let j = Jpeg::from_bytes(Bytes::copy_from_slice(src)).ok()?;
    let dqt = j.segments_by_marker(0xDB).next()?;
    let c = dqt.contents();
    let pq = c.first()? >> 4;
    let vals: Vec<u32> = if pq == 0 {
        c.get(1..65)?.iter().map(|&v| v as u32).collect()
    } else {
        c.get(1..129)?
            .chunks(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]) as u32)
            .collect()
    };
    let sum: u32 = vals.iter().sum();
    let std: u32 = STD_LUMA.iter().map(|&v| v as u32).sum();
    let scale = sum as f64 * 100.0 / std as f64;
    let q = if scale <= 100.0 {
        (200.0 - scale) / 2.0
    } else {
        5000.0 / scale
    };
    Some(q.round().clamp(1.0, 100.0) as u8)
}

/// Number of colour components in a JPEG's frame header (`None` when there is none).
pub fn jpeg_components(src: &[u8]) -> Option<u8> {
    let j = Jpeg::from_bytes(Bytes::copy_from_slice(src)).ok()?;
    let sof = j
        .segments()
        .iter()
        .find(|s| matches!(s.marker(), 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF))?;
    sof.contents().get(5).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::DynamicImage;

    #[test]
    fn quality_estimate_round_trips() {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 64, |x, y| {
            image::Rgb([x as u8 * 4, y as u8 * 4, 128])
        }));
        for q in [60u8, 80, 90, 95] {
            let mut b = Vec::new();
            img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
                &mut b, q,
            ))
            .unwrap();
            let est = jpeg_quality(&b).unwrap();
            assert!((est as i32 - q as i32).abs() <= 1, "q {q} estimated {est}");
        }
    }
}

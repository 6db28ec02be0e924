//! Decoding: file bytes → stored pixels, the EXIF orientation (applied for detection only),
//! and a list of the metadata the file carries. The format is read from the content, never
//! trusted from the name; a header is checked against size limits before any pixel buffer
//! is allocated (decompression bombs).

use crate::error::FileErrorKind;
use crate::formats::refused;
use anyhow::{bail, Context};
use image::{metadata::Orientation, DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use serde::Serialize;
use std::io::Cursor;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jpeg,
    Png,
    Tiff,
}

impl Format {
    pub fn as_str(&self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Tiff => "tiff",
        }
    }
    fn of_name(p: &Path) -> Option<Format> {
        match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" | "jpe" => Some(Format::Jpeg),
            "png" => Some(Format::Png),
            "tif" | "tiff" => Some(Format::Tiff),
            _ => None,
        }
    }
}

/// Limits checked on the header, before decoding.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Limits {
    /// Largest image decoded whole in memory, in megapixels.
    pub max_megapixels: f64,
    /// Largest tiled/striped TIFF processed tile by tile (bounded memory), in megapixels.
    pub max_megapixels_tiled: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_megapixels: 300.0,
            max_megapixels_tiled: 5000.0,
        }
    }
}

#[derive(Debug)]
pub struct Decoded {
    /// Pixels as stored in the file (orientation not applied).
    pub image: DynamicImage,
    pub format: Format,
    /// EXIF orientation; detection runs on the upright image, redaction on stored pixels.
    pub orientation: Orientation,
    /// Metadata kinds found in the file (e.g. "exif", "xmp", "icc").
    pub metadata: Vec<String>,
}

impl Decoded {
    /// The picture as the camera meant it to be seen (orientation applied), as RGB8: what
    /// the detectors look at.
    pub fn upright_rgb(&self) -> image::RgbImage {
        let mut up = DynamicImage::ImageRgb8(match &self.image {
            DynamicImage::ImageRgb32F(_) | DynamicImage::ImageRgba32F(_) => {
                float_to_rgb8(&self.image)
            }
            other => other.to_rgb8(),
        });
        up.apply_orientation(self.orientation);
        up.into_rgb8()
    }

    /// [`Decoded::upright_rgb`] without a copy when the decoded picture already is upright
    /// RGB8 (most camera JPEGs): what the detectors read.
    pub fn upright(&self) -> std::borrow::Cow<'_, image::RgbImage> {
        match (&self.image, self.orientation) {
            (DynamicImage::ImageRgb8(rgb), Orientation::NoTransforms) => {
                std::borrow::Cow::Borrowed(rgb)
            }
            _ => std::borrow::Cow::Owned(self.upright_rgb()),
        }
    }
}

/// A float picture as RGB8 for the detectors: samples in [0, 1] (the usual range) as the
/// image crate converts them; any other range (reflectance, radiance, HDR) stretched from
/// its smallest to its largest finite sample, so the picture is not clipped to white.
fn float_to_rgb8(img: &DynamicImage) -> image::RgbImage {
    let rgb = img.to_rgb32f();
    let (lo, hi) = rgb
        .as_raw()
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo >= 0.0 && hi <= 1.0 || lo > hi {
        (0.0, 1.0)
    } else {
        (lo, hi)
    };
    let span = if hi > lo { hi - lo } else { 1.0 };
    let px = rgb
        .as_raw()
        .iter()
        .map(|&v| {
            if v.is_finite() {
                ((v - lo) / span * 255.0).round().clamp(0.0, 255.0) as u8
            } else {
                0
            }
        })
        .collect();
    image::RgbImage::from_raw(rgb.width(), rgb.height(), px).unwrap_or_default()
}

/// Refuse a file whose extension names another format than its content.
pub fn check_name(format: Format, name: &Path) -> anyhow::Result<()> {
    if let Some(named) = Format::of_name(name) {
        if named != format {
            return Err(refused(
                FileErrorKind::Unsupported,
                format!(
                    "content is {} but the name says {}: rename the file so its extension matches",
                    format.as_str().to_uppercase(),
                    named.as_str().to_uppercase()
                ),
            ));
        }
    }
    Ok(())
}

/// Decode `bytes` read from `name`.
pub fn decode(bytes: &[u8], name: &Path, limits: &Limits) -> anyhow::Result<Decoded> {
    let (fmt, format) = sniff(bytes)?;
    check_name(format, name)?;
    if format == Format::Jpeg {
        check_jpeg_complete(bytes)?;
    }
    if format == Format::Png {
        check_png_chunks(bytes)?;
    }
    if format == Format::Jpeg && crate::formats::jpeg::lossless::is_arithmetic(bytes) {
        return decode_arithmetic(bytes, format, limits);
    }
    let (image, orientation) = decode_image(bytes, fmt, limits)?;
    Ok(Decoded {
        image: supported_pixels(image)?,
        format,
        orientation,
        metadata: metadata_kinds(bytes, format),
    })
}

/// The format of `bytes` from their content: JPEG, PNG or TIFF, else refused.
fn sniff(bytes: &[u8]) -> anyhow::Result<(ImageFormat, Format)> {
    if bytes.is_empty() {
        bail!("empty file (0 bytes)");
    }
    let fmt = image::guess_format(bytes).map_err(|_| {
        refused(
            FileErrorKind::Unsupported,
            "not a JPEG, PNG or TIFF image (unrecognised content)",
        )
    })?;
    let format = match fmt {
        ImageFormat::Jpeg => Format::Jpeg,
        ImageFormat::Png => Format::Png,
        ImageFormat::Tiff => Format::Tiff,
        other => {
            return Err(refused(
                FileErrorKind::Unsupported,
                format!("content is {other:?}, which pixla does not redact (JPEG, PNG, TIFF)"),
            ))
        }
    };
    Ok((fmt, format))
}

/// A `w`×`h` image is not empty and within `--max-megapixels`: checked from the header,
/// before decoding.
fn check_size(limits: &Limits, w: u32, h: u32) -> anyhow::Result<()> {
    if w == 0 || h == 0 {
        bail!("image has zero width or height");
    }
    let mp = w as f64 * h as f64 / 1e6;
    if mp > limits.max_megapixels {
        return Err(refused(FileErrorKind::Limit, format!("image is {w}x{h} ({mp:.0} MP), over the limit of {:.0} MP (--max-megapixels): refused before decoding", limits.max_megapixels)));
    }
    Ok(())
}

/// The image crate's decoder does not read arithmetic coding: libjpeg does (built with its
/// arithmetic decoder); the lossless path refuses these files, so a file with something to
/// hide takes the re-encode path.
fn decode_arithmetic(bytes: &[u8], format: Format, limits: &Limits) -> anyhow::Result<Decoded> {
    let image =
        crate::formats::jpeg::lossless::decode_pixels(bytes, |w, h| check_size(limits, w, h))
            .context("cannot decode the arithmetic-coded JPEG")?;
    let orientation = exif_orientation(bytes).unwrap_or(Orientation::NoTransforms);
    Ok(Decoded {
        image,
        format,
        orientation,
        metadata: metadata_kinds(bytes, format),
    })
}

/// Pixels and EXIF orientation by the image crate, its allocations bounded by the limits.
fn decode_image(
    bytes: &[u8],
    fmt: ImageFormat,
    limits: &Limits,
) -> anyhow::Result<(DynamicImage, Orientation)> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), fmt);
    let mut lim = image::Limits::default();
    let max_px = (limits.max_megapixels * 1e6) as u64;
    lim.max_alloc = Some(max_px.saturating_mul(8).max(64 << 20));
    reader.limits(lim);
    let mut decoder = reader
        .into_decoder()
        .context("cannot read the image header")?;
    let (w, h) = decoder.dimensions();
    check_size(limits, w, h)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder)
        .context("cannot decode the image data (truncated or corrupt?)")?;
    Ok((image, orientation))
}

/// The pixel types pixla redacts and writes back; any other is refused.
fn supported_pixels(image: DynamicImage) -> anyhow::Result<DynamicImage> {
    Ok(match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_)
        | DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_)
        | DynamicImage::ImageRgb16(_)
        | DynamicImage::ImageRgba16(_)
        // float RGB(A) TIFF: redacted and re-encoded in its own float format; the detectors
        // see it scaled to 8 bits ([`Decoded::upright_rgb`])
        | DynamicImage::ImageRgb32F(_)
        | DynamicImage::ImageRgba32F(_) => image,
        other => return Err(refused(FileErrorKind::Unsupported, format!("unsupported pixel type {:?}", other.color()))),
    })
}

/// JPEG decoders fill a truncated scan with grey and report success; a file cut short would
/// then be "redacted" with part of it missing. Require an end-of-image marker after the first
/// start-of-scan.
fn check_jpeg_complete(bytes: &[u8]) -> anyhow::Result<()> {
    let mut i = 2;
    // walk the marker segments up to the first SOS
    let sos = loop {
        if i + 4 > bytes.len() || bytes[i] != 0xFF {
            bail!("corrupt JPEG: broken marker structure at byte {i}");
        }
        let m = bytes[i + 1];
        if m == 0xFF {
            i += 1;
            continue;
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        if m == 0xDA {
            break i;
        }
        i += 2 + len;
    };
    if !bytes[sos..].windows(2).any(|w| w == [0xFF, 0xD9]) {
        bail!("truncated JPEG: no end-of-image marker after the image data");
    }
    Ok(())
}

/// Largest size one compressed metadata stream (a PNG `iCCP`, `zTXt` or `iTXt` chunk) may
/// inflate to. ICC profiles and text are a few hundred kB at most; a small chunk that
/// inflates to gigabytes is a decompression bomb, and a decoder would hold all of it.
pub const MAX_INFLATED_BYTES: u64 = 16 << 20;

/// Inflate the zlib stream `z` into nothing, stopping past `limit` bytes (bounded work and
/// memory): an error naming the limit when it inflates to more. Corrupt data is not an
/// error here (the decoder judges it).
pub fn check_inflated(z: &[u8], limit: u64, what: &str) -> anyhow::Result<()> {
    use std::io::Read;
    let mut d = flate2::read::ZlibDecoder::new(z).take(limit + 1);
    let n = std::io::copy(&mut d, &mut std::io::sink()).unwrap_or(0);
    if n > limit {
        return Err(refused(FileErrorKind::Limit, format!("{what} inflates to more than {} MB, the limit for compressed metadata (a decompression bomb?): refused", limit >> 20)));
    }
    Ok(())
}

/// The PNG chunk walk before decoding: an animated PNG (APNG: an `acTL` chunk before the
/// image data) decodes as its first frame only, and redacting that frame would leave the
/// others unexamined: refused, like a multi-page TIFF (fail closed). Every compressed
/// metadata chunk (`iCCP`, `zTXt`, compressed `iTXt`) must inflate to at most
/// [`MAX_INFLATED_BYTES`]: the decoder inflates the ICC profile whole.
fn check_png_chunks(bytes: &[u8]) -> anyhow::Result<()> {
    let mut i = 8;
    let mut idat = false;
    while i + 8 <= bytes.len() {
        let len = u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize;
        let kind = &bytes[i + 4..i + 8];
        let body = bytes
            .get(i + 8..(i + 8).saturating_add(len))
            .unwrap_or(&bytes[(i + 8).min(bytes.len())..]);
        // keyword\0, then what follows it
        let rest = body
            .iter()
            .position(|&b| b == 0)
            .map(|k| &body[k + 1..])
            .unwrap_or(&[]);
        let name = String::from_utf8_lossy(kind).into_owned();
        match kind {
            b"acTL" if !idat => {
                let frames = bytes
                    .get(i + 8..i + 12)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                    .unwrap_or(0);
                return Err(refused(FileErrorKind::Unsupported, format!("animated PNG (APNG, {frames} frames): pixla would redact only the first frame and leave the others unexamined; export the frames as separate images")));
            }
            b"IDAT" => idat = true,
            b"IEND" => return Ok(()),
            // method byte, then the zlib stream
            b"iCCP" | b"zTXt" if !rest.is_empty() => {
                check_inflated(&rest[1..], MAX_INFLATED_BYTES, &format!("PNG {name} chunk"))?
            }
            b"iTXt" if rest.first() == Some(&1) => {
                // flag, method, language\0, translated keyword\0, text
                let after = |b: &[u8]| b.iter().position(|&x| x == 0).map(|k| k + 1);
                let text = rest
                    .get(2..)
                    .and_then(|r| after(r).and_then(|l| after(&r[l..]).map(|t| &r[l + t..])));
                if let Some(t) = text {
                    check_inflated(t, MAX_INFLATED_BYTES, "PNG iTXt chunk")?;
                }
            }
            _ => {}
        }
        i = i.saturating_add(12).saturating_add(len);
    }
    Ok(())
}

/// Where a PNG's `IEND` chunk ends: what follows it is no part of the image.
pub fn png_end(bytes: &[u8]) -> Option<usize> {
    let mut i = 8;
    while i + 12 <= bytes.len() {
        let len = u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize;
        let end = i.checked_add(12)?.checked_add(len)?;
        if &bytes[i + 4..i + 8] == b"IEND" {
            return (end <= bytes.len()).then_some(end);
        }
        i = end;
    }
    None
}

fn exif_orientation(bytes: &[u8]) -> Option<Orientation> {
    let j = img_parts::jpeg::Jpeg::from_bytes(img_parts::Bytes::copy_from_slice(bytes)).ok()?;
    let seg = j
        .segments()
        .iter()
        .find(|s| s.marker() == 0xE1 && s.contents().starts_with(b"Exif\0\0"))?;
    Orientation::from_exif_chunk(&seg.contents()[6..])
}

/// Which metadata a file carries, by segment/chunk/tag.
pub fn metadata_kinds(bytes: &[u8], format: Format) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        if !v.iter().any(|x| x == s) {
            v.push(s.to_string())
        }
    };
    match format {
        Format::Jpeg => {
            if let Ok(j) =
                img_parts::jpeg::Jpeg::from_bytes(img_parts::Bytes::copy_from_slice(bytes))
            {
                for s in j.segments() {
                    let c = s.contents();
                    match s.marker() {
                        0xE1 if c.starts_with(b"Exif\0") => add("exif"),
                        0xE1 if c.starts_with(b"http://ns.adobe.com/xap/1.0/") => add("xmp"),
                        0xE1 if c.starts_with(b"http://ns.adobe.com/xmp/extension/") => {
                            add("xmp-extended")
                        }
                        0xE2 if c.starts_with(b"ICC_PROFILE") => add("icc"),
                        0xE2 if c.starts_with(b"MPF") => add("mpf"),
                        0xED => add("iptc"),
                        0xFE => add("comment"),
                        _ => {}
                    }
                }
            }
        }
        Format::Png => {
            if let Ok(p) = img_parts::png::Png::from_bytes(img_parts::Bytes::copy_from_slice(bytes))
            {
                for c in p.chunks() {
                    match &c.kind() {
                        b"eXIf" => add("exif"),
                        b"iCCP" => add("icc"),
                        b"iTXt" if c.contents().starts_with(b"XML:com.adobe.xmp") => add("xmp"),
                        b"tEXt" | b"zTXt" | b"iTXt" => add("text"),
                        _ => {}
                    }
                }
            }
        }
        Format::Tiff => add("tiff-tags"),
    }
    v
}

/// Map a box from display (orientation applied) coordinates back to stored pixels.
/// `w, h` are the stored image's dimensions.
pub fn box_to_stored(b: crate::geom::BoxF, o: Orientation, w: u32, h: u32) -> crate::geom::BoxF {
    let (ax, ay) = point_to_stored(b.x1, b.y1, o, w, h);
    let (bx, by) = point_to_stored(b.x2, b.y2, o, w, h);
    crate::geom::BoxF::new(ax.min(bx), ay.min(by), ax.max(bx), ay.max(by))
}

/// A point of the upright (displayed) picture → the same point in the stored pixels of a
/// `w`×`h` (stored) image.
pub fn point_to_stored(x: f32, y: f32, o: Orientation, w: u32, h: u32) -> (f32, f32) {
    let (w, h) = (w as f32, h as f32);
    match o {
        Orientation::NoTransforms => (x, y),
        Orientation::FlipHorizontal => (w - x, y),
        Orientation::FlipVertical => (x, h - y),
        Orientation::Rotate180 => (w - x, h - y),
        // rotate90 (clockwise) maps stored (x, y) to display (h − y, x)
        Orientation::Rotate90 => (y, h - x),
        // rotate270 maps stored (x, y) to display (y, w − x)
        Orientation::Rotate270 => (w - y, x),
        // rotate90 then flip: display (x, y) = rot90 at (h − x, y)
        Orientation::Rotate90FlipH => (y, x),
        Orientation::Rotate270FlipH => (w - y, h - x),
    }
}

/// The EXIF Orientation tag value (1-8) of `o`.
pub fn orientation_code(o: image::metadata::Orientation) -> u8 {
    use image::metadata::Orientation::*;
    match o {
        NoTransforms => 1,
        FlipHorizontal => 2,
        Rotate180 => 3,
        FlipVertical => 4,
        Rotate90FlipH => 5,
        Rotate90 => 6,
        Rotate270FlipH => 7,
        Rotate270 => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geom::BoxF;
    use image::{Rgb, RgbImage};

    /// For every orientation, a marked block found in the upright image maps back onto the
    /// same block in the stored pixels.
    #[test]
    fn boxes_map_back_for_all_eight_orientations() {
        let (w, h) = (40u32, 24u32);
        let (bx, by, bw, bh) = (5u32, 3u32, 7u32, 4u32);
        let stored = RgbImage::from_fn(w, h, |x, y| {
            if x >= bx && x < bx + bw && y >= by && y < by + bh {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 0])
            }
        });
        for o in [
            Orientation::NoTransforms,
            Orientation::Rotate90,
            Orientation::Rotate180,
            Orientation::Rotate270,
            Orientation::FlipHorizontal,
            Orientation::FlipVertical,
            Orientation::Rotate90FlipH,
            Orientation::Rotate270FlipH,
        ] {
            let mut d = DynamicImage::ImageRgb8(stored.clone());
            d.apply_orientation(o);
            let d = d.to_rgb8();
            let red: Vec<(u32, u32)> = d
                .enumerate_pixels()
                .filter(|p| p.2[0] == 255)
                .map(|p| (p.0, p.1))
                .collect();
            let x1 = red.iter().map(|p| p.0).min().unwrap() as f32;
            let y1 = red.iter().map(|p| p.1).min().unwrap() as f32;
            let x2 = red.iter().map(|p| p.0).max().unwrap() as f32 + 1.0;
            let y2 = red.iter().map(|p| p.1).max().unwrap() as f32 + 1.0;
            let back = box_to_stored(BoxF::new(x1, y1, x2, y2), o, w, h);
            assert_eq!(
                back,
                BoxF::new(bx as f32, by as f32, (bx + bw) as f32, (by + bh) as f32),
                "{o:?}"
            );
        }
    }

    #[test]
    fn refuses_empty_text_and_mismatched_files() {
        let l = Limits::default();
        assert!(decode(b"", Path::new("a.jpg"), &l)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        assert!(decode(b"hello, I am text", Path::new("a.jpg"), &l).is_err());
        let mut png = Vec::new();
        RgbImage::new(4, 4)
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        assert!(decode(&png, Path::new("a.jpg"), &l)
            .unwrap_err()
            .to_string()
            .contains("extension"));
        assert!(decode(&png, Path::new("a.png"), &l).is_ok());
    }
}

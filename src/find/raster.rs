//! Where detection reads pixels from: the [`Raster`] trait, a picture held in memory
//! ([`MemRaster`]), and [`read_fit`], which shrinks a window of any raster in bounded memory.

use crate::geom::PixBox;
use image::RgbImage;

/// Where detection reads pixels from: an upright RGB picture, whole in memory or read
/// window by window from a file (huge orthophotos), so detection never needs the full
/// picture at once.
pub trait Raster: Sync {
    /// Upright size.
    fn size(&self) -> (u32, u32);
    /// The pixels of `r` (upright coordinates, inside the picture) as RGB8.
    fn read(&self, r: PixBox) -> anyhow::Result<RgbImage>;
    /// The whole picture downscaled to `w x h` (area filter).
    fn overview(&self, w: u32, h: u32) -> anyhow::Result<RgbImage>;
}

/// A picture held in memory.
pub struct MemRaster<'a>(pub &'a RgbImage);

impl Raster for MemRaster<'_> {
    fn size(&self) -> (u32, u32) {
        self.0.dimensions()
    }
    fn read(&self, r: PixBox) -> anyhow::Result<RgbImage> {
        Ok(image::imageops::crop_imm(self.0, r.x, r.y, r.w, r.h).to_image())
    }
    fn overview(&self, w: u32, h: u32) -> anyhow::Result<RgbImage> {
        Ok(crate::detect::shrink(self.0, w, h))
    }
}

/// Read `r` shrunk so that its longer side is at most `max_side` (as is when it already is),
/// in bands of rows, so that memory stays bounded by one band however big `r` is.
pub fn read_fit(src: &dyn Raster, r: PixBox, max_side: u32) -> anyhow::Result<RgbImage> {
    let long = r.w.max(r.h);
    if long <= max_side {
        return src.read(r);
    }
    let (tw, th) = (
        ((r.w as u64 * max_side as u64) / long as u64).max(1) as u32,
        ((r.h as u64 * max_side as u64) / long as u64).max(1) as u32,
    );
    let mut out = RgbImage::new(tw, th);
    // bands of about 16 MP
    let band = ((16_000_000 / r.w.max(1) as u64) as u32).clamp(1, r.h);
    let mut y = 0;
    while y < r.h {
        let y1 = (y + band).min(r.h);
        let (t0, t1) = (
            (y as u64 * th as u64 / r.h as u64) as u32,
            (y1 as u64 * th as u64 / r.h as u64) as u32,
        );
        if t1 > t0 {
            let rows = src.read(PixBox {
                x: r.x,
                y: r.y + y,
                w: r.w,
                h: y1 - y,
            })?;
            let small = image::imageops::thumbnail(&rows, tw, t1 - t0);
            image::imageops::replace(&mut out, &small, 0, t0 as i64);
        }
        y = y1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_fit_shrinks_in_bands_like_a_whole_thumbnail() {
        let img = RgbImage::from_fn(1500, 900, |x, y| {
            image::Rgb([(x / 6) as u8, (y / 4) as u8, ((x + y) / 10) as u8])
        });
        let r = PixBox {
            x: 100,
            y: 50,
            w: 1300,
            h: 800,
        };
        let small = read_fit(&MemRaster(&img), r, 400).unwrap();
        assert_eq!(small.dimensions(), (400, 246));
        let whole = image::imageops::thumbnail(
            &image::imageops::crop_imm(&img, r.x, r.y, r.w, r.h).to_image(),
            400,
            246,
        );
        let diff: u64 = small
            .as_raw()
            .iter()
            .zip(whole.as_raw())
            .map(|(a, b)| (*a as i32 - *b as i32).unsigned_abs() as u64)
            .sum();
        assert!(
            diff as f64 / (small.as_raw().len() as f64) < 2.0,
            "mean abs diff {}",
            diff as f64 / small.as_raw().len() as f64
        );
        // a region already small enough is read as is
        let same = read_fit(
            &MemRaster(&img),
            PixBox {
                x: 0,
                y: 0,
                w: 300,
                h: 200,
            },
            400,
        )
        .unwrap();
        assert_eq!(same.dimensions(), (300, 200));
    }
}

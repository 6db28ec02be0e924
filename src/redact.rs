//! Redaction: hide a region irreversibly, in the image's own pixel type (8/16-bit, grey,
//! RGB, with or without alpha), touching no pixel outside it.
//!
//! - `pixelate`: a few large blocks across the region's short side (default 4), each set to
//!   its mean. With so few blocks no face, clothing or gait detail survives.
//! - `fill`: solid black (alpha made opaque, so nothing hides under transparency). The
//!   default for plates: pixelated text can be read back by matching candidate strings.
//! - `blur`: a strong box blur (three passes, radius a third of the short side). Offered
//!   because people ask for it; weaker than the other two.

use crate::geom::PixBox;
use image::{DynamicImage, ImageBuffer, Pixel, Primitive};
use num_traits::{Bounded, NumCast, ToPrimitive};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Pixelate,
    Fill,
    Blur,
    /// Detected and reported, but not hidden (vehicles by default).
    None,
}

impl Method {
    pub fn parse(s: &str) -> Option<Method> {
        match s {
            "pixelate" => Some(Method::Pixelate),
            "fill" => Some(Method::Fill),
            "blur" => Some(Method::Blur),
            "none" => Some(Method::None),
            _ => None,
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Pixelate => "pixelate",
            Method::Fill => "fill",
            Method::Blur => "blur",
            Method::None => "none",
        }
    }
}

/// Block edge in px for pixelating `r` with about `blocks` blocks across its short side.
pub fn block_size(r: &PixBox, blocks: u32) -> u32 {
    r.w.min(r.h).div_ceil(blocks.max(1)).max(2)
}

/// Apply `method` to region `r` of `img`. `blocks`: blocks across the short side (pixelate).
pub fn apply(img: &mut DynamicImage, r: PixBox, method: Method, blocks: u32) {
    apply_block(img, r, method, block_size(&r, blocks))
}

/// Apply `method` to region `r` of `img`, pixelating with blocks of `block` px (cells start
/// at the region's top-left corner).
pub fn apply_block(img: &mut DynamicImage, r: PixBox, method: Method, block: u32) {
    macro_rules! each {
        ($b:expr) => {
            match method {
                Method::Pixelate => pixelate($b, r, block),
                Method::Fill => fill($b, r),
                Method::Blur => blur($b, r),
                Method::None => {}
            }
        };
    }
    match img {
        DynamicImage::ImageLuma8(b) => each!(b),
        DynamicImage::ImageLumaA8(b) => each!(b),
        DynamicImage::ImageRgb8(b) => each!(b),
        DynamicImage::ImageRgba8(b) => each!(b),
        DynamicImage::ImageLuma16(b) => each!(b),
        DynamicImage::ImageLumaA16(b) => each!(b),
        DynamicImage::ImageRgb16(b) => each!(b),
        DynamicImage::ImageRgba16(b) => each!(b),
        DynamicImage::ImageRgb32F(b) => each!(b),
        DynamicImage::ImageRgba32F(b) => each!(b),
        // DynamicImage is non-exhaustive; decode converts anything else to RGBA8 first
        _ => {}
    }
}

fn clip<P: Pixel>(
    img: &ImageBuffer<P, Vec<P::Subpixel>>,
    r: PixBox,
) -> Option<(u32, u32, u32, u32)> {
    let (w, h) = img.dimensions();
    let x2 = (r.x + r.w).min(w);
    let y2 = (r.y + r.h).min(h);
    (r.x < x2 && r.y < y2).then_some((r.x, r.y, x2, y2))
}

/// Float samples (f32): kept as they are, not rounded to whole numbers.
fn is_float<S: Primitive>() -> bool {
    <S as NumCast>::from(0.5f64).and_then(|v: S| v.to_f64()) == Some(0.5)
}

fn cast<S: Primitive>(v: f64) -> S {
    let max = <S as Bounded>::max_value().to_f64().unwrap_or(f64::MAX);
    let min = <S as Bounded>::min_value().to_f64().unwrap_or(f64::MIN);
    let v = if is_float::<S>() { v } else { v.round() };
    NumCast::from(v.clamp(min, max)).unwrap_or_else(S::zero)
}

pub fn pixelate<P: Pixel>(img: &mut ImageBuffer<P, Vec<P::Subpixel>>, r: PixBox, block: u32) {
    let Some((x1, y1, x2, y2)) = clip(img, r) else {
        return;
    };
    let n = P::CHANNEL_COUNT as usize;
    let block = block.max(1);
    let mut by = y1;
    while by < y2 {
        let ey = (by + block).min(y2);
        let mut bx = x1;
        while bx < x2 {
            let ex = (bx + block).min(x2);
            let mut sum = [0f64; 4];
            for y in by..ey {
                for x in bx..ex {
                    for (c, v) in img.get_pixel(x, y).channels().iter().enumerate() {
                        sum[c] += v.to_f64().unwrap_or(0.0);
                    }
                }
            }
            let count = ((ey - by) * (ex - bx)) as f64;
            let mean: Vec<P::Subpixel> = (0..n).map(|c| cast(sum[c] / count)).collect();
            for y in by..ey {
                for x in bx..ex {
                    img.get_pixel_mut(x, y)
                        .channels_mut()
                        .copy_from_slice(&mean);
                }
            }
            bx = ex;
        }
        by = ey;
    }
}

pub fn fill<P: Pixel>(img: &mut ImageBuffer<P, Vec<P::Subpixel>>, r: PixBox) {
    let Some((x1, y1, x2, y2)) = clip(img, r) else {
        return;
    };
    let n = P::CHANNEL_COUNT as usize;
    let has_alpha = n == 2 || n == 4;
    // integers: the largest value; float: 1.0
    let opaque: P::Subpixel = if is_float::<P::Subpixel>() {
        cast(1.0)
    } else {
        <P::Subpixel as Bounded>::max_value()
    };
    for y in y1..y2 {
        for x in x1..x2 {
            let px = img.get_pixel_mut(x, y).channels_mut();
            for (c, v) in px.iter_mut().enumerate() {
                *v = if has_alpha && c == n - 1 {
                    opaque
                } else {
                    <P::Subpixel as num_traits::Zero>::zero()
                };
            }
        }
    }
}

pub fn blur<P: Pixel>(img: &mut ImageBuffer<P, Vec<P::Subpixel>>, r: PixBox) {
    let Some((x1, y1, x2, y2)) = clip(img, r) else {
        return;
    };
    let (w, h) = ((x2 - x1) as usize, (y2 - y1) as usize);
    let n = P::CHANNEL_COUNT as usize;
    let radius = (w.min(h) / 3).max(2);
    let mut buf: Vec<f64> = Vec::with_capacity(w * h * n);
    for y in y1..y2 {
        for x in x1..x2 {
            buf.extend(
                img.get_pixel(x, y)
                    .channels()
                    .iter()
                    .map(|v| v.to_f64().unwrap_or(0.0)),
            );
        }
    }
    let mut tmp = vec![0f64; buf.len()];
    for _ in 0..3 {
        box_pass(&buf, &mut tmp, w, h, n, radius, true);
        box_pass(&tmp, &mut buf, w, h, n, radius, false);
    }
    for (i, y) in (y1..y2).enumerate() {
        for (j, x) in (x1..x2).enumerate() {
            let base = (i * w + j) * n;
            for (c, v) in img
                .get_pixel_mut(x, y)
                .channels_mut()
                .iter_mut()
                .enumerate()
            {
                *v = cast(buf[base + c]);
            }
        }
    }
}

/// One box-filter pass along rows (`horizontal`) or columns, clamping at the region edges.
fn box_pass(
    src: &[f64],
    dst: &mut [f64],
    w: usize,
    h: usize,
    n: usize,
    r: usize,
    horizontal: bool,
) {
    let (len, lines) = if horizontal { (w, h) } else { (h, w) };
    let idx = |line: usize, k: usize| {
        if horizontal {
            (line * w + k) * n
        } else {
            (k * w + line) * n
        }
    };
    for line in 0..lines {
        for c in 0..n {
            for k in 0..len {
                let lo = k.saturating_sub(r);
                let hi = (k + r).min(len - 1);
                let s: f64 = (lo..=hi).map(|q| src[idx(line, q) + c]).sum();
                dst[idx(line, k) + c] = s / (hi - lo + 1) as f64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba};
    type Rgba16 = Rgba<u16>;

    fn noise(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([
                (x * 37 + y * 11) as u8,
                ((x * 7) ^ (y * 13)) as u8,
                (x + y * 3) as u8,
            ])
        })
    }

    #[test]
    fn pixelate_touches_only_the_region_and_leaves_few_values() {
        let orig = noise(64, 64);
        let mut img = DynamicImage::ImageRgb8(orig.clone());
        let r = PixBox {
            x: 10,
            y: 12,
            w: 20,
            h: 40,
        };
        apply(&mut img, r, Method::Pixelate, 4);
        let out = img.to_rgb8();
        let mut distinct = std::collections::HashSet::new();
        for (x, y, p) in out.enumerate_pixels() {
            if r.contains(x, y) {
                distinct.insert(p.0);
            } else {
                assert_eq!(p, orig.get_pixel(x, y));
            }
        }
        // block 5 px: 4 x 8 blocks at most
        assert!(distinct.len() <= 32, "{} distinct colours", distinct.len());
    }

    #[test]
    fn fill_is_solid_and_opaque_in_16_bit_rgba() {
        let mut img = DynamicImage::ImageRgba16(ImageBuffer::from_pixel(
            8,
            8,
            Rgba16::from([1000, 2000, 3000, 0]),
        ));
        apply(
            &mut img,
            PixBox {
                x: 2,
                y: 2,
                w: 3,
                h: 3,
            },
            Method::Fill,
            4,
        );
        let b = img.as_rgba16().unwrap();
        assert_eq!(b.get_pixel(3, 3).0, [0, 0, 0, 65535]);
        assert_eq!(b.get_pixel(0, 0).0, [1000, 2000, 3000, 0]);
    }

    #[test]
    fn float_pixels_keep_their_float_values() {
        let mut img = DynamicImage::ImageRgba32F(ImageBuffer::from_fn(8, 8, |x, _| {
            Rgba([0.1 + x as f32 * 0.01, 0.5, 2.5, 0.25])
        }));
        apply_block(
            &mut img,
            PixBox {
                x: 0,
                y: 0,
                w: 2,
                h: 2,
            },
            Method::Pixelate,
            2,
        );
        apply(
            &mut img,
            PixBox {
                x: 4,
                y: 4,
                w: 2,
                h: 2,
            },
            Method::Fill,
            4,
        );
        let b = img.as_rgba32f().unwrap();
        // the mean of 0.10 and 0.11, not rounded to 0; values over 1 kept
        assert!(
            (b.get_pixel(0, 0).0[0] - 0.105).abs() < 1e-6 && b.get_pixel(1, 1).0[2] == 2.5,
            "{:?}",
            b.get_pixel(0, 0)
        );
        assert_eq!(b.get_pixel(4, 4).0, [0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn blur_changes_the_region_only() {
        let orig = ImageBuffer::from_fn(32, 32, |x, y| {
            Rgba([((x * 40) % 256) as u8, (y * 8) as u8, 0, 255])
        });
        let mut img = DynamicImage::ImageRgba8(orig.clone());
        let r = PixBox {
            x: 4,
            y: 4,
            w: 16,
            h: 16,
        };
        apply(&mut img, r, Method::Blur, 4);
        let out = img.to_rgba8();
        let mut changed = 0;
        for (x, y, p) in out.enumerate_pixels() {
            if r.contains(x, y) {
                changed += (p != orig.get_pixel(x, y)) as u32;
            } else {
                assert_eq!(p, orig.get_pixel(x, y));
            }
        }
        assert!(changed > 200);
    }
}

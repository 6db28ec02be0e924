//! Pixels of one IFD in memory: [`Samples`] and the rectangle [`Window`] they fill.

use anyhow::{anyhow, bail, Result};
use image::DynamicImage;

/// Samples, interleaved (`spp` per pixel), row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Samples {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

impl Samples {
    pub fn len(&self) -> usize {
        match self {
            Samples::U8(v) => v.len(),
            Samples::U16(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub(super) fn bits(&self) -> u16 {
        match self {
            Samples::U8(_) => 8,
            Samples::U16(_) => 16,
        }
    }
}

/// A rectangle of pixels of one IFD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    pub spp: u16,
    pub samples: Samples,
}

impl Window {
    /// The window as an image (spp 1 → Luma, 2 → LumaA, 3 → Rgb, 4 → Rgba), e.g. to run
    /// [`crate::redact::apply`] on it; 4-sample gray+extras is treated as Rgba.
    pub fn to_image(&self) -> Result<DynamicImage> {
        use image::ImageBuffer as B;
        let (w, h) = (self.w, self.h);
        let bad = || anyhow!("window samples do not match {}x{}x{}", w, h, self.spp);
        Ok(match (&self.samples, self.spp) {
            (Samples::U8(v), 1) => {
                DynamicImage::ImageLuma8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            (Samples::U8(v), 2) => {
                DynamicImage::ImageLumaA8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            (Samples::U8(v), 3) => {
                DynamicImage::ImageRgb8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            (Samples::U8(v), 4) => {
                DynamicImage::ImageRgba8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            (Samples::U16(v), 1) => {
                DynamicImage::ImageLuma16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            (Samples::U16(v), 2) => {
                DynamicImage::ImageLumaA16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            (Samples::U16(v), 3) => {
                DynamicImage::ImageRgb16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            (Samples::U16(v), 4) => {
                DynamicImage::ImageRgba16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            _ => bail!("no image type for {} samples per pixel", self.spp),
        })
    }

    /// A window at (x, y) holding `img`'s pixels (the inverse of [`Window::to_image`]).
    pub fn from_image(x: u32, y: u32, img: &DynamicImage) -> Result<Window> {
        let (w, h) = (img.width(), img.height());
        let (spp, samples) = match img {
            DynamicImage::ImageLuma8(b) => (1, Samples::U8(b.as_raw().clone())),
            DynamicImage::ImageLumaA8(b) => (2, Samples::U8(b.as_raw().clone())),
            DynamicImage::ImageRgb8(b) => (3, Samples::U8(b.as_raw().clone())),
            DynamicImage::ImageRgba8(b) => (4, Samples::U8(b.as_raw().clone())),
            DynamicImage::ImageLuma16(b) => (1, Samples::U16(b.as_raw().clone())),
            DynamicImage::ImageLumaA16(b) => (2, Samples::U16(b.as_raw().clone())),
            DynamicImage::ImageRgb16(b) => (3, Samples::U16(b.as_raw().clone())),
            DynamicImage::ImageRgba16(b) => (4, Samples::U16(b.as_raw().clone())),
            other => bail!("cannot put {:?} pixels into a TIFF window", other.color()),
        };
        Ok(Window {
            x,
            y,
            w,
            h,
            spp,
            samples,
        })
    }
}

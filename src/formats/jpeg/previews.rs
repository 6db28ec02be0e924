//! What happens to the previews of the scene, what a run asks of the metadata ([`MetaOptions`]),
//! the report's list of changes ([`MetaChanges`]), and the one place previews are rendered: from
//! the redacted pixels only ([`Renderer`]), at a bounded size ([`MAX_PREVIEW_PIXELS`]), as a
//! baseline JPEG without APPn segments.

use super::segments::main_tail;
use anyhow::{bail, Result};
use image::{DynamicImage, RgbImage};
use serde::Serialize;

/// What to do with embedded previews of the scene.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Previews {
    /// Re-render each preview from the redacted pixels at its original size.
    #[default]
    Regenerate,
    /// Remove every preview.
    Remove,
}

#[derive(Clone, Debug, Serialize, Default, PartialEq, Eq)]
pub struct MetaOptions {
    pub previews: Previews,
    /// Remove GPS and location data (EXIF GPS IFD, XMP location properties).
    pub strip_gps: bool,
    /// Keep only the ICC profile and the EXIF Orientation.
    pub strip_metadata: bool,
}

impl MetaOptions {
    /// Does this ask for metadata to be removed even from an image with nothing to hide?
    pub fn strips(&self) -> bool {
        self.strip_gps || self.strip_metadata
    }
}

/// Human-readable items for the report.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct MetaChanges {
    pub kept: Vec<String>,
    pub removed: Vec<String>,
    pub regenerated: Vec<String>,
}

impl MetaChanges {
    pub(super) fn keep(&mut self, s: &str) {
        if !self.kept.iter().any(|k| k == s) {
            self.kept.push(s.to_string());
        }
    }
    pub(super) fn absorb(&mut self, prefix: &str, o: MetaChanges) {
        self.removed
            .extend(o.removed.into_iter().map(|s| format!("{prefix}: {s}")));
        self.regenerated
            .extend(o.regenerated.into_iter().map(|s| format!("{prefix}: {s}")));
    }
}

/// Previews larger than this are refused (bounded memory on hostile sizes).
pub(super) const MAX_PREVIEW_PIXELS: u64 = 40_000_000;

pub(super) struct Renderer<'a> {
    pub(super) src: &'a DynamicImage,
    pub(super) rgb: Option<RgbImage>,
}

impl Renderer<'_> {
    /// The redacted image fitted into `w`×`h` (black bars where the aspect differs, as
    /// cameras do), encoded as a baseline JPEG without APPn segments.
    pub(super) fn jpeg(&mut self, w: u32, h: u32, quality: u8) -> Result<Vec<u8>> {
        // a preview is smaller than its image; a hostile size must not cost memory or time
        let area = self.src.width() as u64 * self.src.height() as u64;
        if w as u64 * h as u64 > MAX_PREVIEW_PIXELS.min(area.max(1 << 20)) {
            bail!("preview of {w}x{h} is larger than the image");
        }
        let src = self.src;
        let full = self.rgb.get_or_insert_with(|| src.to_rgb8());
        let (sw, sh) = full.dimensions();
        let s = (w as f64 / sw as f64).min(h as f64 / sh as f64);
        let iw = ((sw as f64 * s).round() as u32).clamp(1, w);
        let ih = ((sh as f64 * s).round() as u32).clamp(1, h);
        let img = if w - iw <= 1 && h - ih <= 1 {
            image::imageops::thumbnail(full, w, h)
        } else {
            let inner = image::imageops::thumbnail(full, iw, ih);
            let mut canvas = RgbImage::new(w, h);
            image::imageops::overlay(
                &mut canvas,
                &inner,
                ((w - iw) / 2) as i64,
                ((h - ih) / 2) as i64,
            );
            canvas
        };
        let mut raw = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut raw, quality.clamp(1, 100))
            .encode_image(&img)?;
        let mut out = vec![0xFF, 0xD8];
        out.extend(main_tail(&raw)?);
        Ok(out)
    }
}

//! PP-OCRv4 text detector (DB, "differentiable binarisation"), from `rapidocr-onnxruntime`.
//!
//! pixla runs it on vehicle crops: text on a vehicle is treated as a licence plate and filled.
//! Input `[1,3,H,W]` with H, W multiples of 32, BGR, `(x/255 − 0.5) / 0.5`. Output `[1,1,H,W]`
//! text probability. Post-processing as in PaddleOCR's DB: threshold the map at 0.3, take
//! connected regions, score each by its mean probability, drop weak or tiny ones, and grow
//! each box by `area × 1.6 / perimeter` ("unclip").

use super::{Class, Detection, Detector, SessionPool};
use crate::detect::registry::{ModelSpec, PPOCR_DET};
use crate::error::SetupError;
use crate::geom::BoxF;
use anyhow::bail;
use image::{GrayImage, Luma, RgbImage};
use imageproc::region_labelling::{connected_components, Connectivity};
use ndarray::Array4;
use std::path::Path;

const BIN_THRESHOLD: f32 = 0.3;
const UNCLIP: f32 = 1.6;
const MIN_SIDE: f32 = 3.0;
/// Longest side fed to the model.
pub const MAX_SIDE: u32 = 960;

pub struct PpOcrDet {
    pool: SessionPool,
    /// Minimum mean probability of a text region.
    pub box_threshold: f32,
}

impl PpOcrDet {
    pub fn load(dir: &Path, sessions: usize, box_threshold: f32) -> Result<Self, SetupError> {
        Ok(PpOcrDet {
            pool: SessionPool::load(&PPOCR_DET, dir, sessions)?,
            box_threshold,
        })
    }
}

fn round32(v: f32) -> u32 {
    (((v / 32.0).round() as u32).max(1)) * 32
}

impl Detector for PpOcrDet {
    fn spec(&self) -> &'static ModelSpec {
        &PPOCR_DET
    }

    fn detect(&self, img: &RgbImage) -> anyhow::Result<Vec<Detection>> {
        let (iw, ih) = img.dimensions();
        let s = (MAX_SIDE as f32 / iw.max(ih) as f32).min(1.0);
        let (tw, th) = (round32(iw as f32 * s), round32(ih as f32 * s));
        let resized;
        let src = if (tw, th) == (iw, ih) {
            img
        } else {
            resized = super::resize(img, tw, th);
            &resized
        };
        let mut t = Array4::<f32>::zeros((1, 3, th as usize, tw as usize));
        for (x, y, p) in src.enumerate_pixels() {
            for c in 0..3 {
                t[[0, c, y as usize, x as usize]] = (p[2 - c] as f32 / 255.0 - 0.5) / 0.5;
            }
        }
        let prob: Vec<f32> = self.pool.with(|sess| -> anyhow::Result<Vec<f32>> {
            let input = ort::value::Tensor::from_array(t)?;
            let outputs = crate::stats::time(crate::stats::Stage::Inference, || {
                sess.run(ort::inputs![input])
            })?;
            let (shape, data) = outputs[0].try_extract_tensor::<f32>()?;
            if shape.len() != 4 || shape[2] as u32 != th || shape[3] as u32 != tw {
                bail!("unexpected text map shape {shape:?} for input {tw}x{th}");
            }
            Ok(data.to_vec())
        })?;
        let (sx, sy) = (iw as f32 / tw as f32, ih as f32 / th as f32);
        Ok(regions(&prob, tw, th, self.box_threshold)
            .into_iter()
            .map(|(b, score)| Detection {
                class: Class::Plate,
                score,
                bbox: BoxF::new(b.x1 * sx, b.y1 * sy, b.x2 * sx, b.y2 * sy),
            })
            .collect())
    }
}

/// Text regions in a probability map: (unclipped box in map pixels, mean probability).
pub fn regions(prob: &[f32], w: u32, h: u32, box_threshold: f32) -> Vec<(BoxF, f32)> {
    let bin = GrayImage::from_fn(w, h, |x, y| {
        Luma([if prob[(y * w + x) as usize] > BIN_THRESHOLD {
            255
        } else {
            0
        }])
    });
    let labels = connected_components(&bin, Connectivity::Eight, Luma([0u8]));
    // per label: x1, y1, x2, y2, sum of probability, pixel count
    let mut acc: Vec<(u32, u32, u32, u32, f32, u32)> = Vec::new();
    for (x, y, l) in labels.enumerate_pixels() {
        let l = l[0] as usize;
        if l == 0 {
            continue;
        }
        if acc.len() < l {
            acc.resize(l, (u32::MAX, u32::MAX, 0, 0, 0.0, 0));
        }
        let a = &mut acc[l - 1];
        a.0 = a.0.min(x);
        a.1 = a.1.min(y);
        a.2 = a.2.max(x + 1);
        a.3 = a.3.max(y + 1);
        a.4 += prob[(y * w + x) as usize];
        a.5 += 1;
    }
    acc.into_iter()
        .filter(|a| a.5 > 0)
        .filter_map(|(x1, y1, x2, y2, sum, n)| {
            let score = sum / n as f32;
            let b = BoxF::new(x1 as f32, y1 as f32, x2 as f32, y2 as f32);
            if score < box_threshold || b.w().min(b.h()) < MIN_SIDE {
                return None;
            }
            let d = b.area() * UNCLIP / (2.0 * (b.w() + b.h()));
            let u = BoxF::new(b.x1 - d, b.y1 - d, b.x2 + d, b.y2 + d);
            Some((
                BoxF::new(
                    u.x1.max(0.0),
                    u.y1.max(0.0),
                    u.x2.min(w as f32),
                    u.y2.min(h as f32),
                ),
                score,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn one_region_is_found_and_unclipped() {
        let (w, h) = (40u32, 20u32);
        let mut p = vec![0.0f32; (w * h) as usize];
        for y in 5..15 {
            for x in 10..30 {
                p[(y * w + x) as usize] = 0.9;
            }
        }
        let r = regions(&p, w, h, 0.5);
        assert_eq!(r.len(), 1);
        let (b, s) = r[0];
        assert!((s - 0.9).abs() < 1e-6);
        // 20x10 box, d = 200*1.6/60 = 5.33
        assert!((b.x1 - (10.0 - 5.333)).abs() < 0.01 && (b.y1 - 0.0).abs() < 0.01);
        assert!(regions(&p, w, h, 0.95).is_empty());
    }
}

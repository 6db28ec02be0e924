//! The centre-point detectors pixla trains itself (`models/train/`): `pixla-aerial` (persons
//! and vehicles, [`super::aerial`]) and `pixla-plate` (plates in vehicle crops,
//! [`super::plate`]). One network family, one pre- and post-processing:
//!
//! - input `[1,3,H,W]` float32 RGB in 0..1, H and W any multiples of [`ALIGN`]; an image is
//!   padded (top-left aligned, grey 114), never scaled here, so objects reach the model at
//!   the resolution the caller chose;
//! - output `[1, 4 + classes, H/4 * W/4]` in the YOLOv8 layout: cx, cy, w, h in input
//!   pixels, then one score row per class, which the graph already zeroes except at heat-map
//!   peaks (a 3x3 max-pool);
//! - decoded with a threshold per class and NMS at IoU 0.5.
//!
//! Scores: a model's raw peak heat is mapped onto pixla's score scale by [`calibrate`], so
//! that pixla's default threshold of the class falls at that model's operating point (chosen on
//! its validation split; see its model card), and `--threshold class=...` moves it as it
//! does for every other model.

use super::{nms, Class, Detection, Detector, SessionPool};
use crate::detect::registry::ModelSpec;
use crate::error::SetupError;
use crate::geom::BoxF;
use crate::stats::{self, Stage};
use anyhow::bail;
use image::RgbImage;
use ndarray::Array4;
use std::path::Path;

/// Input sides are padded up to a multiple of this (the network's coarsest stride).
pub const ALIGN: u32 = 32;
/// Output stride: one output cell per 4x4 input pixels.
pub const STRIDE: u32 = 4;
const PAD: f32 = 114.0 / 255.0;
/// Raw peak heat → score: piecewise linear, monotone, 0 → 0, `raw_at_default` → `default`
/// (pixla's default threshold of the class), 1 → 1.
pub fn calibrate(raw: f32, raw_at_default: f32, default: f32) -> f32 {
    if raw <= raw_at_default {
        default * raw / raw_at_default
    } else {
        default + (1.0 - default) * (raw - raw_at_default) / (1.0 - raw_at_default)
    }
}

/// What distinguishes one trained centre-point model from another.
pub struct Recipe {
    pub spec: &'static ModelSpec,
    /// The output's classes, in order after the 4 box rows.
    pub classes: &'static [Class],
    /// The raw heat that counts at pixla's default threshold of the model's classes...
    pub raw_at_default: f32,
    /// ...which is this (`Config::default().thresholds`).
    pub default_threshold: f32,
    /// The largest input side fed as is; a bigger image is shrunk to fit.
    pub max_side: u32,
    /// For a plate model: the long side its vehicle crops are rescaled to.
    pub vehicle_side: Option<u32>,
}

/// A loaded centre-point model with its thresholds (one per class of its recipe).
pub struct CentrePoint {
    pool: SessionPool,
    recipe: &'static Recipe,
    thresholds: Vec<f32>,
}

impl CentrePoint {
    /// Load `recipe`'s model (sha256-checked) into `sessions` sessions; `threshold` gives the
    /// score threshold of each class.
    pub fn load(
        recipe: &'static Recipe,
        dir: &Path,
        sessions: usize,
        threshold: impl Fn(Class) -> f32,
    ) -> Result<Self, SetupError> {
        Ok(CentrePoint {
            pool: SessionPool::load(recipe.spec, dir, sessions)?,
            recipe,
            thresholds: recipe.classes.iter().map(|c| threshold(*c)).collect(),
        })
    }

    /// The input tensor for `img`: RGB ÷ 255, NCHW, padded right and bottom to a multiple
    /// of [`ALIGN`] with grey 114.
    pub fn input_tensor(img: &RgbImage) -> Array4<f32> {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let (pw, ph) = (
            w.div_ceil(ALIGN as usize).max(1) * ALIGN as usize,
            h.div_ceil(ALIGN as usize).max(1) * ALIGN as usize,
        );
        let lut: [f32; 256] = std::array::from_fn(|v| v as f32 / 255.0);
        let mut data = vec![PAD; 3 * pw * ph];
        let (r, rest) = data.split_at_mut(pw * ph);
        let (g, b) = rest.split_at_mut(pw * ph);
        for (y, row) in img.as_raw().chunks_exact(w * 3).enumerate() {
            let o = y * pw;
            for (x, p) in row.chunks_exact(3).enumerate() {
                r[o + x] = lut[p[0] as usize];
                g[o + x] = lut[p[1] as usize];
                b[o + x] = lut[p[2] as usize];
            }
        }
        Array4::from_shape_vec((1, 3, ph, pw), data).expect("shape matches the buffer")
    }

    /// The raw output `[4 + classes, N]` (row-major) for an input tensor.
    pub fn run(&self, input: Array4<f32>) -> anyhow::Result<(usize, Vec<f32>)> {
        let cells = input.shape()[2] * input.shape()[3] / (STRIDE * STRIDE) as usize;
        let rows = 4 + self.recipe.classes.len();
        let name = self.recipe.spec.name;
        self.pool.with(|s| {
            let tensor = ort::value::Tensor::from_array(input)?;
            let outputs = stats::time(Stage::Inference, || s.run(ort::inputs![tensor]))?;
            let (shape, data) = outputs[0].try_extract_tensor::<f32>()?;
            if shape.len() != 3
                || shape[0] != 1
                || shape[1] != rows as i64
                || shape[2] as usize != cells
            {
                bail!("{name} gave an output of shape {shape:?}, expected [1, {rows}, {cells}]");
            }
            Ok((cells, data.to_vec()))
        })
    }

    /// Boxes in input pixels from the raw output, clipped to `w x h` (the image without its
    /// padding); detections centred in the padding are dropped.
    pub fn decode(&self, cells: usize, raw: &[f32], w: f32, h: f32) -> Vec<Detection> {
        let row = |r: usize| &raw[r * cells..(r + 1) * cells];
        let (cx, cy, bw, bh) = (row(0), row(1), row(2), row(3));
        let mut dets = Vec::new();
        for (k, (&class, &thr)) in self.recipe.classes.iter().zip(&self.thresholds).enumerate() {
            for (i, &raw) in row(4 + k).iter().enumerate() {
                let score = calibrate(
                    raw,
                    self.recipe.raw_at_default,
                    self.recipe.default_threshold,
                );
                if score < thr || !score.is_finite() || cx[i] >= w || cy[i] >= h {
                    continue;
                }
                let b = BoxF::new(
                    (cx[i] - bw[i] / 2.0).max(0.0),
                    (cy[i] - bh[i] / 2.0).max(0.0),
                    (cx[i] + bw[i] / 2.0).min(w),
                    (cy[i] + bh[i] / 2.0).min(h),
                );
                if b.area() > 0.0 {
                    dets.push(Detection {
                        class,
                        score,
                        bbox: b,
                    });
                }
            }
        }
        nms(dets, 0.5)
    }
}

impl Detector for CentrePoint {
    fn spec(&self) -> &'static ModelSpec {
        self.recipe.spec
    }

    fn detect(&self, img: &RgbImage) -> anyhow::Result<Vec<Detection>> {
        let max = self.recipe.max_side;
        let (small, scale, input) = stats::time(Stage::Preprocess, || {
            // never upscaled: a tile or a small picture goes in at its own resolution
            let (small, scale) = if img.width() <= max && img.height() <= max {
                (std::borrow::Cow::Borrowed(img), 1.0)
            } else {
                super::fit(img, max, max)
            };
            let t = Self::input_tensor(&small);
            (small, scale, t)
        });
        let (cells, raw) = self.run(input)?;
        let t = std::time::Instant::now();
        let dets = self.decode(cells, &raw, small.width() as f32, small.height() as f32);
        let out = dets
            .into_iter()
            .map(|mut d| {
                d.bbox = d.bbox.scale(1.0 / scale);
                d
            })
            .collect();
        stats::add(Stage::Postprocess, t.elapsed().as_nanos() as u64);
        Ok(out)
    }

    fn input_side(&self) -> u32 {
        self.recipe.max_side
    }

    fn crop_scale(&self, long: u32, max_up: f32) -> f32 {
        match self.recipe.vehicle_side {
            // to the trained side: upscaled at most max_up times, shrunk as far as needed
            Some(side) => (side as f32 / long.max(1) as f32).min(max_up.max(1.0)),
            None => (640.0 / long.max(1) as f32).clamp(1.0, max_up.max(1.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_padded_to_a_multiple_of_32_and_never_scaled() {
        let mut img = RgbImage::new(100, 50);
        img.put_pixel(99, 49, image::Rgb([255, 0, 51]));
        let t = CentrePoint::input_tensor(&img);
        assert_eq!(t.shape(), &[1, 3, 64, 128]);
        assert_eq!(
            [t[[0, 0, 49, 99]], t[[0, 1, 49, 99]], t[[0, 2, 49, 99]]],
            [1.0, 0.0, 0.2]
        );
        // the padding is grey 114, right and below
        assert_eq!(t[[0, 0, 49, 100]], PAD);
        assert_eq!(t[[0, 2, 50, 0]], PAD);
        assert_eq!(t[[0, 1, 0, 0]], 0.0);
    }

    #[test]
    fn calibration_puts_the_operating_point_at_the_default_threshold() {
        for (at, def) in [(0.25, 0.3), (0.4, 0.3), (0.6, 0.5), (0.3, 0.5)] {
            assert_eq!(calibrate(0.0, at, def), 0.0);
            assert!((calibrate(at, at, def) - def).abs() < 1e-6);
            assert!((calibrate(1.0, at, def) - 1.0).abs() < 1e-6);
            let xs: Vec<f32> = (0..=100)
                .map(|i| calibrate(i as f32 / 100.0, at, def))
                .collect();
            assert!(xs.windows(2).all(|w| w[1] > w[0]), "monotone");
        }
    }
}

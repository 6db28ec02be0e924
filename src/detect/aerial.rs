//! `pixla-aerial`: pixla's own person and vehicle detector for drone and aerial views, trained
//! by `models/train/` (its model card is `models/pixla-aerial.md`).
//!
//! A centre-point detector with a stride-4 output, for people 6-60 px tall. Input
//! `[1,3,H,W]` float32 RGB in 0..1, where H and W are any multiples of 32: a tile is padded
//! (top-left aligned, grey 114), never scaled, so small people reach the model at the
//! resolution they were photographed at. Output `[1, 6, H/4 * W/4]` in the YOLOv8 layout:
//! cx, cy, w, h in input pixels, then person and vehicle scores, which the graph already
//! zeroes except at heat-map peaks (a 3x3 max-pool). Decoded here with a score threshold per
//! class and NMS at IoU 0.5.
//!
//! Scores: the model's raw peak heat is mapped onto pixla's score scale by [`calibrate`], so
//! that the shared default threshold (0.3) is this model's operating point, chosen on the
//! validation split (see the model card), and `--threshold person=...` moves it as it does
//! for every other model.

use super::{nms, Class, Detection, Detector, SessionPool};
use crate::geom::BoxF;
use crate::models::{ModelSpec, PIXLA_AERIAL};
use crate::stats::{self, Stage};
use crate::SetupError;
use anyhow::bail;
use image::RgbImage;
use ndarray::Array4;
use std::path::Path;

/// The largest input side fed as is; a bigger image (a whole picture) is shrunk to fit.
pub const MAX_SIDE: u32 = 640;
/// Input sides are padded up to a multiple of this (the network's coarsest stride).
pub const ALIGN: u32 = 32;
/// Output stride: one output cell per 4x4 input pixels.
pub const STRIDE: u32 = 4;
const PAD: f32 = 114.0 / 255.0;
/// The raw heat at which a peak counts at pixla's default threshold (0.3): the highest of
/// 0.3, 0.35, 0.4, 0.5, 0.6 at which every labelled person of the nadir fixtures is still
/// hidden (see the model card for the sweep on the validation split).
pub const RAW_AT_DEFAULT: f32 = 0.4;
const DEFAULT_THRESHOLD: f32 = 0.3;

/// Raw peak heat → score: piecewise linear, monotone, 0 → 0, [`RAW_AT_DEFAULT`] → 0.3,
/// 1 → 1.
pub fn calibrate(raw: f32) -> f32 {
    if raw <= RAW_AT_DEFAULT {
        DEFAULT_THRESHOLD * raw / RAW_AT_DEFAULT
    } else {
        DEFAULT_THRESHOLD
            + (1.0 - DEFAULT_THRESHOLD) * (raw - RAW_AT_DEFAULT) / (1.0 - RAW_AT_DEFAULT)
    }
}
/// The model's classes, in output order after the 4 box rows.
const CLASSES: [Class; 2] = [Class::Person, Class::Vehicle];

pub struct Aerial {
    pool: SessionPool,
    pub person_threshold: f32,
    pub vehicle_threshold: f32,
}

impl Aerial {
    pub fn load(
        dir: &Path,
        sessions: usize,
        person_threshold: f32,
        vehicle_threshold: f32,
    ) -> Result<Self, SetupError> {
        Ok(Aerial {
            pool: SessionPool::load(&PIXLA_AERIAL, dir, sessions)?,
            person_threshold,
            vehicle_threshold,
        })
    }

    /// The input tensor for `img` (at most [`MAX_SIDE`] on each side): RGB ÷ 255, NCHW,
    /// padded right and bottom to a multiple of [`ALIGN`] with grey 114.
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

    /// The raw output `[6, N]` (row-major) for an input tensor.
    pub fn run(&self, input: Array4<f32>) -> anyhow::Result<(usize, Vec<f32>)> {
        let cells = input.shape()[2] * input.shape()[3] / (STRIDE * STRIDE) as usize;
        self.pool.with(|s| {
            let tensor = ort::value::Tensor::from_array(input)?;
            let outputs = stats::time(Stage::Inference, || s.run(ort::inputs![tensor]))?;
            let (shape, data) = outputs[0].try_extract_tensor::<f32>()?;
            if shape.len() != 3
                || shape[0] != 1
                || shape[1] != 4 + CLASSES.len() as i64
                || shape[2] as usize != cells
            {
                bail!("pixla-aerial gave an output of shape {shape:?}, expected [1, 6, {cells}]");
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
        for (k, class) in CLASSES.into_iter().enumerate() {
            let thr = if class == Class::Person {
                self.person_threshold
            } else {
                self.vehicle_threshold
            };
            for (i, &raw) in row(4 + k).iter().enumerate() {
                let score = calibrate(raw);
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

impl Detector for Aerial {
    fn spec(&self) -> &'static ModelSpec {
        &PIXLA_AERIAL
    }

    fn detect(&self, img: &RgbImage) -> anyhow::Result<Vec<Detection>> {
        let (small, scale, input) = stats::time(Stage::Preprocess, || {
            // never upscaled: a tile or a small picture goes in at its own resolution
            let (small, scale) = if img.width() <= MAX_SIDE && img.height() <= MAX_SIDE {
                (std::borrow::Cow::Borrowed(img), 1.0)
            } else {
                super::fit(img, MAX_SIDE, MAX_SIDE)
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
        MAX_SIDE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_padded_to_a_multiple_of_32_and_never_scaled() {
        let mut img = RgbImage::new(100, 50);
        img.put_pixel(99, 49, image::Rgb([255, 0, 51]));
        let t = Aerial::input_tensor(&img);
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
        assert_eq!(calibrate(0.0), 0.0);
        assert!((calibrate(RAW_AT_DEFAULT) - 0.3).abs() < 1e-6);
        assert!((calibrate(1.0) - 1.0).abs() < 1e-6);
        let xs: Vec<f32> = (0..=100).map(|i| calibrate(i as f32 / 100.0)).collect();
        assert!(xs.windows(2).all(|w| w[1] > w[0]), "monotone");
    }
}

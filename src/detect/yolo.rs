//! Ultralytics YOLOv8 detection heads, here for `platedet` (a YOLOv8s-seg plate detector).
//!
//! Input `[1,3,640,640]` (float16 or float32, read from the model), RGB ÷255, letterboxed:
//! aspect kept, centred, padded with 114. Output `[1,4+classes(+masks),anchors]`: cx, cy, w, h
//! then class scores; mask coefficients are ignored (boxes suffice). NMS at IoU 0.45.

use super::{fit, nms, Class, Detection, Detector, SessionPool};
use crate::geom::BoxF;
use crate::models::{ModelSpec, PLATEDET};
use crate::SetupError;
use anyhow::bail;
use half::f16;
use image::RgbImage;
use ndarray::Array4;
use std::path::Path;

pub const SIZE: u32 = 640;

pub struct Yolo {
    pool: SessionPool,
    spec: &'static ModelSpec,
    class: Class,
    /// Number of class-score rows after the 4 box rows.
    classes: usize,
    half_input: bool,
    pub threshold: f32,
}

impl Yolo {
    /// `platedet`: one class, plates.
    pub fn platedet(dir: &Path, sessions: usize, threshold: f32) -> Result<Self, SetupError> {
        let pool = SessionPool::load(&PLATEDET, dir, sessions)?;
        let half_input = pool.with(|s| {
            matches!(s.inputs()[0].dtype(), ort::value::ValueType::Tensor { ty: ort::value::TensorElementType::Float16, .. })
        });
        Ok(Yolo { pool, spec: &PLATEDET, class: Class::Plate, classes: 1, half_input, threshold })
    }
}

impl Detector for Yolo {
    fn spec(&self) -> &'static ModelSpec {
        self.spec
    }

    fn detect(&self, img: &RgbImage) -> anyhow::Result<Vec<Detection>> {
        let (small, scale) = fit(img, SIZE, SIZE);
        let (sw, sh) = small.dimensions();
        let (ox, oy) = ((SIZE - sw) / 2, (SIZE - sh) / 2);
        let mut t = Array4::<f32>::from_elem((1, 3, SIZE as usize, SIZE as usize), 114.0 / 255.0);
        for (x, y, p) in small.enumerate_pixels() {
            for c in 0..3 {
                t[[0, c, (y + oy) as usize, (x + ox) as usize]] = p[c] as f32 / 255.0;
            }
        }
        let (shape, data): (Vec<i64>, Vec<f32>) = self.pool.with(|s| -> anyhow::Result<_> {
            let out = if self.half_input {
                {
                let input = ort::value::Tensor::from_array(t.mapv(f16::from_f32))?;
                crate::stats::time(crate::stats::Stage::Inference, || s.run(ort::inputs![input]))?
            }
            } else {
                {
                let input = ort::value::Tensor::from_array(t)?;
                crate::stats::time(crate::stats::Stage::Inference, || s.run(ort::inputs![input]))?
            }
            };
            let v = &out[0];
            if let Ok((shape, d)) = v.try_extract_tensor::<f32>() {
                Ok((shape.to_vec(), d.to_vec()))
            } else {
                let (shape, d) = v.try_extract_tensor::<f16>()?;
                Ok((shape.to_vec(), d.iter().map(|x| x.to_f32()).collect()))
            }
        })?;
        if shape.len() != 3 || (shape[1] as usize) < 4 + self.classes {
            bail!("unexpected YOLO output shape {shape:?}");
        }
        let n = shape[2] as usize;
        let at = |r: usize, i: usize| data[r * n + i];
        let mut dets = Vec::new();
        for i in 0..n {
            let score = (0..self.classes).map(|k| at(4 + k, i)).fold(0.0f32, f32::max);
            if score < self.threshold {
                continue;
            }
            let (cx, cy, w, h) = (at(0, i), at(1, i), at(2, i), at(3, i));
            let b = BoxF::new(cx - w / 2.0 - ox as f32, cy - h / 2.0 - oy as f32, cx + w / 2.0 - ox as f32, cy + h / 2.0 - oy as f32);
            dets.push(Detection { class: self.class, score, bbox: b.scale(1.0 / scale) });
        }
        Ok(nms(dets, 0.45))
    }
}

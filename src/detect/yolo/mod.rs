//! Ultralytics-style detection heads: `platedet` (a YOLOv8s-seg plate detector) and models
//! users bring themselves (`--model path.onnx --model-format ... --classes person=0,car=2`).
//!
//! Input `[1,3,H,W]` (float16 or float32, read from the model), RGB ÷255. YOLO layouts are
//! letterboxed (aspect kept, centred, padded with 114); RT-DETR is resized to the input
//! (Ultralytics' `scale_fill`). Output layouts read from the model:
//! - YOLOv8/YOLO11 `[1, 4+nc(+32 mask coefficients), N]`: cx, cy, w, h (input pixels) then
//!   class scores; `-seg` mask coefficients are ignored (boxes suffice);
//! - the same transposed, `[1, N, 4+nc(+32)]`;
//! - RT-DETR `[1, 300, 4+nc]`: cx, cy, w, h normalised to 0..1, then per-class scores;
//! - YOLOv10 / end-to-end `[1, N, 6]`: x1, y1, x2, y2 (input pixels), score, class id.
//!
//! NMS at IoU 0.45 per pixla class. Loading a user's model, which reads all of this from
//! the model, is in `user.rs`.

mod user;

use super::{nms, Class, Detection, Detector, SessionPool};
use crate::detect::registry::{ModelSpec, PLATEDET};
use crate::error::SetupError;
use crate::geom::BoxF;
use anyhow::bail;
use half::f16;
use image::RgbImage;
use ndarray::Array4;
use std::collections::BTreeMap;
use std::path::Path;

pub const SIZE: u32 = 640;

/// How the output tensor is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `[1, 4+nc(+masks), N]`, boxes in input pixels.
    ChannelsFirst,
    /// `[1, N, 4+nc(+masks)]`, boxes in input pixels.
    ChannelsLast,
    /// `[1, N, 4+nc]`, boxes normalised, input resized without letterbox.
    RtDetr,
    /// `[1, N, 6]`: x1 y1 x2 y2 score class.
    End2End,
}

impl Layout {
    pub fn as_str(&self) -> &'static str {
        match self {
            Layout::ChannelsFirst => "yolov8 [1,4+nc,N]",
            Layout::ChannelsLast => "yolov8 transposed [1,N,4+nc]",
            Layout::RtDetr => "rtdetr [1,N,4+nc] normalised",
            Layout::End2End => "end2end [1,N,6]",
        }
    }
}

pub struct Yolo {
    pool: SessionPool,
    spec: &'static ModelSpec,
    /// Model class index → pixla class.
    map: Vec<(usize, Class)>,
    /// Number of class-score rows after the 4 box rows.
    classes: usize,
    layout: Layout,
    half_input: bool,
    /// Input width, height.
    size: (u32, u32),
    thresholds: BTreeMap<Class, f32>,
    /// For the report: format and class map of a user model.
    describe: Option<(String, String)>,
}

/// The map from a box in the model input back to the picture: undo the letterbox (scale,
/// offset) or the stretch (a scale per axis).
#[derive(Clone, Copy, Debug)]
struct ToPicture {
    sx: f32,
    sy: f32,
    ox: f32,
    oy: f32,
}

impl ToPicture {
    fn apply(self, x1: f32, y1: f32, x2: f32, y2: f32) -> BoxF {
        BoxF::new(
            (x1 - self.ox) / self.sx,
            (y1 - self.oy) / self.sy,
            (x2 - self.ox) / self.sx,
            (y2 - self.oy) / self.sy,
        )
    }
}

/// The input tensor for `img`: letterboxed into `w x h` (or resized to it, `stretch`);
/// returns the tensor and the mapping back.
fn input(img: &RgbImage, w: u32, h: u32, stretch: bool) -> (Array4<f32>, ToPicture) {
    let mut t = Array4::<f32>::from_elem((1, 3, h as usize, w as usize), 114.0 / 255.0);
    let (small, sx, sy, ox, oy) = if stretch {
        let r = super::resize(img, w, h);
        (
            std::borrow::Cow::Owned(r),
            w as f32 / img.width() as f32,
            h as f32 / img.height() as f32,
            0,
            0,
        )
    } else {
        let (small, s) = super::fit(img, w, h);
        let (ox, oy) = ((w - small.width()) / 2, (h - small.height()) / 2);
        (small, s, s, ox, oy)
    };
    for (x, y, p) in small.enumerate_pixels() {
        for c in 0..3 {
            t[[0, c, (y + oy) as usize, (x + ox) as usize]] = p[c] as f32 / 255.0;
        }
    }
    let back = ToPicture {
        sx,
        sy,
        ox: ox as f32,
        oy: oy as f32,
    };
    (t, back)
}

/// The output tensor of one run, read by row `r` of candidate `i` whatever the layout.
struct Output<'a> {
    data: &'a [f32],
    layout: Layout,
    /// Candidates.
    n: usize,
    /// Rows per candidate.
    c: usize,
}

impl Output<'_> {
    fn at(&self, r: usize, i: usize) -> f32 {
        if self.layout == Layout::ChannelsFirst {
            self.data[r * self.n + i]
        } else {
            self.data[i * self.c + r]
        }
    }
}

fn run(pool: &SessionPool, half: bool, t: Array4<f32>) -> anyhow::Result<(Vec<i64>, Vec<f32>)> {
    pool.with(|s| -> anyhow::Result<_> {
        let input = if half {
            ort::value::Tensor::from_array(t.mapv(f16::from_f32))?.into_dyn()
        } else {
            ort::value::Tensor::from_array(t)?.into_dyn()
        };
        let out = crate::stats::time(crate::stats::Stage::Inference, || {
            s.run(ort::inputs![input])
        })?;
        let v = &out[0];
        if let Ok((shape, d)) = v.try_extract_tensor::<f32>() {
            Ok((shape.to_vec(), d.to_vec()))
        } else {
            let (shape, d) = v.try_extract_tensor::<f16>()?;
            Ok((shape.to_vec(), d.iter().map(|x| x.to_f32()).collect()))
        }
    })
}

/// Class names from Ultralytics metadata `names`, e.g. `{0: 'person', 1: 'bicycle'}`.
pub fn parse_names(s: &str) -> BTreeMap<usize, String> {
    let inner = s.trim().trim_start_matches('{').trim_end_matches('}');
    let mut out = BTreeMap::new();
    // split at ", <digits>:" boundaries: names may contain commas only inside quotes
    let mut rest = inner;
    while let Some(colon) = rest.find(':') {
        let Ok(id) = rest[..colon]
            .trim()
            .trim_start_matches(',')
            .trim()
            .parse::<usize>()
        else {
            break;
        };
        let after = rest[colon + 1..].trim_start();
        let (name, next) = match after.chars().next() {
            Some(q @ ('\'' | '"')) => match after[1..].find(q) {
                Some(end) => (&after[1..1 + end], &after[end + 2..]),
                None => break,
            },
            _ => match after.find(',') {
                Some(end) => (after[..end].trim(), &after[end..]),
                None => (after.trim(), ""),
            },
        };
        out.insert(id, name.to_string());
        rest = next;
    }
    out
}

/// A user model's class map, `--classes person=0,car=2,plate=0`: label name = model class
/// index; the name maps to a pixla class like a dataset's class names (car → vehicle).
pub fn parse_class_map(s: &str) -> Result<Vec<(String, usize, Class)>, String> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').ok_or_else(|| format!("--classes `{p}`: expected NAME=INDEX, e.g. person=0,car=2"))?;
            let c = Class::from_label(k.trim()).ok_or_else(|| format!("--classes: `{k}` maps to no pixla class (person, vehicle/car/truck/bus/..., plate, face)"))?;
            let i = v.trim().parse::<usize>().map_err(|_| format!("--classes: `{v}` is not a class index"))?;
            Ok((k.trim().to_string(), i, c))
        })
        .collect()
}

impl Yolo {
    /// `platedet`: one class, plates.
    pub fn platedet(dir: &Path, sessions: usize, threshold: f32) -> Result<Self, SetupError> {
        let pool = SessionPool::load(&PLATEDET, dir, sessions)?;
        let half_input = pool.with(|s| {
            matches!(
                s.inputs()[0].dtype(),
                ort::value::ValueType::Tensor {
                    ty: ort::value::TensorElementType::Float16,
                    ..
                }
            )
        });
        Ok(Yolo {
            pool,
            spec: &PLATEDET,
            map: vec![(0, Class::Plate)],
            classes: 1,
            layout: Layout::ChannelsFirst,
            half_input,
            size: (SIZE, SIZE),
            thresholds: BTreeMap::from([(Class::Plate, threshold)]),
            describe: None,
        })
    }

    /// The layout this model was read as.
    pub fn layout(&self) -> Layout {
        self.layout
    }
}

impl Detector for Yolo {
    fn spec(&self) -> &'static ModelSpec {
        self.spec
    }

    fn input_side(&self) -> u32 {
        self.size.0.max(self.size.1)
    }

    fn describe(&self) -> Option<(String, String)> {
        self.describe.clone()
    }

    fn detect(&self, img: &RgbImage) -> anyhow::Result<Vec<Detection>> {
        let (w, h) = self.size;
        let stretch = self.layout == Layout::RtDetr;
        let (t, back) = input(img, w, h, stretch);
        let (shape, data) = run(&self.pool, self.half_input, t)?;
        let out = self.output(&shape, &data)?;
        let mut dets = Vec::new();
        for i in 0..out.n {
            if self.layout == Layout::End2End {
                self.end2end_candidate(&out, i, back, &mut dets);
            } else {
                self.scored_candidate(&out, i, back, img, &mut dets);
            }
        }
        Ok(nms(dets, 0.45))
    }
}

impl Yolo {
    /// The run's output as this model's layout reads it; a shape that does not fit it is an
    /// error.
    fn output<'a>(&self, shape: &[i64], data: &'a [f32]) -> anyhow::Result<Output<'a>> {
        if shape.len() != 3 {
            bail!("unexpected YOLO output shape {shape:?}");
        }
        let (a, b) = (shape[1] as usize, shape[2] as usize);
        let (n, c) = if self.layout == Layout::ChannelsFirst {
            (b, a)
        } else {
            (a, b)
        };
        let rows = if self.layout == Layout::End2End {
            6
        } else {
            4 + self.classes
        };
        if c < rows {
            bail!("unexpected YOLO output shape {shape:?}");
        }
        let layout = self.layout;
        Ok(Output { data, layout, n, c })
    }

    fn threshold(&self, k: Class) -> f32 {
        self.thresholds.get(&k).copied().unwrap_or(0.5)
    }

    /// End-to-end candidate `i` (x1 y1 x2 y2 score class): a detection for each pixla class
    /// its model class maps to, when the score reaches that class's threshold.
    fn end2end_candidate(
        &self,
        out: &Output,
        i: usize,
        back: ToPicture,
        dets: &mut Vec<Detection>,
    ) {
        let (score, id) = (out.at(4, i), out.at(5, i).round() as i64);
        for &(_, class) in self.map.iter().filter(|(k, _)| *k as i64 == id) {
            if score >= self.threshold(class) {
                dets.push(Detection {
                    class,
                    score,
                    bbox: back.apply(out.at(0, i), out.at(1, i), out.at(2, i), out.at(3, i)),
                });
            }
        }
    }

    /// Candidate `i` with a score row per model class (YOLO, RT-DETR): a detection per pixla
    /// class whose best score reaches its threshold, its box clipped to `img`.
    fn scored_candidate(
        &self,
        out: &Output,
        i: usize,
        back: ToPicture,
        img: &RgbImage,
        dets: &mut Vec<Detection>,
    ) {
        for (class, score) in self.best_scores(out, i) {
            if score < self.threshold(class) {
                continue;
            }
            let bbox = self.centre_box(out, i, back, img);
            if bbox.area() > 0.0 {
                dets.push(Detection { class, score, bbox });
            }
        }
    }

    /// One score per pixla class for candidate `i`: the best of its model classes (several
    /// may map to one pixla class: car, bus, truck → vehicle), in the class map's order.
    fn best_scores(&self, out: &Output, i: usize) -> Vec<(Class, f32)> {
        let mut best: Vec<(Class, f32)> = Vec::new();
        for &(k, class) in &self.map {
            let s = out.at(4 + k, i);
            match best.iter_mut().find(|(c, _)| *c == class) {
                Some(b) => b.1 = b.1.max(s),
                None => best.push((class, s)),
            }
        }
        best
    }

    /// The box of candidate `i` (centre, size; RT-DETR's normalised) in `img`'s pixels,
    /// clipped to it.
    fn centre_box(&self, out: &Output, i: usize, back: ToPicture, img: &RgbImage) -> BoxF {
        let (w, h) = self.size;
        let (mut cx, mut cy, mut bw, mut bh) =
            (out.at(0, i), out.at(1, i), out.at(2, i), out.at(3, i));
        if self.layout == Layout::RtDetr {
            (cx, cy, bw, bh) = (cx * w as f32, cy * h as f32, bw * w as f32, bh * h as f32);
        }
        let bx = back.apply(cx - bw / 2.0, cy - bh / 2.0, cx + bw / 2.0, cy + bh / 2.0);
        BoxF::new(
            bx.x1.max(0.0),
            bx.y1.max(0.0),
            bx.x2.min(img.width() as f32),
            bx.y2.min(img.height() as f32),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ultralytics_names() {
        let n = parse_names("{0: 'person', 1: 'bicycle', 2: 'car', 11: 'stop sign', 12: \"it's\"}");
        assert_eq!(n.len(), 5);
        assert_eq!(n[&2], "car");
        assert_eq!(n[&11], "stop sign");
        assert_eq!(n[&12], "it's");
        assert_eq!(parse_names("{0: 'plate'}")[&0], "plate");
        assert!(parse_names("").is_empty());
    }
    #[test]
    fn class_maps() {
        let m = parse_class_map("person=0,car=2,truck=7").unwrap();
        assert_eq!(m[1], ("car".to_string(), 2, Class::Vehicle));
        assert!(parse_class_map("tree=3").unwrap_err().contains("tree"));
        assert!(parse_class_map("person").is_err());
    }
}

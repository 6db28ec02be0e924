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
//! NMS at IoU 0.45 per pixla class.

use super::{nms, Class, Detection, Detector, SessionPool};
use crate::detect::registry::{ModelSpec, Role, Source, PLATEDET};
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

/// The input tensor for `img`: letterboxed into `w x h` (or resized to it, `stretch`);
/// returns the tensor and the mapping back: (scale x, scale y, offset x, offset y).
fn input(img: &RgbImage, w: u32, h: u32, stretch: bool) -> (Array4<f32>, (f32, f32, f32, f32)) {
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
    (t, (sx, sy, ox as f32, oy as f32))
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

    /// A model the user brings: `format` is `auto`, `yolov8`, `yolo11`, `rtdetr` or `yolov10`;
    /// `map` names the model's class indices to use. The layout is read from the model
    /// (input and output shapes, Ultralytics metadata, one trial run); a layout that does not
    /// fit, or a class index the model lacks, is a usage error before any file is processed.
    pub fn user(
        path: &Path,
        format: &str,
        map: &[(String, usize, Class)],
        size: Option<u32>,
        thresholds: BTreeMap<Class, f32>,
        sessions: usize,
    ) -> Result<Self, SetupError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model.onnx".into());
        let bad = |why: String| SetupError::UserModel {
            path: path.to_path_buf(),
            why,
        };
        if !["auto", "yolov8", "yolo11", "rtdetr", "yolov10"].contains(&format) {
            return Err(SetupError::Usage(format!(
                "--model-format `{format}`: expected auto, yolov8, yolo11, rtdetr or yolov10"
            )));
        }
        if map.is_empty() {
            return Err(bad(
                "--classes is needed, e.g. --classes person=0,car=2".into()
            ));
        }
        let bytes =
            crate::fsio::read_regular(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let sha = crate::fsio::sha256_hex(&bytes);
        let pool = SessionPool::from_bytes(&name, &bytes, sessions)?;
        drop(bytes);
        type Meta = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let (meta, in_ty, in_shape, n_out): (Meta, _, Vec<i64>, usize) = pool.with(|s| {
            let m = s.metadata().ok();
            let g = |k: &str| m.as_ref().and_then(|m| m.custom(k));
            let meta = (
                g("names"),
                g("license"),
                g("imgsz"),
                m.as_ref().and_then(|m| m.description()),
                g("task"),
            );
            let (ty, shape) = match s.inputs().first().map(|i| i.dtype()) {
                Some(ort::value::ValueType::Tensor { ty, shape, .. }) => {
                    (Some(*ty), shape.to_vec())
                }
                _ => (None, vec![]),
            };
            (meta, ty, shape, s.outputs().len())
        });
        let (names, licence, imgsz, description, _task) = meta;
        let half_input = match in_ty {
            Some(ort::value::TensorElementType::Float16) => true,
            Some(ort::value::TensorElementType::Float32) => false,
            other => {
                return Err(bad(format!(
                    "input is {other:?}, expected a float32 or float16 image tensor [1,3,H,W]"
                )))
            }
        };
        if in_shape.len() != 4 || (in_shape[1] != 3 && in_shape[1] != -1) {
            return Err(bad(format!(
                "input shape {in_shape:?} is not an image tensor [1,3,H,W]"
            )));
        }
        let meta_size: Option<(u32, u32)> = imgsz.and_then(|s| {
            let v: Vec<u32> = s
                .trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .filter_map(|x| x.trim().parse().ok())
                .collect();
            match v.as_slice() {
                [h, w] => Some((*w, *h)),
                [s] => Some((*s, *s)),
                _ => None,
            }
        });
        let size = match (in_shape[3], in_shape[2]) {
            (w, h) if w > 0 && h > 0 => (w as u32, h as u32),
            _ => size.map(|s| (s, s)).or(meta_size).unwrap_or((SIZE, SIZE)),
        };
        let names = names.map(|n| parse_names(&n)).filter(|n| !n.is_empty());
        // one trial run on a grey picture: the real output shape (dynamic axes resolved)
        let grey = RgbImage::from_pixel(size.0, size.1, image::Rgb([114, 114, 114]));
        let (t, _) = input(&grey, size.0, size.1, false);
        let (shape, data) =
            run(&pool, half_input, t).map_err(|e| bad(format!("a trial run failed: {e:#}")))?;
        if shape.len() != 3 || shape[0] != 1 || shape[1] < 1 || shape[2] < 1 {
            return Err(bad(format!("output shape {shape:?} is no detection layout this version reads ([1,4+nc,N], [1,N,4+nc], RT-DETR [1,300,4+nc], end-to-end [1,N,6])")));
        }
        let (a, b) = (shape[1] as usize, shape[2] as usize);
        let seg = n_out >= 2;
        let masks = if seg { 32 } else { 0 };
        let is_rtdetr_meta = description
            .as_deref()
            .map(|d| d.to_lowercase().replace('-', "").contains("rtdetr"))
            .unwrap_or(false);
        let nc_of = |c: usize| {
            names
                .as_ref()
                .map(|n| n.len())
                .unwrap_or(c.saturating_sub(4 + masks))
        };
        let layout = match format {
            "yolov10" => Layout::End2End,
            "rtdetr" => Layout::RtDetr,
            _ if b == 6 && a > b && names.as_ref().is_some_and(|n| n.len() != 2) => Layout::End2End,
            _ if a < b => Layout::ChannelsFirst,
            "yolov8" | "yolo11" => Layout::ChannelsLast,
            _ if is_rtdetr_meta => Layout::RtDetr,
            _ => {
                // transposed YOLO boxes are in input pixels, RT-DETR's within 0..1
                let c = b;
                let max = (0..a)
                    .flat_map(|i| (0..4).map(move |r| (i, r)))
                    .map(|(i, r)| data[i * c + r].abs())
                    .fold(0.0f32, f32::max);
                if max <= 1.5 {
                    Layout::RtDetr
                } else {
                    Layout::ChannelsLast
                }
            }
        };
        let channels = match layout {
            Layout::ChannelsFirst => a,
            _ => b,
        };
        let classes = match layout {
            Layout::End2End => names.as_ref().map(|n| n.len()).unwrap_or(usize::MAX),
            Layout::RtDetr => names
                .as_ref()
                .map(|n| n.len())
                .unwrap_or(channels.saturating_sub(4)),
            _ => nc_of(channels),
        };
        if layout != Layout::End2End && (channels < 5 || 4 + classes > channels) {
            return Err(bad(format!(
                "output shape {shape:?} does not fit {} with {classes} classes{}",
                layout.as_str(),
                names
                    .as_ref()
                    .map(|_| " (from the model's `names`)")
                    .unwrap_or("")
            )));
        }
        if layout == Layout::End2End && b != 6 {
            return Err(bad(format!(
                "output shape {shape:?} is not end-to-end [1,N,6]"
            )));
        }
        for (n, i, _) in map {
            if *i >= classes {
                let known = names
                    .as_ref()
                    .map(|m| {
                        format!(
                            ": {}",
                            m.iter()
                                .take(12)
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
                    .unwrap_or_default();
                return Err(bad(format!(
                    "--classes {n}={i}: the model has {} classes{known}",
                    if classes == usize::MAX {
                        "?".into()
                    } else {
                        classes.to_string()
                    }
                )));
            }
        }
        let classes = if classes == usize::MAX { 0 } else { classes };
        let map_s = map
            .iter()
            .map(|(n, i, _)| format!("{n}={i}"))
            .collect::<Vec<_>>()
            .join(",");
        let spec: &'static ModelSpec = Box::leak(Box::new(ModelSpec {
            name: Box::leak(name.into_boxed_str()),
            role: Role::PersonVehicle,
            file: Box::leak(path.to_string_lossy().into_owned().into_boxed_str()),
            sha256: Box::leak(sha.into_boxed_str()),
            licence: Box::leak(
                licence
                    .filter(|l| !l.trim().is_empty())
                    .unwrap_or_else(|| "user-supplied (not stated)".into())
                    .into_boxed_str(),
            ),
            copyleft: false,
            default: false,
            source: Source::User,
            note: "user-supplied model",
        }));
        let describe = Some((
            format!(
                "{} ({}); input {}x{}",
                layout.as_str(),
                if format == "auto" { "detected" } else { format },
                size.0,
                size.1
            ),
            map_s,
        ));
        Ok(Yolo {
            pool,
            spec,
            map: map.iter().map(|(_, i, c)| (*i, *c)).collect(),
            classes,
            layout,
            half_input,
            size,
            thresholds,
            describe,
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
        let (t, (sx, sy, ox, oy)) = input(img, w, h, stretch);
        let (shape, data) = run(&self.pool, self.half_input, t)?;
        if shape.len() != 3 {
            bail!("unexpected YOLO output shape {shape:?}");
        }
        let (a, b) = (shape[1] as usize, shape[2] as usize);
        let (n, c) = if self.layout == Layout::ChannelsFirst {
            (b, a)
        } else {
            (a, b)
        };
        if c < if self.layout == Layout::End2End {
            6
        } else {
            4 + self.classes
        } {
            bail!("unexpected YOLO output shape {shape:?}");
        }
        let at = |r: usize, i: usize| {
            if self.layout == Layout::ChannelsFirst {
                data[r * n + i]
            } else {
                data[i * c + r]
            }
        };
        let thr = |k: Class| self.thresholds.get(&k).copied().unwrap_or(0.5);
        let back = |x1: f32, y1: f32, x2: f32, y2: f32| {
            BoxF::new(
                (x1 - ox) / sx,
                (y1 - oy) / sy,
                (x2 - ox) / sx,
                (y2 - oy) / sy,
            )
        };
        let mut dets = Vec::new();
        for i in 0..n {
            if self.layout == Layout::End2End {
                let (score, id) = (at(4, i), at(5, i).round() as i64);
                for &(_, class) in self.map.iter().filter(|(k, _)| *k as i64 == id) {
                    if score >= thr(class) {
                        dets.push(Detection {
                            class,
                            score,
                            bbox: back(at(0, i), at(1, i), at(2, i), at(3, i)),
                        });
                    }
                }
                continue;
            }
            // one detection per pixla class per candidate (several model classes may map
            // to one pixla class: car, bus, truck → vehicle)
            let mut best: Vec<(Class, f32)> = Vec::new();
            for &(k, class) in &self.map {
                let s = at(4 + k, i);
                match best.iter_mut().find(|(c, _)| *c == class) {
                    Some(b) => b.1 = b.1.max(s),
                    None => best.push((class, s)),
                }
            }
            for (class, score) in best {
                if score < thr(class) {
                    continue;
                }
                let (mut cx, mut cy, mut bw, mut bh) = (at(0, i), at(1, i), at(2, i), at(3, i));
                if self.layout == Layout::RtDetr {
                    (cx, cy, bw, bh) = (cx * w as f32, cy * h as f32, bw * w as f32, bh * h as f32);
                }
                let bx = back(cx - bw / 2.0, cy - bh / 2.0, cx + bw / 2.0, cy + bh / 2.0);
                let bx = BoxF::new(
                    bx.x1.max(0.0),
                    bx.y1.max(0.0),
                    bx.x2.min(img.width() as f32),
                    bx.y2.min(img.height() as f32),
                );
                if bx.area() > 0.0 {
                    dets.push(Detection {
                        class,
                        score,
                        bbox: bx,
                    });
                }
            }
        }
        Ok(nms(dets, 0.45))
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

//! A model the user brings (`--model path.onnx --model-format ... --classes person=0,car=2`),
//! loaded as a [`Yolo`] by [`Yolo::user`] in named steps: read what the model says about
//! itself ([`Probe`]: Ultralytics metadata, input tensor), make one trial run on a grey
//! picture ([`Trial`]: the real output shape), read the output [`Layout`] from both, count
//! the model's classes and check that the layout and `--classes` fit them.
//!
//! Every step that fails is a [`SetupError::UserModel`] naming the model and why, before any
//! file is processed; an unknown `--model-format` is a usage error.

use super::{input, parse_names, run, Layout, Yolo, SIZE};
use crate::detect::registry::{ModelSpec, Role, Source};
use crate::detect::{Class, SessionPool};
use crate::error::SetupError;
use image::RgbImage;
use ort::value::{TensorElementType, ValueType};
use std::collections::BTreeMap;
use std::path::Path;

/// The class count of an end-to-end model whose metadata names no classes: not stated, so
/// no `--classes` index is out of range.
const UNSTATED: usize = usize::MAX;

/// `--model-format`: the output layout the user names, or `auto` (read from the model).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Auto,
    Yolov8,
    Yolo11,
    RtDetr,
    Yolov10,
}

impl Format {
    fn parse(s: &str) -> Result<Format, SetupError> {
        match s {
            "auto" => Ok(Format::Auto),
            "yolov8" => Ok(Format::Yolov8),
            "yolo11" => Ok(Format::Yolo11),
            "rtdetr" => Ok(Format::RtDetr),
            "yolov10" => Ok(Format::Yolov10),
            _ => Err(SetupError::Usage(format!(
                "--model-format `{s}`: expected auto, yolov8, yolo11, rtdetr or yolov10"
            ))),
        }
    }

    /// How the report names where the layout came from: `detected`, or the format given.
    fn origin(self) -> &'static str {
        match self {
            Format::Auto => "detected",
            Format::Yolov8 => "yolov8",
            Format::Yolo11 => "yolo11",
            Format::RtDetr => "rtdetr",
            Format::Yolov10 => "yolov10",
        }
    }
}

/// What a model says about itself before it runs.
struct Probe {
    /// Class names from the Ultralytics metadata `names`, when it has any.
    names: Option<BTreeMap<usize, String>>,
    licence: Option<String>,
    /// The metadata `imgsz`, e.g. `[640, 640]`.
    imgsz: Option<String>,
    description: Option<String>,
    input_type: Option<TensorElementType>,
    input_shape: Vec<i64>,
    /// Number of outputs: two for a `-seg` model (boxes and masks).
    outputs: usize,
}

/// The output of the trial run: its shape `[1, a, b]` and its values.
struct Trial {
    shape: Vec<i64>,
    a: usize,
    b: usize,
    data: Vec<f32>,
}

impl Yolo {
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
        let format = Format::parse(format)?;
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
        let probe = Probe::read(&pool);
        let half_input = probe.half_input().map_err(bad)?;
        probe.check_image_input().map_err(bad)?;
        let size = probe.input_size(size);
        let trial = Trial::run(&pool, half_input, size).map_err(bad)?;
        let layout = read_layout(format, &probe, &trial);
        let classes = class_count(layout, &probe, &trial);
        check_layout_fits(layout, classes, &probe, &trial).map_err(bad)?;
        check_class_map(map, classes, &probe).map_err(bad)?;
        let describe = Some(describe(layout, format, size, map));
        Ok(Yolo {
            pool,
            spec: user_spec(name, path, sha, probe.licence),
            map: map.iter().map(|(_, i, c)| (*i, *c)).collect(),
            classes: if classes == UNSTATED { 0 } else { classes },
            layout,
            half_input,
            size,
            thresholds,
            describe,
        })
    }
}

impl Probe {
    /// The model's metadata and input tensor, from one of its sessions.
    fn read(pool: &SessionPool) -> Probe {
        pool.with(|s| {
            let m = s.metadata().ok();
            let g = |k: &str| m.as_ref().and_then(|m| m.custom(k));
            let (input_type, input_shape) = match s.inputs().first().map(|i| i.dtype()) {
                Some(ValueType::Tensor { ty, shape, .. }) => (Some(*ty), shape.to_vec()),
                _ => (None, vec![]),
            };
            Probe {
                names: g("names")
                    .map(|n| parse_names(&n))
                    .filter(|n| !n.is_empty()),
                licence: g("license"),
                imgsz: g("imgsz"),
                description: m.as_ref().and_then(|m| m.description()),
                input_type,
                input_shape,
                outputs: s.outputs().len(),
            }
        })
    }

    /// Whether the input is float16 (else float32); any other input type is refused.
    fn half_input(&self) -> Result<bool, String> {
        match self.input_type {
            Some(TensorElementType::Float16) => Ok(true),
            Some(TensorElementType::Float32) => Ok(false),
            other => Err(format!(
                "input is {other:?}, expected a float32 or float16 image tensor [1,3,H,W]"
            )),
        }
    }

    /// The input must be an image tensor `[1,3,H,W]` (the channel axis may be dynamic).
    fn check_image_input(&self) -> Result<(), String> {
        let s = &self.input_shape;
        if s.len() != 4 || (s[1] != 3 && s[1] != -1) {
            return Err(format!(
                "input shape {s:?} is not an image tensor [1,3,H,W]"
            ));
        }
        Ok(())
    }

    /// The input width and height: the input shape's when fixed, else `size` (`--model-size`),
    /// else the metadata's `imgsz`, else 640.
    fn input_size(&self, size: Option<u32>) -> (u32, u32) {
        match (self.input_shape[3], self.input_shape[2]) {
            (w, h) if w > 0 && h > 0 => (w as u32, h as u32),
            _ => size
                .map(|s| (s, s))
                .or(self.imgsz_size())
                .unwrap_or((SIZE, SIZE)),
        }
    }

    /// The metadata `imgsz` as width, height: `[h, w]` or `[s]`.
    fn imgsz_size(&self) -> Option<(u32, u32)> {
        self.imgsz.as_ref().and_then(|s| {
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
        })
    }

    /// Whether the metadata's description names RT-DETR.
    fn says_rtdetr(&self) -> bool {
        self.description
            .as_deref()
            .map(|d| d.to_lowercase().replace('-', "").contains("rtdetr"))
            .unwrap_or(false)
    }

    /// The number of class names in the metadata, when it has names.
    fn named_classes(&self) -> Option<usize> {
        self.names.as_ref().map(|n| n.len())
    }
}

impl Trial {
    /// One trial run on a grey picture: the real output shape (dynamic axes resolved), which
    /// must be `[1, a, b]`.
    fn run(pool: &SessionPool, half_input: bool, size: (u32, u32)) -> Result<Trial, String> {
        let grey = RgbImage::from_pixel(size.0, size.1, image::Rgb([114, 114, 114]));
        let (t, _) = input(&grey, size.0, size.1, false);
        let (shape, data) =
            run(pool, half_input, t).map_err(|e| format!("a trial run failed: {e:#}"))?;
        if shape.len() != 3 || shape[0] != 1 || shape[1] < 1 || shape[2] < 1 {
            return Err(format!("output shape {shape:?} is no detection layout this version reads ([1,4+nc,N], [1,N,4+nc], RT-DETR [1,300,4+nc], end-to-end [1,N,6])"));
        }
        let (a, b) = (shape[1] as usize, shape[2] as usize);
        Ok(Trial { shape, a, b, data })
    }

    /// The rows per candidate in `layout`: boxes, class scores (and mask coefficients).
    fn channels(&self, layout: Layout) -> usize {
        match layout {
            Layout::ChannelsFirst => self.a,
            _ => self.b,
        }
    }

    /// Transposed YOLO or RT-DETR, told apart by the boxes: YOLO's are in input pixels,
    /// RT-DETR's within 0..1.
    fn transposed_layout(&self) -> Layout {
        let c = self.b;
        let max = (0..self.a)
            .flat_map(|i| (0..4).map(move |r| (i, r)))
            .map(|(i, r)| self.data[i * c + r].abs())
            .fold(0.0f32, f32::max);
        if max <= 1.5 {
            Layout::RtDetr
        } else {
            Layout::ChannelsLast
        }
    }
}

/// The output layout: the one `format` names, else read from the trial output's shape, the
/// metadata and, last, the size of the boxes.
fn read_layout(format: Format, probe: &Probe, trial: &Trial) -> Layout {
    let (a, b) = (trial.a, trial.b);
    match format {
        Format::Yolov10 => Layout::End2End,
        Format::RtDetr => Layout::RtDetr,
        _ if b == 6 && a > b && probe.named_classes().is_some_and(|n| n != 2) => Layout::End2End,
        _ if a < b => Layout::ChannelsFirst,
        Format::Yolov8 | Format::Yolo11 => Layout::ChannelsLast,
        _ if probe.says_rtdetr() => Layout::RtDetr,
        _ => trial.transposed_layout(),
    }
}

/// The model's class count: its metadata's names, else what the output rows leave after the
/// boxes (and a `-seg` model's 32 mask coefficients); [`UNSTATED`] for an end-to-end model
/// without names.
fn class_count(layout: Layout, probe: &Probe, trial: &Trial) -> usize {
    let masks = if probe.outputs >= 2 { 32 } else { 0 };
    let channels = trial.channels(layout);
    match layout {
        Layout::End2End => probe.named_classes().unwrap_or(UNSTATED),
        Layout::RtDetr => probe.named_classes().unwrap_or(channels.saturating_sub(4)),
        _ => probe
            .named_classes()
            .unwrap_or(channels.saturating_sub(4 + masks)),
    }
}

/// The output must hold 4 box rows and `classes` score rows (end-to-end: 6 values).
fn check_layout_fits(
    layout: Layout,
    classes: usize,
    probe: &Probe,
    trial: &Trial,
) -> Result<(), String> {
    let (shape, channels) = (&trial.shape, trial.channels(layout));
    if layout != Layout::End2End && (channels < 5 || 4 + classes > channels) {
        return Err(format!(
            "output shape {shape:?} does not fit {} with {classes} classes{}",
            layout.as_str(),
            probe
                .names
                .as_ref()
                .map(|_| " (from the model's `names`)")
                .unwrap_or("")
        ));
    }
    if layout == Layout::End2End && trial.b != 6 {
        return Err(format!("output shape {shape:?} is not end-to-end [1,N,6]"));
    }
    Ok(())
}

/// Every class index of `--classes` must be one of the model's `classes`; the error lists
/// the first names the model has.
fn check_class_map(
    map: &[(String, usize, Class)],
    classes: usize,
    probe: &Probe,
) -> Result<(), String> {
    let Some((n, i, _)) = map.iter().find(|(_, i, _)| *i >= classes) else {
        return Ok(());
    };
    let known = probe
        .names
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
    Err(format!(
        "--classes {n}={i}: the model has {} classes{known}",
        if classes == UNSTATED {
            "?".into()
        } else {
            classes.to_string()
        }
    ))
}

/// The registry entry of a user model, made once per process (it lives as long as it).
fn user_spec(
    name: String,
    path: &Path,
    sha: String,
    licence: Option<String>,
) -> &'static ModelSpec {
    Box::leak(Box::new(ModelSpec {
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
    }))
}

/// For the report: the layout and where it came from, the input size; and the class map.
fn describe(
    layout: Layout,
    format: Format,
    size: (u32, u32),
    map: &[(String, usize, Class)],
) -> (String, String) {
    let map_s = map
        .iter()
        .map(|(n, i, _)| format!("{n}={i}"))
        .collect::<Vec<_>>()
        .join(",");
    (
        format!(
            "{} ({}); input {}x{}",
            layout.as_str(),
            format.origin(),
            size.0,
            size.1
        ),
        map_s,
    )
}

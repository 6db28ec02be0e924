//! The settings of a run: everything that decides what gets hidden and how outputs are
//! written ([`Config`], serialised into the report as-is), the built-in detectors to use
//! ([`ObjectModels`]), a detector the user brings ([`UserModel`]) and the JPEG output mode
//! ([`JpegMode`]).

use crate::detect::registry;
use crate::detect::Class;
use crate::formats::decode::Limits;
use crate::redact::Method;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Everything that decides what gets hidden. Serialised into the report as-is.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Tile edge in px.
    pub tile: u32,
    /// Tile overlap, fraction of the tile edge.
    pub overlap: f32,
    /// Also run each detector once on the whole image, downscaled (for big objects).
    pub whole_image_pass: bool,
    /// On pictures much bigger than a tile, also run tiled passes on copies downscaled by
    /// 4, 16, ... (until one tile would hold the whole copy), so objects between the tile
    /// scale and the whole-image scale are seen at a size the detector knows.
    pub pyramid: bool,
    /// Minimum detector score per class.
    pub thresholds: BTreeMap<Class, f32>,
    /// How each class is hidden.
    pub methods: BTreeMap<Class, Method>,
    /// Margin added on each side of a box, as a fraction of its size (plus `margin_px`).
    pub margin: f32,
    pub margin_px: f32,
    /// Pixelation: blocks across the short side of a box.
    pub blocks: u32,
    /// Boxes of one class overlapping more than this (intersection over the smaller) merge.
    pub merge_ios: f32,
    /// The built-in person and vehicle detectors (unless `model` replaces them).
    pub detector: ObjectModels,
    /// Plate detector: `pixla-plate` (default, pixla's own), `ppocrv4-det` (Apache-2.0),
    /// `platedet` (AGPL-3.0) or `none`.
    pub plate_model: String,
    /// Vehicle crops are upscaled up to this factor before plate detection.
    pub plate_upscale: f32,
    /// A vehicle large enough for a readable plate on which none is found gets its plate
    /// band filled ([`plate_band`](crate::find::plates::plate_band)).
    pub plate_bands: bool,
    pub limits: Limits,
    /// JPEG output: `lossless` rewrites only the DCT blocks under a redaction (fills to the
    /// pixel, pixelations widened to the MCU grid); `reencode` re-encodes the whole picture
    /// at the source's quality.
    pub jpeg: JpegMode,
    /// Embedded previews, GPS and metadata stripping.
    pub meta: crate::formats::jpeg::meta::MetaOptions,
    /// A user-supplied detector replacing NanoDet (`--model`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<UserModel>,
    #[serde(skip)]
    pub models_dir: PathBuf,
    pub threads: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tile: 640,
            overlap: 0.2,
            whole_image_pass: true,
            pyramid: true,
            thresholds: BTreeMap::from([
                (Class::Person, 0.3),
                (Class::Vehicle, 0.3),
                (Class::Plate, 0.5),
                (Class::Face, 0.5),
            ]),
            methods: BTreeMap::from([
                (Class::Person, Method::Pixelate),
                (Class::Vehicle, Method::None),
                (Class::Plate, Method::Fill),
                (Class::Face, Method::Pixelate),
            ]),
            margin: 0.15,
            margin_px: 2.0,
            blocks: 4,
            merge_ios: 0.5,
            detector: ObjectModels::Aerial,
            plate_model: registry::PIXLA_PLATE.name.to_string(),
            plate_upscale: 4.0,
            plate_bands: true,
            limits: Limits::default(),
            jpeg: JpegMode::Lossless,
            meta: Default::default(),
            model: None,
            models_dir: registry::models_dir(None),
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        }
    }
}

/// Which built-in detectors look for persons and vehicles, on which passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ObjectModels {
    /// `pixla-aerial` on every full-resolution tile (people 6-60 px), and `nanodet-m` on
    /// the downscaled whole-image and pyramid passes and on pictures of one tile (large and
    /// near people, street views); `pixla-aerial` also runs on the pyramid levels.
    #[serde(rename = "pixla-aerial")]
    Aerial,
    /// `nanodet-m` alone on every pass (pixla before it had its own model).
    #[serde(rename = "nanodet-m")]
    NanoDet,
}

impl ObjectModels {
    pub const NAMES: [&'static str; 2] = ["pixla-aerial", "nanodet-m"];
    pub fn parse(s: &str) -> Option<ObjectModels> {
        match s {
            "pixla-aerial" => Some(ObjectModels::Aerial),
            "nanodet-m" => Some(ObjectModels::NanoDet),
            _ => None,
        }
    }
}

/// A detector the user brings (`--model path.onnx --model-format F --classes person=0,...`).
#[derive(Debug, Clone, Serialize)]
pub struct UserModel {
    /// The ONNX file (the report records only its name and sha256).
    #[serde(skip)]
    pub path: PathBuf,
    pub file: String,
    /// `auto`, `yolov8`, `yolo11`, `rtdetr` or `yolov10`.
    pub format: String,
    /// (name as given, model class index, pixla class).
    pub classes: Vec<(String, usize, Class)>,
    /// Input size when the model does not state one.
    pub size: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JpegMode {
    Lossless,
    Reencode,
}

/// Which settings count when this run is compared with a recorded one ([`Config::differences`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compared {
    /// Everything that decides an output: every key of the recorded configuration but
    /// [`Config::NO_EFFECT`]. A resumed batch, a review re-run (`--regions`) and the shards of
    /// one batch must agree on all of them.
    Outputs,
    /// What decides what is detected and hidden: [`Compared::Outputs`] less
    /// [`Config::WRITING_ONLY`]. `check`, which writes nothing, notes these.
    Detection,
}

/// One setting that differs between a recorded run and this one.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub key: String,
    /// The recorded value (`None`: the recorded configuration lacks the key).
    pub recorded: Option<Value>,
    /// This run's value (`None`: not set, such as `model` without `--model`).
    pub now: Option<Value>,
}

impl Difference {
    /// `value` as messages show it: its JSON, or `-` when it is not set.
    pub fn show(value: &Option<Value>) -> String {
        value
            .as_ref()
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into())
    }
}

/// `recorded` (a configuration as a report or journal records it) as runs are compared: less
/// the keys that change nothing in the outputs ([`Config::NO_EFFECT`]).
pub fn comparable(recorded: &Value) -> Value {
    let mut c = recorded.clone();
    if let Some(o) = c.as_object_mut() {
        for k in Config::NO_EFFECT {
            o.remove(*k);
        }
    }
    c
}

impl Config {
    /// Recorded keys that change nothing in the outputs: never compared between runs.
    pub const NO_EFFECT: &'static [&'static str] = &["threads"];
    /// Recorded keys that decide how outputs are written (decoding limits, the JPEG mode,
    /// metadata), not what is detected and hidden: [`Compared::Detection`] leaves them out.
    pub const WRITING_ONLY: &'static [&'static str] = &["limits", "jpeg", "meta"];

    /// The configuration as the report records it.
    pub fn recorded(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The configuration as runs are compared ([`comparable`]): what a journal header records.
    pub fn comparable(&self) -> Value {
        comparable(&self.recorded())
    }

    /// The settings in which this run differs from `recorded` (a configuration as a report
    /// records it), by key in alphabetical order; a key set on one side only differs too.
    /// The one definition of "the same settings" for resume, `--regions` and `check`.
    pub fn differences(&self, recorded: &Value, compared: Compared) -> Vec<Difference> {
        let ours = self.comparable();
        let theirs = comparable(recorded);
        let keys: BTreeSet<&String> = [&ours, &theirs]
            .into_iter()
            .filter_map(Value::as_object)
            .flat_map(|o| o.keys())
            .collect();
        keys.into_iter()
            .filter(|k| {
                compared == Compared::Outputs || !Config::WRITING_ONLY.contains(&k.as_str())
            })
            .filter(|k| ours.get(k.as_str()) != theirs.get(k.as_str()))
            .map(|k| Difference {
                key: k.clone(),
                recorded: theirs.get(k.as_str()).cloned(),
                now: ours.get(k.as_str()).cloned(),
            })
            .collect()
    }

    pub fn threshold(&self, c: Class) -> f32 {
        self.thresholds.get(&c).copied().unwrap_or(0.5)
    }
    pub fn method(&self, c: Class) -> Method {
        self.methods.get(&c).copied().unwrap_or(Method::Pixelate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_leave_out_threads_and_for_detection_the_writing_settings() {
        let a = Config::default();
        let mut b = a.clone();
        b.threads = a.threads + 3;
        b.jpeg = JpegMode::Reencode;
        let rec = b.recorded();
        assert_eq!(a.differences(&rec, Compared::Detection), vec![]);
        let d = a.differences(&rec, Compared::Outputs);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].key, "jpeg");
        assert_eq!(comparable(&rec).get("threads"), None);
    }

    #[test]
    fn a_user_model_against_a_recorded_run_without_one_differs_for_detection() {
        let nanodet = Config {
            detector: ObjectModels::NanoDet,
            ..Config::default()
        };
        let mut user = nanodet.clone();
        user.model = Some(UserModel {
            path: PathBuf::from("/m/x.onnx"),
            file: "x.onnx".into(),
            format: "auto".into(),
            classes: vec![("person".into(), 0, Class::Person)],
            size: None,
        });
        let d = user.differences(&nanodet.recorded(), Compared::Detection);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].key, "model");
        assert_eq!(d[0].recorded, None);
        assert_eq!(Difference::show(&d[0].recorded), "-");
        assert!(d[0].now.is_some());
        // and the other way round
        let d = nanodet.differences(&user.recorded(), Compared::Detection);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].key, "model");
    }
}

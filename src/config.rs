//! The settings of a run: everything that decides what gets hidden and how outputs are
//! written ([`Config`], serialised into the report as-is), the built-in detectors to use
//! ([`ObjectModels`]), a detector the user brings ([`UserModel`]) and the JPEG output mode
//! ([`JpegMode`]).

use crate::detect::registry;
use crate::detect::Class;
use crate::formats::decode::Limits;
use crate::redact::Method;
use serde::Serialize;
use std::collections::BTreeMap;
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
    /// JPEG output: `lossless` rewrites only the DCT blocks under a redaction (boxes widened
    /// to the MCU grid); `reencode` re-encodes the whole picture at the source's quality.
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

impl Config {
    pub fn threshold(&self, c: Class) -> f32 {
        self.thresholds.get(&c).copied().unwrap_or(0.5)
    }
    pub fn method(&self, c: Class) -> Method {
        self.methods.get(&c).copied().unwrap_or(Method::Pixelate)
    }
}

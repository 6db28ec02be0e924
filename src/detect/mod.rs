//! Detectors: one [`Detector`] implementation per model family, each with its own pre- and
//! post-processing. A detector takes an RGB image (a tile, a downscaled whole image or a
//! vehicle crop) and returns boxes in that image's pixel coordinates.

pub mod nanodet;
pub mod ppocr;
pub mod yolo;

use crate::geom::BoxF;
use crate::models::ModelSpec;
use crate::SetupError;
use image::RgbImage;
use ort::session::Session;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Mutex;

/// What a region is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Person,
    Vehicle,
    Plate,
    Face,
}

impl Class {
    pub const ALL: [Class; 4] = [Class::Person, Class::Vehicle, Class::Plate, Class::Face];
    pub fn as_str(&self) -> &'static str {
        match self {
            Class::Person => "person",
            Class::Vehicle => "vehicle",
            Class::Plate => "plate",
            Class::Face => "face",
        }
    }
    pub fn parse(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == s)
    }
    /// The pixla class of a dataset's class name (COCO, YOLO, VIA labels), if any:
    /// person/human/pedestrian/people → person; car/truck/bus/van/motorcycle/vehicle/jeep →
    /// vehicle; plate/numberplate/license_plate/licence-plate → plate; face → face.
    /// Case, `-`, `_` and spaces are ignored, and a trailing `s` is dropped.
    pub fn from_label(name: &str) -> Option<Class> {
        let n: String = name.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
        let n = n.strip_suffix('s').filter(|m| !m.is_empty() && n != "bus").unwrap_or(&n);
        match n {
            "person" | "human" | "pedestrian" | "people" => Some(Class::Person),
            "car" | "truck" | "bus" | "van" | "motorcycle" | "motorbike" | "vehicle" | "jeep" => Some(Class::Vehicle),
            "plate" | "numberplate" | "licenseplate" | "licenceplate" => Some(Class::Plate),
            "face" => Some(Class::Face),
            _ => None,
        }
    }
}

/// One detected object.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    pub class: Class,
    pub score: f32,
    pub bbox: BoxF,
}

/// A detector for one model family.
pub trait Detector: Send + Sync {
    /// The registry entry of the loaded model (name, sha256, licence).
    fn spec(&self) -> &'static ModelSpec;
    /// Detect objects in `img`; boxes are in `img`'s pixel coordinates.
    fn detect(&self, img: &RgbImage) -> anyhow::Result<Vec<Detection>>;
    /// The model input's long side (the whole-image pass downscales to it).
    fn input_side(&self) -> u32 {
        nanodet::SIZE
    }
    /// For a user-supplied model: (format, class map) for the report.
    fn describe(&self) -> Option<(String, String)> {
        None
    }
}

/// One ONNX Runtime session per worker thread, each with one intra-op thread: rayon decides
/// the parallelism and sessions never wait on each other. Sessions need `&mut` to run, so
/// each sits in a mutex; the slot is chosen by the rayon worker index, so there is no
/// contention within pixla's own pool.
pub struct SessionPool {
    slots: Vec<Mutex<Session>>,
}

impl SessionPool {
    /// Load `spec` (sha256-checked bytes) into `n` sessions.
    pub fn load(spec: &ModelSpec, dir: &Path, n: usize) -> Result<Self, SetupError> {
        let bytes = spec.verified_bytes(dir)?;
        Self::from_bytes(spec.name, &bytes, n)
    }

    /// `n` sessions from model bytes already read (a user-supplied model, hashed by the caller).
    pub fn from_bytes(name: &str, bytes: &[u8], n: usize) -> Result<Self, SetupError> {
        let slots = (0..n.max(1))
            .map(|_| crate::runtime::session(name, bytes, 1).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SessionPool { slots })
    }

    /// Run `f` with a free session.
    pub fn with<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        let n = self.slots.len();
        let start = rayon::current_thread_index().unwrap_or(0) % n;
        for k in 0..n {
            if let Ok(mut s) = self.slots[(start + k) % n].try_lock() {
                return f(&mut s);
            }
        }
        let mut s = self.slots[start].lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s)
    }
}

/// Class-wise non-maximum suppression by IoU (within one model run).
pub fn nms(mut dets: Vec<Detection>, iou: f32) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut keep: Vec<Detection> = Vec::new();
    for d in dets {
        if keep.iter().all(|k| k.class != d.class || k.bbox.iou(&d.bbox) <= iou) {
            keep.push(d);
        }
    }
    keep
}

/// Resize `img` to fit inside `w x h` keeping its aspect ratio; returns the image and the
/// scale factor (new / old).
pub fn fit(img: &RgbImage, w: u32, h: u32) -> (std::borrow::Cow<'_, RgbImage>, f32) {
    let (iw, ih) = img.dimensions();
    let s = (w as f32 / iw as f32).min(h as f32 / ih as f32);
    let nw = ((iw as f32 * s).round() as u32).clamp(1, w);
    let nh = ((ih as f32 * s).round() as u32).clamp(1, h);
    if (nw, nh) == (iw, ih) {
        return (std::borrow::Cow::Borrowed(img), 1.0);
    }
    let r = image::imageops::resize(img, nw, nh, image::imageops::FilterType::Triangle);
    (std::borrow::Cow::Owned(r), nw as f32 / iw as f32)
}

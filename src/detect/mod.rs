//! Detectors: one [`Detector`] implementation per model family, each with its own pre- and
//! post-processing. A detector takes an RGB image (a tile, a downscaled whole image or a
//! vehicle crop) and returns boxes in that image's pixel coordinates.
//!
//! Around the families: the model registry ([`registry`]) and its installer ([`install`]),
//! the ONNX Runtime loader ([`onnx`]), the tiling of a picture ([`tile`]) and the merging of
//! overlapping boxes ([`merge`]).

pub mod aerial;
pub mod centre;
pub mod install;
pub mod merge;
pub mod nanodet;
pub mod onnx;
pub mod plate;
pub mod ppocr;
pub mod registry;
pub mod tile;
pub mod yolo;

use crate::detect::registry::ModelSpec;
use crate::error::SetupError;
use crate::geom::BoxF;
use image::RgbImage;
use ort::session::Session;
use rayon::prelude::*;
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
        let n: String = name
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        let n = n
            .strip_suffix('s')
            .filter(|m| !m.is_empty() && n != "bus")
            .unwrap_or(&n);
        match n {
            "person" | "human" | "pedestrian" | "people" => Some(Class::Person),
            "car" | "truck" | "bus" | "van" | "motorcycle" | "motorbike" | "vehicle" | "jeep" => {
                Some(Class::Vehicle)
            }
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
    /// The scale (new / old) at which a plate detector reads a vehicle crop whose long side
    /// is `long` px, given the `--plate-upscale` limit: by default up to 640 px, upscaled
    /// at most `max_up` times and never shrunk (the text detectors' rule).
    fn crop_scale(&self, long: u32, max_up: f32) -> f32 {
        (640.0 / long.max(1) as f32).clamp(1.0, max_up.max(1.0))
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
        // sessions are built in parallel (graph optimisation is single-threaded per session)
        let slots = (0..n.max(1))
            .into_par_iter()
            .map(|_| crate::detect::onnx::session(name, bytes, 1).map(Mutex::new))
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
        if keep
            .iter()
            .all(|k| k.class != d.class || k.bbox.iou(&d.bbox) <= iou)
        {
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
    (
        std::borrow::Cow::Owned(resize(img, nw, nh)),
        nw as f32 / iw as f32,
    )
}

thread_local! {
    /// One resizer per thread: it keeps its scratch buffers between tiles.
    static RESIZER: std::cell::RefCell<fast_image_resize::Resizer> = std::cell::RefCell::new(fast_image_resize::Resizer::new());
}

/// Bilinear (triangle-filter) resize of an RGB8 image, with SIMD (`fast_image_resize`); the
/// same filter as `image::imageops::resize(.., Triangle)` at about a tenth of its time, which
/// matters because every tile is resized to the model input.
pub fn resize(img: &RgbImage, nw: u32, nh: u32) -> RgbImage {
    resize_with(img, nw, nh, fast_image_resize::FilterType::Bilinear)
}

/// Upscale (or resize) an RGB8 image with the Catmull-Rom cubic filter, with SIMD: vehicle
/// crops before plate detection, where sharper edges help the text detector.
pub fn resize_cubic(img: &RgbImage, nw: u32, nh: u32) -> RgbImage {
    resize_with(img, nw, nh, fast_image_resize::FilterType::CatmullRom)
}

/// Shrink an RGB8 image by area averaging (a box filter: every source pixel counts once), as
/// `image::imageops::thumbnail` does, with SIMD: the whole-image pass's overview.
pub fn shrink(img: &RgbImage, nw: u32, nh: u32) -> RgbImage {
    resize_with(img, nw, nh, fast_image_resize::FilterType::Box)
}

fn resize_with(
    img: &RgbImage,
    nw: u32,
    nh: u32,
    filter: fast_image_resize::FilterType,
) -> RgbImage {
    use fast_image_resize::{images::Image, images::ImageRef, PixelType, ResizeAlg, ResizeOptions};
    let (iw, ih) = img.dimensions();
    let fallback = || image::imageops::resize(img, nw, nh, image::imageops::FilterType::Triangle);
    if iw == 0 || ih == 0 || nw == 0 || nh == 0 {
        return fallback();
    }
    let Ok(src) = ImageRef::new(iw, ih, img.as_raw(), PixelType::U8x3) else {
        return fallback();
    };
    let mut dst = Image::new(nw, nh, PixelType::U8x3);
    let opts = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter));
    let ok = RESIZER.with(|r| r.borrow_mut().resize(&src, &mut dst, &opts).is_ok());
    if !ok {
        return fallback();
    }
    RgbImage::from_raw(nw, nh, dst.into_vec()).unwrap_or_else(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_resize_matches_the_image_crates_triangle_filter() {
        // a real picture, so edges and textures are in it
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/annotations/sahi_terrain1.jpg");
        let img = image::open(&p).expect("fixture").to_rgb8();
        let tile = image::imageops::crop_imm(&img, 300, 200, 640, 640).to_image();
        let ours = resize(&tile, 416, 416);
        let theirs =
            image::imageops::resize(&tile, 416, 416, image::imageops::FilterType::Triangle);
        assert_eq!(ours.dimensions(), (416, 416));
        let diffs: Vec<i32> = ours
            .as_raw()
            .iter()
            .zip(theirs.as_raw())
            .map(|(a, b)| (*a as i32 - *b as i32).abs())
            .collect();
        let mean = diffs.iter().sum::<i32>() as f64 / diffs.len() as f64;
        let max = *diffs.iter().max().unwrap();
        assert!(mean < 0.6 && max <= 8, "mean abs diff {mean}, max {max}");
        // and a picture that differs gives a large difference (the comparison can fail)
        let other = image::imageops::resize(
            &image::imageops::crop_imm(&img, 0, 0, 640, 640).to_image(),
            416,
            416,
            image::imageops::FilterType::Triangle,
        );
        let d2 = ours
            .as_raw()
            .iter()
            .zip(other.as_raw())
            .map(|(a, b)| (*a as i32 - *b as i32).abs())
            .sum::<i32>() as f64
            / diffs.len() as f64;
        assert!(d2 > 5.0, "{d2}");
    }

    #[test]
    fn shrink_matches_the_image_crates_thumbnail() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/annotations/sahi_terrain1.jpg");
        let img = image::open(&p).expect("fixture").to_rgb8();
        let ours = shrink(&img, 416, 277);
        let theirs = image::imageops::thumbnail(&img, 416, 277);
        let diffs: Vec<i32> = ours
            .as_raw()
            .iter()
            .zip(theirs.as_raw())
            .map(|(a, b)| (*a as i32 - *b as i32).abs())
            .collect();
        let mean = diffs.iter().sum::<i32>() as f64 / diffs.len() as f64;
        assert!(mean < 1.5, "mean abs diff {mean}");
    }
}

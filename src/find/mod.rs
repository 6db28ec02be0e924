//! Finding what to hide in one picture: the loaded detectors ([`loaded::Models`]) run over a
//! [`raster::Raster`] in full-resolution tiles, a downscaled whole-image pass and pyramid
//! passes ([`jobs`] plans them, [`passes`] runs and merges them), then the plate detector on
//! each vehicle ([`plates`]). What they find is a list of [`Found`] regions in upright
//! (orientation applied) coordinates.

pub mod jobs;
pub mod loaded;
pub mod passes;
pub mod plates;
pub mod raster;

use crate::detect::Detection;

/// A region found in an image, in upright (orientation applied) coordinates.
#[derive(Debug, Clone)]
pub struct Found {
    pub det: Detection,
    pub model: &'static str,
}

/// The `model` tag of a plate band; the report's `source` is `fallback:plate-band`.
pub const PLATE_BAND: &str = "plate-band";

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
    pub by: FoundBy,
}

/// What found a region: a model (its registry name), or the plate-band rule for a vehicle
/// with a readable plate on which no plate was found ([`plates::plate_band`]; the report's
/// `source` is `fallback:plate-band`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundBy {
    Model(&'static str),
    PlateBand,
}

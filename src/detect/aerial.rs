//! `pixla-aerial`: pixla's own person and vehicle detector for drone and aerial views, trained
//! by `models/train/` (its model card is `models/pixla-aerial.md`).
//!
//! A centre-point detector ([`super::centre`]) with a stride-4 output, for people 6-60 px
//! tall. A tile goes in at native resolution (padded to a multiple of 32, never scaled), so
//! small people reach the model at the resolution they were photographed at; an image larger
//! than [`MAX_SIDE`] (a whole picture) is shrunk to fit.

use super::centre::{self, CentrePoint, Recipe};
use super::Class;
use crate::detect::registry::PIXLA_AERIAL;
use crate::error::SetupError;
use std::path::Path;

pub use super::centre::STRIDE;

/// The largest input side fed as is; a bigger image (a whole picture) is shrunk to fit.
pub const MAX_SIDE: u32 = 640;
/// The raw heat at which a peak counts at pixla's default threshold (0.3): the highest of
/// 0.3, 0.35, 0.4, 0.5, 0.6 at which every labelled person of the nadir fixtures is still
/// hidden (see the model card for the sweep on the validation split).
pub const RAW_AT_DEFAULT: f32 = 0.4;

pub static RECIPE: Recipe = Recipe {
    spec: &PIXLA_AERIAL,
    classes: &[Class::Person, Class::Vehicle],
    raw_at_default: RAW_AT_DEFAULT,
    default_threshold: 0.3,
    max_side: MAX_SIDE,
    vehicle_side: None,
};

/// pixla-aerial's raw peak heat on pixla's score scale.
pub fn calibrate(raw: f32) -> f32 {
    centre::calibrate(raw, RAW_AT_DEFAULT, 0.3)
}

/// Load pixla-aerial with a person and a vehicle threshold.
pub fn load(
    dir: &Path,
    sessions: usize,
    person_threshold: f32,
    vehicle_threshold: f32,
) -> Result<CentrePoint, SetupError> {
    CentrePoint::load(&RECIPE, dir, sessions, |c| {
        if c == Class::Person {
            person_threshold
        } else {
            vehicle_threshold
        }
    })
}

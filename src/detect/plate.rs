//! `pixla-plate`: pixla's own licence-plate detector, trained by `models/train/` (its model
//! card is `models/pixla-plate.md`). It looks for plates inside one vehicle's crop.
//!
//! A centre-point detector ([`super::centre`]) with one class. pixla rescales every vehicle
//! crop so that its long side is [`VEHICLE_SIDE`] px, upscaled at most `--plate-upscale`
//! times (`Detector::crop_scale`): a plate then spans about a tenth to a third of the input,
//! 25-90 px, whatever the distance. The training crops were made by the same rule
//! (`models/train/plate_bank.py`), from plates shrunk to 5-90 px as a drone would see them.

use super::centre::{CentrePoint, Recipe};
use super::Class;
use crate::detect::registry::PIXLA_PLATE;
use crate::error::SetupError;
use std::path::Path;

/// The long side of a vehicle crop as the model sees it.
pub const VEHICLE_SIDE: u32 = 256;
/// The raw heat at which a peak counts at pixla's default plate threshold (0.5), chosen on the
/// validation split (see the model card).
pub const RAW_AT_DEFAULT: f32 = 0.3;

pub static RECIPE: Recipe = Recipe {
    spec: &PIXLA_PLATE,
    classes: &[Class::Plate],
    raw_at_default: RAW_AT_DEFAULT,
    default_threshold: 0.5,
    // a crop is rescaled to VEHICLE_SIDE before it reaches the model; this only guards
    max_side: 2 * VEHICLE_SIDE,
    vehicle_side: Some(VEHICLE_SIDE),
};

/// Load pixla-plate with a plate threshold.
pub fn load(dir: &Path, sessions: usize, threshold: f32) -> Result<CentrePoint, SetupError> {
    CentrePoint::load(&RECIPE, dir, sessions, |_| threshold)
}

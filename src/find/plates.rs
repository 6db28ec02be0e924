//! Plates: the plate detector on each vehicle's crop, the shape a plate box must have for
//! its vehicle ([`plausible_plate`]), and the fail-closed fill for a vehicle large enough
//! for a readable plate on which none was found: its strongest weak candidate, else its
//! plate band ([`add_plate_bands`]).

use crate::config::Config;
use crate::detect::{Class, Detection, Detector};
use crate::find::raster::{read_fit, Raster};
use crate::find::{Found, FoundBy};
use crate::geom::BoxF;

/// The plates of one vehicle: the plate detector on the vehicle's crop (padded by 10 %,
/// rescaled as the detector asks), in image coordinates, keeping only boxes with a plate's
/// shape for that vehicle ([`plausible_plate`]).
pub(crate) fn plates_in_vehicle(
    src: &dyn Raster,
    plates: &dyn Detector,
    v: &Detection,
    cfg: &Config,
) -> anyhow::Result<Vec<Found>> {
    let (w, h) = src.size();
    let Some(c) = v.bbox.pad(0.1, 4.0).to_pixels(w, h) else {
        return Ok(vec![]);
    };
    let scale = plates.crop_scale(c.w.max(c.h), cfg.plate_upscale);
    let (tw, th) = (
        ((c.w as f32 * scale).round() as u32).max(1),
        ((c.h as f32 * scale).round() as u32).max(1),
    );
    // a huge vehicle (a gigapixel close-up) is read shrunk in bands: a full-resolution crop
    // could be gigabytes; a small one is upscaled with a cubic filter
    let crop = read_fit(src, c, tw.max(th).max(1).min(c.w.max(c.h)))?;
    let input = if crop.dimensions() != (tw, th) {
        crate::detect::resize_cubic(&crop, tw, th)
    } else {
        crop
    };
    let sx = c.w as f32 / input.width() as f32;
    let sy = c.h as f32 / input.height() as f32;
    let found: Vec<Found> = plates
        .detect(&input)?
        .into_iter()
        .map(|mut d| {
            d.bbox = BoxF::new(
                d.bbox.x1 * sx + c.x as f32,
                d.bbox.y1 * sy + c.y as f32,
                d.bbox.x2 * sx + c.x as f32,
                d.bbox.y2 * sy + c.y as f32,
            );
            d
        })
        .filter(|d| plausible_plate(&d.bbox, &v.bbox))
        .map(|det| Found {
            det,
            by: FoundBy::Model(plates.spec().name),
        })
        .collect();
    Ok(found)
}

/// pixla-plate's candidates from this share of the plate threshold up are kept as weak
/// plates, for [`add_plate_bands`].
pub const WEAK_PLATE: f32 = 0.5;

/// The fail-closed answer where the plate detector found no plate at the threshold: each
/// vehicle (as merged) large enough for a readable plate that holds no plate region, and is
/// not a part of a vehicle box that holds one, gets its strongest weak plate candidate
/// (`weak`: scored between [`WEAK_PLATE`] × the threshold and the threshold, inside the
/// vehicle) filled, tagged `model` with its own score; where there is none, its plate band
/// ([`plate_band`]), found by [`FoundBy::PlateBand`]. Never the whole vehicle.
pub fn add_plate_bands(found: &mut Vec<Found>, weak: &[Detection], model: &'static str) {
    let plates: Vec<BoxF> = found
        .iter()
        .filter(|f| f.det.class == Class::Plate)
        .map(|f| f.det.bbox)
        .collect();
    let vehicles: Vec<BoxF> = found
        .iter()
        .filter(|f| f.det.class == Class::Vehicle)
        .map(|f| f.det.bbox)
        .collect();
    let holds_plate = |v: &BoxF| plates.iter().any(|p| v.ios(p) >= 0.5);
    // a box mostly inside a vehicle box that holds a plate is a part of that vehicle (tiles
    // cut a close-up car into pieces)
    let part_of_plated = |v: &BoxF| {
        vehicles
            .iter()
            .any(|o| o != v && holds_plate(o) && v.intersection(o) >= 0.7 * v.area())
    };
    let mut extra: Vec<Found> = Vec::new();
    for v in vehicles
        .iter()
        .filter(|v| !holds_plate(v) && !part_of_plated(v))
    {
        let Some(band) = plate_band(v) else { continue };
        let best = weak
            .iter()
            .filter(|d| v.ios(&d.bbox) >= 0.5)
            .max_by(|a, b| a.score.total_cmp(&b.score));
        let f = match best {
            Some(d) => Found {
                det: d.clone(),
                by: FoundBy::Model(model),
            },
            None => band,
        };
        if !extra.iter().any(|e| e.det.bbox == f.det.bbox) {
            extra.push(f);
        }
    }
    found.extend(extra);
}

/// A vehicle this wide (px, in the picture) or wider would show a readable plate: its plate
/// would be about a fifth of that, 24 px or more, the width at which the shared fixtures'
/// plates can be read.
pub const BAND_MIN_VEHICLE_WIDTH: f32 = 120.0;

/// The fail-closed fill for a vehicle large enough for a readable plate on which no plate
/// was found: the band where a plate facing the camera sits, the lower part of the box
/// (from 62 % to 94 % of its height) across its middle (from 20 % to 80 % of its width).
/// That is 19 % of the vehicle box, 33 % with pixla's margin: never the whole vehicle. A
/// camera looking down and forward sees the near end of a car, front or rear, at the
/// bottom of its box. Smaller vehicles get none.
pub fn plate_band(vehicle: &BoxF) -> Option<Found> {
    let (w, h) = (vehicle.w(), vehicle.h());
    (w >= BAND_MIN_VEHICLE_WIDTH).then(|| Found {
        det: Detection {
            class: Class::Plate,
            score: 0.0,
            bbox: BoxF::new(
                vehicle.x1 + 0.2 * w,
                vehicle.y1 + 0.62 * h,
                vehicle.x1 + 0.8 * w,
                vehicle.y1 + 0.94 * h,
            ),
        },
        by: FoundBy::PlateBand,
    })
}

/// Whether a plate box found in a vehicle's crop has a plate's shape for that vehicle. A text
/// detector answers "is there text here", and on a low-detail aerial vehicle it returns the
/// whole front or the whole vehicle; such a box is not a plate. Measured on the labelled
/// plates of the shared fixtures, inside the smallest vehicle box holding them: width
/// 0.18-0.30 of the vehicle's, height 0.07-0.28, area at most 0.083 of the vehicle's, and
/// always wider than tall (width / height 1.2-4.7). The limits leave room around those:
/// width at most 0.45, height at most 0.35 of the vehicle's, area at most 0.12, and width at
/// least 0.9 × height. A plate is also a part of its vehicle: at least half of the box lies
/// inside the vehicle box ([`PLATE_MIN_INSIDE`]); what the crop's padding shows beside the
/// vehicle (kerb, pavement, a sign) is not its plate. The box is clipped to the vehicle
/// before the shape comparison.
pub fn plausible_plate(plate: &BoxF, vehicle: &BoxF) -> bool {
    if plate.area() <= 0.0 || plate.intersection(vehicle) < PLATE_MIN_INSIDE * plate.area() {
        return false;
    }
    let p = BoxF::new(
        plate.x1.max(vehicle.x1),
        plate.y1.max(vehicle.y1),
        plate.x2.min(vehicle.x2),
        plate.y2.min(vehicle.y2),
    );
    let (pw, ph) = (p.w(), p.h());
    let (vw, vh) = (vehicle.w(), vehicle.h());
    pw <= PLATE_MAX_WIDTH * vw
        && ph <= PLATE_MAX_HEIGHT * vh
        && pw * ph <= PLATE_MAX_AREA * vw * vh
        && pw >= PLATE_MIN_ASPECT * ph
}

/// Limits of [`plausible_plate`], as fractions of the vehicle box.
pub const PLATE_MAX_WIDTH: f32 = 0.45;
pub const PLATE_MAX_HEIGHT: f32 = 0.35;
pub const PLATE_MAX_AREA: f32 = 0.12;
/// A plate is at least this much wider than tall.
pub const PLATE_MIN_ASPECT: f32 = 0.9;
/// The share of a plate box that lies inside its vehicle box, at least.
pub const PLATE_MIN_INSIDE: f32 = 0.5;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::registry::{self, ModelSpec};
    use crate::find::raster::MemRaster;
    use image::RgbImage;
    /// A plate detector that calls the whole crop a plate, as a text detector does on a
    /// low-detail aerial vehicle.
    struct WholeCropIsText;

    impl Detector for WholeCropIsText {
        fn spec(&self) -> &'static ModelSpec {
            &registry::PPOCR_DET
        }
        fn detect(&self, img: &RgbImage) -> anyhow::Result<Vec<Detection>> {
            Ok(vec![Detection {
                class: Class::Plate,
                score: 0.9,
                bbox: BoxF::new(
                    2.0,
                    2.0,
                    img.width() as f32 - 2.0,
                    img.height() as f32 - 2.0,
                ),
            }])
        }
    }

    #[test]
    fn a_huge_text_box_on_a_vehicle_gives_the_plate_band_never_the_vehicle() {
        let img = RgbImage::from_pixel(800, 600, image::Rgb([90, 90, 90]));
        let cfg = Config::default();
        let car = Detection {
            class: Class::Vehicle,
            score: 0.8,
            bbox: BoxF::new(100.0, 100.0, 340.0, 260.0), // 240 x 160 px: a readable plate
        };
        // the text box is no plate...
        let plates = plates_in_vehicle(&MemRaster(&img), &WholeCropIsText, &car, &cfg).unwrap();
        assert!(plates.is_empty(), "{plates:?}");
        // ...so the vehicle, large enough for a readable plate, gets its plate band
        let mut found = vec![Found {
            det: car.clone(),
            by: FoundBy::Model("pixla-aerial"),
        }];
        add_plate_bands(&mut found, &[], "pixla-plate");
        let got: Vec<&Found> = found
            .iter()
            .filter(|f| f.det.class == Class::Plate)
            .collect();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].by, FoundBy::PlateBand);
        // the band with pixla's margin covers less than half of the vehicle box
        let fill = got[0].det.bbox.pad(cfg.margin, cfg.margin_px);
        let inside = BoxF::new(
            fill.x1.max(car.bbox.x1),
            fill.y1.max(car.bbox.y1),
            fill.x2.min(car.bbox.x2),
            fill.y2.min(car.bbox.y2),
        );
        assert!(
            inside.area() <= 0.5 * car.bbox.area(),
            "band {fill:?} covers {:.0} % of the vehicle",
            100.0 * inside.area() / car.bbox.area()
        );
        // in the lower half of the vehicle, where a plate facing the camera is
        assert!(got[0].det.bbox.y1 > (car.bbox.y1 + car.bbox.y2) / 2.0);
        // a weak plate candidate inside the vehicle is filled instead of the band
        let weak = Detection {
            class: Class::Plate,
            score: 0.3,
            bbox: BoxF::new(200.0, 220.0, 240.0, 232.0),
        };
        let mut tight = vec![found[0].clone()];
        add_plate_bands(&mut tight, std::slice::from_ref(&weak), "pixla-plate");
        assert_eq!(tight.len(), 2);
        assert_eq!(
            (tight[1].by, &tight[1].det),
            (FoundBy::Model("pixla-plate"), &weak)
        );
        // a vehicle holding a plate region gets none
        let mut with_plate = vec![
            found[0].clone(),
            Found {
                det: Detection {
                    class: Class::Plate,
                    score: 0.9,
                    bbox: BoxF::new(200.0, 220.0, 240.0, 232.0),
                },
                by: FoundBy::Model("pixla-plate"),
            },
        ];
        add_plate_bands(&mut with_plate, &[], "pixla-plate");
        assert_eq!(with_plate.len(), 2);
        // a vehicle too small for a readable plate gets none
        let mut small = vec![Found {
            det: Detection {
                bbox: BoxF::new(100.0, 100.0, 160.0, 140.0),
                ..car.clone()
            },
            by: FoundBy::Model("pixla-aerial"),
        }];
        add_plate_bands(&mut small, &[], "pixla-plate");
        assert_eq!(small.len(), 1);
    }

    #[test]
    fn a_text_box_as_big_as_the_vehicle_is_not_a_plate() {
        let car = BoxF::new(800.0, 290.0, 880.0, 350.0); // 80 x 60
                                                         // what PP-OCR returned on the demo's dark car: the whole front, 56 x 40
        assert!(!plausible_plate(
            &BoxF::new(824.0, 304.0, 880.0, 344.0),
            &car
        ));
        // the whole vehicle, and a tall thin box
        assert!(!plausible_plate(&car, &car));
        assert!(!plausible_plate(
            &BoxF::new(830.0, 300.0, 840.0, 330.0),
            &car
        ));
        // a plate 16 x 5 px on that car, and the labelled fixtures' extremes
        assert!(plausible_plate(
            &BoxF::new(832.0, 335.0, 848.0, 340.0),
            &car
        ));
        let v = BoxF::new(0.0, 0.0, 1000.0, 1000.0);
        assert!(plausible_plate(&BoxF::new(100.0, 100.0, 400.0, 380.0), &v)); // 0.30 wide, 0.28 tall, aspect 1.07
        assert!(plausible_plate(&BoxF::new(100.0, 100.0, 280.0, 170.0), &v));
        // a plate's shape beside the vehicle, outside its box, is not its plate (the kerb
        // beside the Lada of nomeroff_10002 scored 0.48-0.51); one half inside still is
        assert!(!plausible_plate(
            &BoxF::new(900.0, 300.0, 916.0, 306.0),
            &car
        ));
        assert!(plausible_plate(
            &BoxF::new(834.0, 345.0, 850.0, 355.0),
            &car
        ));
        assert!(!plausible_plate(
            &BoxF::new(834.0, 346.0, 850.0, 356.0),
            &car
        ));
    }
}

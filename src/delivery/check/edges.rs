//! Detections on an output that are effects of pixla's own hiding, not visible people or
//! plates: the edge of a pixelation mosaic, the edge of a plate fill, and a weak detection
//! that a hidden region nearby lifted above its threshold.

use super::coverage::{covered_fraction, COVERED};
use crate::detect::Detection;
use crate::geom::{BoxF, PixBox};

/// Whether a detection on an output is the edge of one of its own pixelation mosaics: a
/// mosaic's hard block edges sit right at its border, and a small-object detector can fire on
/// them (measured: on `sahi_terrain1.jpg` a spot beside a pixelated walker scored 0.25 on the
/// original and 0.37 on the output). Such a detection is smaller than half the pixelated region
/// and lies at least [`COVERED`] inside the region widened by one of its blocks. A real person
/// that close to a hidden one, missed on the original, is not flagged: a limitation of judging
/// the output alone.
pub(super) fn mosaic_edge(b: &BoxF, mosaics: &[([u32; 4], u64)]) -> bool {
    mosaics.iter().any(|(m, area)| {
        (b.w() * b.h()) as f64 <= *area as f64 / 2.0
            && covered_fraction(b, std::slice::from_ref(m)) >= COVERED
    })
}

/// A detection less than this far above its threshold can be an edge effect (`edge_effect`).
pub const EDGE_MARGIN: f32 = 0.25;
/// How far around a detection (px, at most) a hidden region still changes what the
/// detector sees: twice the detection's longer side, up to this.
pub const EDGE_REACH: f32 = 64.0;

/// Whether a detection on an output is an effect of its hidden regions on the detectors. A
/// region pixla hid changes what a detector sees around it (a solid fill is a dark shape, a
/// mosaic has hard edges), and a shape beside it that scored below the threshold on the
/// original can score above it on the output. Measured on pixla's outputs of the shared
/// fixtures, nine such findings, on the original / on the output: pavement beside a filled
/// plate, person 0.27 / 0.36; a nanodet box beside a pixelated bystander, none / 0.34; a
/// car's second plate candidate 14 px from its filled plate, 0.49 / 0.57; a shape between
/// two filled plates on a motorway, person 0.27 / 0.50; the kerb beside a car whose plate was
/// filled, plate 0.48 / 0.51 (now no plate: see `find::plates::plausible_plate`). Such a
/// detection scores less than [`EDGE_MARGIN`] above its threshold and has a region hidden
/// on disk within twice its longer side ([`EDGE_REACH`] at most); regions
/// [`unhidden`](crate::delivery::hidden::unhidden) found do not count. A real person that
/// close to a hidden region, below the threshold on the original and lifted above it here, is
/// not flagged: redact, at the same threshold, left it visible too. A set redacted at higher thresholds than the gate's is judged more
/// leniently near its regions; `settings_differ` says when the settings differ.
pub(super) fn edge_effect(d: &Detection, threshold: f32, hidden: &[[u32; 4]]) -> bool {
    if d.score >= threshold + EDGE_MARGIN {
        return false;
    }
    let b = &d.bbox;
    meets_any(b, (2.0 * b.w().max(b.h())).clamp(1.0, EDGE_REACH), hidden)
}

/// Whether a plate detection on an output is the edge of one of pixla's own plate fills: a
/// solid black rectangle on a bumper has a plate's outline, and the plate detector can fire
/// beside it (measured on `nomeroff_example2.jpeg`: three boxes of 0.56-0.68 touching the
/// fills, none on the original). Such a detection touches a fill: widened by its own height
/// on each side, it meets the fill. A real plate that close to a filled one, missed on the
/// original, is not flagged: a limitation of judging the output alone.
pub(super) fn fill_edge(b: &BoxF, fills: &[[u32; 4]]) -> bool {
    meets_any(b, b.h().max(1.0), fills)
}

/// Whether `b`, widened by `reach` px on each side, overlaps one of `regions` (`[x, y, w, h]`).
fn meets_any(b: &BoxF, reach: f32, regions: &[[u32; 4]]) -> bool {
    let wide = BoxF::new(b.x1 - reach, b.y1 - reach, b.x2 + reach, b.y2 + reach);
    regions.iter().any(|&[x, y, w, h]| {
        let r = PixBox { x, y, w, h }.to_f();
        wide.intersection(&r) > 0.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Class;

    #[test]
    fn a_plate_box_touching_a_fill_is_its_edge_and_one_apart_is_not() {
        let fills = [[416, 368, 128, 48]];
        // the measured case: 30 x 8 px just left of the fill
        assert!(fill_edge(&BoxF::new(385.0, 371.0, 415.0, 379.0), &fills));
        assert!(fill_edge(&BoxF::new(539.0, 358.0, 629.0, 387.0), &fills));
        // a plate a car's width away is a finding
        assert!(!fill_edge(&BoxF::new(700.0, 370.0, 760.0, 390.0), &fills));
        assert!(!fill_edge(&BoxF::new(385.0, 371.0, 415.0, 379.0), &[]));
    }

    #[test]
    fn a_weak_detection_beside_a_hidden_region_is_its_effect_and_a_strong_one_is_not() {
        let person = |x1, y1, x2, y2, score| Detection {
            class: Class::Person,
            score,
            bbox: BoxF::new(x1, y1, x2, y2),
        };
        // the measured case of nomeroff_296023036: 29 x 29 px, 15 px above a filled plate
        let hidden = [[176, 400, 128, 80]];
        let beside = person(195.0, 356.0, 224.0, 385.0, 0.361);
        assert!(edge_effect(&beside, 0.3, &hidden));
        // below threshold + margin still is; above it, it is a finding
        assert!(edge_effect(
            &Detection {
                score: 0.54,
                ..beside
            },
            0.3,
            &hidden
        ));
        assert!(!edge_effect(
            &Detection {
                score: 0.56,
                ..beside
            },
            0.3,
            &hidden
        ));
        // farther away than twice its longer side, or with nothing hidden on disk, it is a
        // finding
        assert!(edge_effect(
            &person(195.0, 320.0, 224.0, 349.0, 0.36),
            0.3,
            &hidden
        ));
        assert!(!edge_effect(
            &person(195.0, 270.0, 224.0, 299.0, 0.36),
            0.3,
            &hidden
        ));
        assert!(!edge_effect(&beside, 0.3, &[]));
        // a large box reaches EDGE_REACH at most: 200 px tall, 70 px above the region
        assert!(!edge_effect(
            &person(195.0, 130.0, 275.0, 330.0, 0.36),
            0.3,
            &hidden
        ));
    }

    #[test]
    fn a_small_detection_at_a_mosaics_edge_is_the_mosaic() {
        let m = [([90, 90, 60, 60], 1600u64)]; // a 40 px region at 100,100 with 10 px blocks
        assert!(mosaic_edge(&BoxF::new(92.0, 95.0, 100.0, 105.0), &m));
        assert!(
            !mosaic_edge(&BoxF::new(160.0, 95.0, 170.0, 105.0), &m),
            "beyond one block"
        );
        assert!(
            !mosaic_edge(&BoxF::new(90.0, 90.0, 140.0, 140.0), &m),
            "as big as the region"
        );
    }
}

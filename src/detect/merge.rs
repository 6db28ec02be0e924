//! Merging detections from tiles and passes: greedy non-maximum merging (SAHI's GREEDYNMM)
//! per class, matching by intersection over the smaller box. A box that another, stronger
//! box mostly covers is merged into it (the union is kept), so an object cut by a tile edge
//! and seen whole by the neighbouring tile ends up as one box covering both. A box more than
//! [`MAX_GROWTH`] times the kept box's area is not merged into it: it is another object around
//! it, and merged it would carry the kept box's score.

use crate::detect::Detection;

/// The largest area, as a multiple of the kept (stronger) box's, of a box merged into it. A
/// stronger part of an object must still merge into the object's whole box: an object cut by a
/// tile edge, or a plate detector's box on part of the plate (on `nomeroff_example2.jpeg`
/// platedet gives a 22 x 30 px part of a 119 x 30 px plate, 5.4 times its area). A box hundreds
/// of times larger, weaker, around a strong small one is another detection: on pixla's own
/// output of `lacmus_05` (with a trial aerial model) NanoDet saw a 610 x 589 px "person" at
/// 0.38 over snow and trees, around a 25 x 16 px pixla-aerial box of 0.57 (900 times smaller),
/// and the merged box, with 0.57, made `pixla check` refuse the delivery. Kept apart, each
/// keeps its own score; the pixels they hide are the same.
pub const MAX_GROWTH: f32 = 16.0;

/// Merge `dets` per class; `threshold` is the IOS above which two boxes are one object.
pub fn greedy_nmm(dets: Vec<Detection>, threshold: f32) -> Vec<Detection> {
    greedy_nmm_tagged(dets.into_iter().map(|d| (d, ())).collect(), threshold)
        .into_iter()
        .map(|(d, ())| d)
        .collect()
}

/// [`greedy_nmm`] over detections that carry a tag (the model that found them): a merged box
/// keeps the tag of its highest-scoring member.
pub fn greedy_nmm_tagged<T: Copy>(
    mut dets: Vec<(Detection, T)>,
    threshold: f32,
) -> Vec<(Detection, T)> {
    dets.sort_by(|(a, _), (b, _)| {
        b.score
            .total_cmp(&a.score)
            .then(a.bbox.x1.total_cmp(&b.bbox.x1))
            .then(a.bbox.y1.total_cmp(&b.bbox.y1))
    });
    let mut used = vec![false; dets.len()];
    let mut out = Vec::new();
    for i in 0..dets.len() {
        if used[i] {
            continue;
        }
        used[i] = true;
        let (mut keep, tag) = dets[i].clone();
        // the matches are judged against the original keep box, as SAHI does
        let anchor = keep.bbox;
        for j in i + 1..dets.len() {
            let other = &dets[j].0;
            if !used[j]
                && other.class == keep.class
                && anchor.ios(&other.bbox) >= threshold
                && other.bbox.area() <= MAX_GROWTH * anchor.area()
            {
                used[j] = true;
                keep.bbox = keep.bbox.union(&other.bbox);
            }
        }
        out.push((keep, tag));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Class;
    use crate::geom::BoxF;

    fn d(class: Class, score: f32, b: [f32; 4]) -> Detection {
        Detection {
            class,
            score,
            bbox: BoxF::new(b[0], b[1], b[2], b[3]),
        }
    }

    #[test]
    fn cut_box_merges_into_whole_box_per_class() {
        let v = vec![
            d(Class::Person, 0.9, [100.0, 100.0, 120.0, 150.0]),
            d(Class::Person, 0.5, [100.0, 100.0, 120.0, 130.0]), // the part a tile edge cut
            d(Class::Vehicle, 0.8, [100.0, 100.0, 120.0, 150.0]), // other class: kept
            d(Class::Person, 0.7, [300.0, 300.0, 310.0, 320.0]), // elsewhere: kept
        ];
        let m = greedy_nmm(v, 0.5);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].bbox, BoxF::new(100.0, 100.0, 120.0, 150.0));
    }

    #[test]
    fn a_much_larger_weak_box_around_a_strong_one_keeps_its_own_score() {
        let v = vec![
            d(Class::Person, 0.38, [30.0, 28.0, 640.0, 617.0]),
            d(Class::Person, 0.57, [300.0, 300.0, 312.0, 320.0]),
            // 5.4 times the strong box's area, as the measured plate part: merged
            d(Class::Person, 0.4, [300.0, 300.0, 365.0, 320.0]),
        ];
        let m = greedy_nmm(v, 0.5);
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(
            (m[0].score, m[0].bbox),
            (0.57, BoxF::new(300.0, 300.0, 365.0, 320.0))
        );
        assert_eq!(
            (m[1].score, m[1].bbox),
            (0.38, BoxF::new(30.0, 28.0, 640.0, 617.0))
        );
    }

    #[test]
    fn union_grows_the_kept_box() {
        let v = vec![
            d(Class::Person, 0.9, [0.0, 0.0, 10.0, 10.0]),
            d(Class::Person, 0.8, [5.0, 0.0, 12.0, 10.0]),
        ];
        let m = greedy_nmm(v, 0.5);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].bbox, BoxF::new(0.0, 0.0, 12.0, 10.0));
    }
}

//! How much of a detection's box the union of some regions covers, exactly.

use crate::geom::BoxF;

/// A detection at least this much inside the report's regions (intersection over the
/// detection's area) is taken for the redacted region itself. Hidden boxes are the detector's
/// box plus a 15 % margin, so a person the run hid is 100 % inside its region; a detection
/// half outside shows at least half a person, which is a finding.
pub const COVERED: f32 = 0.5;

/// Fraction of `b`'s area inside the union of `regions` (`[x, y, w, h]`), exactly: the
/// region edges cut `b` into cells, each cell is inside a region or not.
pub fn covered_fraction(b: &BoxF, regions: &[[u32; 4]]) -> f32 {
    let area = b.area();
    if area <= 0.0 {
        return 0.0;
    }
    let rs = clipped(b, regions);
    let xs = edges(rs.iter().flat_map(|r| [r.x1, r.x2]));
    let ys = edges(rs.iter().flat_map(|r| [r.y1, r.y2]));
    let mut inside = 0.0f64;
    for xw in xs.windows(2) {
        for yw in ys.windows(2) {
            let (cx, cy) = ((xw[0] + xw[1]) / 2.0, (yw[0] + yw[1]) / 2.0);
            if rs
                .iter()
                .any(|r| cx >= r.x1 && cx < r.x2 && cy >= r.y1 && cy < r.y2)
            {
                inside += ((xw[1] - xw[0]) * (yw[1] - yw[0])) as f64;
            }
        }
    }
    (inside / area as f64).min(1.0) as f32
}

/// The parts of `regions` (`[x, y, w, h]`) inside `b`, empty ones left out.
fn clipped(b: &BoxF, regions: &[[u32; 4]]) -> Vec<BoxF> {
    regions
        .iter()
        .map(|r| {
            BoxF::new(
                r[0] as f32,
                r[1] as f32,
                r[0] as f32 + r[2] as f32,
                r[1] as f32 + r[3] as f32,
            )
        })
        .map(|r| {
            BoxF::new(
                r.x1.max(b.x1),
                r.y1.max(b.y1),
                r.x2.min(b.x2),
                r.y2.min(b.y2),
            )
        })
        .filter(|r| r.x2 > r.x1 && r.y2 > r.y1)
        .collect()
}

/// The cell edges along one axis: sorted, each once.
fn edges(coords: impl Iterator<Item = f32>) -> Vec<f32> {
    let mut v: Vec<f32> = coords.collect();
    v.sort_by(f32::total_cmp);
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_is_the_union_inside_the_box() {
        let b = BoxF::new(10.0, 10.0, 30.0, 30.0); // 400 px²
        assert_eq!(covered_fraction(&b, &[]), 0.0);
        assert_eq!(covered_fraction(&b, &[[0, 0, 100, 100]]), 1.0);
        // left half
        assert!((covered_fraction(&b, &[[0, 0, 20, 100]]) - 0.5).abs() < 1e-6);
        // two overlapping regions over the left half are not counted twice
        assert!((covered_fraction(&b, &[[0, 0, 20, 100], [5, 5, 15, 50]]) - 0.5).abs() < 1e-6);
        // left and right quarters: 0.25 + 0.25
        assert!((covered_fraction(&b, &[[10, 0, 5, 100], [25, 0, 5, 100]]) - 0.5).abs() < 1e-6);
        // a region elsewhere
        assert_eq!(covered_fraction(&b, &[[50, 50, 10, 10]]), 0.0);
    }
}

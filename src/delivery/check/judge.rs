//! Judging one detection on a delivered file against what that file hides: the regions the
//! report lists whose pixels are hidden on disk, and the regions a reviewer marked false.

use super::coverage::{covered_fraction, COVERED};
use super::edges::{edge_effect, fill_edge, mosaic_edge};
use crate::detect::{Class, Detection};
use crate::redact::Method;
use crate::report::{FileEntry, Region};

/// What one delivered file hides, by the report, less the regions whose pixels are not
/// hidden (a region counts as redacted only when its pixels are hidden).
#[derive(Debug, Default)]
pub(super) struct Hidden {
    /// Every hiding region, `[x, y, w, h]`.
    known: Vec<[u32; 4]>,
    /// The regions a reviewer marked false (the report's `suppressed`).
    accepted: Vec<[u32; 4]>,
    /// Pixelated regions widened by one of their blocks, with their own area.
    mosaics: Vec<([u32; 4], u64)>,
    /// Filled plates.
    fills: Vec<[u32; 4]>,
}

/// What a detection on a delivered file is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Verdict {
    /// Inside the redacted regions, or an effect of them: the redaction seen again.
    Covered,
    /// Inside a region a reviewer marked false: the review decided.
    AcceptedByReview,
    /// Visible: a finding, with the fraction of its box inside the hidden regions.
    Finding { covered: f32 },
}

impl Hidden {
    /// The regions of `entry` (none without one), less those at the indices `not_hidden`.
    pub(super) fn of(entry: Option<&FileEntry>, not_hidden: &[usize]) -> Self {
        let Some(e) = entry else {
            return Hidden::default();
        };
        let hidden = |keep: fn(&Region) -> bool| {
            e.regions
                .iter()
                .enumerate()
                .filter(move |(i, r)| keep(r) && !not_hidden.contains(i))
                .map(|(_, r)| r)
        };
        Hidden {
            known: hidden(|r| r.method != Method::None)
                .map(|r| r.bbox)
                .collect(),
            accepted: e.suppressed.iter().map(|s| s.region.bbox).collect(),
            mosaics: hidden(|r| r.method == Method::Pixelate)
                .map(widened_by_a_block)
                .collect(),
            fills: hidden(|r| r.class == Class::Plate && r.method == Method::Fill)
                .map(|r| r.bbox)
                .collect(),
        }
    }

    /// Judge detection `d`, found at `threshold` or above.
    pub(super) fn judge(&self, d: &Detection, threshold: f32) -> Verdict {
        let covered = covered_fraction(&d.bbox, &self.known);
        if covered >= COVERED
            || mosaic_edge(&d.bbox, &self.mosaics)
            || (d.class == Class::Plate && fill_edge(&d.bbox, &self.fills))
            || edge_effect(d, threshold, &self.known)
        {
            return Verdict::Covered;
        }
        if covered_fraction(&d.bbox, &self.accepted) >= COVERED {
            return Verdict::AcceptedByReview;
        }
        Verdict::Finding { covered }
    }
}

/// A pixelated region widened by one of its blocks on each side, with its own area.
fn widened_by_a_block(r: &Region) -> ([u32; 4], u64) {
    let [x, y, w, h] = r.bbox;
    let b = r.block.unwrap_or(0);
    let area = w as u64 * h as u64;
    (
        [
            x.saturating_sub(b),
            y.saturating_sub(b),
            w + 2 * b,
            h + 2 * b,
        ],
        area,
    )
}

//! Scoring for `pixla eval`: the matching of detections to ground-truth boxes, the coverage
//! of each box by the hidden regions, and the summary per class and size bucket.

use crate::config::Config;
use crate::detect::Class;
use crate::eval::labels::GtBox;
use crate::geom::BoxF;
use crate::redact::Method;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// IoU for a detection to count as finding a GT box.
pub const MATCH_IOU: f32 = 0.5;
/// Fraction of a GT box that must be hidden for a hit.
pub const HIT_COVERAGE: f64 = 0.5;
pub const BUCKETS: [&str; 4] = ["<16", "16-32", "32-96", ">96"];

/// The size bucket of a box by its short side.
pub fn bucket(b: &BoxF) -> &'static str {
    let s = b.w().min(b.h());
    if s < 16.0 {
        BUCKETS[0]
    } else if s < 32.0 {
        BUCKETS[1]
    } else if s <= 96.0 {
        BUCKETS[2]
    } else {
        BUCKETS[3]
    }
}

/// A scored detection (stored pixels, no margin).
#[derive(Debug, Clone)]
pub struct Det {
    pub class: Class,
    pub score: f32,
    pub bbox: BoxF,
}

/// A bit mask of the hidden pixels of one image.
pub struct Mask {
    w: u32,
    h: u32,
    bits: Vec<bool>,
}

impl Mask {
    /// The union of `hidden` boxes (whole pixels `[x, y, w, h]`) in a `w`×`h` image.
    pub fn new(w: u32, h: u32, hidden: &[[u32; 4]]) -> Mask {
        let mut bits = vec![false; w as usize * h as usize];
        for r in hidden {
            for y in r[1]..(r[1] + r[3]).min(h) {
                let row = y as usize * w as usize;
                for x in r[0]..(r[0] + r[2]).min(w) {
                    bits[row + x as usize] = true;
                }
            }
        }
        Mask { w, h, bits }
    }
    /// Fraction of the pixels (by their centres) of `b` that are hidden; pixels outside the
    /// image count as not hidden.
    pub fn coverage(&self, b: &BoxF) -> f64 {
        let (x0, y0) = ((b.x1 - 0.5).ceil() as i64, (b.y1 - 0.5).ceil() as i64);
        let (x1, y1) = ((b.x2 - 0.5).ceil() as i64, (b.y2 - 0.5).ceil() as i64);
        let (mut hidden, mut total) = (0u64, 0u64);
        for y in y0..y1 {
            for x in x0..x1 {
                total += 1;
                if x >= 0
                    && y >= 0
                    && (x as u32) < self.w
                    && (y as u32) < self.h
                    && self.bits[y as usize * self.w as usize + x as usize]
                {
                    hidden += 1;
                }
            }
        }
        if total == 0 {
            return 0.0;
        }
        hidden as f64 / total as f64
    }
    /// Hidden pixels / all pixels.
    pub fn fraction(&self) -> f64 {
        self.bits.iter().filter(|b| **b).count() as f64 / self.bits.len().max(1) as f64
    }
}

/// The result for one GT box.
#[derive(Debug, Clone, Serialize)]
pub struct GtResult {
    pub class: Class,
    /// `[x, y, w, h]`, stored pixels.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    pub bucket: &'static str,
    /// Best IoU of a matched detection of its class (0 when none matched).
    pub iou: f32,
    pub found: bool,
    pub coverage: f64,
    pub hit: bool,
}

/// The result for one detection.
#[derive(Debug, Clone, Serialize)]
pub struct DetResult {
    pub class: Class,
    pub score: f32,
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    pub bucket: &'static str,
    /// Matched to a GT box of its class (IoU >= 0.5).
    pub matched: bool,
    /// Its class is one the image's labels cover; if not, it does not count against
    /// precision.
    pub labelled: bool,
}

fn xywh(b: &BoxF) -> [f32; 4] {
    let r = |v: f32| (v * 10.0).round() / 10.0;
    [r(b.x1), r(b.y1), r(b.w()), r(b.h())]
}

/// Match detections to GT boxes (per class, greedy by score, one to one, IoU >= 0.5) and
/// measure coverage with the hidden-pixel mask.
/// Detections of classes outside `labelled` are listed but not counted for precision.
pub fn score_image(
    gt: &[GtBox],
    dets: &[Det],
    mask: &Mask,
    labelled: &BTreeSet<Class>,
) -> (Vec<GtResult>, Vec<DetResult>) {
    let mut order: Vec<usize> = (0..dets.len()).collect();
    order.sort_by(|&a, &b| dets[b].score.total_cmp(&dets[a].score));
    let mut gt_iou = vec![0f32; gt.len()];
    let mut gt_taken = vec![false; gt.len()];
    let mut det_gt: Vec<Option<usize>> = vec![None; dets.len()];
    for &d in &order {
        let best = gt
            .iter()
            .enumerate()
            .filter(|(g, b)| !gt_taken[*g] && b.class == dets[d].class)
            .map(|(g, b)| (g, b.bbox.iou(&dets[d].bbox)))
            .filter(|(_, iou)| *iou >= MATCH_IOU)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((g, iou)) = best {
            gt_taken[g] = true;
            gt_iou[g] = iou;
            det_gt[d] = Some(g);
        }
    }
    let gres = gt
        .iter()
        .enumerate()
        .map(|(g, b)| {
            let c = mask.coverage(&b.bbox);
            GtResult {
                class: b.class,
                bbox: xywh(&b.bbox),
                bucket: bucket(&b.bbox),
                iou: (gt_iou[g] * 1000.0).round() / 1000.0,
                found: gt_taken[g],
                coverage: (c * 10000.0).round() / 10000.0,
                hit: c >= HIT_COVERAGE,
            }
        })
        .collect();
    let dres = dets
        .iter()
        .enumerate()
        .map(|(d, x)| DetResult {
            class: x.class,
            score: (x.score * 1000.0).round() / 1000.0,
            bbox: xywh(&x.bbox),
            bucket: det_gt[d]
                .map(|g| bucket(&gt[g].bbox))
                .unwrap_or_else(|| bucket(&x.bbox)),
            matched: det_gt[d].is_some(),
            labelled: labelled.contains(&x.class),
        })
        .collect();
    (gres, dres)
}

/// Counts and rates for one class (or one class and size bucket).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Stats {
    /// GT boxes.
    pub gt: usize,
    /// GT boxes found (IoU >= 0.5 with a detection of their class).
    pub found: usize,
    /// GT boxes at least half hidden.
    pub hit: usize,
    /// Detections.
    pub detections: usize,
    /// Detections matched to a GT box.
    pub matched: usize,
    /// found / gt (null without GT boxes).
    pub recall: Option<f64>,
    /// hit / gt.
    pub hit_rate: Option<f64>,
    /// matched / detections (null without detections).
    pub precision: Option<f64>,
    /// Mean hidden fraction of the GT boxes.
    pub coverage: Option<f64>,
    #[serde(skip)]
    coverage_sum: f64,
}

impl Stats {
    fn add_gt(&mut self, g: &GtResult) {
        self.gt += 1;
        self.found += g.found as usize;
        self.hit += g.hit as usize;
        self.coverage_sum += g.coverage;
    }
    fn add_det(&mut self, d: &DetResult) {
        if !d.labelled {
            return;
        }
        self.detections += 1;
        self.matched += d.matched as usize;
    }
    fn finish(&mut self) {
        let r = |a: f64, b: usize| (b > 0).then(|| ((a / b as f64) * 10000.0).round() / 10000.0);
        self.recall = r(self.found as f64, self.gt);
        self.hit_rate = r(self.hit as f64, self.gt);
        self.precision = r(self.matched as f64, self.detections);
        self.coverage = r(self.coverage_sum, self.gt);
    }
}

/// Per class: totals and per size bucket.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClassSummary {
    #[serde(flatten)]
    pub all: Stats,
    /// Whether this class is hidden with the configuration's method (vehicles are not, by
    /// default: their coverage is then 0 by design).
    pub hidden: bool,
    pub buckets: BTreeMap<&'static str, Stats>,
}

/// One image of the evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct ImageResult {
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_redacted: Option<f64>,
    pub millis: u64,
    pub gt: Vec<GtResult>,
    pub detections: Vec<DetResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Per class and size bucket, over all images.
pub fn summarise(images: &[ImageResult], cfg: &Config) -> BTreeMap<Class, ClassSummary> {
    let mut s: BTreeMap<Class, ClassSummary> = BTreeMap::new();
    let new = |c: Class| ClassSummary {
        hidden: cfg.method(c) != Method::None,
        buckets: BUCKETS.iter().map(|b| (*b, Stats::default())).collect(),
        ..Default::default()
    };
    for i in images {
        for g in &i.gt {
            let cs = s.entry(g.class).or_insert_with(|| new(g.class));
            cs.all.add_gt(g);
            cs.buckets.entry(g.bucket).or_default().add_gt(g);
        }
        for d in i.detections.iter().filter(|d| d.labelled) {
            let cs = s.entry(d.class).or_insert_with(|| new(d.class));
            cs.all.add_det(d);
            cs.buckets.entry(d.bucket).or_default().add_det(d);
        }
    }
    for cs in s.values_mut() {
        cs.all.finish();
        for b in cs.buckets.values_mut() {
            b.finish();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: f32, y: f32, w: f32, h: f32) -> BoxF {
        BoxF::new(x, y, x + w, y + h)
    }

    #[test]
    fn buckets_by_short_side() {
        assert_eq!(bucket(&b(0.0, 0.0, 15.9, 200.0)), "<16");
        assert_eq!(bucket(&b(0.0, 0.0, 16.0, 20.0)), "16-32");
        assert_eq!(bucket(&b(0.0, 0.0, 40.0, 32.0)), "32-96");
        assert_eq!(bucket(&b(0.0, 0.0, 96.0, 96.0)), "32-96");
        assert_eq!(bucket(&b(0.0, 0.0, 97.0, 100.0)), ">96");
    }

    #[test]
    fn coverage_counts_overlapping_hidden_boxes_once() {
        // two hidden boxes overlapping on 10x10 px cover 10x20 + 10x20 - 10x10 = 300 px of a
        // 20x20 GT box: 300/400
        let m = Mask::new(100, 100, &[[10, 10, 10, 20], [15, 10, 10, 20]]);
        let gt = b(10.0, 10.0, 20.0, 20.0);
        assert!(
            (m.coverage(&gt) - 300.0 / 400.0).abs() < 1e-9,
            "{}",
            m.coverage(&gt)
        );
        assert!((m.fraction() - 300.0 / 10000.0).abs() < 1e-9);
        // a box half outside the image: the outside half is not hidden
        let m = Mask::new(10, 10, &[[0, 0, 10, 10]]);
        assert!((m.coverage(&b(5.0, 0.0, 10.0, 10.0)) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn matching_is_one_to_one_by_class_and_iou() {
        let gt = vec![
            GtBox {
                class: Class::Person,
                bbox: b(0.0, 0.0, 10.0, 10.0),
            },
            GtBox {
                class: Class::Person,
                bbox: b(50.0, 50.0, 40.0, 40.0),
            },
            GtBox {
                class: Class::Vehicle,
                bbox: b(200.0, 200.0, 100.0, 50.0),
            },
        ];
        let dets = vec![
            // IoU 0.81 with GT 0: found
            Det {
                class: Class::Person,
                score: 0.9,
                bbox: b(1.0, 1.0, 9.0, 9.0),
            },
            // a duplicate of GT 0 at a lower score: unmatched (one to one)
            Det {
                class: Class::Person,
                score: 0.5,
                bbox: b(0.0, 0.0, 10.0, 10.0),
            },
            // IoU 0.25 with GT 1: not found
            Det {
                class: Class::Person,
                score: 0.8,
                bbox: b(50.0, 50.0, 20.0, 20.0),
            },
            // right place, wrong class
            Det {
                class: Class::Person,
                score: 0.7,
                bbox: b(200.0, 200.0, 100.0, 50.0),
            },
        ];
        // hidden: GT 1 fully; GT 0 not at all
        let m = Mask::new(400, 400, &[[50, 50, 40, 40]]);
        let (g, d) = score_image(
            &gt,
            &dets,
            &m,
            &BTreeSet::from([Class::Person, Class::Vehicle]),
        );
        assert_eq!(
            g.iter().map(|x| x.found).collect::<Vec<_>>(),
            [true, false, false]
        );
        assert_eq!(
            g.iter().map(|x| x.hit).collect::<Vec<_>>(),
            [false, true, false]
        );
        assert!((g[0].iou - 0.81).abs() < 1e-3);
        assert_eq!(
            d.iter().map(|x| x.matched).collect::<Vec<_>>(),
            [true, false, false, false]
        );
        assert_eq!(g[0].bucket, "<16");
        assert_eq!(g[1].bucket, "32-96");
        let img = ImageResult {
            image: "a".into(),
            width: Some(400),
            height: Some(400),
            area_redacted: Some(m.fraction()),
            millis: 0,
            gt: g,
            detections: d,
            error: None,
        };
        let s = summarise(&[img], &Config::default());
        let p = &s[&Class::Person];
        assert_eq!(
            (
                p.all.gt,
                p.all.found,
                p.all.hit,
                p.all.detections,
                p.all.matched
            ),
            (2, 1, 1, 4, 1)
        );
        assert_eq!(p.all.recall, Some(0.5));
        assert_eq!(p.all.precision, Some(0.25));
        assert_eq!(p.all.coverage, Some(0.5));
        assert_eq!(p.buckets["<16"].gt, 1);
        assert_eq!(
            p.buckets["<16"].detections, 2,
            "matched det and the unmatched 10 px duplicate"
        );
        let v = &s[&Class::Vehicle];
        assert_eq!(
            (v.all.gt, v.all.found, v.all.detections, v.all.precision),
            (1, 0, 0, None)
        );
        assert!(!v.hidden, "vehicles are not hidden by default");
    }
}

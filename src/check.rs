//! `pixla check`: the CI gate for a delivered image set. Runs redact's detectors on every
//! image without writing anything and refuses the set when a person, plate or face (any
//! class whose method is not `none`) is found outside an already-redacted region. With the
//! batch report it also checks that the set is exactly what the report lists: every file's
//! sha256, nothing missing, nothing extra, no file that failed.
//!
//! The delivered folder is the report's output root: its images are matched to the report's
//! `output` paths (relative to that root), and the report's `regions[].box` of that file are
//! the known redacted regions. A detection counts as covered when at least
//! [`COVERED`] of its area lies inside the union of those regions. A detection inside a
//! region a reviewer marked false (the report's `suppressed`) is accepted: the review decided.

use crate::detect::Class;
use crate::geom::BoxF;
use crate::pipeline::{self, Config, Models};
use crate::redact::Method;
use crate::report::{self, FileEntry};
use crate::{walk, SetupError};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const SCHEMA: &str = "pixla-check/1";

/// A detection at least this much inside the report's regions (intersection over the
/// detection's area) is taken for the redacted region itself. Hidden boxes are the detector's
/// box plus a 15 % margin, so a person the run hid is 100 % inside its region; a detection
/// half outside shows at least half a person, which is a finding.
pub const COVERED: f32 = 0.5;

/// The configuration keys that decide what is detected and hidden.
const DETECTION_KEYS: &[&str] = &["tile", "overlap", "whole_image_pass", "pyramid", "thresholds", "methods", "margin", "margin_px", "blocks", "merge_ios", "plate_model", "plate_upscale"];

/// One detection outside the known redacted regions.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Path relative to the checked folder.
    pub file: String,
    pub class: Class,
    pub score: f32,
    /// The detector's box, `[x, y, w, h]` in stored pixels (no margin).
    #[serde(rename = "box")]
    pub bbox: [u32; 4],
    /// Fraction of the box inside the report's regions (0 without a report).
    pub covered: f32,
    /// `model:<name>`.
    pub source: String,
}

/// A problem with the delivered set other than a finding.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub file: String,
    /// `unreadable` (cannot be decoded or examined), `sha256-mismatch`, `missing` (in the
    /// report, not in the folder), `extra` (in the folder, not in the report), `failed` (the
    /// report says the file failed: the delivery is incomplete).
    pub kind: &'static str,
    pub detail: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckSummary {
    pub files: usize,
    pub findings: usize,
    /// Detections of those classes inside the report's regions (the redaction itself seen
    /// again): not findings.
    pub covered: usize,
    /// Detections inside a region a reviewer marked false (the report's `suppressed`): the
    /// reviewer's decision stands, so they are not findings either.
    pub accepted_by_review: usize,
    pub unreadable: usize,
    pub sha256_mismatch: usize,
    pub missing: usize,
    pub extra: usize,
    pub failed: usize,
}

/// The result of a check; `passed` is true only when there is nothing to report.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub schema: &'static str,
    pub passed: bool,
    /// The report checked against (file name) and the sha256 of its bytes.
    pub report: Option<String>,
    pub report_sha256: Option<String>,
    /// Classes that count as findings (method not `none`).
    pub classes: Vec<Class>,
    pub covered_threshold: f32,
    /// Detection settings of this check that differ from the report's run (`key: report X,
    /// now Y`): not a failure (a gate may use a stricter plate model), but said.
    pub settings_differ: Vec<String>,
    pub summary: CheckSummary,
    pub findings: Vec<Finding>,
    pub problems: Vec<Problem>,
}

/// Fraction of `b`'s area inside the union of `regions` (`[x, y, w, h]`), exactly: the
/// region edges cut `b` into cells, each cell is inside a region or not.
pub fn covered_fraction(b: &BoxF, regions: &[[u32; 4]]) -> f32 {
    let area = b.area();
    if area <= 0.0 {
        return 0.0;
    }
    let rs: Vec<BoxF> = regions
        .iter()
        .map(|r| BoxF::new(r[0] as f32, r[1] as f32, r[0] as f32 + r[2] as f32, r[1] as f32 + r[3] as f32))
        .map(|r| BoxF::new(r.x1.max(b.x1), r.y1.max(b.y1), r.x2.min(b.x2), r.y2.min(b.y2)))
        .filter(|r| r.x2 > r.x1 && r.y2 > r.y1)
        .collect();
    let mut xs: Vec<f32> = rs.iter().flat_map(|r| [r.x1, r.x2]).collect();
    let mut ys: Vec<f32> = rs.iter().flat_map(|r| [r.y1, r.y2]).collect();
    xs.sort_by(f32::total_cmp);
    xs.dedup();
    ys.sort_by(f32::total_cmp);
    ys.dedup();
    let mut inside = 0.0f64;
    for xw in xs.windows(2) {
        for yw in ys.windows(2) {
            let (cx, cy) = ((xw[0] + xw[1]) / 2.0, (yw[0] + yw[1]) / 2.0);
            if rs.iter().any(|r| cx >= r.x1 && cx < r.x2 && cy >= r.y1 && cy < r.y2) {
                inside += ((xw[1] - xw[0]) * (yw[1] - yw[0])) as f64;
            }
        }
    }
    (inside / area as f64).min(1.0) as f32
}

/// Check the images under `inputs` (one delivered folder, or files), against `report` when
/// given. Set-up problems (no models, unreadable report) are errors; everything about the
/// images is in the result.
pub fn check(inputs: &[PathBuf], report_path: Option<&Path>, cfg: &Config) -> Result<CheckResult, SetupError> {
    let walked = walk::walk_read(inputs)?;
    let rep = report_path.map(|p| report::read(p).map_err(SetupError::Usage)).transpose()?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(cfg.threads.max(1)).build().map_err(|e| SetupError::Other(e.to_string()))?;
    let models = pool.install(|| Models::load(cfg))?;
    let classes: Vec<Class> = Class::ALL.into_iter().filter(|c| cfg.method(*c) != Method::None).collect();

    let mut problems = Vec::new();
    // the report's entries by output path (relative to the delivered folder)
    let mut expected: BTreeMap<String, &FileEntry> = BTreeMap::new();
    if let Some((r, _)) = &rep {
        for f in &r.files {
            match (f.status.as_str(), &f.output) {
                ("failed", _) => problems.push(Problem { file: f.input.clone(), kind: "failed", detail: format!("the report says this file failed: {}", f.error.as_deref().unwrap_or("?")) }),
                (_, Some(o)) => {
                    expected.insert(o.clone(), f);
                }
                _ => {}
            }
        }
    }
    for i in walked.issues.iter().filter(|i| i.status == "failed") {
        problems.push(Problem { file: i.rel.to_string_lossy().into_owned(), kind: "unreadable", detail: i.reason.clone() });
    }
    let per: Vec<(String, anyhow::Result<pipeline::Scan>)> = pool.install(|| walked.jobs.par_iter().map(|j| (j.rel.to_string_lossy().into_owned(), pipeline::scan_file(&j.input, cfg, &models))).collect());
    let mut findings = Vec::new();
    let mut covered_n = 0;
    let mut accepted_n = 0;
    let mut seen = std::collections::BTreeSet::new();
    for (rel, scan) in per {
        let entry = expected.get(&rel).copied();
        if rep.is_some() {
            if entry.is_none() {
                problems.push(Problem { file: rel.clone(), kind: "extra", detail: "not in the report: this image was not delivered by that run".into() });
            }
            seen.insert(rel.clone());
        }
        let scan = match scan {
            Ok(s) => s,
            Err(e) => {
                problems.push(Problem { file: rel.clone(), kind: "unreadable", detail: format!("{e:#}") });
                continue;
            }
        };
        if let Some(want) = entry.and_then(|e| e.output_sha256.as_ref()) {
            if *want != scan.sha256 {
                problems.push(Problem { file: rel.clone(), kind: "sha256-mismatch", detail: format!("sha256 {} but the report lists {want}", scan.sha256) });
            }
        }
        let known: Vec<[u32; 4]> = entry.map(|e| e.regions.iter().map(|r| r.bbox).collect()).unwrap_or_default();
        let accepted: Vec<[u32; 4]> = entry.map(|e| e.suppressed.iter().map(|s| s.region.bbox).collect()).unwrap_or_default();
        for f in scan.found.iter().filter(|f| classes.contains(&f.det.class)) {
            let covered = covered_fraction(&f.det.bbox, &known);
            if covered >= COVERED {
                covered_n += 1;
                continue;
            }
            if covered_fraction(&f.det.bbox, &accepted) >= COVERED {
                accepted_n += 1;
                continue;
            }
            let b = f.det.bbox;
            findings.push(Finding {
                file: rel.clone(),
                class: f.det.class,
                score: (f.det.score * 1000.0).round() / 1000.0,
                bbox: [b.x1.max(0.0).round() as u32, b.y1.max(0.0).round() as u32, b.w().max(0.0).round() as u32, b.h().max(0.0).round() as u32],
                covered: (covered * 1000.0).round() / 1000.0,
                source: format!("model:{}", f.model),
            });
        }
    }
    for (o, _) in expected.iter().filter(|(o, _)| !seen.contains(*o)) {
        problems.push(Problem { file: o.clone(), kind: "missing", detail: "listed in the report, not in the delivered folder".into() });
    }
    findings.sort_by(|a, b| (&a.file, a.bbox).cmp(&(&b.file, b.bbox)));
    problems.sort_by(|a, b| (&a.file, a.kind).cmp(&(&b.file, b.kind)));
    let n = |k: &str| problems.iter().filter(|p| p.kind == k).count();
    let summary = CheckSummary {
        files: walked.jobs.len(),
        findings: findings.len(),
        covered: covered_n,
        accepted_by_review: accepted_n,
        unreadable: n("unreadable"),
        sha256_mismatch: n("sha256-mismatch"),
        missing: n("missing"),
        extra: n("extra"),
        failed: n("failed"),
    };
    let mut settings_differ = Vec::new();
    if let Some((r, _)) = &rep {
        let ours = serde_json::to_value(cfg).unwrap_or_default();
        for k in DETECTION_KEYS {
            if let (Some(a), Some(b)) = (r.config.get(k), ours.get(k)) {
                if a != b {
                    settings_differ.push(format!("{k}: report {a}, now {b}"));
                }
            }
        }
    }
    Ok(CheckResult {
        schema: SCHEMA,
        settings_differ,
        passed: findings.is_empty() && problems.is_empty(),
        report: report_path.and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()),
        report_sha256: rep.as_ref().map(|(_, s)| s.clone()),
        classes,
        covered_threshold: COVERED,
        summary,
        findings,
        problems,
    })
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

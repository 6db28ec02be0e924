//! `pixla check`: the CI gate for a delivered image set. Runs redact's detectors on every
//! image without writing anything and refuses the set when a person, plate or face (any
//! class whose method is not `none`) is found outside an already-redacted region. With the
//! batch report it also checks that the set is exactly what the report lists: every file's
//! sha256, nothing missing, nothing extra, no file that failed.
//!
//! The delivered folder is the report's output root: its images are matched to the report's
//! `output` paths (relative to that root), and the report's `regions[].box` of that file are
//! the known redacted regions. The report is not taken at its word: every region it says is
//! hidden must be hidden in the pixels on disk (flat cells, [`FLAT_RMS`](crate::delivery::hidden::FLAT_RMS)), else it is a
//! problem (`region-not-hidden`) and does not count as redacted. A detection counts as
//! covered when at least [`COVERED`] of its area lies inside the union of the hidden regions.
//! A detection inside a region a reviewer marked false (the report's `suppressed`) is
//! accepted: the review decided.

use crate::config::{Compared, Config, Difference};
use crate::delivery::hidden::unhidden;
use crate::delivery::ProblemKind;
use crate::detect::{Class, Detection};
use crate::error::SetupError;
use crate::file::plan::source;
use crate::file::scan::{scan_file, Scan};
use crate::find::loaded::Models;
use crate::find::PLATE_BAND;
use crate::fsio::walk;
use crate::geom::{BoxF, PixBox};
use crate::redact::Method;
use crate::report::{self, FileEntry, Source, Status};
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
    pub source: Source,
}

/// A problem with the delivered set other than a finding.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub file: String,
    /// `unreadable`, `sha256-mismatch`, `missing`, `extra`, `failed` or `region-not-hidden`.
    pub kind: ProblemKind,
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
    /// Regions the report says are hidden whose pixels are not (`region-not-hidden`).
    pub regions_not_hidden: usize,
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

/// Check the images under `inputs` (one delivered folder, or files), against `report` when
/// given. Set-up problems (no models, unreadable report) are errors; everything about the
/// images is in the result.
pub fn check(
    inputs: &[PathBuf],
    report_path: Option<&Path>,
    cfg: &Config,
) -> Result<CheckResult, SetupError> {
    let walked = walk::walk_read(inputs)?;
    let rep = report_path
        .map(|p| report::read(p).map_err(SetupError::Report))
        .transpose()?;
    let (pool, models) = Models::load_with_pool(cfg)?;
    let classes: Vec<Class> = Class::ALL
        .into_iter()
        .filter(|c| cfg.method(*c) != Method::None)
        .collect();

    let mut problems = Vec::new();
    // the report's entries by output path (relative to the delivered folder)
    let mut expected: BTreeMap<String, &FileEntry> = BTreeMap::new();
    if let Some((r, _)) = &rep {
        for f in &r.files {
            match (f.status, &f.output) {
                (Status::Failed, _) => problems.push(Problem {
                    file: f.input.clone(),
                    kind: ProblemKind::Failed,
                    detail: format!(
                        "the report says this file failed: {}",
                        f.error.as_deref().unwrap_or("?")
                    ),
                }),
                (_, Some(o)) => {
                    expected.insert(o.clone(), f);
                }
                _ => {}
            }
        }
    }
    for i in walked
        .issues
        .iter()
        .filter(|i| i.status == walk::IssueStatus::Failed)
    {
        problems.push(Problem {
            file: i.rel.to_string_lossy().into_owned(),
            kind: ProblemKind::Unreadable,
            detail: i.reason.clone(),
        });
    }
    // each file: its detections, and the pixel test of the regions its report entry hides
    type Judged = anyhow::Result<Vec<(usize, String)>>;
    let per: Vec<(String, anyhow::Result<Scan>, Judged)> = pool.install(|| {
        walked
            .jobs
            .par_iter()
            .map(|j| {
                let rel = j.rel.to_string_lossy().into_owned();
                let scan = scan_file(&j.input, cfg, &models);
                let judged = match expected.get(&rel) {
                    Some(e) if scan.is_ok() => unhidden(&j.input, &e.regions, &cfg.limits),
                    _ => Ok(vec![]),
                };
                (rel, scan, judged)
            })
            .collect()
    });
    let mut findings = Vec::new();
    let mut covered_n = 0;
    let mut accepted_n = 0;
    let mut seen = std::collections::BTreeSet::new();
    for (rel, scan, judged) in per {
        let entry = expected.get(&rel).copied();
        if rep.is_some() {
            if entry.is_none() {
                problems.push(Problem {
                    file: rel.clone(),
                    kind: ProblemKind::Extra,
                    detail: "not in the report: this image was not delivered by that run".into(),
                });
            }
            seen.insert(rel.clone());
        }
        let scan = match scan {
            Ok(s) => s,
            Err(e) => {
                problems.push(Problem {
                    file: rel.clone(),
                    kind: ProblemKind::Unreadable,
                    detail: format!("{e:#}"),
                });
                continue;
            }
        };
        if let Some(want) = entry.and_then(|e| e.output_sha256.as_ref()) {
            if *want != scan.sha256 {
                problems.push(Problem {
                    file: rel.clone(),
                    kind: ProblemKind::Sha256Mismatch,
                    detail: format!("sha256 {} but the report lists {want}", scan.sha256),
                });
            }
        }
        // a region counts as redacted only when its pixels are hidden
        let not_hidden: Vec<usize> = match judged {
            Ok(v) => v
                .into_iter()
                .map(|(i, detail)| {
                    problems.push(Problem {
                        file: rel.clone(),
                        kind: ProblemKind::RegionNotHidden,
                        detail,
                    });
                    i
                })
                .collect(),
            Err(e) => {
                problems.push(Problem {
                    file: rel.clone(),
                    kind: ProblemKind::Unreadable,
                    detail: format!("its regions' pixels cannot be examined: {e:#}"),
                });
                entry
                    .map(|e| (0..e.regions.len()).collect())
                    .unwrap_or_default()
            }
        };
        let known: Vec<[u32; 4]> = entry
            .map(|e| {
                e.regions
                    .iter()
                    .enumerate()
                    .filter(|(i, r)| r.method != Method::None && !not_hidden.contains(i))
                    .map(|(_, r)| r.bbox)
                    .collect()
            })
            .unwrap_or_default();
        let accepted: Vec<[u32; 4]> = entry
            .map(|e| e.suppressed.iter().map(|s| s.region.bbox).collect())
            .unwrap_or_default();
        // pixelated regions widened by one of their blocks, with their own area
        let mosaics: Vec<([u32; 4], u64)> = entry
            .map(|e| {
                e.regions
                    .iter()
                    .enumerate()
                    .filter(|(i, r)| r.method == Method::Pixelate && !not_hidden.contains(i))
                    .map(|(_, r)| {
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
                    })
                    .collect()
            })
            .unwrap_or_default();
        // a plate band or a weak plate (below the threshold) is no sign of a visible plate:
        // they stand in where no plate reached the threshold, and on pixla's own output the
        // plate they stand for is filled; only detections at the threshold are findings
        let detections = scan.found.iter().filter(|f| {
            classes.contains(&f.det.class)
                && f.model != PLATE_BAND
                && f.det.score >= cfg.threshold(f.det.class)
        });
        let fills: Vec<[u32; 4]> = entry
            .map(|e| {
                e.regions
                    .iter()
                    .enumerate()
                    .filter(|(i, r)| {
                        r.class == Class::Plate
                            && r.method == Method::Fill
                            && !not_hidden.contains(i)
                    })
                    .map(|(_, r)| r.bbox)
                    .collect()
            })
            .unwrap_or_default();
        for f in detections {
            let covered = covered_fraction(&f.det.bbox, &known);
            if covered >= COVERED
                || mosaic_edge(&f.det.bbox, &mosaics)
                || (f.det.class == Class::Plate && fill_edge(&f.det.bbox, &fills))
                || edge_effect(&f.det, cfg.threshold(f.det.class), &known)
            {
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
                bbox: [
                    b.x1.max(0.0).round() as u32,
                    b.y1.max(0.0).round() as u32,
                    b.w().max(0.0).round() as u32,
                    b.h().max(0.0).round() as u32,
                ],
                covered: (covered * 1000.0).round() / 1000.0,
                source: source(f),
            });
        }
    }
    for (o, _) in expected.iter().filter(|(o, _)| !seen.contains(*o)) {
        problems.push(Problem {
            file: o.clone(),
            kind: ProblemKind::Missing,
            detail: "listed in the report, not in the delivered folder".into(),
        });
    }
    findings.sort_by(|a, b| (&a.file, a.bbox).cmp(&(&b.file, b.bbox)));
    // by file, then by the kind's word, as the JSON reads
    problems.sort_by(|a, b| (&a.file, a.kind.as_str()).cmp(&(&b.file, b.kind.as_str())));
    let n = |k: ProblemKind| problems.iter().filter(|p| p.kind == k).count();
    let summary = CheckSummary {
        files: walked.jobs.len(),
        findings: findings.len(),
        covered: covered_n,
        accepted_by_review: accepted_n,
        unreadable: n(ProblemKind::Unreadable),
        sha256_mismatch: n(ProblemKind::Sha256Mismatch),
        missing: n(ProblemKind::Missing),
        extra: n(ProblemKind::Extra),
        failed: n(ProblemKind::Failed),
        regions_not_hidden: n(ProblemKind::RegionNotHidden),
    };
    let settings_differ = rep
        .as_ref()
        .map(|(r, _)| settings_notes(cfg, &r.config))
        .unwrap_or_default();
    Ok(CheckResult {
        schema: SCHEMA,
        settings_differ,
        passed: findings.is_empty() && problems.is_empty(),
        report: report_path
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned()),
        report_sha256: rep.as_ref().map(|(_, s)| s.clone()),
        classes,
        covered_threshold: COVERED,
        summary,
        findings,
        problems,
    })
}

/// Whether a detection on an output is the edge of one of its own pixelation mosaics: a
/// mosaic's hard block edges sit right at its border, and a small-object detector can fire on
/// them (measured: on `sahi_terrain1.jpg` a spot beside a pixelated walker scored 0.25 on the
/// original and 0.37 on the output). Such a detection is smaller than half the pixelated region
/// and lies at least [`COVERED`] inside the region widened by one of its blocks. A real person
/// that close to a hidden one, missed on the original, is not flagged: a limitation of judging
/// the output alone.
fn mosaic_edge(b: &BoxF, mosaics: &[([u32; 4], u64)]) -> bool {
    mosaics.iter().any(|(m, area)| {
        (b.w() * b.h()) as f64 <= *area as f64 / 2.0
            && covered_fraction(b, std::slice::from_ref(m)) >= COVERED
    })
}

/// A detection less than this far above its threshold can be an [`edge_effect`].
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
/// on disk within twice its longer side ([`EDGE_REACH`] at most); regions [`unhidden`]
/// found do not count. A real person that close to a hidden region, below the threshold on
/// the original and lifted above it here, is not flagged: redact, at the same threshold,
/// left it visible too. A set redacted at higher thresholds than the gate's is judged more
/// leniently near its regions; `settings_differ` says when the settings differ.
fn edge_effect(d: &Detection, threshold: f32, hidden: &[[u32; 4]]) -> bool {
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
fn fill_edge(b: &BoxF, fills: &[[u32; 4]]) -> bool {
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

/// The detection settings ([`Compared::Detection`]) in which this check differs from the
/// report's run, one note each: `key: report A, now B` (`-` for a setting not made).
fn settings_notes(cfg: &Config, recorded: &serde_json::Value) -> Vec<String> {
    cfg.differences(recorded, Compared::Detection)
        .iter()
        .map(|d| {
            format!(
                "{}: report {}, now {}",
                d.key,
                Difference::show(&d.recorded),
                Difference::show(&d.now)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_with_a_user_model_notes_it_against_a_nanodet_report() {
        let nanodet = Config {
            detector: crate::config::ObjectModels::NanoDet,
            ..Config::default()
        };
        let mut user = nanodet.clone();
        user.threads = nanodet.threads + 1;
        assert_eq!(
            settings_notes(&user, &nanodet.recorded()),
            Vec::<String>::new()
        );
        user.model = Some(crate::config::UserModel {
            path: PathBuf::from("/m/x.onnx"),
            file: "x.onnx".into(),
            format: "yolov8".into(),
            classes: vec![("person".into(), 0, Class::Person)],
            size: None,
        });
        let notes = settings_notes(&user, &nanodet.recorded());
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("model: report -, now {") && notes[0].contains("x.onnx"),
            "{notes:?}"
        );
    }

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

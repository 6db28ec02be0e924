//! Going through the scanned files of a check: each file's problems (not in the report,
//! unreadable, another sha256, regions not hidden) and its detections judged, counted into
//! the summary.

use super::expected::Expected;
use super::judge::{Hidden, Verdict};
use super::result::{CheckSummary, Finding, Problem};
use crate::config::Config;
use crate::delivery::ProblemKind;
use crate::detect::Class;
use crate::file::plan::source;
use crate::file::scan::Scan;
use crate::find::{Found, FoundBy};
use crate::fsio::walk;
use crate::report::FileEntry;
use std::collections::BTreeSet;

/// One file of the checked set: its detections, and the pixel test of the regions its
/// report entry hides (each region not hidden, with why).
pub(super) struct Scanned {
    pub rel: String,
    pub scan: anyhow::Result<Scan>,
    pub judged: anyhow::Result<Vec<(usize, String)>>,
}

/// The findings, problems and counts of a check so far.
pub(super) struct Tally<'a> {
    cfg: &'a Config,
    /// Classes that count as findings.
    classes: &'a [Class],
    findings: Vec<Finding>,
    problems: Vec<Problem>,
    covered: usize,
    accepted: usize,
    /// The delivered files (with a report).
    seen: BTreeSet<String>,
}

/// What a check found, sorted, with its counts.
pub(super) struct Outcome {
    pub summary: CheckSummary,
    pub findings: Vec<Finding>,
    pub problems: Vec<Problem>,
}

impl<'a> Tally<'a> {
    pub(super) fn new(cfg: &'a Config, classes: &'a [Class]) -> Self {
        Tally {
            cfg,
            classes,
            findings: Vec::new(),
            problems: Vec::new(),
            covered: 0,
            accepted: 0,
            seen: BTreeSet::new(),
        }
    }

    fn problem(&mut self, file: &str, kind: ProblemKind, detail: String) {
        self.problems.push(Problem {
            file: file.to_string(),
            kind,
            detail,
        });
    }

    /// The problems found before any file is scanned: the files the report says failed,
    /// the paths the walk could not read.
    pub(super) fn before_scan(&mut self, expected: Option<&Expected>, issues: &[walk::WalkIssue]) {
        self.problems
            .extend(expected.into_iter().flat_map(|e| e.failed()));
        for i in issues
            .iter()
            .filter(|i| i.status == walk::IssueStatus::Failed)
        {
            let file = i.rel.to_string_lossy();
            self.problem(&file, ProblemKind::Unreadable, i.reason.clone());
        }
    }

    /// One scanned file, against its report entry when there is a report.
    pub(super) fn file(&mut self, f: Scanned, expected: Option<&Expected>) {
        let entry = expected.and_then(|e| e.entry(&f.rel));
        if expected.is_some() {
            self.delivered(&f.rel, entry.is_some());
        }
        let scan = match f.scan {
            Ok(s) => s,
            Err(e) => return self.problem(&f.rel, ProblemKind::Unreadable, format!("{e:#}")),
        };
        if let Some(want) = entry.and_then(|e| e.output_sha256.as_ref()) {
            if *want != scan.sha256 {
                let detail = format!("sha256 {} but the report lists {want}", scan.sha256);
                self.problem(&f.rel, ProblemKind::Sha256Mismatch, detail);
            }
        }
        let not_hidden = self.not_hidden(&f.rel, entry, f.judged);
        let hidden = Hidden::of(entry, &not_hidden);
        let counted: Vec<&Found> = scan.found.iter().filter(|d| self.counts(d)).collect();
        for d in counted {
            self.detection(&f.rel, d, &hidden);
        }
    }

    /// A delivered file, in the report (`listed`) or not.
    fn delivered(&mut self, rel: &str, listed: bool) {
        if !listed {
            let detail = "not in the report: this image was not delivered by that run".into();
            self.problem(rel, ProblemKind::Extra, detail);
        }
        self.seen.insert(rel.to_string());
    }

    /// The indices of the regions of `entry` whose pixels are not hidden, each a problem;
    /// all of them when the pixels could not be examined.
    fn not_hidden(
        &mut self,
        rel: &str,
        entry: Option<&FileEntry>,
        judged: anyhow::Result<Vec<(usize, String)>>,
    ) -> Vec<usize> {
        match judged {
            Ok(v) => v
                .into_iter()
                .map(|(i, detail)| {
                    self.problem(rel, ProblemKind::RegionNotHidden, detail);
                    i
                })
                .collect(),
            Err(e) => {
                let detail = format!("its regions' pixels cannot be examined: {e:#}");
                self.problem(rel, ProblemKind::Unreadable, detail);
                entry
                    .map(|e| (0..e.regions.len()).collect())
                    .unwrap_or_default()
            }
        }
    }

    /// Whether a detection can be a finding at all. A plate band or a weak plate (below the
    /// threshold) is no sign of a visible plate: they stand in where no plate reached the
    /// threshold, and on pixla's own output the plate they stand for is filled; only
    /// detections at the threshold are findings.
    fn counts(&self, f: &Found) -> bool {
        self.classes.contains(&f.det.class)
            && f.by != FoundBy::PlateBand
            && f.det.score >= self.cfg.threshold(f.det.class)
    }

    fn detection(&mut self, rel: &str, f: &Found, hidden: &Hidden) {
        match hidden.judge(&f.det, self.cfg.threshold(f.det.class)) {
            Verdict::Covered => self.covered += 1,
            Verdict::AcceptedByReview => self.accepted += 1,
            Verdict::Finding { covered } => self.findings.push(finding(rel, f, covered)),
        }
    }

    /// The outputs the report lists that were not delivered.
    pub(super) fn after_scan(&mut self, expected: Option<&Expected>) {
        if let Some(e) = expected {
            self.problems.extend(e.missing(&self.seen));
        }
    }

    /// Findings by file and box, problems by file and kind, and the counts, for `files`
    /// scanned files.
    pub(super) fn finish(mut self, files: usize) -> Outcome {
        self.findings
            .sort_by(|a, b| (&a.file, a.bbox).cmp(&(&b.file, b.bbox)));
        // by file, then by the kind's word, as the JSON reads
        self.problems
            .sort_by(|a, b| (&a.file, a.kind.as_str()).cmp(&(&b.file, b.kind.as_str())));
        let n = |k: ProblemKind| self.problems.iter().filter(|p| p.kind == k).count();
        let summary = CheckSummary {
            files,
            findings: self.findings.len(),
            covered: self.covered,
            accepted_by_review: self.accepted,
            unreadable: n(ProblemKind::Unreadable),
            sha256_mismatch: n(ProblemKind::Sha256Mismatch),
            missing: n(ProblemKind::Missing),
            extra: n(ProblemKind::Extra),
            failed: n(ProblemKind::Failed),
            regions_not_hidden: n(ProblemKind::RegionNotHidden),
        };
        Outcome {
            summary,
            findings: self.findings,
            problems: self.problems,
        }
    }
}

/// A detection as a finding: its box in whole stored pixels, score and coverage to 1/1000.
fn finding(rel: &str, f: &Found, covered: f32) -> Finding {
    let b = f.det.bbox;
    Finding {
        file: rel.to_string(),
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
    }
}

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

mod coverage;
mod edges;
mod expected;
mod judge;
mod result;
mod tally;

pub use coverage::{covered_fraction, COVERED};
pub use edges::{EDGE_MARGIN, EDGE_REACH};
pub use result::{CheckResult, CheckSummary, Finding, Problem};

use crate::config::Config;
use crate::delivery::hidden::unhidden;
use crate::detect::Class;
use crate::error::SetupError;
use crate::file::scan::scan_file;
use crate::find::loaded::Models;
use crate::fsio::walk;
use crate::redact::Method;
use crate::report;
use expected::{settings_notes, Expected};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use tally::{Scanned, Tally};

pub const SCHEMA: &str = "pixla-check/1";

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
    let classes = finding_classes(cfg);
    let expected = rep.as_ref().map(|(r, _)| Expected::of(r));
    let mut tally = Tally::new(cfg, &classes);
    tally.before_scan(expected.as_ref(), &walked.issues);
    let scanned = pool.install(|| scan_all(&walked.jobs, expected.as_ref(), cfg, &models));
    for f in scanned {
        tally.file(f, expected.as_ref());
    }
    tally.after_scan(expected.as_ref());
    let outcome = tally.finish(walked.jobs.len());
    let settings_differ = rep
        .as_ref()
        .map(|(r, _)| settings_notes(cfg, &r.config))
        .unwrap_or_default();
    Ok(CheckResult {
        schema: SCHEMA,
        settings_differ,
        passed: outcome.findings.is_empty() && outcome.problems.is_empty(),
        report: report_path
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned()),
        report_sha256: rep.as_ref().map(|(_, s)| s.clone()),
        classes,
        covered_threshold: COVERED,
        summary: outcome.summary,
        findings: outcome.findings,
        problems: outcome.problems,
    })
}

/// The classes whose detections count as findings: those whose method is not `none`.
fn finding_classes(cfg: &Config) -> Vec<Class> {
    Class::ALL
        .into_iter()
        .filter(|c| cfg.method(*c) != Method::None)
        .collect()
}

/// Each file, in parallel: its detections, and the pixel test of the regions its report
/// entry hides.
fn scan_all(
    jobs: &[walk::Job],
    expected: Option<&Expected>,
    cfg: &Config,
    models: &Models,
) -> Vec<Scanned> {
    jobs.par_iter()
        .map(|j| {
            let rel = j.rel.to_string_lossy().into_owned();
            let scan = scan_file(&j.input, cfg, models);
            let judged = match expected.and_then(|e| e.entry(&rel)) {
                Some(e) if scan.is_ok() => unhidden(&j.input, &e.regions, &cfg.limits),
                _ => Ok(vec![]),
            };
            Scanned { rel, scan, judged }
        })
        .collect()
}

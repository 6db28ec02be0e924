//! What a check returns: the findings, the problems, their counts and the result that
//! holds them.

use crate::delivery::ProblemKind;
use crate::detect::Class;
use crate::report::Source;
use serde::Serialize;

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

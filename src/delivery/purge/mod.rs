//! `pixla purge REPORT --input ROOT`: after a verified delivery, delete the originals the
//! report lists ("return the originals, then purge"). A dry run unless `yes`.
//!
//! ROOT and the delivery folder must be different trees (resolved, neither inside the
//! other), or nothing at all is deleted (a usage error). Before anything is deleted the
//! delivery is verified: every output the report lists must be a regular file (not through a
//! symbolic link) with its recorded sha256 (under the report's folder, or `outputs`); if one
//! is not, nothing at all is deleted. Then per file: the original is deleted only when its
//! path is plain relative, resolves inside ROOT without a symbolic link, it is not the same
//! file as its output (device and inode), and its sha256 is the report's `input_sha256`; an
//! original whose file failed (no output) is kept. Each deletion and each refusal is
//! appended to the purge log as one JSON line, fsynced before the file is deleted.

mod log;
mod verdict;

pub use log::{LogLine, LOG_SCHEMA};

use crate::delivery::verify::{check_outputs, OutputProblem};
use crate::error::SetupError;
use crate::fsio::inside;
use crate::report::{self, FileEntry};
use log::{Original, Provenance, PurgeLog};
use serde::Serialize;
use std::path::{Path, PathBuf};
use verdict::{judge, Delivery, Verdict};

pub const DEFAULT_LOG: &str = "pixla-purge.log.jsonl";

pub struct PurgeOptions {
    /// The input root the report's `input` paths are relative to.
    pub input: PathBuf,
    /// Folder the report's `output` paths are relative to (default: the report's folder).
    pub outputs: Option<PathBuf>,
    /// Delete for real (else: a dry run that writes nothing).
    pub yes: bool,
    /// Purge log (default: `pixla-purge.log.jsonl` beside the report).
    pub log: Option<PathBuf>,
    pub operator: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PurgeItem {
    /// Path relative to the input root.
    pub file: String,
    /// `delete` (dry run: would be deleted), `deleted`, `refused` (kept, see `reason`),
    /// `skipped` (not an image pixla processed: not the purge's business).
    pub action: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PurgeResult {
    pub dry_run: bool,
    /// Every output of the report present with its recorded sha256.
    pub delivery_verified: bool,
    pub delivery_problems: Vec<String>,
    pub items: Vec<PurgeItem>,
    pub log: Option<PathBuf>,
}

impl PurgeResult {
    pub fn refused(&self) -> usize {
        self.items.iter().filter(|i| i.action == "refused").count()
    }
}

/// Purge the originals of the delivery `report_path` describes (see the module docs).
/// Unsafe paths, an unreadable report and a log that cannot be written are errors; each
/// original's fate is in the result.
pub fn purge(report_path: &Path, o: &PurgeOptions) -> Result<PurgeResult, SetupError> {
    let (rep, report_sha) = report::read(report_path).map_err(SetupError::Report)?;
    input_is_a_folder(&o.input)?;
    let report_dir = report::folder(report_path);
    let out_root = o.outputs.clone().unwrap_or_else(|| report_dir.clone());
    different_trees(&o.input, &out_root)?;
    let (_, probs) = check_outputs(&rep, &out_root);
    let log_path = o
        .log
        .clone()
        .unwrap_or_else(|| report_dir.join(DEFAULT_LOG));
    let who = provenance(report_path, report_sha, o);
    let mut log = PurgeLog::open(log_path.clone(), o.yes, who)?;
    let delivery = Delivery {
        input: &o.input,
        out_root: &out_root,
        problems: &probs,
    };
    let items = rep
        .files
        .iter()
        .map(|f| purge_one(f, &delivery, o, &mut log))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PurgeResult {
        dry_run: !o.yes,
        delivery_verified: probs.is_empty(),
        delivery_problems: problem_lines(&probs),
        items,
        log: o.yes.then_some(log_path),
    })
}

/// The input root must be a folder.
fn input_is_a_folder(input: &Path) -> Result<(), SetupError> {
    if input.is_dir() {
        return Ok(());
    }
    Err(SetupError::Usage(format!(
        "--input {} is not a folder (give the input root the report's paths are relative to)",
        input.display()
    )))
}

/// The originals and the delivery are different trees (resolved, neither inside the
/// other), or nothing is deleted at all.
fn different_trees(input: &Path, out_root: &Path) -> Result<(), SetupError> {
    let (in_abs, out_abs) = (inside::resolve(input), inside::resolve(out_root));
    if !(in_abs.starts_with(&out_abs) || out_abs.starts_with(&in_abs)) {
        return Ok(());
    }
    let how = if in_abs == out_abs {
        "is the delivery folder"
    } else if in_abs.starts_with(&out_abs) {
        "is inside the delivery folder"
    } else {
        "holds the delivery folder"
    };
    Err(SetupError::UnsafePaths(format!(
        "--input {} {how} {} (resolved: {} and {}): the originals and the delivery must be different trees, so nothing is deleted; give the input root of the run",
        input.display(),
        out_root.display(),
        in_abs.display(),
        out_abs.display()
    )))
}

/// The delivery's problems, one line each: `file: kind (detail)`.
fn problem_lines(probs: &[OutputProblem]) -> Vec<String> {
    probs
        .iter()
        .map(|p| format!("{}: {} ({})", p.file, p.kind, p.detail))
        .collect()
}

/// Who purges which report, for the log.
fn provenance(report_path: &Path, report_sha256: String, o: &PurgeOptions) -> Provenance {
    Provenance {
        operator: crate::batch::provenance::operator(o.operator.as_deref()),
        host: crate::batch::provenance::host(),
        report: report_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        report_sha256,
    }
}

/// Judge one original and, on a real purge, log and delete it.
fn purge_one(
    f: &FileEntry,
    d: &Delivery,
    o: &PurgeOptions,
    log: &mut PurgeLog,
) -> Result<PurgeItem, SetupError> {
    let (verdict, sha) = judge(f, d);
    let orig = Original {
        file: &f.input,
        sha256: sha.as_deref(),
    };
    let item = |action: &'static str, reason: String| PurgeItem {
        file: f.input.clone(),
        action,
        reason,
    };
    Ok(match verdict {
        Verdict::Skipped => item("skipped", "not an image pixla processed".into()),
        Verdict::Refused(reason) => {
            log.write(&orig, "refused", &reason)?;
            item("refused", reason)
        }
        Verdict::Verified if !o.yes => item(
            "delete",
            "verified: output delivered, original unchanged (dry run: not deleted; pass --yes)"
                .into(),
        ),
        Verdict::Verified => {
            let reason = "verified: output delivered, original unchanged";
            // the log line is on disk before the file goes
            log.write(&orig, "deleted", reason)?;
            match std::fs::remove_file(o.input.join(&f.input)) {
                Ok(()) => item("deleted", reason.into()),
                Err(e) => {
                    let why = format!("could not delete it: {e}");
                    log.write(&orig, "delete-failed", &why)?;
                    item("refused", why)
                }
            }
        }
    })
}

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

use crate::error::SetupError;
use crate::fsio::walk;
use crate::report;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const LOG_SCHEMA: &str = "pixla-purge/1";
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

/// One line of the purge log.
#[derive(Debug, Clone, Serialize)]
pub struct LogLine<'a> {
    pub schema: &'static str,
    pub time: String,
    pub operator: &'a str,
    pub host: &'a str,
    pub report: &'a str,
    pub report_sha256: &'a str,
    pub file: &'a str,
    /// The original's sha256 as found (null when it could not be read).
    pub sha256: Option<&'a str>,
    /// `deleted`, `refused`, or `delete-failed` (logged as `deleted` first, then this).
    pub action: &'a str,
    pub reason: &'a str,
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

pub fn purge(report_path: &Path, o: &PurgeOptions) -> Result<PurgeResult, SetupError> {
    let (rep, report_sha) = report::read(report_path).map_err(SetupError::Report)?;
    if !o.input.is_dir() {
        return Err(SetupError::Usage(format!(
            "--input {} is not a folder (give the input root the report's paths are relative to)",
            o.input.display()
        )));
    }
    let report_dir = report::folder(report_path);
    let out_root = o.outputs.clone().unwrap_or_else(|| report_dir.clone());
    // the originals and the delivery are different trees, or nothing is deleted at all
    let (in_abs, out_abs) = (walk::resolve(&o.input), walk::resolve(&out_root));
    if in_abs.starts_with(&out_abs) || out_abs.starts_with(&in_abs) {
        let how = if in_abs == out_abs {
            "is the delivery folder"
        } else if in_abs.starts_with(&out_abs) {
            "is inside the delivery folder"
        } else {
            "holds the delivery folder"
        };
        return Err(SetupError::UnsafePaths(format!(
            "--input {} {how} {} (resolved: {} and {}): the originals and the delivery must be different trees, so nothing is deleted; give the input root of the run",
            o.input.display(),
            out_root.display(),
            in_abs.display(),
            out_abs.display()
        )));
    }
    let (_, probs) = crate::delivery::verify::check_outputs(&rep, &out_root);
    let delivery_problems: Vec<String> = probs
        .iter()
        .map(|p| format!("{}: {} ({})", p.file, p.kind, p.detail))
        .collect();
    let verified = probs.is_empty();
    let log_path = o
        .log
        .clone()
        .unwrap_or_else(|| report_dir.join(DEFAULT_LOG));
    let mut log = None;
    if o.yes {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| SetupError::Io {
                action: "open the purge log",
                path: log_path.clone(),
                reason: e.to_string(),
            })?;
        log = Some(f);
    }
    let operator = crate::batch::provenance::operator(o.operator.as_deref());
    let host = crate::batch::provenance::host();
    let report_name = report_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut items = Vec::new();
    for f in &rep.files {
        let mut sha: Option<String> = None;
        let verdict: Result<(), String> = (|| {
            if f.status == report::Status::Skipped {
                return Err("skipped".into());
            }
            if f.status == report::Status::Failed || f.output.is_none() {
                return Err(format!(
                    "no output was delivered for it ({}): the original is the only copy",
                    f.error.as_deref().unwrap_or(f.status.as_str())
                ));
            }
            if let Some(p) = probs.iter().find(|p| Some(&p.file) == f.output.as_ref()) {
                return Err(format!(
                    "its output {} is {}: the original is kept",
                    p.file, p.kind
                ));
            }
            if !verified {
                return Err(format!(
                    "the delivery is not verified ({} output problem(s)): nothing is deleted",
                    probs.len()
                ));
            }
            let want = f
                .input_sha256
                .as_deref()
                .ok_or("the report records no input sha256")?;
            let orig = walk::inside(
                &o.input,
                Path::new(&f.input),
                walk::Leaf::File,
                "the input root",
            )
            .map_err(|r| r.detail)?;
            // the output must be another file than the original (a hard link is the same file)
            if let Some(out) = f.output.as_deref().and_then(|r| {
                walk::inside(
                    &out_root,
                    Path::new(r),
                    walk::Leaf::File,
                    "the delivery folder",
                )
                .ok()
            }) {
                use std::os::unix::fs::MetadataExt;
                let id = |p: &Path| std::fs::symlink_metadata(p).map(|m| (m.dev(), m.ino()));
                match (id(&orig), id(&out)) {
                    (Ok(a), Ok(b)) if a != b => {}
                    (Ok(_), Ok(_)) => return Err(format!("its output {} is the same file as the original (same device and inode): deleting it would delete the delivery", f.output.as_deref().unwrap_or(""))),
                    (Err(e), _) | (_, Err(e)) => return Err(format!("cannot examine it or its output: {e}")),
                }
            }
            let h = crate::fsio::sha256_file(&orig).map_err(|e| format!("cannot read it: {e}"))?;
            sha = Some(h.clone());
            if h != want {
                return Err(format!(
                    "sha256 {h} is not the report's input_sha256 {want}: it changed since the run"
                ));
            }
            Ok(())
        })();
        let mut write_log = |action: &str, reason: &str| -> Result<(), SetupError> {
            if let Some(l) = log.as_mut() {
                let line = LogLine {
                    schema: LOG_SCHEMA,
                    time: report::now(),
                    operator: &operator,
                    host: &host,
                    report: &report_name,
                    report_sha256: &report_sha,
                    file: &f.input,
                    sha256: sha.as_deref(),
                    action,
                    reason,
                };
                let mut s = serde_json::to_string(&line)
                    .map_err(|e| SetupError::Internal(e.to_string()))?;
                s.push('\n');
                l.write_all(s.as_bytes())
                    .and_then(|_| l.sync_data())
                    .map_err(|e| SetupError::Io {
                        action: "write the purge log",
                        path: log_path.clone(),
                        reason: format!("{e}; stopped before deleting {}", f.input),
                    })?;
            }
            Ok(())
        };
        let item = match verdict {
            Err(r) if r == "skipped" => PurgeItem { file: f.input.clone(), action: "skipped", reason: "not an image pixla processed".into() },
            Err(reason) => {
                write_log("refused", &reason)?;
                PurgeItem { file: f.input.clone(), action: "refused", reason }
            }
            Ok(()) if !o.yes => PurgeItem { file: f.input.clone(), action: "delete", reason: "verified: output delivered, original unchanged (dry run: not deleted; pass --yes)".into() },
            Ok(()) => {
                let reason = "verified: output delivered, original unchanged";
                // the log line is on disk before the file goes
                write_log("deleted", reason)?;
                match std::fs::remove_file(o.input.join(&f.input)) {
                    Ok(()) => PurgeItem { file: f.input.clone(), action: "deleted", reason: reason.into() },
                    Err(e) => {
                        let why = format!("could not delete it: {e}");
                        write_log("delete-failed", &why)?;
                        PurgeItem { file: f.input.clone(), action: "refused", reason: why }
                    }
                }
            }
        };
        items.push(item);
    }
    Ok(PurgeResult {
        dry_run: !o.yes,
        delivery_verified: verified,
        delivery_problems,
        items,
        log: o.yes.then_some(log_path),
    })
}

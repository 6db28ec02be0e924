//! The purge log: one JSON line per deletion or refusal, appended and fsynced before the
//! file it speaks of is deleted. A dry run writes none.

use crate::error::SetupError;
use crate::report;
use serde::Serialize;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

pub const LOG_SCHEMA: &str = "pixla-purge/1";

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

/// Who purges which report: the fields every line repeats.
pub(super) struct Provenance {
    pub operator: String,
    pub host: String,
    /// The report's file name.
    pub report: String,
    pub report_sha256: String,
}

/// The open purge log (none on a dry run) and what each of its lines repeats.
pub(super) struct PurgeLog {
    file: Option<File>,
    path: PathBuf,
    who: Provenance,
}

/// The original a line speaks of: its path relative to the input root and its sha256 as
/// found.
pub(super) struct Original<'a> {
    pub file: &'a str,
    pub sha256: Option<&'a str>,
}

impl PurgeLog {
    /// Open `path` for appending when `write` (a real purge), else log nothing.
    pub(super) fn open(path: PathBuf, write: bool, who: Provenance) -> Result<Self, SetupError> {
        let file = if write {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| SetupError::Io {
                    action: "open the purge log",
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            Some(f)
        } else {
            None
        };
        Ok(PurgeLog { file, path, who })
    }

    /// Append one line about `orig` and put it on disk.
    pub(super) fn write(
        &mut self,
        orig: &Original,
        action: &str,
        reason: &str,
    ) -> Result<(), SetupError> {
        let Some(l) = self.file.as_mut() else {
            return Ok(());
        };
        let line = LogLine {
            schema: LOG_SCHEMA,
            time: report::now(),
            operator: &self.who.operator,
            host: &self.who.host,
            report: &self.who.report,
            report_sha256: &self.who.report_sha256,
            file: orig.file,
            sha256: orig.sha256,
            action,
            reason,
        };
        let mut s =
            serde_json::to_string(&line).map_err(|e| SetupError::Internal(e.to_string()))?;
        s.push('\n');
        l.write_all(s.as_bytes())
            .and_then(|_| l.sync_data())
            .map_err(|e| SetupError::Io {
                action: "write the purge log",
                path: self.path.clone(),
                reason: format!("{e}; stopped before deleting {}", orig.file),
            })
    }
}

//! Errors that stop a whole run (exit code 2, [`SetupError`]), and per-file errors
//! ([`FileError`]), which are recorded in the report and let the batch go on.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What kind of failure stopped one file: the report's `error_kind`, next to its `error`.
/// Each serialises to its lower-case name. Which failure gets which kind is listed in
/// [`crate::file::failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileErrorKind {
    /// The file's content is corrupt, truncated or contradicts itself (a decoder or a
    /// format's structure says no).
    Decode,
    /// A memory, size or work limit refuses the file (pixel count, compressed metadata that
    /// inflates too far).
    Limit,
    /// A format, layout or feature pixla refuses to redact (multi-page, animated, a name
    /// that contradicts the content, TIFF with `--strip-gps`...).
    Unsupported,
    /// The file system: the input cannot be read or is not a regular file, a link, the
    /// output cannot be written or would leave OUT.
    Io,
    /// A reviewer's correction cannot be carried out exactly (`redact --regions`).
    Review,
    /// A caught panic, a broken invariant, or a detector that fails on the file.
    Internal,
}

impl FileErrorKind {
    pub const ALL: [FileErrorKind; 6] = [
        FileErrorKind::Decode,
        FileErrorKind::Limit,
        FileErrorKind::Unsupported,
        FileErrorKind::Io,
        FileErrorKind::Review,
        FileErrorKind::Internal,
    ];

    /// The report's spelling: `decode`, `limit`, `unsupported`, `io`, `review` or
    /// `internal`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileErrorKind::Decode => "decode",
            FileErrorKind::Limit => "limit",
            FileErrorKind::Unsupported => "unsupported",
            FileErrorKind::Io => "io",
            FileErrorKind::Review => "review",
            FileErrorKind::Internal => "internal",
        }
    }
}

impl std::fmt::Display for FileErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one file failed: its kind and the report's message (the words the report has always
/// carried). Displayed as the message alone, so it can also travel inside an
/// [`anyhow::Error`] chain and be found again by its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FileError {
    pub kind: FileErrorKind,
    pub message: String,
}

impl FileError {
    pub fn new(kind: FileErrorKind, message: impl Into<String>) -> FileError {
        FileError {
            kind,
            message: message.into(),
        }
    }
}

/// A usage or set-up problem: the run cannot start. The message says how to fix it; the
/// variant says what went wrong, so callers and tests branch on it, not on wording.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A flag, a flag's value or a combination of flags pixla cannot run with.
    #[error("usage: {0}")]
    Usage(String),
    /// The inputs, OUT or a report path are arranged so that a write could touch an original
    /// or two outputs could collide (output inside an input, input inside OUT, two inputs of
    /// one name, a review folder pixla did not make, purge trees that overlap).
    #[error("{0}")]
    UnsafePaths(String),
    /// A file or folder the run needs cannot be read, created or written.
    #[error("cannot {action} {}: {reason}", .path.display())]
    Io {
        /// what pixla tried, e.g. "read input" or "create the output folder"
        action: &'static str,
        path: PathBuf,
        reason: String,
    },
    /// A report cannot be read, is not a pixla report, or shard reports cannot be merged.
    #[error("{0}")]
    Report(String),
    /// A reviewer's sidecar cannot be used: unreadable, malformed, no or a conflicting
    /// reviewer, or already applied.
    #[error("{0}")]
    Sidecar(String),
    /// Labels (or the images) given to `pixla eval` cannot be used.
    #[error("{0}")]
    Labels(String),
    /// OUT holds the journal of an unfinished batch and `--resume` was not given.
    #[error("{} holds the journal of an unfinished batch ({}): continue it with --resume, or delete that file to start over", .out.display(), .journal.display())]
    UnfinishedJournal { out: PathBuf, journal: PathBuf },
    /// The journal cannot be read or written.
    #[error("{0}")]
    Journal(String),
    /// `--resume` with inputs or settings other than the journal's batch.
    #[error("cannot resume: the journal {} is of a batch with other {}; rerun with that batch's inputs and flags, or delete the journal to start over", .journal.display(), .differ.join(", "))]
    JournalMismatch {
        journal: PathBuf,
        differ: Vec<String>,
    },
    /// A review re-run (`--regions`) with other detection settings or models than the
    /// report's run.
    #[error("the {what} differ from the report's run ({}): {fix}", .differ.join("; "))]
    SettingsDiffer {
        what: &'static str,
        differ: Vec<String>,
        fix: &'static str,
    },
    /// A plain run would overwrite outputs that carry a reviewer's corrections.
    #[error("the report {} records reviewed corrections for {n} file(s); a plain run would overwrite those outputs without them. Write into a new output folder, or apply further corrections with --regions", .report.display())]
    ReviewedOutputs { report: PathBuf, n: usize },
    /// A bring-your-own detector (`--model`) cannot be used as given.
    #[error("--model {}: {why}", .path.display())]
    UserModel { path: PathBuf, why: String },
    /// Installing ONNX Runtime or a model failed.
    #[error("fetch failed: {0}")]
    Fetch(String),
    /// Something that should not fail did (serialising a report, signal handlers, a
    /// built-in model that does not match its pin).
    #[error("{0}")]
    Internal(String),
    #[error(
        "ONNX Runtime library not found (looked in: {searched}).\n  fix: run `pixla models fetch` (it downloads onnxruntime {ver} from PyPI into {home}), or set ORT_DYLIB_PATH to a libonnxruntime.so {ver}",
        searched = .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        ver = crate::home::ORT_VERSION,
        home = crate::home::home_dir().display()
    )]
    OrtMissing { searched: Vec<PathBuf> },
    #[error(
        "ORT_DYLIB_PATH={path} cannot be used: {why}.\n  fix: set ORT_DYLIB_PATH to the libonnxruntime.so {ver} file itself, or unset it to use the installed runtime (`pixla models fetch` installs it into {home})",
        path = .path.display(),
        ver = crate::home::ORT_VERSION,
        home = crate::home::home_dir().display()
    )]
    OrtUnusable { path: PathBuf, why: String },
    #[error(
        "could not start ONNX Runtime from {path}: {reason}\n  fix: point ORT_DYLIB_PATH to a libonnxruntime.so {ver}, or unset it and run `pixla models fetch`",
        path = .path.display(),
        ver = crate::home::ORT_VERSION
    )]
    OrtLoad { path: PathBuf, reason: String },
    #[error("model `{name}` is not installed at {path}.\n  fix: run `pixla models fetch {name}`")]
    ModelMissing { name: String, path: PathBuf },
    #[error("model `{name}` at {path} is {what}, not a regular file: refusing to read it.\n  fix: remove it and run `pixla models fetch {name}` (or put the model file itself there)")]
    ModelNotFile {
        name: String,
        path: PathBuf,
        what: &'static str,
    },
    #[error("model `{name}` at {path} cannot be read: {reason}.\n  fix: make it readable, or delete it and run `pixla models fetch {name}`")]
    ModelUnreadable {
        name: String,
        path: PathBuf,
        reason: String,
    },
    #[error("model `{name}` at {path} has sha256 {actual}, expected {expected}: refusing to load it.\n  fix: delete it and run `pixla models fetch {name}`")]
    ModelHash {
        name: String,
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("model `{name}`: {reason}")]
    ModelLoad { name: String, reason: String },
}

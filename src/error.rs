//! Errors that stop a whole run (exit code 2), as opposed to per-file errors, which are
//! recorded in the report and let the batch go on.

use std::path::PathBuf;

/// A usage or set-up problem: the run cannot start. The message says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("usage: {0}")]
    Usage(String),
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
    #[error("{0}")]
    Other(String),
}

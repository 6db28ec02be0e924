//! What a report records about how, where and by whom it was made: the operator, the host,
//! the tool and ONNX Runtime versions, the models, and the path roots cut from its free text.

use crate::find::loaded::Models;
use crate::fsio::inside;
use crate::report::{self, ModelEntry};
use std::path::{Path, PathBuf};

/// The operator recorded in the report: the flag, else `$PIXLA_OPERATOR`, else the OS user.
pub fn operator(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| {
            std::env::var("PIXLA_OPERATOR")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .or_else(|| std::env::var("USER").ok().filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("LOGNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

pub(crate) fn tool_record() -> report::Tool {
    let ort = crate::detect::onnx::locate().ok();
    report::Tool {
        name: "pixla".into(),
        version: crate::VERSION.into(),
        // the library's file name only: its folder is usually under a user's home
        onnxruntime: format!(
            "{} ({})",
            crate::home::ORT_VERSION,
            ort.and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_default()
        ),
    }
}

pub fn model_entries(models: &Models) -> Vec<ModelEntry> {
    let user = models.objects.describe();
    models
        .specs()
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let (format, classes) = match (i, &user) {
                (0, Some((f, c))) => (Some(f.clone()), Some(c.clone())),
                _ => (None, None),
            };
            ModelEntry {
                role: m.role.as_str().into(),
                name: m.name.into(),
                sha256: m.sha256.into(),
                licence: m.licence.into(),
                execution_provider: "cpu".into(),
                format,
                classes,
            }
        })
        .collect()
}

/// This machine's name, as the report and the purge log record it.
pub fn host() -> String {
    hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The absolute forms (as given and resolved) of the inputs' roots and the output root,
/// to be cut from a report's free text ([`report::scrub_paths`]).
pub(crate) fn path_roots(inputs: &[PathBuf], out: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for p in inputs.iter().map(PathBuf::as_path).chain([out]) {
        // a file input's root is its folder
        let root = if p.is_file() {
            p.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            p.to_path_buf()
        };
        let abs = if root.is_absolute() {
            root.clone()
        } else {
            std::env::current_dir().unwrap_or_default().join(&root)
        };
        v.push(inside::resolve(&root));
        v.push(abs);
    }
    v
}

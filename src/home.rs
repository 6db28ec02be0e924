//! pixla's home: where the installed models and ONNX Runtime live, and the runtime version
//! pixla is pinned to. Both the model registry and the runtime loader read them, and so do
//! the set-up errors that tell the user how to fix a missing install.

use std::path::PathBuf;

/// pixla's home: `$PIXLA_HOME`, else `$XDG_CACHE_HOME/pixla`, else `~/.cache/pixla`.
/// Holds `lib/` (ONNX Runtime), `models/` (weights), `downloads/` and `venv/` (converter).
pub fn home_dir() -> PathBuf {
    if let Some(h) = std::env::var_os("PIXLA_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(x).join("pixla");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("pixla")
}

/// The ONNX Runtime release pixla loads and `pixla models fetch` installs.
pub const ORT_VERSION: &str = "1.31.1";
/// Its shared library's file name.
pub const ORT_LIB: &str = "libonnxruntime.so.1.31.1";

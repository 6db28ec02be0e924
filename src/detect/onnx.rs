//! ONNX Runtime: find the shared library, start one environment per process, make sessions.
//!
//! The library is loaded at run time (`ort`'s `load-dynamic`), so pixla builds without it and
//! `pixla models fetch` can install it. Lookup order: `$ORT_DYLIB_PATH`, the executable's own
//! folder, `$PIXLA_HOME/lib` (or its default), then the path baked in at build time. An
//! `$ORT_DYLIB_PATH` that is set is the only candidate: when it is not a regular file (links
//! resolved) the run stops with a set-up error rather than quietly loading another library.
//! Only a regular file is ever handed to the loader (a FIFO or device could block it).

use crate::error::SetupError;
use crate::home::ORT_LIB;
use ort::session::{builder::GraphOptimizationLevel, Session};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static ENV: OnceLock<Result<(ort::environment::Environment, PathBuf), String>> = OnceLock::new();

/// Candidate library paths, in lookup order.
pub fn candidates() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        v.push(PathBuf::from(p));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        v.push(dir.join(ORT_LIB));
        v.push(dir.join("libonnxruntime.so"));
    }
    v.push(crate::home::home_dir().join("lib").join(ORT_LIB));
    let baked = PathBuf::from(env!("PIXLA_BAKED_ORT"));
    if !v.contains(&baked) {
        v.push(baked);
    }
    v
}

/// `$ORT_DYLIB_PATH`, when set and not empty.
fn explicit() -> Option<PathBuf> {
    std::env::var_os("ORT_DYLIB_PATH")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// The library that would be loaded, if any: `$ORT_DYLIB_PATH` when it is set (an error
/// when it is not a regular file), else the first candidate that is a regular file.
pub fn locate() -> Result<PathBuf, SetupError> {
    if let Some(p) = explicit() {
        return match std::fs::metadata(&p) {
            Ok(m) if m.is_file() => Ok(p),
            Ok(m) => Err(SetupError::OrtUnusable {
                path: p,
                why: format!(
                    "it is {}, not the library file",
                    crate::fsio::file_kind(m.file_type())
                ),
            }),
            Err(e) => Err(SetupError::OrtUnusable {
                path: p,
                why: format!("it cannot be read: {e}"),
            }),
        };
    }
    let c = candidates();
    c.iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(SetupError::OrtMissing { searched: c })
}

/// Start ONNX Runtime once for this process and return the library path.
pub fn init() -> Result<&'static Path, SetupError> {
    let r = ENV.get_or_init(|| {
        let path = locate().map_err(|e| e.to_string())?;
        // the loader opens the file itself: only a regular file reaches it (checked again
        // here, on the open file the path now resolves to)
        crate::fsio::open_regular(&path).map_err(|e| e.to_string())?;
        let env = ort::init_from(&path)
            .map_err(|e| format!("could not load {}: {e}", path.display()))?
            .with_name("pixla")
            .with_telemetry(false)
            .build()
            .map_err(|e| format!("could not start ONNX Runtime from {}: {e}", path.display()))?;
        Ok((env, path))
    });
    match r {
        Ok((_, p)) => Ok(p.as_path()),
        Err(e) => match locate() {
            Err(missing) => Err(missing),
            Ok(path) => Err(SetupError::OrtLoad {
                path,
                reason: e.clone(),
            }),
        },
    }
}

/// A CPU session from verified model bytes, with `threads` intra-op threads (pixla runs one
/// session per worker with 1 thread each, so rayon and ONNX Runtime do not oversubscribe).
pub fn session(name: &str, bytes: &[u8], threads: usize) -> Result<Session, SetupError> {
    init()?;
    let env = match ENV.get() {
        Some(Ok((env, _))) => env,
        _ => {
            return Err(SetupError::Internal(
                "ONNX Runtime is not initialised".into(),
            ))
        }
    };
    let load = |e: String| SetupError::ModelLoad {
        name: name.to_string(),
        reason: e,
    };
    Session::builder(env)
        .map_err(|e| load(e.to_string()))?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| load(e.to_string()))?
        .with_intra_threads(threads.max(1))
        .map_err(|e| load(e.to_string()))?
        .with_inter_threads(1)
        .map_err(|e| load(e.to_string()))?
        .with_intra_op_spinning(false)
        .map_err(|e| load(e.to_string()))?
        .commit_from_memory(bytes)
        .map_err(|e| load(e.to_string()))
}

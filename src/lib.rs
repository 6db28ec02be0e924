//! pixla: hide people and licence plates in drone and aerial photos.
//!
//! The library is a chain of named stages, one module each:
//!
//! ```text
//! walk ─▶ decode ─▶ tile ─▶ detect ─▶ merge ─▶ redact ─▶ encode ─▶ report
//! ```
//!
//! [`pipeline::run_batch`] strings them together for a batch; the `pixla` binary only parses
//! flags, calls it, and maps the outcome to an exit code.

pub mod check;
pub mod decode;
pub mod detect;
pub mod encode;
pub mod error;
pub mod eval;
pub mod fetch;
pub mod geom;
pub mod journal;
pub mod jpeg_lossless;
pub mod jpegmeta;
pub mod merge;
pub mod models;
pub mod pipeline;
pub mod progress;
pub mod purge;
pub mod redact;
pub mod report;
pub mod review;
pub mod runtime;
pub mod sidecar;
pub mod signals;
pub mod stats;
pub mod tiffedit;
pub mod tiffpath;
pub mod tile;
pub mod verify;
pub mod walk;

pub use error::SetupError;

/// Version of this build, written into every report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

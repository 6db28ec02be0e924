//! The integration tests, one binary (as in ripgrep): each file in tests/ is a module here, so
//! the crate and its native libraries (mozjpeg, the ONNX Runtime bindings) are linked once.
//! Run one file's tests with `cargo test --release --test integration hostile::`.
//! Shared helpers (the real binary, fixtures, report look-ups) are in `common`.
//!
//! The tests share one process: none may change process-wide state (environment, current
//! directory, signal dispositions, resource limits); give such settings to the child
//! `Command` instead.

mod common;

mod aerial_golden;
mod audit;
mod bombs;
mod byo;
mod cli;
mod detection;
mod eval;
mod fidelity;
mod geotiff;
mod hostile;
mod jpegmeta;
mod lossless;
mod nanodet_golden;
mod plate_golden;
mod resume;
mod review;
mod shards;
mod tiffedit;
mod train_prepare;

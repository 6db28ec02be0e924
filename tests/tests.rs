//! The integration tests, one binary (as in ripgrep): each file in tests/ is a module here, so
//! the crate and its native libraries (mozjpeg, the ONNX Runtime bindings) are linked once.
//! Measured on 2 shared CPU cores: `cargo test --release --no-run` after touching src/lib.rs
//! took 388 s (345 CPU-s) against 777 s (526 CPU-s) for the 19 binaries of one per file, and
//! the test binaries take 133 MB instead of 1.48 GB; the suite itself ran in 210 s instead of
//! 271 s, the files' tests now overlapping.
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

//! Guides: how to use pixla, one topic a page.
//!
//! The top-level `README.md` says what pixla is and how to start; these pages say the rest. Every
//! flag is described in `pixla <command> --help`; the design is in the [crate docs](crate). Read
//! them with `cargo doc --open` (then `pixla::guide`), or as the files in `src/guide/`.
//!
//! | guide | what it covers |
//! |---|---|
//! | [`output`] | what a run writes: images format by format, clean copies, the report, exit codes |
//! | [`review`] | review what was hidden and what was missed, and apply the corrections |
//! | [`regions`] | the regions sidecar, `pixla-regions/1`, field by field |
//! | [`shards`] | clusters: sharded batches and `pixla report merge` |
//! | [`delivery`] | `check` (the CI gate), `verify`, the audit record, `purge` of the originals |
//! | [`resume`] | crash safety, the journal, `--resume` and interruption |
//! | [`hostile`] | hostile input, paths and links, decompression bombs, the test corpus, fuzzing |
//! | [`eval`] | how good: `pixla eval`, what the defaults miss, how the defaults were chosen |
//! | [`byo`] | bring your own detector: `--model` with a YOLO or RT-DETR export |
//!
//! Detection figures in these guides were measured with nanodet-m as the person and vehicle
//! detector on every pass (what `--detector nanodet-m` runs today), before `pixla-aerial` became
//! the default on full-resolution tiles; pixla-aerial's figures are in its model card,
//! `models/pixla-aerial.md`. Speed figures are in `benches/README.md`.

pub mod byo;
pub mod delivery;
pub mod eval;
pub mod hostile;
pub mod output;
pub mod regions;
pub mod resume;
pub mod review;
pub mod shards;

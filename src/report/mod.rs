//! The batch report: one JSON document per run, an audit record of what was done to every
//! file. It holds boxes, classes, scores, methods, hashes, model identities, parameters,
//! times and errors; never pixels or crops, and input paths only relative to their root.
//!
//! The document is in `document.rs`, the report's words as types in `kinds.rs` (both
//! re-exported here); merging the reports of
//! a batch's shards is [`merge_shards`].

mod document;
mod kinds;
mod merge;

pub use document::*;
pub use kinds::{Encoding, Source, Status};
pub use merge::{merge_shards, ShardInput};

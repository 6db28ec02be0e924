//! Image formats: reading a file into stored pixels ([`decode`]), writing redacted pixels back
//! in the input's own format ([`encode`]), and the format internals that let pixla change only
//! what it hides: JPEG metadata and DCT-domain rewriting ([`jpeg`]), TIFF strip and tile
//! patching ([`tiff`]).

pub mod decode;
pub mod encode;
pub mod jpeg;
pub mod tiff;

use crate::error::{FileError, FileErrorKind};

/// A refusal whose kind the report records (`limit` or `unsupported`), as an error that
/// reads exactly as its message; the per-file driver finds the kind again by its type.
pub(crate) fn refused(kind: FileErrorKind, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(FileError::new(kind, message))
}

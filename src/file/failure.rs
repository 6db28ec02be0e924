//! Why a file failed, as a [`FileError`]: each step of [`process`](super::process) names the
//! kind of its own failures, so the report's `error_kind` says what went wrong and the
//! `error` keeps its words (the chain of an [`anyhow::Error`] as `{:#}` writes it).
//!
//! | failure | kind |
//! |---|---|
//! | content corrupt or truncated: decoder errors, a TIFF structure that contradicts itself (shared or overlapping chunks), no image in the TIFF, zero width or height, metadata that cannot be rewritten or carried over to the output | `decode` |
//! | over `--max-megapixels` or `--max-megapixels-tiled`, compressed metadata that inflates past its limit, too many TIFF chunks, an image decoder's memory limit | `limit` |
//! | content not JPEG/PNG/TIFF, a name that contradicts the content, animated PNG, multi-page or SubIFD TIFF, an unsupported pixel type or compression, CMYK JPEG with regions, `--strip-gps`/`--strip-metadata` on a TIFF, a huge TIFF with an orientation, an overview that cannot be edited | `unsupported` |
//! | the input cannot be read or is not a regular file; links and other walk refusals; the output's folder cannot be made, the output cannot be written or would leave OUT | `io` |
//! | a reviewer's correction that cannot be carried out exactly; a sidecar entry for a file not among the inputs or made from another output | `review` |
//! | a caught panic, a detector that fails on the file (a tile it cannot read is `decode`), a rewritten TIFF that does not read back as redacted | `internal` |
//!
//! A skipped file (not an image) and a pending one (an interrupted batch) did not fail and
//! have no kind.
//!
//! The decoders and the TIFF editor below (`crate::formats`) return untyped errors, so a
//! step that runs them ([`Classify::classify`]) takes the kind from the error where it can:
//! a [`FileError`] in the chain (a tile read by [`super::tiff`] is tagged so), an image
//! decoder's limit or unsupported-feature error, or else the refusal words those modules use
//! for limits and unsupported content ([`LIMIT_WORDS`], [`UNSUPPORTED_WORDS`]); anything
//! else is the step's own kind.

use crate::error::{FileError, FileErrorKind};

/// Words of a lower layer's message that mark a limit refusal.
pub const LIMIT_WORDS: [&str; 3] = [
    "over the limit of",
    "the limit for compressed metadata",
    "chunks (at most",
];

/// Words of a lower layer's message that mark content or a feature pixla does not redact.
pub const UNSUPPORTED_WORDS: [&str; 7] = [
    "not a JPEG, PNG or TIFF image",
    "which pixla does not redact",
    "but the name says",
    "animated PNG",
    "unsupported pixel type",
    "is not supported",
    "CMYK/YCCK JPEG with regions to hide",
];

/// A step's failure as a [`FileError`].
pub trait Classify<T> {
    /// Every failure of this step is of `kind`.
    fn kind(self, kind: FileErrorKind) -> Result<T, FileError>;
    /// A failure of this step is of the kind the error shows ([`kind_of`]), else `kind`.
    fn classify(self, kind: FileErrorKind) -> Result<T, FileError>;
}

impl<T> Classify<T> for anyhow::Result<T> {
    fn kind(self, kind: FileErrorKind) -> Result<T, FileError> {
        self.map_err(|e| FileError::new(kind, format!("{e:#}")))
    }

    fn classify(self, kind: FileErrorKind) -> Result<T, FileError> {
        self.map_err(|e| FileError::new(kind_of(&e, kind), format!("{e:#}")))
    }
}

impl<T> Classify<T> for Result<T, String> {
    fn kind(self, kind: FileErrorKind) -> Result<T, FileError> {
        self.map_err(|e| FileError::new(kind, e))
    }

    fn classify(self, kind: FileErrorKind) -> Result<T, FileError> {
        self.map_err(|e| FileError::new(words_kind(&e).unwrap_or(kind), e))
    }
}

/// The kind an error of a lower layer shows: a [`FileError`] in its chain, an image
/// decoder's limit or unsupported error, or the words of its message; `default` otherwise.
pub fn kind_of(err: &anyhow::Error, default: FileErrorKind) -> FileErrorKind {
    let typed = err.chain().find_map(|c| {
        if let Some(f) = c.downcast_ref::<FileError>() {
            return Some(f.kind);
        }
        match c.downcast_ref::<image::ImageError>()? {
            image::ImageError::Limits(_) => Some(FileErrorKind::Limit),
            image::ImageError::Unsupported(_) => Some(FileErrorKind::Unsupported),
            _ => None,
        }
    });
    typed
        .or_else(|| words_kind(&format!("{err:#}")))
        .unwrap_or(default)
}

/// The kind a lower layer's refusal words name, if any.
fn words_kind(message: &str) -> Option<FileErrorKind> {
    if LIMIT_WORDS.iter().any(|w| message.contains(w)) {
        Some(FileErrorKind::Limit)
    } else if UNSUPPORTED_WORDS.iter().any(|w| message.contains(w)) {
        Some(FileErrorKind::Unsupported)
    } else {
        None
    }
}

/// `err` with its kind attached ([`kind_of`], else `kind`), for a failure that travels on
/// through code that knows nothing of kinds: the message (`{:#}`) stays the same, and a
/// step that [classifies](Classify::classify) it finds the kind again.
pub fn tagged(kind: FileErrorKind, err: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(FileError::new(kind_of(&err, kind), format!("{err:#}")))
}

/// A caught panic as the file's failure (`internal`), with the panic's message.
pub fn panicked(payload: &(dyn std::any::Any + Send)) -> FileError {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    FileError::new(
        FileErrorKind::Internal,
        format!("internal error while processing this file (please report it): {msg}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_comes_from_a_typed_error_then_the_words_then_the_step() {
        let tagged = anyhow::Error::new(FileError::new(FileErrorKind::Decode, "bad tile"))
            .context("detection failed");
        assert_eq!(
            kind_of(&tagged, FileErrorKind::Internal),
            FileErrorKind::Decode
        );
        assert_eq!(format!("{tagged:#}"), "detection failed: bad tile");
        let over = anyhow::anyhow!("image is 9x9 (1 MP), over the limit of 0 MP");
        assert_eq!(kind_of(&over, FileErrorKind::Decode), FileErrorKind::Limit);
        let apng = anyhow::anyhow!("animated PNG (APNG, 2 frames)");
        assert_eq!(
            kind_of(&apng, FileErrorKind::Decode),
            FileErrorKind::Unsupported
        );
        let other = anyhow::anyhow!("corrupt JPEG: broken marker structure at byte 2");
        assert_eq!(
            kind_of(&other, FileErrorKind::Decode),
            FileErrorKind::Decode
        );
    }

    #[test]
    fn a_panic_is_internal_with_its_message() {
        let p: Box<dyn std::any::Any + Send> = Box::new("index out of bounds");
        let f = panicked(p.as_ref());
        assert_eq!(f.kind, FileErrorKind::Internal);
        assert_eq!(
            f.message,
            "internal error while processing this file (please report it): index out of bounds"
        );
    }
}

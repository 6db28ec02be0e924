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
//! The decoders and the TIFF editor below (`crate::formats`) return [`anyhow::Error`]s; the
//! ones that refuse over a limit or for unsupported content carry a [`FileError`] of that
//! kind (`formats::refused`). So a step that runs them ([`Classify::classify`]) takes the
//! kind from the error where it has one, by type: a [`FileError`] in the chain (a tile read
//! by [`super::tiff`] is tagged so too), or an image decoder's limit or unsupported-feature
//! error; anything else is the step's own kind. No message is matched by its words.

use crate::error::{FileError, FileErrorKind};

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
        self.kind(kind)
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
    typed.unwrap_or(default)
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
    fn the_kind_comes_from_a_typed_error_else_the_step_never_from_words() {
        let tagged = anyhow::Error::new(FileError::new(FileErrorKind::Decode, "bad tile"))
            .context("detection failed");
        assert_eq!(
            kind_of(&tagged, FileErrorKind::Internal),
            FileErrorKind::Decode
        );
        assert_eq!(format!("{tagged:#}"), "detection failed: bad tile");
        let over = crate::formats::refused(FileErrorKind::Limit, "over the limit of 0 MP")
            .context("reading the file");
        assert_eq!(kind_of(&over, FileErrorKind::Decode), FileErrorKind::Limit);
        assert_eq!(
            format!("{over:#}"),
            "reading the file: over the limit of 0 MP"
        );
        // a message that merely reads like a refusal is the step's kind
        let words = anyhow::anyhow!("animated PNG (APNG, 2 frames)");
        assert_eq!(
            kind_of(&words, FileErrorKind::Decode),
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

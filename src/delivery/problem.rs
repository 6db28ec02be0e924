//! What can be wrong with a delivered file, in `check`'s `problems` and `verify`'s `outputs`
//! (the `kind` of each), and what `purge` names when it keeps an original.

use crate::fsio::inside::Refusal;
use serde::{Deserialize, Serialize};

/// The `kind` of a problem with a delivered file. `check` reports `unreadable`,
/// `sha256-mismatch`, `missing`, `extra`, `failed` and `region-not-hidden`; `verify` reports
/// `missing`, `sha256-mismatch`, `size-mismatch`, `unsafe-path`, `symbolic-link`,
/// `not-a-file`, `unreadable` and `region-not-hidden`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// Cannot be read, decoded or examined.
    Unreadable,
    /// Its sha256 is not the one the report lists.
    Sha256Mismatch,
    /// Its size is not the one the report lists.
    SizeMismatch,
    /// In the report, not in the folder.
    Missing,
    /// In the folder, not in the report.
    Extra,
    /// The report says the file failed: the delivery is incomplete.
    Failed,
    /// A region the report says is hidden whose pixels show detail (see
    /// [`FLAT_RMS`](crate::delivery::hidden::FLAT_RMS)).
    RegionNotHidden,
    /// Not a plain relative path, or it resolves outside the delivery.
    UnsafePath,
    /// The output, or a folder on its way, is a symbolic link: an output must be a regular
    /// file in the delivery's own folders.
    SymbolicLink,
    /// A folder, FIFO, socket or device.
    NotAFile,
}

impl ProblemKind {
    pub const ALL: [ProblemKind; 10] = [
        ProblemKind::Unreadable,
        ProblemKind::Sha256Mismatch,
        ProblemKind::SizeMismatch,
        ProblemKind::Missing,
        ProblemKind::Extra,
        ProblemKind::Failed,
        ProblemKind::RegionNotHidden,
        ProblemKind::UnsafePath,
        ProblemKind::SymbolicLink,
        ProblemKind::NotAFile,
    ];

    /// The word in the JSON and the text output, e.g. `sha256-mismatch`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Unreadable => "unreadable",
            ProblemKind::Sha256Mismatch => "sha256-mismatch",
            ProblemKind::SizeMismatch => "size-mismatch",
            ProblemKind::Missing => "missing",
            ProblemKind::Extra => "extra",
            ProblemKind::Failed => "failed",
            ProblemKind::RegionNotHidden => "region-not-hidden",
            ProblemKind::UnsafePath => "unsafe-path",
            ProblemKind::SymbolicLink => "symbolic-link",
            ProblemKind::NotAFile => "not-a-file",
        }
    }
}

impl std::fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Refusal> for ProblemKind {
    fn from(r: Refusal) -> ProblemKind {
        match r {
            Refusal::UnsafePath => ProblemKind::UnsafePath,
            Refusal::SymbolicLink => ProblemKind::SymbolicLink,
            Refusal::Missing => ProblemKind::Missing,
            Refusal::NotAFile => ProblemKind::NotAFile,
            Refusal::Unreadable => ProblemKind::Unreadable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keep_their_words() {
        for k in ProblemKind::ALL {
            let v = serde_json::to_value(k).unwrap();
            assert_eq!(v, k.as_str());
            assert_eq!(serde_json::from_value::<ProblemKind>(v).unwrap(), k);
            assert_eq!(k.to_string(), k.as_str());
        }
        let words: Vec<&str> = ProblemKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            words,
            [
                "unreadable",
                "sha256-mismatch",
                "size-mismatch",
                "missing",
                "extra",
                "failed",
                "region-not-hidden",
                "unsafe-path",
                "symbolic-link",
                "not-a-file"
            ]
        );
        for r in [
            Refusal::UnsafePath,
            Refusal::SymbolicLink,
            Refusal::Missing,
            Refusal::NotAFile,
            Refusal::Unreadable,
        ] {
            assert_eq!(ProblemKind::from(r).as_str(), r.as_str());
        }
    }
}

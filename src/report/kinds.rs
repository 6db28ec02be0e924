//! The report's words as types: where a region came from ([`Source`]), how an output was
//! written ([`Encoding`]) and what became of a file ([`Status`]). Each serialises to exactly
//! the word the report has always carried.

use serde::{Deserialize, Serialize};

/// Where a region came from: the report's `source` (and `suppressed_by`), written
/// `model:<name>`, `manual:<reviewer>` or `fallback:plate-band`. The variants are in the
/// order of those words, so sorting by `Source` sorts as the words do.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// `fallback:plate-band`: the plate band of a vehicle large enough for a readable plate
    /// on which no plate was found.
    PlateBand,
    /// `manual:<reviewer>`: a region a reviewer drew, or a reviewer's decision.
    Manual(String),
    /// `model:<name>`: a detection of that model.
    Model(String),
}

impl Source {
    /// `model:<name>`.
    pub fn model(name: &str) -> Source {
        Source::Model(name.to_string())
    }

    /// `manual:<reviewer>`.
    pub fn manual(reviewer: &str) -> Source {
        Source::Manual(reviewer.to_string())
    }

    pub fn is_manual(&self) -> bool {
        matches!(self, Source::Manual(_))
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::PlateBand => f.write_str("fallback:plate-band"),
            Source::Manual(who) => write!(f, "manual:{who}"),
            Source::Model(name) => write!(f, "model:{name}"),
        }
    }
}

impl std::str::FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Source, String> {
        match s.split_once(':') {
            Some(("model", name)) if !name.is_empty() => Ok(Source::model(name)),
            Some(("manual", who)) if !who.is_empty() => Ok(Source::manual(who)),
            _ if s == "fallback:plate-band" => Ok(Source::PlateBand),
            _ => Err(format!(
                "unknown region source {s:?} (model:<name>, manual:<reviewer> or fallback:plate-band)"
            )),
        }
    }
}

impl Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Source, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// How an output's pixels were written: the report's `encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// `copy`: the input byte for byte.
    Copy,
    /// `metadata-only`: image data unchanged, metadata rewritten around it.
    MetadataOnly,
    /// `lossless`: only the pixels under the regions changed; for JPEG only the DCT blocks
    /// they touch (fills to the pixel, pixelations widened to the MCU grid).
    Lossless,
    /// `reencode`: JPEG re-encoded at `jpeg_quality` (see `fallback`).
    Reencode,
}

impl Encoding {
    pub const ALL: [Encoding; 4] = [
        Encoding::Copy,
        Encoding::MetadataOnly,
        Encoding::Lossless,
        Encoding::Reencode,
    ];

    /// The report's spelling: `copy`, `metadata-only`, `lossless` or `reencode`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Copy => "copy",
            Encoding::MetadataOnly => "metadata-only",
            Encoding::Lossless => "lossless",
            Encoding::Reencode => "reencode",
        }
    }
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What became of one input file: the report's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Regions hidden.
    Redacted,
    /// Nothing found: the output is a byte copy, or the same image data with the metadata
    /// rewritten (previews re-rendered, data after the image dropped,
    /// `--strip-gps`/`--strip-metadata`).
    Clean,
    /// No output; see `error`. The default, so an entry never passes for done by accident.
    #[default]
    Failed,
    /// Not an image.
    Skipped,
    /// Not processed because the run was interrupted (`run.interrupted`).
    Pending,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Redacted,
        Status::Clean,
        Status::Failed,
        Status::Skipped,
        Status::Pending,
    ];

    /// The report's spelling: `redacted`, `clean`, `failed`, `skipped` or `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Redacted => "redacted",
            Status::Clean => "clean",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Pending => "pending",
        }
    }

    /// Redacted or clean: the file has its output.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Redacted | Status::Clean)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Status, String> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown file status {s:?}"))
    }
}

impl From<crate::fsio::walk::IssueStatus> for Status {
    fn from(s: crate::fsio::walk::IssueStatus) -> Status {
        match s {
            crate::fsio::walk::IssueStatus::Failed => Status::Failed,
            crate::fsio::walk::IssueStatus::Skipped => Status::Skipped,
        }
    }
}

#[cfg(test)]
mod type_tests {
    use super::*;

    #[test]
    fn status_keeps_the_report_words() {
        for (st, word) in [
            (Status::Redacted, "redacted"),
            (Status::Clean, "clean"),
            (Status::Failed, "failed"),
            (Status::Skipped, "skipped"),
            (Status::Pending, "pending"),
        ] {
            assert_eq!(serde_json::to_value(st).unwrap(), word);
            assert_eq!(serde_json::from_value::<Status>(word.into()).unwrap(), st);
            assert_eq!(st.to_string(), word);
            assert_eq!(word.parse::<Status>(), Ok(st));
        }
        assert!(serde_json::from_value::<Status>("done".into()).is_err());
    }

    #[test]
    fn encoding_keeps_the_report_words() {
        let words: Vec<&str> = Encoding::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(words, ["copy", "metadata-only", "lossless", "reencode"]);
        for e in Encoding::ALL {
            assert_eq!(serde_json::to_value(e).unwrap(), e.as_str());
            assert_eq!(
                serde_json::from_value::<Encoding>(e.as_str().into()).unwrap(),
                e
            );
            assert_eq!(e.to_string(), e.as_str());
        }
    }

    #[test]
    fn source_keeps_the_report_words_and_their_order() {
        let words = [
            "fallback:plate-band",
            "manual:K. Berg",
            "manual:R",
            "model:nanodet-m",
            "model:pixla-aerial",
            "model:x:y",
        ];
        let sources: Vec<Source> = words.iter().map(|w| w.parse().unwrap()).collect();
        assert_eq!(
            sources[..4],
            [
                Source::PlateBand,
                Source::manual("K. Berg"),
                Source::manual("R"),
                Source::model("nanodet-m")
            ]
        );
        for (src, word) in sources.iter().zip(words) {
            assert_eq!(serde_json::to_value(src).unwrap(), word);
            assert_eq!(&serde_json::from_value::<Source>(word.into()).unwrap(), src);
            assert_eq!(src.to_string(), word);
        }
        // sorting by the enum sorts as the words do (the report's region order)
        let mut shuffled = sources.clone();
        shuffled.reverse();
        shuffled.sort();
        assert_eq!(shuffled, sources);
        for bad in ["model:", "manual:", "fallback:other", "nanodet-m", ""] {
            assert!(bad.parse::<Source>().is_err(), "{bad}");
            assert!(serde_json::from_value::<Source>(bad.into()).is_err());
        }
    }
}

//! The batch report: one JSON document per run, an audit record of what was done to every
//! file. It holds boxes, classes, scores, methods, hashes, model identities, parameters,
//! times and errors; never pixels or crops, and input paths only relative to their root.

use crate::detect::Class;
use crate::redact::Method;
use serde::{Deserialize, Serialize};

pub const SCHEMA: &str = "pixla-report/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub tool: Tool,
    pub run: Run,
    pub config: serde_json::Value,
    pub models: Vec<ModelEntry>,
    pub files: Vec<FileEntry>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
    pub onnxruntime: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub started: String,
    pub finished: String,
    pub operator: String,
    pub host: String,
    pub command: Vec<String>,
    pub shard: Option<String>,
    pub threads: usize,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelEntry {
    pub role: String,
    pub name: String,
    pub sha256: String,
    pub licence: String,
    pub execution_provider: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Region {
    pub class: Class,
    pub score: f32,
    /// The area hidden, `[x, y, w, h]` in stored pixels (detected box plus margin, clipped).
    #[serde(rename = "box")]
    pub bbox: [u32; 4],
    /// The detector's box before the margin, `[x, y, w, h]` in stored pixels.
    pub detected: [f32; 4],
    pub method: Method,
    /// Pixelation block edge in px, when pixelated.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub block: Option<u32>,
    /// `model:<name>` (or `manual` for regions from a sidecar, later).
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct FileEntry {
    /// Path relative to the input root.
    pub input: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input_bytes: Option<u64>,
    /// Path relative to the output root; absent when nothing was written.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub output_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub output_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub height: Option<u32>,
    /// EXIF orientation (1–8) the detectors saw the image in.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub orientation: Option<u8>,
    /// `redacted` (regions hidden), `clean` (nothing found; output is a byte copy, or with
    /// `--strip-gps`/`--strip-metadata` the same pixels with the metadata rewritten),
    /// `failed` (no output; see `error`) or `skipped` (not an image).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    pub regions: Vec<Region>,
    /// Counted but not hidden (e.g. vehicles under the default settings).
    #[serde(default)]
    pub detections_not_hidden: usize,
    #[serde(default)]
    pub metadata_kept: Vec<String>,
    /// Metadata the output could not carry (a format limit, e.g. TIFF tags).
    #[serde(default)]
    pub metadata_dropped: Vec<String>,
    /// Metadata removed on purpose: previews of the unredacted scene (when not regenerated),
    /// GPS/location (`--strip-gps`), everything but ICC and Orientation (`--strip-metadata`),
    /// data after the image.
    #[serde(default)]
    pub metadata_removed: Vec<String>,
    /// Previews re-rendered from the redacted pixels (EXIF thumbnail, MPF images, …).
    #[serde(default)]
    pub metadata_regenerated: Vec<String>,
    /// How pixels were written: `copy` (unchanged), `metadata-only` (JPEG scans unchanged,
    /// segments rewritten), `lossless` (only the pixels under the regions changed; for JPEG
    /// only the DCT blocks under them, boxes widened to the MCU grid), `reencode` (JPEG
    /// re-encoded at `jpeg_quality`, see `fallback`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub jpeg_quality: Option<u8>,
    /// Lossless JPEG: the MCU size `[w, h]` the boxes were widened to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mcu: Option<[u32; 2]>,
    /// Lossless JPEG: DCT blocks rewritten (all components).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub blocks_changed: Option<usize>,
    /// Why a JPEG was re-encoded instead of taking the lossless path.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fallback: Option<String>,
    pub millis: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Summary {
    pub files: usize,
    pub redacted: usize,
    pub clean: usize,
    pub failed: usize,
    pub skipped: usize,
    pub regions: std::collections::BTreeMap<String, usize>,
    pub megapixels: f64,
}

impl Summary {
    pub fn of(files: &[FileEntry]) -> Summary {
        let mut s = Summary { files: files.len(), ..Default::default() };
        for f in files {
            match f.status.as_str() {
                "redacted" => s.redacted += 1,
                "clean" => s.clean += 1,
                "failed" => s.failed += 1,
                _ => s.skipped += 1,
            }
            for r in &f.regions {
                *s.regions.entry(r.class.as_str().to_string()).or_default() += 1;
            }
            s.megapixels += f.width.unwrap_or(0) as f64 * f.height.unwrap_or(0) as f64 / 1e6;
        }
        s.megapixels = (s.megapixels * 100.0).round() / 100.0;
        s
    }
}

/// Now, as RFC 3339 UTC.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

//! The report document: its types (the shape its JSON Schema describes), reading it, its
//! summary, and the scrubbing of absolute paths from its free text.

use crate::detect::Class;
use crate::error::FileErrorKind;
use crate::fsio::shard::Shard;
use crate::redact::Method;
use crate::report::kinds::{Encoding, Source, Status};
use serde::{Deserialize, Serialize};

pub const SCHEMA: &str = "pixla-report/1";

/// The folder a report lives in (`.` for a bare file name): by default its `output` paths
/// are relative to it, and the review page and purge log go beside it.
pub fn folder(report_path: &std::path::Path) -> std::path::PathBuf {
    report_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| std::path::PathBuf::from("."))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub tool: Tool,
    pub run: Run,
    pub config: serde_json::Value,
    pub models: Vec<ModelEntry>,
    pub files: Vec<FileEntry>,
    pub summary: Summary,
    /// Runs of `pixla redact --regions` that updated this report, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub reviews: Vec<ReviewRun>,
    /// For a report made by `pixla report merge`: the shard reports it combines.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub shards: Vec<ShardRecord>,
    /// Measured accuracy of this configuration (`redact --accuracy EVAL.json`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub accuracy: Option<Accuracy>,
}

/// The schema a `pixla eval --json` result carries.
pub const EVAL_SCHEMA: &str = "pixla-eval/1";

/// A summary of a `pixla eval --json` result embedded in a report: the eval file's name (no
/// folder), the sha256 of its bytes, and its `summary` object verbatim.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Accuracy {
    pub file: String,
    pub sha256: String,
    pub schema: String,
    pub summary: serde_json::Value,
}

/// Read a `pixla eval --json` result for `redact --accuracy`; refuses a file that is not
/// JSON, does not carry `"schema": "pixla-eval/1"`, or has no `summary` object.
pub fn read_accuracy(path: &std::path::Path) -> Result<Accuracy, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read the eval result {}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    if v.get("schema").and_then(|s| s.as_str()) != Some(EVAL_SCHEMA) {
        return Err(format!(
            "{} is not a `pixla eval --json` result (no \"schema\": \"{EVAL_SCHEMA}\")",
            path.display()
        ));
    }
    let summary = v
        .get("summary")
        .filter(|s| s.is_object())
        .cloned()
        .ok_or_else(|| format!("{}: no `summary` object", path.display()))?;
    Ok(Accuracy {
        file: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256: crate::fsio::sha256_hex(&bytes),
        schema: EVAL_SCHEMA.into(),
        summary,
    })
}

/// The command line as recorded in a report: the program as `pixla`, and every absolute
/// path or path with `..` (also as the value of `--flag=VALUE`) cut to `…/<file name>`, so a
/// report never carries a home folder or a user name from a path. Relative paths are kept
/// as typed (they say nothing about where the working folder is).
pub fn public_command(args: impl IntoIterator<Item = String>) -> Vec<String> {
    fn cut(v: &str) -> String {
        let p = std::path::Path::new(v);
        if p.is_absolute()
            || p.components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            format!(
                "…/{}",
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )
        } else {
            v.to_string()
        }
    }
    args.into_iter()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 {
                return "pixla".to_string();
            }
            match a.split_once('=') {
                Some((k, v)) if k.starts_with("--") => format!("{k}={}", cut(v)),
                _ => cut(&a),
            }
        })
        .collect()
}

/// Remove absolute folders from a report's free text (per-file errors): every occurrence
/// of one of `roots` (the absolute input and output roots, as given and resolved) followed
/// by a separator is cut, leaving the path relative to its root. A safety net: messages
/// should not name absolute paths in the first place.
pub fn scrub_paths(r: &mut Report, roots: &[std::path::PathBuf]) {
    let mut needles: Vec<String> = roots
        .iter()
        .filter(|p| p.is_absolute())
        .map(|p| format!("{}/", p.display()))
        .filter(|s| s.len() > 1)
        .collect();
    needles.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let fix = |s: &mut String| {
        for n in &needles {
            if s.contains(n.as_str()) {
                *s = s.replace(n.as_str(), "");
            }
        }
    };
    for f in &mut r.files {
        if let Some(e) = f.error.as_mut() {
            fix(e);
        }
        if let Some(e) = f.fallback.as_mut() {
            fix(e);
        }
    }
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
    /// `I/N` for a run of one shard (`--shard`).
    pub shard: Option<Shard>,
    pub threads: usize,
    pub seconds: f64,
    /// `redact --resume`: files kept from the interrupted run (their outputs' sha256 checked).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resumed: Option<usize>,
    /// Stopped by Ctrl-C/SIGTERM: files not done are `pending`; continue with `--resume`.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub interrupted: bool,
    /// The batch this run belongs to; the same in every shard of one batch, which is what
    /// `pixla report merge` checks. Absent in reports of older versions.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub batch: Option<Batch>,
}

/// What a batch is, whatever shard of it a run did: its input files (every shard's, before
/// sharding) and an identity over them, the pixla version, the settings and the models.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// sha256 of the batch's journal header less its shard ([`crate::batch::journal::Header::batch`]).
    pub id: String,
    /// Number of images in the whole batch.
    pub inputs: usize,
    /// sha256 of their relative paths, sorted, each followed by a NUL byte
    /// ([`crate::batch::journal::inputs_digest`]).
    pub inputs_sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelEntry {
    pub role: String,
    pub name: String,
    pub sha256: String,
    pub licence: String,
    pub execution_provider: String,
    /// A user-supplied model (`--model`): the output layout it was read as.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub format: Option<String>,
    /// A user-supplied model: the class map (`--classes`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub classes: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Region {
    pub class: Class,
    /// Detector score; `null` for a region a reviewer drew.
    pub score: Option<f32>,
    /// The area hidden, `[x, y, w, h]` in stored pixels (detected box plus margin, clipped).
    #[serde(rename = "box")]
    pub bbox: [u32; 4],
    /// The detector's box before the margin, `[x, y, w, h]` in stored pixels.
    pub detected: [f32; 4],
    pub method: Method,
    /// Pixelation block edge in px, when pixelated.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub block: Option<u32>,
    /// `model:<name>` for a detection, `manual:<reviewer>` for a region from a sidecar,
    /// `fallback:plate-band` for a plate band.
    pub source: Source,
    /// A reviewer's note on a manual region.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

/// A model region a reviewer marked false: it is left visible, and listed here.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Suppressed {
    #[serde(flatten)]
    pub region: Region,
    /// `manual:<reviewer>`.
    pub suppressed_by: Source,
}

/// One `pixla redact --regions` run that updated a report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewRun {
    pub started: String,
    pub finished: String,
    pub operator: String,
    pub host: String,
    pub command: Vec<String>,
    pub tool_version: String,
    pub reviewer: String,
    /// The sidecar's file name and sha256 (its bytes as read).
    pub sidecar: String,
    pub sidecar_sha256: String,
    /// The files the sidecar named (relative paths), each re-processed from its original.
    pub files: Vec<String>,
    pub failed: usize,
}

/// A shard report combined by `pixla report merge`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardRecord {
    pub shard: Shard,
    /// The shard report's file name and sha256.
    pub report: String,
    pub report_sha256: String,
    pub run: Run,
    pub files: usize,
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
    /// What became of the file; see [`Status`].
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    /// What kind of failure `error` is, for a failed file; see [`FileErrorKind`].
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_kind: Option<FileErrorKind>,
    pub regions: Vec<Region>,
    /// Model regions a reviewer marked false (left visible).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub suppressed: Vec<Suppressed>,
    /// Who reviewed this file (`redact --regions`); regions say which of them are manual.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reviewed_by: Option<String>,
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
    /// How pixels were written; see [`Encoding`].
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub encoding: Option<Encoding>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub jpeg_quality: Option<u8>,
    /// Lossless JPEG: the MCU size `[w, h]` the pixelated boxes were widened to (fills are
    /// exact).
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
    /// Not processed because the run was interrupted (`run.interrupted`).
    #[serde(skip_serializing_if = "is_zero", default)]
    pub pending: usize,
    pub regions: std::collections::BTreeMap<String, usize>,
    /// Of those regions, how many a reviewer drew; and how many model regions were marked false.
    #[serde(default)]
    pub manual_regions: usize,
    #[serde(default)]
    pub suppressed: usize,
    pub megapixels: f64,
}

impl Summary {
    pub fn of(files: &[FileEntry]) -> Summary {
        let mut s = Summary {
            files: files.len(),
            ..Default::default()
        };
        for f in files {
            match f.status {
                Status::Redacted => s.redacted += 1,
                Status::Clean => s.clean += 1,
                Status::Failed => s.failed += 1,
                Status::Pending => s.pending += 1,
                Status::Skipped => s.skipped += 1,
            }
            for r in &f.regions {
                *s.regions.entry(r.class.as_str().to_string()).or_default() += 1;
                s.manual_regions += r.source.is_manual() as usize;
            }
            s.suppressed += f.suppressed.len();
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

/// Read a report file; returns it with the sha256 of its bytes. Refuses another schema.
pub fn read(path: &std::path::Path) -> Result<(Report, String), String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read the report {}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    if v.get("schema").and_then(|s| s.as_str()) != Some(SCHEMA) {
        return Err(format!(
            "{} is not a pixla report (schema {SCHEMA})",
            path.display()
        ));
    }
    let r: Report = serde_json::from_value(v)
        .map_err(|e| format!("{} is not a valid {SCHEMA} report: {e}", path.display()))?;
    Ok((r, crate::fsio::sha256_hex(&bytes)))
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[cfg(test)]
mod audit_tests {
    use super::*;

    #[test]
    fn command_and_errors_carry_no_absolute_folders() {
        let argv = [
            "/home/kberg/bin/pixla",
            "redact",
            "/home/kberg/flights/0412",
            "-o",
            "out",
            "--report=/home/kberg/r.json",
            "../../x/in",
            "-j",
            "2",
        ]
        .map(String::from);
        assert_eq!(
            public_command(argv),
            [
                "pixla",
                "redact",
                "…/0412",
                "-o",
                "out",
                "--report=…/r.json",
                "…/in",
                "-j",
                "2"
            ]
        );
        let mut r = Report {
            schema: SCHEMA.into(),
            tool: Tool { name: "pixla".into(), version: "0".into(), onnxruntime: String::new() },
            run: Run { started: String::new(), finished: String::new(), operator: String::new(), host: String::new(), command: vec![], shard: None, threads: 1, seconds: 0.0, resumed: None, interrupted: false, batch: None },
            config: serde_json::json!({}),
            models: vec![],
            files: vec![FileEntry { input: "a/b.jpg".into(), status: Status::Failed, error: Some("cannot read: IO error for operation on /home/kberg/flights/0412/a/b.jpg: denied".into()), ..Default::default() }],
            summary: Summary::default(),
            reviews: vec![],
            shards: vec![],
            accuracy: None,
        };
        scrub_paths(
            &mut r,
            &[
                std::path::PathBuf::from("/home/kberg/flights/0412"),
                std::path::PathBuf::from("relative"),
            ],
        );
        assert_eq!(
            r.files[0].error.as_deref(),
            Some("cannot read: IO error for operation on a/b.jpg: denied")
        );
    }
}

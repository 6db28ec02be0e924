//! `pixla verify REPORT`: is this report sound, and is the delivery it describes intact?
//! (a) the report is valid against its JSON Schema (`fixtures/schema/pixla-report-1.schema.json`,
//! embedded in the binary), (b) every output it lists exists, as a regular file and not
//! through a symbolic link, with its recorded sha256 and size, and shows every region the
//! report says is hidden as hidden in its pixels (decoded, see [`crate::delivery::hidden::unhidden`]),
//! (c) every recorded model's sha256 is the installed model file's.

use crate::delivery::ProblemKind;
use crate::detect::registry;
use crate::error::SetupError;
use crate::formats::decode::Limits;
use crate::fsio::inside;
use crate::report::{self, FileEntry, ModelEntry, Region, Report};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const SCHEMA: &str = "pixla-verify/1";

/// The JSON Schema of `pixla-report/1`, as in the repository.
pub const REPORT_SCHEMA: &str = include_str!("../../fixtures/schema/pixla-report-1.schema.json");

/// Validate a report document against [`REPORT_SCHEMA`]; each error as `path: message`.
pub fn schema_errors(doc: &serde_json::Value) -> Vec<String> {
    let schema: serde_json::Value = match serde_json::from_str(REPORT_SCHEMA) {
        Ok(s) => s,
        Err(e) => return vec![format!("the embedded schema does not parse: {e}")],
    };
    let v = match jsonschema::validator_for(&schema) {
        Ok(v) => v,
        Err(e) => return vec![format!("the embedded schema is not valid: {e}")],
    };
    v.iter_errors(doc)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("{}: {e}", if at.is_empty() { "/".to_string() } else { at })
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputProblem {
    /// The output path as the report gives it.
    pub file: String,
    /// `missing`, `sha256-mismatch`, `size-mismatch`, `unsafe-path`, `symbolic-link`,
    /// `not-a-file`, `unreadable` or `region-not-hidden`.
    pub kind: ProblemKind,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelCheck {
    pub name: String,
    pub recorded_sha256: String,
    pub status: ModelCheckStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed_sha256: Option<String>,
    /// Whether the recorded sha256 is the one pixla pins for this model name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
}

/// How a model the report records compares with the one installed (`status` in `models`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelCheckStatus {
    /// `ok`: the installed file has the recorded sha256.
    Ok,
    /// `mismatch`: it has another.
    Mismatch,
    /// `not-installed`.
    NotInstalled,
    /// `unknown`: not a model pixla knows; nothing to compare with.
    Unknown,
}

impl ModelCheckStatus {
    pub const ALL: [ModelCheckStatus; 4] = [
        ModelCheckStatus::Ok,
        ModelCheckStatus::Mismatch,
        ModelCheckStatus::NotInstalled,
        ModelCheckStatus::Unknown,
    ];

    /// `ok`, `mismatch`, `not-installed` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelCheckStatus::Ok => "ok",
            ModelCheckStatus::Mismatch => "mismatch",
            ModelCheckStatus::NotInstalled => "not-installed",
            ModelCheckStatus::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ModelCheckStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyResult {
    pub schema: &'static str,
    pub passed: bool,
    pub report: String,
    pub report_sha256: String,
    pub schema_errors: Vec<String>,
    pub outputs_checked: usize,
    pub outputs: Vec<OutputProblem>,
    pub models: Vec<ModelCheck>,
}

pub struct VerifyOptions {
    /// Folder the report's `output` paths are relative to (default: the report's folder).
    pub outputs: Option<PathBuf>,
    pub models_dir: PathBuf,
}

/// Check the outputs a report lists under `root`: regular files reached without a symbolic
/// link ([`inside::inside`]), same size, same sha256, and every region the report says is
/// hidden hidden in the pixels ([`crate::delivery::hidden::unhidden`]: each redacted output is decoded,
/// no model is run). Returns how many were checked and the problems.
pub fn check_outputs(rep: &Report, root: &Path) -> (usize, Vec<OutputProblem>) {
    let mut n = 0;
    let mut probs = Vec::new();
    let mut judge = Vec::new();
    for f in &rep.files {
        let Some(o) = &f.output else { continue };
        n += 1;
        let Some(path) = check_file(f, o, root, &mut probs) else {
            continue;
        };
        if f.regions
            .iter()
            .any(|r| r.method != crate::redact::Method::None)
        {
            judge.push((o, path, &f.regions));
        }
    }
    probs.extend(judge_pixels(&judge, &run_limits(rep)));
    (n, probs)
}

/// The decoding limits of the run (an output is as big as its input).
fn run_limits(rep: &Report) -> Limits {
    let mut limits = Limits::default();
    if let Some(l) = rep.config.get("limits") {
        if let Some(v) = l.get("max_megapixels").and_then(|v| v.as_f64()) {
            limits.max_megapixels = v;
        }
        if let Some(v) = l.get("max_megapixels_tiled").and_then(|v| v.as_f64()) {
            limits.max_megapixels_tiled = v;
        }
    }
    limits
}

/// The file of output `o` of `f` under `root`: a regular file under real folders of the
/// delivery (a link is not followed), with the report's size and sha256. Its problems go to
/// `probs`; its path is returned unless it cannot be read.
fn check_file(
    f: &FileEntry,
    o: &str,
    root: &Path,
    probs: &mut Vec<OutputProblem>,
) -> Option<PathBuf> {
    let mut p = |kind, detail: String| {
        probs.push(OutputProblem {
            file: o.to_string(),
            kind,
            detail,
        })
    };
    let path = match inside::inside(
        root,
        Path::new(o),
        inside::Leaf::File,
        "the delivery folder",
    ) {
        Ok(path) => path,
        Err(r) => {
            p(r.kind.into(), r.detail);
            return None;
        }
    };
    let Ok(meta) = std::fs::symlink_metadata(&path) else {
        p(ProblemKind::Missing, "not found".into());
        return None;
    };
    if let Some(want) = f.output_bytes.filter(|b| *b != meta.len()) {
        p(
            ProblemKind::SizeMismatch,
            format!("{} bytes, the report lists {want}", meta.len()),
        );
    }
    match crate::fsio::sha256_file(&path) {
        Ok(h) if Some(&h) == f.output_sha256.as_ref() => {}
        Ok(h) => p(
            ProblemKind::Sha256Mismatch,
            format!(
                "sha256 {h}, the report lists {}",
                f.output_sha256.as_deref().unwrap_or("none")
            ),
        ),
        Err(e) => {
            p(ProblemKind::Unreadable, e.to_string());
            return None;
        }
    }
    Some(path)
}
/// The pixels, not the report's word: every region the report says is hidden in each
/// `(output, path, regions)` must be (decoding is the cost, so the files are judged in
/// parallel). The problems, in `judge`'s order.
fn judge_pixels(judge: &[(&String, PathBuf, &Vec<Region>)], limits: &Limits) -> Vec<OutputProblem> {
    use rayon::prelude::*;
    let judged: Vec<Vec<OutputProblem>> = judge
        .par_iter()
        .map(|(o, path, regions)| {
            let p = |kind, detail: String| OutputProblem {
                file: o.to_string(),
                kind,
                detail,
            };
            match crate::delivery::hidden::unhidden(path, regions, limits) {
                Ok(v) => v
                    .into_iter()
                    .map(|(_, d)| p(ProblemKind::RegionNotHidden, d))
                    .collect(),
                Err(e) => vec![p(
                    ProblemKind::Unreadable,
                    format!("its regions' pixels cannot be examined: {e:#}"),
                )],
            }
        })
        .collect();
    judged.into_iter().flatten().collect()
}

/// Verify `report_path` (see the module docs). A report that cannot be read or is not JSON
/// is a set-up error; everything else is in the result.
pub fn verify(report_path: &Path, o: &VerifyOptions) -> Result<VerifyResult, SetupError> {
    let (bytes, doc) = read_doc(report_path)?;
    let errors = schema_errors(&doc);
    let mut res = VerifyResult {
        schema: SCHEMA,
        passed: false,
        report: report_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        report_sha256: crate::fsio::sha256_hex(&bytes),
        schema_errors: errors,
        outputs_checked: 0,
        outputs: vec![],
        models: vec![],
    };
    // the hashes are still checked when the schema fails, as far as the report can be read
    if let Ok(rep) = serde_json::from_value::<Report>(doc) {
        let root = o
            .outputs
            .clone()
            .unwrap_or_else(|| report::folder(report_path));
        (res.outputs_checked, res.outputs) = check_outputs(&rep, &root);
        res.models = rep
            .models
            .iter()
            .map(|m| check_model(m, &o.models_dir))
            .collect();
    } else if res.schema_errors.is_empty() {
        res.schema_errors
            .push(format!("not readable as a {} report", report::SCHEMA));
    }
    res.passed = res.schema_errors.is_empty()
        && res.outputs.is_empty()
        && res
            .models
            .iter()
            .all(|m| m.status != ModelCheckStatus::Mismatch);
    Ok(res)
}

/// The report's bytes and its JSON document.
fn read_doc(report_path: &Path) -> Result<(Vec<u8>, serde_json::Value), SetupError> {
    let bytes = std::fs::read(report_path).map_err(|e| SetupError::Io {
        action: "read the report",
        path: report_path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| SetupError::Report(format!("{} is not JSON: {e}", report_path.display())))?;
    Ok((bytes, doc))
}

/// A model the report records, against the one installed under `models_dir`.
fn check_model(m: &ModelEntry, models_dir: &Path) -> ModelCheck {
    let mut c = ModelCheck {
        name: m.name.clone(),
        recorded_sha256: m.sha256.clone(),
        status: ModelCheckStatus::Unknown,
        installed_sha256: None,
        pinned: None,
    };
    let Some(spec) = registry::find(&m.name) else {
        return c;
    };
    c.pinned = Some(spec.sha256 == m.sha256);
    c.status = match installed_sha256(spec, models_dir) {
        None => ModelCheckStatus::NotInstalled,
        Some(h) => {
            let st = if h == m.sha256 {
                ModelCheckStatus::Ok
            } else {
                ModelCheckStatus::Mismatch
            };
            c.installed_sha256 = Some(h);
            st
        }
    };
    c
}

/// The sha256 of the installed model `spec` (`None` when it is not installed); a built-in
/// model is "installed" as the bytes in this binary.
fn installed_sha256(spec: &registry::ModelSpec, models_dir: &Path) -> Option<String> {
    match spec.source {
        registry::Source::Bundled { .. }
            if spec.status(models_dir) == registry::ModelStatus::Ok =>
        {
            Some(spec.sha256.to_string())
        }
        registry::Source::Bundled { .. } => None,
        _ => crate::fsio::sha256_file(&spec.path(models_dir)).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_check_status_keeps_its_words() {
        let words: Vec<&str> = ModelCheckStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(words, ["ok", "mismatch", "not-installed", "unknown"]);
        for s in ModelCheckStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(
                serde_json::from_value::<ModelCheckStatus>(s.as_str().into()).unwrap(),
                s
            );
            assert_eq!(s.to_string(), s.as_str());
        }
    }
}

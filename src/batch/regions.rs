//! `redact --regions`: apply a reviewer's sidecar to a finished batch, re-running only the
//! files it names with their corrections, and update the batch report in place.

use crate::batch::observer::Observer;
use crate::batch::provenance::{host, model_entries, operator, path_roots};
use crate::batch::{Outcome, RunOptions};
use crate::config::{Compared, Config, Difference};
use crate::error::{FileErrorKind, SetupError};
use crate::file::corrections::{Edits, ManualRegion};
use crate::file::{process_with, rel_string};
use crate::find::loaded::Models;
use crate::fsio::walk::{self, Job};
use crate::fsio::write_atomic;
use crate::report::{self, FileEntry, ModelEntry, Source, Status};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The sidecar and reviewer of a `redact --regions` run.
#[derive(Debug, Clone)]
pub struct RegionsOptions {
    pub sidecar: PathBuf,
    /// Used when the sidecar names no reviewer; must agree with it when both are given.
    pub reviewer: Option<String>,
}

/// A file of a review re-run: its job and corrections, or why it cannot be re-run.
type ReRun<'a> = Result<(&'a Job, Edits), String>;

/// Apply a regions sidecar: re-process, from the originals under `inputs`, only the files
/// the sidecar names, with detection as usual plus the corrections (this sidecar's and
/// those of earlier reviews in the report), and update the batch report at OUT in place.
/// The run must use the report's configuration and models (set-up error otherwise). A file
/// that fails (unknown path, stale review, an edit that cannot be carried out, unreadable
/// original) gets a per-file error, and its previous output is removed: it did not reflect
/// the review, and the report and the output tree must agree. Outputs are written and
/// removed only inside OUT, through real folders ([`walk::inside`]). `observer` is told of
/// each re-processed file as it is done.
pub fn run_regions(
    inputs: &[PathBuf],
    out: &Path,
    cfg: &Config,
    opts: &RunOptions,
    ro: &RegionsOptions,
    observer: &dyn Observer,
) -> Result<Outcome, SetupError> {
    let started = report::now();
    if opts.shard.is_some() {
        return Err(SetupError::Usage("--regions and --shard do not go together: merge the shard reports (`pixla report merge`), review, then apply the sidecar to the merged report with --report".into()));
    }
    let sidecar_bytes = std::fs::read(&ro.sidecar).map_err(|e| SetupError::Io {
        action: "read the sidecar",
        path: ro.sidecar.clone(),
        reason: e.to_string(),
    })?;
    let sidecar = crate::review::sidecar::parse(&sidecar_bytes)
        .map_err(|e| SetupError::Sidecar(format!("sidecar {}: {e}", ro.sidecar.display())))?;
    let named = sidecar
        .reviewer
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let flag = ro
        .reviewer
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let reviewer = match (named, flag) {
        (Some(a), Some(b)) if a != b => return Err(SetupError::Sidecar(format!("the sidecar names reviewer `{a}` but --reviewer says `{b}`"))),
        (Some(a), _) | (None, Some(a)) => a.to_string(),
        (None, None) => return Err(SetupError::Sidecar("the sidecar names no reviewer: pass --reviewer NAME (the report records who made each correction)".into())),
    };
    let by = Source::manual(&reviewer);
    let report_path = opts
        .report
        .clone()
        .unwrap_or_else(|| out.join("pixla-report.json"));
    let (mut rep, _) = report::read(&report_path).map_err(|e| SetupError::Report(format!("{e}; `--regions` updates the report of an earlier `pixla redact` run into the same OUT")))?;
    let sidecar_sha = crate::fsio::sha256_hex(&sidecar_bytes);
    if let Some(r) = rep.reviews.iter().find(|r| r.sidecar_sha256 == sidecar_sha) {
        return Err(SetupError::Sidecar(format!(
            "this sidecar (sha256 {sidecar_sha}) was already applied to {} at {}; nothing to do",
            report_path.display(),
            r.finished
        )));
    }
    let walked = walk::walk(inputs, out, None)?;
    let (pool, models) = Models::load_with_pool(cfg)?;
    let diff: Vec<String> = cfg
        .differences(&rep.config, Compared::Outputs)
        .iter()
        .map(|d| {
            format!(
                "{}: report {} vs now {}",
                d.key,
                Difference::show(&d.recorded),
                Difference::show(&d.now)
            )
        })
        .collect();
    if !diff.is_empty() {
        return Err(SetupError::SettingsDiffer {
            what: "settings",
            differ: diff,
            fix: "pass the same flags as that run",
        });
    }
    let ids = |m: &[ModelEntry]| {
        m.iter()
            .map(|m| (m.role.clone(), m.name.clone(), m.sha256.clone()))
            .collect::<Vec<_>>()
    };
    if ids(&model_entries(&models)) != ids(&rep.models) {
        return Err(SetupError::SettingsDiffer {
            what: "models",
            differ: vec!["name or sha256".into()],
            fix: "use the same --plate-model and models",
        });
    }
    let jobs: BTreeMap<String, &Job> = walked
        .jobs
        .iter()
        .map(|j| (rel_string(&j.rel), j))
        .collect();
    let prior: BTreeMap<String, FileEntry> = rep
        .files
        .iter()
        .map(|f| (f.input.clone(), f.clone()))
        .collect();
    // (rel, job and edits) or (rel, error)
    let mut todo: Vec<(String, ReRun)> = Vec::new();
    for (rel, fe) in &sidecar.files {
        let old = prior.get(rel);
        let r = match jobs.get(rel) {
            None => Err(format!("`{rel}` (named in the sidecar) is not among the inputs: give the same inputs as the report's run")),
            Some(job) => match (&fe.output_sha256, old.and_then(|o| o.output_sha256.as_ref())) {
                (Some(want), have) if have != Some(want) => Err(format!(
                    "stale review: the sidecar was made from output sha256 {want}, the report now lists {}; review the current output again",
                    have.map(String::as_str).unwrap_or("no output")
                )),
                _ => {
                    let mut ed = old.map(Edits::earlier).unwrap_or_default();
                    ed.add.extend(fe.add.iter().map(|a| ManualRegion { class: a.class, bbox: a.bbox, method: a.method, note: a.note.clone(), source: by.clone() }));
                    ed.suppress.extend(fe.suppress.iter().map(|s| (s.bbox, by.clone())));
                    Ok((*job, ed))
                }
            },
        };
        todo.push((rel.clone(), r));
    }
    observer.started(todo.len() as u64);
    let done: Vec<FileEntry> = pool.install(|| {
        todo.par_iter()
            .map(|(rel, r)| {
                let mut e = match r {
                    Ok((job, ed)) => process_with(job, cfg, &models, Some(ed)),
                    Err(msg) => FileEntry { input: rel.clone(), status: Status::Failed, error: Some(msg.clone()), error_kind: Some(FileErrorKind::Review), ..Default::default() },
                };
                e.reviewed_by = Some(reviewer.clone());
                if e.status == Status::Failed {
                    // the earlier output did not reflect this review: remove it (fail closed)
                    // only inside OUT, through real folders: a link on the way is not followed
                    let note = prior.get(rel).and_then(|o| o.output.as_deref()).and_then(|o| match walk::inside(out, Path::new(o), walk::Leaf::Replace, "the output folder") {
                        Err(r) => Some(format!("; its earlier output {o} was NOT removed ({}): do not deliver it", r.detail)),
                        Ok(p) if std::fs::symlink_metadata(&p).is_err() => None,
                        Ok(p) => Some(match std::fs::remove_file(&p) {
                            Ok(()) => "; its earlier output was removed".to_string(),
                            Err(err) => format!("; its earlier output could NOT be removed ({err}): do not deliver it"),
                        }),
                    });
                    if let Some(note) = note {
                        e.error = Some(format!("{}{note}", e.error.as_deref().unwrap_or("failed")));
                    }
                }
                observer.file_done(&e);
                e
            })
            .collect()
    });
    observer.finished();
    let failed = done.iter().filter(|e| e.status == Status::Failed).count();
    let touched: Vec<String> = done.iter().map(|e| e.input.clone()).collect();
    let mut files: BTreeMap<String, FileEntry> =
        rep.files.drain(..).map(|f| (f.input.clone(), f)).collect();
    for e in done {
        files.insert(e.input.clone(), e);
    }
    rep.files = files.into_values().collect();
    rep.summary = report::Summary::of(&rep.files);
    rep.reviews.push(report::ReviewRun {
        started,
        finished: report::now(),
        operator: operator(opts.operator.as_deref()),
        host: host(),
        command: opts.command.clone(),
        tool_version: crate::VERSION.into(),
        reviewer,
        sidecar: ro
            .sidecar
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sidecar_sha256: sidecar_sha,
        files: touched,
        failed,
    });
    report::scrub_paths(&mut rep, &path_roots(inputs, out));
    let json = serde_json::to_vec_pretty(&rep).map_err(|e| SetupError::Internal(e.to_string()))?;
    write_atomic(&report_path, &json, None)
        .map_err(|e| SetupError::Report(format!("cannot write the report: {e:#}")))?;
    Ok(Outcome {
        report: rep,
        report_path,
        failed,
        interrupted: false,
    })
}

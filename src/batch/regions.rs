//! `redact --regions`: apply a reviewer's sidecar to a finished batch, re-running only the
//! files it names with their corrections, and update the batch report in place.

use crate::batch::observer::Observer;
use crate::batch::provenance::{host, model_entries, operator, path_roots};
use crate::batch::{write_report, Outcome, RunOptions};
use crate::config::{Compared, Config, Difference};
use crate::error::{FileErrorKind, SetupError};
use crate::file::corrections::{Edits, ManualRegion};
use crate::file::{process_with, rel_string};
use crate::find::loaded::Models;
use crate::fsio::inside;
use crate::fsio::walk::{self, Job};
use crate::report::{self, FileEntry, ModelEntry, Report, Source, Status};
use crate::review::sidecar::Sidecar;
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
/// removed only inside OUT, through real folders ([`inside::inside`]). `observer` is told of
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
    let (sidecar, sidecar_sha) = read_sidecar(ro)?;
    let reviewer = reviewer(&sidecar, ro)?;
    let report_path = opts
        .report
        .clone()
        .unwrap_or_else(|| out.join("pixla-report.json"));
    let mut rep = read_report(&report_path, &sidecar_sha)?;
    let walked = walk::walk(inputs, out, None)?;
    let (pool, models) = Models::load_with_pool(cfg)?;
    check_same_run(cfg, &models, &rep)?;
    let prior: BTreeMap<String, FileEntry> = rep
        .files
        .iter()
        .map(|f| (f.input.clone(), f.clone()))
        .collect();
    let todo = re_runs(&sidecar, &walked, &prior, &Source::manual(&reviewer));
    observer.started(todo.len() as u64);
    let done: Vec<FileEntry> = pool.install(|| {
        todo.par_iter()
            .map(|(rel, r)| {
                let e = re_run(rel, r, cfg, &models, &reviewer, out, &prior);
                observer.file_done(&e);
                e
            })
            .collect()
    });
    observer.finished();
    let failed = done.iter().filter(|e| e.status == Status::Failed).count();
    let review = review_run(started, opts, ro, reviewer, sidecar_sha, &done);
    record_review(&mut rep, done, review);
    report::scrub_paths(&mut rep, &path_roots(inputs, out));
    write_report(&report_path, &rep)?;
    Ok(Outcome {
        report: rep,
        report_path,
        failed,
        interrupted: false,
    })
}

/// The sidecar, parsed, and the sha256 of its bytes as read.
fn read_sidecar(ro: &RegionsOptions) -> Result<(Sidecar, String), SetupError> {
    let bytes = std::fs::read(&ro.sidecar).map_err(|e| SetupError::Io {
        action: "read the sidecar",
        path: ro.sidecar.clone(),
        reason: e.to_string(),
    })?;
    let sidecar = crate::review::sidecar::parse(&bytes)
        .map_err(|e| SetupError::Sidecar(format!("sidecar {}: {e}", ro.sidecar.display())))?;
    Ok((sidecar, crate::fsio::sha256_hex(&bytes)))
}

/// The reviewer: the sidecar's or `--reviewer` (they must agree when both are given).
fn reviewer(sidecar: &Sidecar, ro: &RegionsOptions) -> Result<String, SetupError> {
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
    match (named, flag) {
        (Some(a), Some(b)) if a != b => Err(SetupError::Sidecar(format!("the sidecar names reviewer `{a}` but --reviewer says `{b}`"))),
        (Some(a), _) | (None, Some(a)) => Ok(a.to_string()),
        (None, None) => Err(SetupError::Sidecar("the sidecar names no reviewer: pass --reviewer NAME (the report records who made each correction)".into())),
    }
}

/// The batch report the sidecar is applied to; a sidecar already applied to it is refused.
fn read_report(report_path: &Path, sidecar_sha: &str) -> Result<Report, SetupError> {
    let (rep, _) = report::read(report_path).map_err(|e| SetupError::Report(format!("{e}; `--regions` updates the report of an earlier `pixla redact` run into the same OUT")))?;
    if let Some(r) = rep.reviews.iter().find(|r| r.sidecar_sha256 == sidecar_sha) {
        return Err(SetupError::Sidecar(format!(
            "this sidecar (sha256 {sidecar_sha}) was already applied to {} at {}; nothing to do",
            report_path.display(),
            r.finished
        )));
    }
    Ok(rep)
}

/// The re-run must use the report's settings that shape the outputs, and its models.
fn check_same_run(cfg: &Config, models: &Models, rep: &Report) -> Result<(), SetupError> {
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
    if ids(&model_entries(models)) != ids(&rep.models) {
        return Err(SetupError::SettingsDiffer {
            what: "models",
            differ: vec!["name or sha256".into()],
            fix: "use the same --plate-model and models",
        });
    }
    Ok(())
}

/// Each file the sidecar names, with its job and corrections (the sidecar's, by `by`, and
/// those of earlier reviews), or why it cannot be re-run.
fn re_runs<'a>(
    sidecar: &Sidecar,
    walked: &'a walk::Walk,
    prior: &BTreeMap<String, FileEntry>,
    by: &Source,
) -> Vec<(String, ReRun<'a>)> {
    let jobs: BTreeMap<String, &Job> = walked
        .jobs
        .iter()
        .map(|j| (rel_string(&j.rel), j))
        .collect();
    let mut todo = Vec::new();
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
    todo
}

/// One file re-run with its corrections, or failed for the reason it cannot be (`review`).
/// A failed file's earlier output is removed: it did not reflect this review.
fn re_run(
    rel: &str,
    r: &ReRun,
    cfg: &Config,
    models: &Models,
    reviewer: &str,
    out: &Path,
    prior: &BTreeMap<String, FileEntry>,
) -> FileEntry {
    let mut e = match r {
        Ok((job, ed)) => process_with(job, cfg, models, Some(ed)),
        Err(msg) => FileEntry {
            input: rel.to_string(),
            status: Status::Failed,
            error: Some(msg.clone()),
            error_kind: Some(FileErrorKind::Review),
            ..Default::default()
        },
    };
    e.reviewed_by = Some(reviewer.to_string());
    if e.status == Status::Failed {
        let earlier = prior.get(rel).and_then(|o| o.output.as_deref());
        if let Some(note) = earlier.and_then(|o| remove_earlier_output(out, o)) {
            e.error = Some(format!("{}{note}", e.error.as_deref().unwrap_or("failed")));
        }
    }
    e
}

/// Remove a failed file's earlier output `o` (fail closed), only inside OUT and through real
/// folders: a link on the way is not followed. Returns what to add to the file's error, if
/// anything.
fn remove_earlier_output(out: &Path, o: &str) -> Option<String> {
    match inside::inside(
        out,
        Path::new(o),
        inside::Leaf::Replace,
        "the output folder",
    ) {
        Err(r) => Some(format!(
            "; its earlier output {o} was NOT removed ({}): do not deliver it",
            r.detail
        )),
        Ok(p) if std::fs::symlink_metadata(&p).is_err() => None,
        Ok(p) => Some(match std::fs::remove_file(&p) {
            Ok(()) => "; its earlier output was removed".to_string(),
            Err(err) => {
                format!("; its earlier output could NOT be removed ({err}): do not deliver it")
            }
        }),
    }
}

/// The record of this review (its `finished` is set when it is recorded).
fn review_run(
    started: String,
    opts: &RunOptions,
    ro: &RegionsOptions,
    reviewer: String,
    sidecar_sha256: String,
    done: &[FileEntry],
) -> report::ReviewRun {
    report::ReviewRun {
        started,
        finished: String::new(),
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
        sidecar_sha256,
        files: done.iter().map(|e| e.input.clone()).collect(),
        failed: done.iter().filter(|e| e.status == Status::Failed).count(),
    }
}

/// The re-run files replace their entries in the report, the summary is counted again, and
/// the review is recorded (finished now).
fn record_review(rep: &mut Report, done: Vec<FileEntry>, mut review: report::ReviewRun) {
    let mut files: BTreeMap<String, FileEntry> =
        rep.files.drain(..).map(|f| (f.input.clone(), f)).collect();
    for e in done {
        files.insert(e.input.clone(), e);
    }
    rep.files = files.into_values().collect();
    rep.summary = report::Summary::of(&rep.files);
    review.finished = report::now();
    rep.reviews.push(review);
}

//! A batch: walk the inputs, check where the report and outputs go, continue or refuse the
//! journal of an unfinished batch, process every file in parallel (stopping cleanly on a
//! signal), and write the report ([`run_batch`]). A reviewer's sidecar is applied to a
//! finished batch by [`regions::run_regions`].

pub mod journal;
pub mod observer;
pub mod provenance;
pub mod regions;
pub mod signals;

use crate::batch::observer::Observer;
use crate::batch::provenance::{host, model_entries, operator, path_roots, tool_record};
use crate::config::Config;
use crate::error::{FileErrorKind, SetupError};
use crate::file::{process, rel_string};
use crate::find::loaded::Models;
use crate::fsio::inside;
use crate::fsio::shard::Shard;
use crate::fsio::walk::{self, Job};
use crate::fsio::write_atomic;
use crate::report::{self, FileEntry, Report, Status};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of a batch run that are not detection settings.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub report: Option<PathBuf>,
    pub operator: Option<String>,
    pub command: Vec<String>,
    pub shard: Option<Shard>,
    /// Continue the batch journaled in OUT (`--resume`), keeping every output whose hash checks.
    pub resume: bool,
    /// Measured accuracy to record (`redact --accuracy`).
    pub accuracy: Option<report::Accuracy>,
}

pub struct Outcome {
    pub report: Report,
    pub report_path: PathBuf,
    /// Files of this run that failed (for `--regions`: of the files the sidecar named).
    pub failed: usize,
    /// Stopped by a signal before every file was done (the journal is kept for `--resume`).
    pub interrupted: bool,
}

impl Outcome {
    /// 0 when every file of this run was redacted or clean, 1 when any failed, 130 when a
    /// signal stopped the batch.
    pub fn exit_code(&self) -> i32 {
        if self.interrupted {
            crate::batch::signals::EXIT_INTERRUPTED as i32
        } else if self.failed > 0 {
            1
        } else {
            0
        }
    }
}

/// Run a whole batch and write its report; `observer` is told of each file as it is done.
pub fn run_batch(
    inputs: &[PathBuf],
    out: &Path,
    cfg: &Config,
    opts: &RunOptions,
    observer: &dyn Observer,
) -> Result<Outcome, SetupError> {
    let started = report::now();
    let t0 = Instant::now();
    let walked = walk::walk(inputs, out, opts.shard)?;
    let report_path = opts
        .report
        .clone()
        .unwrap_or_else(|| out.join("pixla-report.json"));
    refuse_reviewed_outputs(&report_path)?;
    check_report_outside_inputs(inputs, &report_path)?;
    let (pool, models) = Models::load_with_pool(cfg)?;
    check_report_inside_out(out, &report_path)?;
    let jpath = journal::path(out, opts.shard);
    let header = journal::Header::new(cfg, &models, opts.shard, &walked.batch);
    let reused = pool.install(|| resume_or_refuse(out, &jpath, &header, &walked, opts))?;
    prepare_out(out, opts)?;
    let journal = journal::Journal::create(&jpath, &header, reused.values())
        .map_err(|e| SetupError::Journal(format!("{e:#}")))?;
    observer.started(walked.jobs.len() as u64);
    let done =
        pool.install(|| process_all(&walked.jobs, &reused, cfg, &models, &journal, observer));
    observer.finished();
    let interrupted = done.iter().any(|f| f.status == Status::Pending);
    let mut files = done;
    files.extend(walked.issues.iter().map(issue_entry));
    files.sort_by(|a, b| a.input.cmp(&b.input));
    let run = report::Run {
        started,
        finished: report::now(),
        operator: operator(opts.operator.as_deref()),
        host: host(),
        command: opts.command.clone(),
        shard: opts.shard,
        threads: cfg.threads,
        seconds: (t0.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        resumed: opts.resume.then_some(reused.len()),
        interrupted,
        batch: Some(header.batch()),
    };
    let mut report = batch_report(run, cfg, &models, files, opts);
    report::scrub_paths(&mut report, &path_roots(inputs, out));
    write_report(&report_path, &report)?;
    if !interrupted {
        let _ = journal.remove();
    }
    Ok(Outcome {
        failed: report.summary.failed,
        report,
        report_path,
        interrupted,
    })
}

/// A plain run would overwrite reviewed outputs and drop the corrections from the record.
fn refuse_reviewed_outputs(report_path: &Path) -> Result<(), SetupError> {
    if let Ok((old, _)) = report::read(report_path) {
        let reviewed = old.files.iter().filter(|f| f.reviewed_by.is_some()).count();
        if reviewed > 0 {
            return Err(SetupError::ReviewedOutputs {
                report: report_path.to_path_buf(),
                n: reviewed,
            });
        }
    }
    Ok(())
}

/// The report is never written inside an input.
fn check_report_outside_inputs(inputs: &[PathBuf], report_path: &Path) -> Result<(), SetupError> {
    let rp = inside::resolve(report_path);
    if inputs.iter().any(|i| rp.starts_with(inside::resolve(i))) {
        return Err(SetupError::UnsafePaths(format!(
            "the report {} would be written inside an input",
            report_path.display()
        )));
    }
    Ok(())
}

/// The report is written inside OUT only through folders that stay inside OUT.
fn check_report_inside_out(out: &Path, report_path: &Path) -> Result<(), SetupError> {
    let rp = inside::resolve(report_path);
    if rp.starts_with(inside::resolve(out)) || report_path.starts_with(out) {
        inside::check_inside(out, report_path).map_err(|e| {
            SetupError::UnsafePaths(format!("the report {}: {e}", report_path.display()))
        })?;
    }
    Ok(())
}

/// The journal of an unfinished batch in OUT: continued with `--resume` (the entries whose
/// outputs still check, by input path), refused without it; none: nothing to reuse.
fn resume_or_refuse(
    out: &Path,
    jpath: &Path,
    header: &journal::Header,
    walked: &walk::Walk,
    opts: &RunOptions,
) -> Result<BTreeMap<String, FileEntry>, SetupError> {
    let earlier = journal::read(jpath)
        .map_err(|e| SetupError::Journal(format!("{e:#}; delete it to start the batch over")))?;
    let Some((h, entries)) = earlier else {
        return Ok(BTreeMap::new());
    };
    if !opts.resume {
        return Err(SetupError::UnfinishedJournal {
            out: out.to_path_buf(),
            journal: jpath.to_path_buf(),
        });
    }
    let diff = header.differences(&h);
    if !diff.is_empty() {
        return Err(SetupError::JournalMismatch {
            journal: jpath.to_path_buf(),
            differ: diff.iter().map(|d| d.to_string()).collect(),
        });
    }
    let by_rel: BTreeMap<String, &Job> = walked
        .jobs
        .iter()
        .map(|j| (rel_string(&j.rel), j))
        .collect();
    let kept: Vec<FileEntry> = entries
        .into_par_iter()
        .filter(|e| {
            by_rel
                .get(&e.input)
                .is_some_and(|j| j.check_output().is_ok() && journal::still_valid(e, j))
        })
        .collect();
    Ok(kept.into_iter().map(|e| (e.input.clone(), e)).collect())
}

/// OUT made ready: a killed run's temp files removed when resuming (pixla's own name
/// pattern, only under OUT), and the folder created.
fn prepare_out(out: &Path, opts: &RunOptions) -> Result<(), SetupError> {
    if opts.resume {
        journal::clean_temps(out);
    }
    std::fs::create_dir_all(out).map_err(|e| SetupError::Io {
        action: "create the output folder",
        path: out.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Every job's entry, in parallel: reused from the journal, pending once a signal asked to
/// stop, else processed (and journaled when it has an output).
fn process_all(
    jobs: &[Job],
    reused: &BTreeMap<String, FileEntry>,
    cfg: &Config,
    models: &Models,
    journal: &journal::Journal,
    observer: &dyn Observer,
) -> Vec<FileEntry> {
    jobs.par_iter()
        .map(|job| {
            let rel = rel_string(&job.rel);
            if let Some(e) = reused.get(&rel) {
                observer.file_done(e);
                return e.clone();
            }
            if crate::batch::signals::stop_requested() {
                return FileEntry {
                    input: rel,
                    status: Status::Pending,
                    error: Some("interrupted before processing: continue with --resume".into()),
                    ..Default::default()
                };
            }
            let e = process(job, cfg, models);
            if e.output.is_some() {
                // best effort: a file missing from the journal is only done again
                let _ = journal.append(&e);
            }
            observer.file_done(&e);
            e
        })
        .collect()
}

/// The entry of a path the walk refused or skipped. The walk refuses what the file system
/// holds (links, non-regular files, unreadable entries): a failure of kind `io`; a skipped
/// file is not a failure and has no kind.
fn issue_entry(i: &walk::WalkIssue) -> FileEntry {
    let status: Status = i.status.into();
    FileEntry {
        input: rel_string(&i.rel),
        status,
        error: Some(i.reason.clone()),
        error_kind: (status == Status::Failed).then_some(FileErrorKind::Io),
        ..Default::default()
    }
}

/// The report of a finished (or interrupted) batch.
fn batch_report(
    run: report::Run,
    cfg: &Config,
    models: &Models,
    files: Vec<FileEntry>,
    opts: &RunOptions,
) -> Report {
    Report {
        schema: report::SCHEMA.into(),
        tool: tool_record(),
        run,
        config: serde_json::to_value(cfg).unwrap_or_default(),
        models: model_entries(models),
        summary: report::Summary::of(&files),
        files,
        reviews: vec![],
        shards: vec![],
        accuracy: opts.accuracy.clone(),
    }
}

/// Write the report atomically, as pretty JSON.
fn write_report(report_path: &Path, report: &Report) -> Result<(), SetupError> {
    let json =
        serde_json::to_vec_pretty(report).map_err(|e| SetupError::Internal(e.to_string()))?;
    write_atomic(report_path, &json, None)
        .map_err(|e| SetupError::Report(format!("cannot write the report: {e:#}")))
}

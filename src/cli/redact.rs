//! `pixla redact`: redact images and folders into a mirrored output tree with one report, or
//! apply a reviewer's sidecar to a finished batch (`--regions`).

use crate::cli::detect_args::DetectArgs;
use clap::Args;
use pixla::JpegMode;
use pixla::Outcome;
use pixla::RunOptions;
use pixla::SetupError;
use pixla::Status;
use std::path::PathBuf;
use std::process::ExitCode;

pub const EXIT_HELP: &str = "Exit codes (redact): 0 = every image redacted or clean; 1 = some files failed (listed in the report, no output written for them); 2 = usage or set-up error (nothing processed); 130 = interrupted by SIGINT/SIGTERM (the report lists the files not done as pending; continue with --resume). check, verify, purge and eval list their own in their --help.";

#[derive(Args)]
pub struct RedactArgs {
    /// Input images or folders (folders are walked recursively).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output folder; the input tree is mirrored under it. Must not be inside an input, nor an
    /// input inside it.
    #[arg(short, long)]
    output: PathBuf,
    /// Report path (default OUT/pixla-report.json).
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    detect: DetectArgs,
    /// JPEG output: `lossless` changes only the DCT blocks under a redaction (fills to the
    /// pixel, pixelations widened to the 8/16 px MCU grid); `reencode` re-encodes the picture
    /// at the source's quality.
    #[arg(long, value_enum, default_value = "lossless")]
    jpeg: JpegArg,
    /// Process only shard I of N (1-based), split by a stable hash of each relative path.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Continue a batch that was killed or interrupted (journal in OUT): outputs whose sha256
    /// checks are kept, the rest is done; the report is as a clean run's. Same inputs and flags.
    #[arg(long, conflicts_with = "regions")]
    resume: bool,
    /// Operator recorded in the report (default: $PIXLA_OPERATOR, else the OS user).
    #[arg(long)]
    operator: Option<String>,
    /// Embedded previews (EXIF thumbnail, MPF images, Photoshop thumbnail): re-render them from
    /// the redacted image at their own size (`regenerate`) or remove them (`remove`). Never kept
    /// as they were.
    #[arg(long, value_enum, default_value = "regenerate")]
    previews: pixla::Previews,
    /// Remove GPS and location data, also from images with nothing to hide and from MPF images:
    /// the EXIF GPS IFD (its bytes zeroed) and XMP GPS/location properties (`exif:GPS*`,
    /// `drone-dji:GpsLatitude`/`GpsLongtitude`/`AbsoluteAltitude`, IPTC places).
    #[arg(long)]
    strip_gps: bool,
    /// Keep only the ICC profile and the EXIF Orientation, also in images with nothing to hide.
    #[arg(long)]
    strip_metadata: bool,
    /// Apply a reviewer's regions sidecar (pixla-regions/1): re-process only the files it names,
    /// from the originals, and update the report at OUT in place. Use the same flags as that run.
    #[arg(long, value_name = "SIDECAR")]
    regions: Option<PathBuf>,
    /// Reviewer recorded for the sidecar's corrections, when the sidecar names none.
    #[arg(long, requires = "regions")]
    reviewer: Option<String>,
    /// A `pixla eval --json` result (pixla-eval/1) whose summary is recorded in the report as
    /// the measured accuracy of this configuration.
    #[arg(long, value_name = "EVAL.json")]
    accuracy: Option<PathBuf>,
    /// No progress bar and no summary line.
    #[arg(short, long)]
    quiet: bool,
    /// Print where the time went (seconds per stage, summed over threads) as one JSON line on
    /// stderr at the end.
    #[arg(long)]
    timings: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum JpegArg {
    Lossless,
    Reencode,
}

pub fn run(a: RedactArgs) -> Result<ExitCode, SetupError> {
    let cfg = config(&a)?;
    let opts = run_options(&a)?;
    // Ctrl-C / SIGTERM: finish the files in flight, write the report, exit 130
    pixla::install_signal_handlers()
        .map_err(|e| SetupError::Internal(format!("cannot install the signal handlers: {e}")))?;
    let progress = super::progress::Progress::new(!a.quiet);
    let outcome = match &a.regions {
        Some(sidecar) => pixla::run_regions(
            &a.inputs,
            &a.output,
            &cfg,
            &opts,
            &pixla::RegionsOptions {
                sidecar: sidecar.clone(),
                reviewer: a.reviewer.clone(),
            },
            &progress,
        )?,
        None => pixla::run_batch(&a.inputs, &a.output, &cfg, &opts, &progress)?,
    };
    print_summary(&a, &outcome);
    if a.timings {
        let t = serde_json::json!({ "wall_seconds": outcome.report.run.seconds, "threads": cfg.threads, "stages": pixla::stage_timings() });
        eprintln!("pixla: timings: {t}");
    }
    if outcome.interrupted {
        eprintln!(
            "pixla: interrupted: {} file(s) not done; continue with the same command and --resume",
            outcome.report.summary.pending
        );
    }
    print_failures(&a, &outcome);
    Ok(ExitCode::from(outcome.exit_code() as u8))
}

/// The settings: the detection flags', the JPEG mode and the metadata options.
fn config(a: &RedactArgs) -> Result<pixla::Config, SetupError> {
    let mut cfg = a.detect.config()?;
    cfg.jpeg = match a.jpeg {
        JpegArg::Lossless => JpegMode::Lossless,
        JpegArg::Reencode => JpegMode::Reencode,
    };
    cfg.meta = pixla::MetaOptions {
        previews: a.previews,
        strip_gps: a.strip_gps,
        strip_metadata: a.strip_metadata,
    };
    Ok(cfg)
}

/// The options of the run: report, operator, the command line, `--shard`, `--resume` and
/// the `--accuracy` summary.
fn run_options(a: &RedactArgs) -> Result<RunOptions, SetupError> {
    Ok(RunOptions {
        report: a.report.clone(),
        operator: a.operator.clone(),
        command: pixla::public_command(std::env::args()),
        shard: a
            .shard
            .as_deref()
            .map(|s| {
                s.parse()
                    .map_err(|e| SetupError::Usage(format!("--shard `{s}`: {e}")))
            })
            .transpose()?,
        resume: a.resume,
        accuracy: a
            .accuracy
            .as_deref()
            .map(pixla::read_accuracy)
            .transpose()
            .map_err(SetupError::Usage)?,
    })
}

/// The summary line on stderr (none with `--quiet`): of the sidecar's files for
/// `--regions`, else of the batch.
fn print_summary(a: &RedactArgs, outcome: &Outcome) {
    if a.quiet {
        return;
    }
    let review = outcome
        .report
        .reviews
        .last()
        .filter(|_| a.regions.is_some());
    if let Some(rv) = review {
        let st = |k: Status| {
            outcome
                .report
                .files
                .iter()
                .filter(|f| rv.files.contains(&f.input) && f.status == k)
                .count()
        };
        eprintln!(
            "pixla: applied {} (reviewer {}) to {} files: {} redacted, {} clean, {} failed; report updated: {}",
            rv.sidecar,
            rv.reviewer,
            rv.files.len(),
            st(Status::Redacted),
            st(Status::Clean),
            st(Status::Failed),
            outcome.report_path.display()
        );
        return;
    }
    let s = &outcome.report.summary;
    let regions: Vec<String> = s.regions.iter().map(|(k, v)| format!("{v} {k}")).collect();
    eprintln!(
        "pixla: {} files: {} redacted, {} clean, {} failed, {} skipped; hidden: {}; {:.1} s; report: {}",
        s.files,
        s.redacted,
        s.clean,
        s.failed,
        s.skipped,
        if regions.is_empty() { "nothing".into() } else { regions.join(", ") },
        outcome.report.run.seconds,
        outcome.report_path.display()
    );
}

/// One line on stderr per failed file of this run (for `--regions`: of the files the
/// sidecar named).
fn print_failures(a: &RedactArgs, outcome: &Outcome) {
    let this_run: Option<&Vec<String>> = a
        .regions
        .as_ref()
        .and_then(|_| outcome.report.reviews.last().map(|r| &r.files));
    for f in outcome
        .report
        .files
        .iter()
        .filter(|f| f.status == Status::Failed && this_run.is_none_or(|t| t.contains(&f.input)))
    {
        let kind = f.error_kind.map(|k| format!(" ({k})")).unwrap_or_default();
        eprintln!(
            "pixla: failed{kind}: {}: {}",
            f.input,
            f.error.as_deref().unwrap_or("?")
        );
    }
}

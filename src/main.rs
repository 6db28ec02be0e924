//! The `pixla` command line: parses the flags and dispatches to the command's module in
//! [`cli`], which builds a configuration, calls the library, and maps the outcome to an
//! exit code. Nothing else lives here.

mod cli;

use clap::{Parser, Subcommand};
use cli::check::{CheckArgs, CHECK_HELP};
use cli::eval::{EvalArgs, EVAL_HELP};
use cli::models::ModelsCmd;
use cli::purge::PurgeArgs;
use cli::redact::{RedactArgs, EXIT_HELP};
use cli::report::ReportCmd;
use cli::review::ReviewArgs;
use cli::verify::VerifyArgs;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "pixla", version, about = "Hide people and licence plates in drone and aerial photos, with an audit report.", after_help = EXIT_HELP)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Redact images and folders into a mirrored output tree, with one JSON report.
    #[command(after_help = EXIT_HELP)]
    Redact(RedactArgs),
    /// Score the redact pipeline against ground-truth labels (COCO JSON or YOLO txt): recall,
    /// precision and coverage per class and size bucket.
    #[command(after_help = EVAL_HELP)]
    Eval(EvalArgs),
    /// Write a static review page (HTML + thumbnails of the redacted outputs) for a report.
    Review(ReviewArgs),
    /// Work with reports: merge the reports of a sharded batch.
    Report {
        #[command(subcommand)]
        cmd: ReportCmd,
    },
    /// CI gate: run the detectors on a delivered set (nothing is written); refuse it when a
    /// person, plate or face is visible, or (with --report) when it is not what the report lists.
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Check a report: its JSON Schema, every output's sha256 and size, the recorded models' sha256.
    #[command(
        after_help = "Exit codes: 0 = all good; 1 = a schema error, a missing, changed or linked output (an output must be a regular file, not a link), or a model whose installed sha256 differs; 2 = the report cannot be read or is not JSON."
    )]
    Verify(VerifyArgs),
    /// Delete the originals of a verified delivery (a dry run unless --yes), with a purge log.
    #[command(
        after_help = "Exit codes: 0 = every original deleted (or, dry run, deletable); 1 = some refused (kept; see the reasons and the log); 2 = usage error (unreadable report, no --input folder, --input and the delivery folder overlap: nothing deleted)."
    )]
    Purge(PurgeArgs),
    /// Install, list and verify models and the ONNX Runtime library.
    Models {
        #[command(subcommand)]
        cmd: ModelsCmd,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Redact(a) => cli::redact::run(a),
        Cmd::Eval(a) => cli::eval::run(a),
        Cmd::Review(a) => cli::review::run(a),
        Cmd::Report { cmd } => cli::report::run(cmd),
        Cmd::Models { cmd } => cli::models::run(cmd),
        Cmd::Check(a) => cli::check::run(a),
        Cmd::Verify(a) => cli::verify::run(a),
        Cmd::Purge(a) => cli::purge::run(a),
    };
    match r {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pixla: error: {e}");
            ExitCode::from(2)
        }
    }
}

//! `pixla check`: the CI gate on a delivered image set.

use crate::cli::detect_args::DetectArgs;
use crate::cli::print_json;
use clap::Args;
use pixla::SetupError;
use std::path::PathBuf;
use std::process::ExitCode;

pub const CHECK_HELP: &str = "Exit codes: 0 = pass (nothing visible, and with --report the set is exactly the report's); 1 = refused (a finding, an unreadable image, or with --report a sha256 mismatch, a missing or extra image, or a file the report says failed); 2 = usage or set-up error (nothing checked).";

#[derive(Args)]
pub struct CheckArgs {
    /// The delivered folder (the report's output root), or image files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The batch report of the delivery: its regions count as redacted, and the set must match it.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print one JSON document (pixla-check/1) on stdout instead of lines.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    detect: DetectArgs,
    /// No summary line (problems are still listed).
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(a: CheckArgs) -> Result<ExitCode, SetupError> {
    let cfg = a.detect.config()?;
    let r = pixla::check(&a.inputs, a.report.as_deref(), &cfg)?;
    for d in r.settings_differ.iter().filter(|_| !a.quiet) {
        eprintln!("pixla check: note: this check's settings differ from the report's run: {d}");
    }
    if a.json {
        print_json(&r)?;
    } else {
        for f in &r.findings {
            let [x, y, w, h] = f.bbox;
            println!(
                "{}: {} {:.2} at [{x},{y},{w},{h}]",
                f.file,
                f.class.as_str(),
                f.score
            );
        }
        for p in &r.problems {
            println!("{}: {}: {}", p.file, p.kind, p.detail);
        }
        if !a.quiet {
            let s = &r.summary;
            eprintln!(
                "pixla check: {} ({} images: {} findings, {} unreadable, {} sha256 mismatches, {} missing, {} extra, {} failed in the report, {} regions not hidden)",
                if r.passed { "PASS" } else { "REFUSED" },
                s.files,
                s.findings,
                s.unreadable,
                s.sha256_mismatch,
                s.missing,
                s.extra,
                s.failed,
                s.regions_not_hidden
            );
        }
    }
    Ok(ExitCode::from(if r.passed { 0 } else { 1 }))
}

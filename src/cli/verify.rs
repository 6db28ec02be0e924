//! `pixla verify`: check a report and the delivery it describes.

use crate::cli::print_json;
use clap::Args;
use pixla::registry;
use pixla::SetupError;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct VerifyArgs {
    /// The batch report (pixla-report.json).
    report: PathBuf,
    /// Folder the report's output paths are relative to (default: the report's folder).
    #[arg(long, value_name = "DIR")]
    outputs: Option<PathBuf>,
    /// Models folder (default: $PIXLA_MODELS_DIR, else ~/.cache/pixla/models).
    #[arg(long)]
    models_dir: Option<PathBuf>,
    /// Print one JSON document (pixla-verify/1) on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: VerifyArgs) -> Result<ExitCode, SetupError> {
    let r = pixla::verify(
        &a.report,
        &pixla::VerifyOptions {
            outputs: a.outputs,
            models_dir: registry::models_dir(a.models_dir.as_deref()),
        },
    )?;
    if a.json {
        print_json(&r)?;
    } else {
        for e in &r.schema_errors {
            println!("schema: {e}");
        }
        for p in &r.outputs {
            println!("{}: {}: {}", p.file, p.kind, p.detail);
        }
        for m in &r.models {
            println!(
                "model {}: {}{}",
                m.name,
                m.status,
                if m.pinned == Some(false) {
                    " (the recorded sha256 is not the one pixla pins for it)"
                } else {
                    ""
                }
            );
        }
        eprintln!(
            "pixla verify: {} ({} schema errors, {} outputs checked, {} problems)",
            if r.passed { "OK" } else { "FAILED" },
            r.schema_errors.len(),
            r.outputs_checked,
            r.outputs.len()
        );
    }
    Ok(ExitCode::from(if r.passed { 0 } else { 1 }))
}

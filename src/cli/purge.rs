//! `pixla purge`: delete the originals of a verified delivery.

use crate::cli::print_json;
use clap::Args;
use pixla::SetupError;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct PurgeArgs {
    /// The batch report (pixla-report.json) of the verified delivery.
    report: PathBuf,
    /// The input root the report's input paths are relative to (the originals).
    #[arg(long, value_name = "ROOT")]
    input: PathBuf,
    /// Folder the report's output paths are relative to (default: the report's folder).
    #[arg(long, value_name = "DIR")]
    outputs: Option<PathBuf>,
    /// Delete for real (default: a dry run that lists what would be deleted).
    #[arg(long)]
    yes: bool,
    /// Purge log, one JSON line per deletion or refusal (default: pixla-purge.log.jsonl beside the report).
    #[arg(long)]
    log: Option<PathBuf>,
    /// Operator recorded in the log (default: $PIXLA_OPERATOR, else the OS user).
    #[arg(long)]
    operator: Option<String>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: PurgeArgs) -> Result<ExitCode, SetupError> {
    let r = pixla::purge(
        &a.report,
        &pixla::PurgeOptions {
            input: a.input,
            outputs: a.outputs,
            yes: a.yes,
            log: a.log,
            operator: a.operator,
        },
    )?;
    if a.json {
        print_json(&r)?;
    } else {
        for p in &r.delivery_problems {
            println!("delivery: {p}");
        }
        for i in r.items.iter().filter(|i| i.action != "skipped") {
            println!("{}: {}: {}", i.file, i.action, i.reason);
        }
        let n = |k: &str| r.items.iter().filter(|i| i.action == k).count();
        eprintln!(
            "pixla purge: {}{} deleted, {} refused{}",
            if r.dry_run {
                "dry run (nothing deleted; pass --yes): would be "
            } else {
                ""
            },
            if r.dry_run { n("delete") } else { n("deleted") },
            r.refused(),
            r.log
                .as_ref()
                .map(|l| format!("; log: {}", l.display()))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::from(if r.refused() == 0 { 0 } else { 1 }))
}

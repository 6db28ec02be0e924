//! `pixla report merge`: merge the reports of a sharded batch.

use clap::Subcommand;
use pixla::SetupError;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ReportCmd {
    /// Combine the reports of shards 1..N of one batch into one report (checks they belong together).
    Merge {
        /// The shard reports, in any order.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// The merged report to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Operator recorded for the merge (default: $PIXLA_OPERATOR, else the OS user).
        #[arg(long)]
        operator: Option<String>,
    },
}

pub fn run(cmd: ReportCmd) -> Result<ExitCode, SetupError> {
    match cmd {
        ReportCmd::Merge {
            reports,
            output,
            operator,
        } => {
            let out_abs = pixla::resolve_path(&output);
            let mut parts = Vec::new();
            for p in &reports {
                if pixla::resolve_path(p) == out_abs {
                    return Err(SetupError::UnsafePaths(format!(
                        "-o {} is one of the shard reports",
                        output.display()
                    )));
                }
                let (report, sha256) = pixla::read_report(p).map_err(SetupError::Report)?;
                parts.push(pixla::ShardInput {
                    name: p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    sha256,
                    report,
                });
            }
            let run = pixla::Run {
                started: String::new(),
                finished: String::new(),
                operator: pixla::operator(operator.as_deref()),
                host: pixla::host(),
                command: pixla::public_command(std::env::args()),
                shard: None,
                threads: 0,
                seconds: 0.0,
                resumed: None,
                interrupted: false,
                batch: None,
            };
            let merged = pixla::merge_shards(parts, run)
                .map_err(|e| SetupError::Report(format!("cannot merge: {e}")))?;
            let json = serde_json::to_vec_pretty(&merged)
                .map_err(|e| SetupError::Internal(e.to_string()))?;
            pixla::write_atomic(&output, &json, None).map_err(|e| SetupError::Io {
                action: "write",
                path: output.clone(),
                reason: format!("{e:#}"),
            })?;
            let s = &merged.summary;
            eprintln!("pixla: merged {} shards: {} files ({} redacted, {} clean, {} failed, {} skipped) into {}", merged.shards.len(), s.files, s.redacted, s.clean, s.failed, s.skipped, output.display());
            Ok(ExitCode::from(if s.failed > 0 { 1 } else { 0 }))
        }
    }
}

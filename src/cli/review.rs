//! `pixla review`: write the static review page for a report.

use clap::Args;
use pixla::SetupError;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct ReviewArgs {
    /// The batch report (pixla-report.json).
    report: PathBuf,
    /// Folder for the page and its pictures (default: review/ beside the report).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Folder the report's output paths are relative to (default: the report's folder).
    #[arg(long, value_name = "DIR")]
    outputs: Option<PathBuf>,
    /// Thumbnail long side in pixels.
    #[arg(long, default_value_t = 256)]
    thumb: u32,
    /// Display image long side in pixels.
    #[arg(long, default_value_t = 2048)]
    display: u32,
    /// Worker threads (default: all cores).
    #[arg(short = 'j', long)]
    jobs: Option<usize>,
    /// No summary line.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(a: ReviewArgs) -> Result<ExitCode, SetupError> {
    if a.thumb < 16 || a.display < a.thumb {
        return Err(SetupError::Usage(
            "--thumb must be >= 16 and --display >= --thumb".into(),
        ));
    }
    let mut o = pixla::ReviewOptions {
        dir: a.output,
        outputs: a.outputs,
        thumb: a.thumb,
        display: a.display,
        ..Default::default()
    };
    if let Some(j) = a.jobs {
        o.threads = j.max(1);
    }
    let r = pixla::build_review(&a.report, &o)?;
    for (f, why) in &r.problems {
        eprintln!("pixla: not shown: {f}: {why}");
    }
    if !a.quiet {
        eprintln!(
            "pixla: review page: {} ({} files, {} pictures)",
            r.index.display(),
            r.files,
            r.rendered
        );
    }
    Ok(ExitCode::from(if r.problems.is_empty() { 0 } else { 1 }))
}

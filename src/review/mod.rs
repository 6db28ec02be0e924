//! The review page: `pixla review REPORT` writes a static, self-contained bundle (one HTML
//! file with its script, style and data inline, plus JPEG thumbnails and display images)
//! that opens from disk in any browser, with no server and no network (its
//! Content-Security-Policy forbids any fetch). Every picture in it is rendered from a
//! REDACTED output, checked against the report's sha256 first; originals are never read,
//! and the rendered JPEGs carry no metadata (no EXIF, no GPS, no embedded previews), so the
//! bundle leaks nothing the outputs do not show.
//!
//! Pictures are upright (EXIF orientation applied). The page gets, per file, the affine map
//! from display pixels to stored pixels, so the boxes it shows and the boxes it exports are
//! in the stored pixels the report and the sidecar use.

mod bundle;
mod page;
mod render;
pub mod sidecar;

pub use render::display_to_stored;

use crate::error::SetupError;
use crate::report::{self, FileEntry, Status};
use bundle::Bundle;
use page::{page_file, write_page, PageData};
use render::{render_all, Sizes};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct ReviewOptions {
    /// Bundle folder (default: `review/` beside the report).
    pub dir: Option<PathBuf>,
    /// Root the report's output paths are relative to (default: the report's folder).
    pub outputs: Option<PathBuf>,
    /// Thumbnail long side in px.
    pub thumb: u32,
    /// Display image long side in px (smaller images are not enlarged).
    pub display: u32,
    pub threads: usize,
}

impl Default for ReviewOptions {
    fn default() -> Self {
        ReviewOptions {
            dir: None,
            outputs: None,
            thumb: 256,
            display: 2048,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        }
    }
}

#[derive(Debug)]
pub struct ReviewOutcome {
    pub dir: PathBuf,
    pub index: PathBuf,
    /// Files shown (every report entry but `skipped` ones).
    pub files: usize,
    /// Of those, rendered from their output.
    pub rendered: usize,
    /// Outputs that could not be shown (missing, changed since the report, unreadable).
    pub problems: Vec<(String, String)>,
}

/// Write the review bundle for the report at `report_path`.
pub fn build(report_path: &Path, opts: &ReviewOptions) -> Result<ReviewOutcome, SetupError> {
    let (rep, sha) = report::read(report_path).map_err(SetupError::Report)?;
    let parent = report::folder(report_path);
    let out_root = opts.outputs.clone().unwrap_or_else(|| parent.clone());
    let shown: Vec<&FileEntry> = rep
        .files
        .iter()
        .filter(|f| f.status != Status::Skipped)
        .collect();
    let bundle = Bundle::new(opts.dir.as_deref(), &parent, shown.len())?;
    bundle.clear()?;
    bundle.prepare()?;
    let sizes = Sizes {
        display: opts.display,
        thumb: opts.thumb,
    };
    let rendered = render_all(&shown, &bundle.pics, &out_root, sizes, opts.threads)?;
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for (i, (e, r)) in shown.iter().zip(rendered).enumerate() {
        let (pf, problem) = page_file(i, e, r);
        if let Some(msg) = problem {
            problems.push((e.input.clone(), msg));
        }
        files.push(pf);
    }
    let data = PageData {
        schema: "pixla-review/1",
        sidecar_schema: sidecar::SCHEMA,
        report: report_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        report_sha256: sha,
        tool: format!("pixla {}", rep.tool.version),
        run: &rep.run,
        summary: &rep.summary,
        skipped: rep.files.len() - shown.len(),
        files,
    };
    write_page(&data, &bundle.index)?;
    let n = data.files.len();
    Ok(ReviewOutcome {
        dir: bundle.dir,
        index: bundle.index,
        files: n,
        rendered: n - problems.len() - data.files.iter().filter(|f| f.output.is_none()).count(),
        problems,
    })
}

//! One file end to end: read and decode it, find what to hide, plan the regions and apply a
//! reviewer's corrections, hide them, encode and write the output, and fill the file's
//! report entry ([`process`]). A JPEG or PNG is decoded whole ([`decoded`]); a TIFF takes its
//! own path ([`tiff`]), read and patched window by window; `pixla check` reads a file the same
//! way without writing ([`scan`]). Why a file failed is a [`FileError`] ([`failure`]).

pub mod corrections;
pub mod decoded;
pub mod failure;
pub mod plan;
pub mod scan;
pub mod tiff;

use crate::config::Config;
use crate::error::{FileError, FileErrorKind};
use crate::file::corrections::Edits;
use crate::file::failure::{panicked, Classify};
use crate::find::loaded::Models;
use crate::fsio::walk::Job;
use crate::report::{FileEntry, Status};
use std::path::Path;
use std::time::Instant;

pub(crate) fn rel_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Process one job. Never panics on bad input and never writes an output for a file whose
/// decoding or detection failed.
pub fn process(job: &Job, cfg: &Config, models: &Models) -> FileEntry {
    process_with(job, cfg, models, None)
}

/// [`process`], with a reviewer's corrections applied after detection.
pub fn process_with(job: &Job, cfg: &Config, models: &Models, edits: Option<&Edits>) -> FileEntry {
    let t0 = Instant::now();
    let mut e = FileEntry {
        input: rel_string(&job.rel),
        status: Status::Failed,
        ..Default::default()
    };
    // a panic in a decoder or a model's post-processing is one file's failure, not the batch's
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        process_inner(job, cfg, models, edits, &mut e)
    }))
    .unwrap_or_else(|p| Err(panicked(p.as_ref())));
    if let Err(err) = r {
        fail(&mut e, err);
    }
    e.millis = t0.elapsed().as_millis() as u64;
    e
}

/// A failed file: its error and kind; it keeps what was learnt of its input, and has no
/// output, regions or suppressed regions.
fn fail(e: &mut FileEntry, err: FileError) {
    e.status = Status::Failed;
    e.error = Some(err.message);
    e.error_kind = Some(err.kind);
    e.output = None;
    e.output_sha256 = None;
    e.output_bytes = None;
    e.regions.clear();
    e.suppressed.clear();
}

fn process_inner(
    job: &Job,
    cfg: &Config,
    models: &Models,
    edits: Option<&Edits>,
    e: &mut FileEntry,
) -> Result<(), FileError> {
    check_input(job)?;
    if crate::file::tiff::is_tiff(&job.input).kind(FileErrorKind::Io)? {
        crate::file::tiff::process(job, cfg, models, edits, e)
    } else {
        crate::file::decoded::process(job, cfg, models, edits, e)
    }
}

/// The output can only land inside OUT, with no link on the way (every write path, a
/// review's re-run included, comes through here); and the input must still be a regular
/// file: a FIFO or device put in place after the walk is never opened (it could block).
fn check_input(job: &Job) -> Result<(), FileError> {
    use anyhow::Context;
    job.check_output().kind(FileErrorKind::Io)?;
    if !std::fs::metadata(&job.input)
        .with_context(|| "cannot read the file")
        .kind(FileErrorKind::Io)?
        .is_file()
    {
        return Err(FileError::new(
            FileErrorKind::Io,
            "not a regular file (a FIFO, socket, device or folder): not read",
        ));
    }
    Ok(())
}

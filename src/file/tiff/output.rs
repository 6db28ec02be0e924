//! The output of a TIFF, as the report records it: the copy of a TIFF with nothing to hide
//! ([`copy_clean`]) and the output's path, size and hash, read back ([`record_output`]).

use crate::error::{FileError, FileErrorKind};
use crate::file::failure::Classify;
use crate::formats::tiff;
use crate::fsio::walk::Job;
use crate::fsio::write_atomic_with;
use crate::report::{Encoding, FileEntry};
use anyhow::Context;

/// The output of a TIFF with nothing to hide: the file as it is, less any byte no IFD
/// references ([`tiff::copy_examined`]; `copy` when there is none, else
/// `metadata-only`, with what was left out listed).
pub fn copy_clean(job: &Job, e: &mut FileEntry) -> anyhow::Result<()> {
    let t = write_atomic_with(&job.output, Some(&job.input), |f, _| {
        tiff::copy_examined(&job.input, f)
    })?;
    match t.describe() {
        None => e.encoding = Some(Encoding::Copy),
        Some(d) => {
            e.encoding = Some(Encoding::MetadataOnly);
            e.metadata_removed.push(d);
        }
    }
    Ok(())
}

/// Records the written output's path, size and sha256, read back from the file.
pub fn record_output(job: &Job, e: &mut FileEntry) -> Result<(), FileError> {
    let out_meta = std::fs::metadata(&job.output)
        .context("cannot read the output back")
        .kind(FileErrorKind::Io)?;
    e.output = Some(job.rel.to_string_lossy().into_owned());
    e.output_bytes = Some(out_meta.len());
    e.output_sha256 = Some(
        crate::fsio::sha256_file(&job.output)
            .context("cannot read the output back")
            .kind(FileErrorKind::Io)?,
    );
    Ok(())
}

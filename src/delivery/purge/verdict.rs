//! Whether one original the report lists may be deleted: it was processed, its output was
//! delivered and verified, it lies plainly inside the input root, it is another file than
//! its output, and it is unchanged since the run.

use crate::delivery::verify::OutputProblem;
use crate::fsio::inside;
use crate::report::{FileEntry, Status};
use std::path::Path;

/// What the purge may do with one original.
pub(super) enum Verdict {
    /// Not an image pixla processed: not the purge's business.
    Skipped,
    /// Kept, for this reason.
    Refused(String),
    /// Output delivered, original unchanged: it may go.
    Verified,
}

/// The delivery the originals are judged against.
pub(super) struct Delivery<'a> {
    /// The input root the report's `input` paths are relative to.
    pub input: &'a Path,
    /// The folder the report's `output` paths are relative to.
    pub out_root: &'a Path,
    /// The problems `verify` found with the delivered outputs.
    pub problems: &'a [OutputProblem],
}

/// The verdict on `f`'s original, and its sha256 when it was read.
pub(super) fn judge(f: &FileEntry, d: &Delivery) -> (Verdict, Option<String>) {
    if f.status == Status::Skipped {
        return (Verdict::Skipped, None);
    }
    let mut sha = None;
    let verdict = match delivered(f, d).and_then(|()| unchanged(f, d, &mut sha)) {
        Ok(()) => Verdict::Verified,
        Err(reason) => Verdict::Refused(reason),
    };
    (verdict, sha)
}

/// Its output was delivered, and the whole delivery is verified.
fn delivered(f: &FileEntry, d: &Delivery) -> Result<(), String> {
    if f.status == Status::Failed || f.output.is_none() {
        return Err(format!(
            "no output was delivered for it ({}): the original is the only copy",
            f.error.as_deref().unwrap_or(f.status.as_str())
        ));
    }
    if let Some(p) = d
        .problems
        .iter()
        .find(|p| Some(&p.file) == f.output.as_ref())
    {
        return Err(format!(
            "its output {} is {}: the original is kept",
            p.file, p.kind
        ));
    }
    if !d.problems.is_empty() {
        return Err(format!(
            "the delivery is not verified ({} output problem(s)): nothing is deleted",
            d.problems.len()
        ));
    }
    Ok(())
}

/// The original is a plain file inside the input root, not its output, with the report's
/// `input_sha256` (stored in `sha` once read).
fn unchanged(f: &FileEntry, d: &Delivery, sha: &mut Option<String>) -> Result<(), String> {
    let want = f
        .input_sha256
        .as_deref()
        .ok_or("the report records no input sha256")?;
    let orig = inside::inside(
        d.input,
        Path::new(&f.input),
        inside::Leaf::File,
        "the input root",
    )
    .map_err(|r| r.detail)?;
    not_its_output(f, d, &orig)?;
    let h = crate::fsio::sha256_file(&orig).map_err(|e| format!("cannot read it: {e}"))?;
    *sha = Some(h.clone());
    if h != want {
        return Err(format!(
            "sha256 {h} is not the report's input_sha256 {want}: it changed since the run"
        ));
    }
    Ok(())
}

/// The output must be another file than the original (a hard link is the same file).
fn not_its_output(f: &FileEntry, d: &Delivery, orig: &Path) -> Result<(), String> {
    let Some(out) = f.output.as_deref().and_then(|r| {
        inside::inside(
            d.out_root,
            Path::new(r),
            inside::Leaf::File,
            "the delivery folder",
        )
        .ok()
    }) else {
        return Ok(());
    };
    use std::os::unix::fs::MetadataExt;
    let id = |p: &Path| std::fs::symlink_metadata(p).map(|m| (m.dev(), m.ino()));
    match (id(orig), id(&out)) {
        (Ok(a), Ok(b)) if a != b => Ok(()),
        (Ok(_), Ok(_)) => Err(format!("its output {} is the same file as the original (same device and inode): deleting it would delete the delivery", f.output.as_deref().unwrap_or(""))),
        (Err(e), _) | (_, Err(e)) => Err(format!("cannot examine it or its output: {e}")),
    }
}

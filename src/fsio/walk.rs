//! Walking the inputs: files and folders (recursive) → one job per image, with its path
//! relative to the input root and its mirrored output path. Sorted, so runs are repeatable.
//! Problems with single paths (unreadable folder, broken link) are per-path entries, never a
//! panic; only a layout that could overwrite inputs (OUT inside IN, IN inside OUT) stops the
//! run.

use crate::error::SetupError;
use crate::fsio::inside::{inside, resolve, Leaf};
use crate::fsio::shard::Shard;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Extensions pixla reads and writes (lower case).
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "jpe", "png", "tif", "tiff"];

#[derive(Clone, Debug)]
pub struct Job {
    pub input: PathBuf,
    /// Path relative to its input root; the report uses this, never the absolute path.
    pub rel: PathBuf,
    pub output: PathBuf,
}

/// A path that could not be turned into a job.
#[derive(Clone, Debug)]
pub struct WalkIssue {
    pub rel: PathBuf,
    pub input: PathBuf,
    pub status: IssueStatus,
    pub reason: String,
}

/// What a path problem makes of its path in the report (the report's `failed` or `skipped`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueStatus {
    /// An image or folder that could not be read.
    Failed,
    /// Not an image.
    Skipped,
}

#[derive(Debug, Default)]
pub struct Walk {
    pub jobs: Vec<Job>,
    pub issues: Vec<WalkIssue>,
    /// The relative paths of every image of the whole batch, before sharding (what the jobs
    /// would be without `--shard`): the shards of one batch agree on it.
    pub batch: Vec<PathBuf>,
}

pub fn is_image_name(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .map(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// Build the jobs for `inputs` mirrored under `out`, only those of `shard` when given.
pub fn walk(inputs: &[PathBuf], out: &Path, shard: Option<Shard>) -> Result<Walk, SetupError> {
    walk_impl(inputs, Some(out), shard)
}

/// Walk `inputs` for reading only (`pixla check`): no output tree, so no layout checks;
/// each job's `output` is its relative path.
pub fn walk_read(inputs: &[PathBuf]) -> Result<Walk, SetupError> {
    walk_impl(inputs, None, None)
}

fn walk_impl(
    inputs: &[PathBuf],
    out: Option<&Path>,
    shard: Option<Shard>,
) -> Result<Walk, SetupError> {
    if inputs.is_empty() {
        return Err(SetupError::Usage("no input given".into()));
    }
    let out_abs = out.map(resolve);
    let mut walker = Walker {
        w: Walk::default(),
        out: out.unwrap_or(Path::new("")),
        shard,
    };
    let several = inputs.len() > 1;
    let mut roots_seen = HashSet::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|e| SetupError::Io {
            action: "read input",
            path: input.clone(),
            reason: e.to_string(),
        })?;
        let in_abs = resolve(input);
        check_apart(input, &in_abs, out_abs.as_deref(), walker.out)?;
        if meta.is_file() {
            let name = PathBuf::from(input.file_name().unwrap_or(input.as_os_str()));
            walker.push(input.clone(), name);
            continue;
        }
        let prefix = folder_prefix(several, &in_abs, &mut roots_seen)?;
        walker.folder(input, &in_abs, &prefix);
    }
    check_outputs_differ(&walker.w.jobs)?;
    Ok(walker.w)
}

/// The input and the output folder must not hold each other: pixla never writes into an
/// input tree, and outputs must never overwrite originals.
fn check_apart(
    input: &Path,
    in_abs: &Path,
    out_abs: Option<&Path>,
    out: &Path,
) -> Result<(), SetupError> {
    if out_abs.is_some_and(|o| o.starts_with(in_abs)) {
        return Err(SetupError::UnsafePaths(format!(
            "the output folder {} is inside the input {}: pixla never writes into an input tree; choose an output folder outside it",
            out.display(),
            input.display()
        )));
    }
    if out_abs.is_some_and(|o| in_abs.starts_with(o)) {
        return Err(SetupError::UnsafePaths(format!(
            "the input {} is inside the output folder {}: outputs could overwrite originals; choose an output folder outside it",
            input.display(),
            out.display()
        )));
    }
    Ok(())
}

/// Where an input folder is mirrored under OUT: OUT itself for a single input, `OUT/<its
/// name>` for one of several; two folders of one name would collide.
fn folder_prefix(
    several: bool,
    in_abs: &Path,
    roots_seen: &mut HashSet<PathBuf>,
) -> Result<PathBuf, SetupError> {
    let prefix = if several {
        PathBuf::from(in_abs.file_name().unwrap_or_default())
    } else {
        PathBuf::new()
    };
    if !roots_seen.insert(prefix.clone()) {
        return Err(SetupError::UnsafePaths(format!(
            "two input folders share the name {}: their outputs would collide",
            prefix.display()
        )));
    }
    Ok(prefix)
}

/// No two jobs may write the same output.
fn check_outputs_differ(jobs: &[Job]) -> Result<(), SetupError> {
    let mut outs = HashSet::new();
    for j in jobs {
        if !outs.insert(j.output.clone()) {
            return Err(SetupError::UnsafePaths(format!(
                "two inputs map to the same output {}",
                j.output.display()
            )));
        }
    }
    Ok(())
}

/// The walk being built, where its outputs go and which shard it keeps.
struct Walker<'a> {
    w: Walk,
    out: &'a Path,
    shard: Option<Shard>,
}

/// Why a path under an input folder is not walked: its report status and reason.
struct NotWalked {
    status: IssueStatus,
    reason: String,
}

impl Walker<'_> {
    /// Every entry under the input folder `input` (resolved: `in_abs`), sorted by name, its
    /// relative path under `prefix`; unreadable parts are issues.
    fn folder(&mut self, input: &Path, in_abs: &Path, prefix: &Path) {
        let entries = walkdir::WalkDir::new(input)
            .follow_links(false)
            .sort_by_file_name();
        for entry in entries {
            match entry {
                Ok(e) => self.entry(&e, input, in_abs, prefix),
                Err(err) => {
                    let p = err
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| input.to_path_buf());
                    let rel = prefix.join(p.strip_prefix(input).unwrap_or(&p));
                    self.issue(WalkIssue {
                        rel,
                        input: p,
                        status: IssueStatus::Failed,
                        reason: format!("cannot read: {err}"),
                    });
                }
            }
        }
    }

    /// One entry of an input folder: a job, an issue, or nothing (a folder).
    fn entry(&mut self, e: &walkdir::DirEntry, input: &Path, in_abs: &Path, prefix: &Path) {
        let ft = e.file_type();
        if ft.is_dir() {
            return;
        }
        let rel = prefix.join(e.path().strip_prefix(input).unwrap_or(e.path()));
        let not_walked = if ft.is_symlink() {
            link_not_followed(e.path(), in_abs)
        } else if !ft.is_file() && is_image_name(e.path()) {
            // a FIFO, socket or device named like an image: never opened (a FIFO would
            // block the batch)
            Some(NotWalked {
                status: IssueStatus::Failed,
                reason: "not a regular file (a FIFO, socket or device): not read".into(),
            })
        } else {
            None
        };
        match not_walked {
            Some(NotWalked { status, reason }) => self.issue(WalkIssue {
                rel,
                input: e.path().into(),
                status,
                reason,
            }),
            None => self.push(e.path().to_path_buf(), rel),
        }
    }

    /// A path problem belongs to the shard its path hashes to, like a file: each is
    /// reported once across the shards of a batch, so their reports merge.
    fn issue(&mut self, i: WalkIssue) {
        if in_shard(&i.rel, self.shard) {
            self.w.issues.push(i);
        }
    }

    /// A file: a job when it is an image of this shard, else skipped (not an image).
    fn push(&mut self, input: PathBuf, rel: PathBuf) {
        let w = &mut self.w;
        if is_image_name(&input) {
            w.batch.push(rel.clone());
        }
        if !in_shard(&rel, self.shard) {
            return;
        }
        if !is_image_name(&input) {
            w.issues.push(WalkIssue {
                rel,
                input,
                status: IssueStatus::Skipped,
                reason: "not an image by its extension (pixla reads .jpg .jpeg .png .tif .tiff)"
                    .into(),
            });
            return;
        }
        let output = self.out.join(&rel);
        w.jobs.push(Job { input, rel, output });
    }
}

/// A symbolic link in an input folder: a link to a file inside the input is read (never
/// written; `None`); links to folders, and links leading outside the input, are not
/// followed: a delivery holds only what is under IN.
fn link_not_followed(path: &Path, in_abs: &Path) -> Option<NotWalked> {
    // an image that cannot be read fails; anything else is skipped
    let status = if is_image_name(path) {
        IssueStatus::Failed
    } else {
        IssueStatus::Skipped
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && !resolve(path).starts_with(in_abs) => Some(NotWalked {
            status,
            reason: "symbolic link to a file outside the input folder: not followed".into(),
        }),
        Ok(m) if m.is_file() => None,
        Ok(_) => Some(NotWalked {
            status: IssueStatus::Skipped,
            reason: "symbolic link to a folder: not followed".into(),
        }),
        Err(err) => Some(NotWalked {
            status,
            reason: format!("broken symbolic link: {err}"),
        }),
    }
}

impl Job {
    /// The output folder: `output` less `rel`.
    pub fn out_root(&self) -> &Path {
        let mut r = self.output.as_path();
        for _ in self.rel.components() {
            r = r.parent().unwrap_or(Path::new(""));
        }
        r
    }

    /// Can this job's output be written (renamed into place) only inside OUT? ([`inside`])
    pub fn check_output(&self) -> Result<(), String> {
        inside(
            self.out_root(),
            &self.rel,
            Leaf::Replace,
            "the output folder",
        )
        .map(|_| ())
        .map_err(|r| format!("{}; nothing written there", r.detail))
    }
}

fn in_shard(rel: &Path, shard: Option<Shard>) -> bool {
    shard.is_none_or(|s| s.contains(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_output_inside_input_and_mirrors_tree() {
        let d = tempfile::tempdir().unwrap();
        let inp = d.path().join("in");
        std::fs::create_dir_all(inp.join("a/b")).unwrap();
        std::fs::write(inp.join("a/b/x.JPG"), b"x").unwrap();
        std::fs::write(inp.join("a/notes.txt"), b"x").unwrap();
        std::fs::write(inp.join("y.png"), b"x").unwrap();
        assert!(matches!(
            walk(std::slice::from_ref(&inp), &inp.join("out"), None),
            Err(SetupError::UnsafePaths(_))
        ));
        assert!(matches!(
            walk(&[inp.join("a")], &inp, None),
            Err(SetupError::UnsafePaths(_))
        ));
        let out = d.path().join("out");
        let w = walk(std::slice::from_ref(&inp), &out, None).unwrap();
        let rels: Vec<_> = w.jobs.iter().map(|j| j.rel.clone()).collect();
        assert_eq!(
            rels,
            vec![PathBuf::from("a/b/x.JPG"), PathBuf::from("y.png")]
        );
        assert_eq!(w.jobs[0].output, out.join("a/b/x.JPG"));
        assert_eq!(w.issues.len(), 1);
        assert_eq!(w.issues[0].status, IssueStatus::Skipped);
    }
}

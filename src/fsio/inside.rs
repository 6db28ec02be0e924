//! Paths that stay where they should: resolving a path ([`resolve`]), plain relative paths
//! ([`is_plain_relative`]), and [`inside`]: a path under a root reached through real folders
//! only, so a link planted in OUT, a delivery or a review folder cannot send a write, a read
//! or a removal elsewhere. Every path pixla writes, removes or verifies is checked here.

use std::path::{Component, Path, PathBuf};

/// Absolute, normalised path, resolving symlinks for the part of it that exists.
pub fn resolve(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut existing = abs.clone();
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            let mut out = c;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return normalise(&out);
        }
        match (
            existing.file_name().map(|s| s.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return normalise(&abs),
        }
    }
}

/// `p` with `.` and `..` applied, without touching the file system.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// Is `rel` a plain relative path (no root, no `.` or `..`)? Paths read from a report or a
/// sidecar are joined to a folder only when they are, so a tampered file cannot point pixla
/// outside it.
pub fn is_plain_relative(rel: &str) -> bool {
    let p = Path::new(rel);
    !rel.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)))
}

/// What must be at the end of a path checked by [`inside`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaf {
    /// An entry pixla replaces (renames a temp file onto) or removes (unlinks): absent, or
    /// anything, a link included, since a rename or an unlink acts on the entry itself and
    /// never follows it.
    Replace,
    /// A file pixla reads as a delivered output, or deletes as an original: it must exist and
    /// be a regular file, not a link.
    File,
}

/// Why a path was refused by [`inside`]: `kind`, and in `detail` which part and why.
#[derive(Clone, Debug)]
pub struct PathRefused {
    pub kind: Refusal,
    pub detail: String,
}

/// The kind of a [`PathRefused`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a plain relative path, or it resolves outside the folder.
    UnsafePath,
    SymbolicLink,
    Missing,
    NotAFile,
    Unreadable,
}

impl Refusal {
    /// `unsafe-path`, `symbolic-link`, `missing`, `not-a-file` or `unreadable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::UnsafePath => "unsafe-path",
            Refusal::SymbolicLink => "symbolic-link",
            Refusal::Missing => "missing",
            Refusal::NotAFile => "not-a-file",
            Refusal::Unreadable => "unreadable",
        }
    }
}

/// The one check for every path pixla writes or deletes under OUT (outputs, the review
/// re-run's stale outputs, the report; the journal sits directly in OUT and is opened without
/// following a link), every original `purge` deletes under its ROOT, and every output
/// `verify`, `purge` and `review` read: `root/rel` is returned only when
/// `rel` is a plain relative path, no part of it between `root` and the file is a symbolic
/// link (not even one that leads back inside `root`: a delivery is real folders and regular
/// files), and it resolves inside the resolved `root`. `root` itself may be a link (the user
/// named it). For [`Leaf::File`] the file must exist and be a regular file; for
/// [`Leaf::Replace`] a missing part is fine (it is created fresh) and the last entry may be
/// anything. `what` names `root` in the messages ("the output folder", "the input root").
pub fn inside(root: &Path, rel: &Path, leaf: Leaf, what: &str) -> Result<PathBuf, PathRefused> {
    let check = Inside {
        root,
        rel,
        leaf,
        what,
    };
    if rel.as_os_str().is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return check.refused(
            Refusal::UnsafePath,
            format!(
                "`{}` is not a plain relative path: not followed",
                rel.display()
            ),
        );
    }
    let n = rel.components().count();
    let mut p = root.to_path_buf();
    for (i, c) in rel.components().enumerate() {
        p.push(c);
        match check.part(&p, i + 1 == n) {
            Part::Real => {}
            Part::LastLink => break,
            Part::Decided(r) => return r,
        }
    }
    // every part is real; resolved, the folder holding it is inside the resolved root
    let parent = p.parent().unwrap_or(Path::new(""));
    if resolve(parent).starts_with(resolve(root)) {
        Ok(p)
    } else {
        check.refused(
            Refusal::UnsafePath,
            format!("{} resolves outside {what}: not followed", rel.display()),
        )
    }
}

/// The question [`inside`] answers, asked of each part of `root/rel` in turn.
struct Inside<'a> {
    root: &'a Path,
    rel: &'a Path,
    leaf: Leaf,
    what: &'a str,
}

/// What one part of a path checked by [`inside`] tells.
enum Part {
    /// A real folder (or the last entry, as `leaf` asks): check the next part.
    Real,
    /// The last entry is a link, which [`Leaf::Replace`] acts on without following it.
    LastLink,
    /// The answer, found at this part.
    Decided(Result<PathBuf, PathRefused>),
}

impl Inside<'_> {
    fn refused<T>(&self, kind: Refusal, detail: String) -> Result<T, PathRefused> {
        Err(PathRefused { kind, detail })
    }

    /// The part `p` of `root/rel` (`last`: the entry itself).
    fn part(&self, p: &Path, last: bool) -> Part {
        let shown = || p.strip_prefix(self.root).unwrap_or(p).display().to_string();
        match std::fs::symlink_metadata(p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Part::Decided(self.absent(Refusal::Missing, "not found".into()))
            }
            Err(e) => Part::Decided(self.refused(
                Refusal::Unreadable,
                format!("cannot examine {}: {e}", shown()),
            )),
            Ok(m) if m.file_type().is_symlink() => {
                if last && self.leaf == Leaf::Replace {
                    return Part::LastLink;
                }
                Part::Decided(self.link(p, shown()))
            }
            // a file where a folder must go: writing fails at creating the folder, with its reason
            Ok(m) if !last && !m.is_dir() => Part::Decided(self.absent(
                Refusal::Missing,
                format!("not found ({} is not a folder)", shown()),
            )),
            Ok(m) if last && self.leaf == Leaf::File && !m.is_file() => {
                Part::Decided(self.refused(
                    Refusal::NotAFile,
                    "not a regular file (a folder, FIFO, socket or device): not read".into(),
                ))
            }
            Ok(_) => Part::Real,
        }
    }

    /// The entry cannot be there: fine for [`Leaf::Replace`] (it is created fresh), refused
    /// for [`Leaf::File`].
    fn absent(&self, kind: Refusal, detail: String) -> Result<PathBuf, PathRefused> {
        match self.leaf {
            Leaf::Replace => Ok(self.root.join(self.rel)),
            Leaf::File => self.refused(kind, detail),
        }
    }

    /// A link on the way (`shown`: its path under `root`): refused, saying whether it leads
    /// outside `root`.
    fn link(&self, p: &Path, shown: String) -> Result<PathBuf, PathRefused> {
        let what = self.what;
        let stays = matches!((p.canonicalize(), self.root.canonicalize()), (Ok(c), Ok(r)) if c.starts_with(&r));
        let how = if stays {
            format!(": not followed ({what} is used only through real folders and files)")
        } else {
            format!(" and leads outside {what}: not followed")
        };
        self.refused(
            Refusal::SymbolicLink,
            format!("{shown} is a symbolic link{how}"),
        )
    }
}

/// Check that writing `path` (under `root`, the output folder) can only land inside `root`:
/// [`inside`] with [`Leaf::Replace`], for a path given whole (the report's). Guards against an
/// OUT that already holds a link (`OUT/sub -> /elsewhere`).
pub fn check_inside(root: &Path, path: &Path) -> Result<(), String> {
    let abs = |p: &Path| {
        normalise(&if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        })
    };
    // as written; else reached by another way into OUT: then its resolved form, which has no link
    let (root, rel) = match abs(path).strip_prefix(abs(root)) {
        Ok(r) => (root.to_path_buf(), r.to_path_buf()),
        Err(_) => match resolve(path).strip_prefix(resolve(root)) {
            Ok(r) => (resolve(root), r.to_path_buf()),
            Err(_) => {
                return Err(format!(
                    "{} is not inside the output folder {}",
                    path.display(),
                    root.display()
                ))
            }
        },
    };
    inside(&root, &rel, Leaf::Replace, "the output folder")
        .map(|_| ())
        .map_err(|r| format!("{}; nothing written there", r.detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_inside_refuses_links_out_of_the_root() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        std::fs::create_dir_all(out.join("real")).unwrap();
        std::fs::create_dir_all(d.path().join("else")).unwrap();
        std::os::unix::fs::symlink(d.path().join("else"), out.join("ln")).unwrap();
        std::os::unix::fs::symlink(d.path().join("gone/x"), out.join("dangling")).unwrap();
        std::os::unix::fs::symlink("real", out.join("inner")).unwrap();
        assert!(check_inside(&out, &out.join("a.jpg")).is_ok());
        assert!(check_inside(&out, &out.join("new/deeper/a.jpg")).is_ok());
        // no link on the way, not even one that stays inside OUT
        assert!(check_inside(&out, &out.join("inner/a.jpg")).is_err());
        assert!(check_inside(&out, &out.join("ln/a.jpg"))
            .unwrap_err()
            .contains("leads outside the output folder"));
        assert!(check_inside(&out, &out.join("ln/x/y/a.jpg")).is_err());
        assert!(check_inside(&out, &out.join("dangling/a.jpg")).is_err());
        // the entry itself may be a link: a rename replaces it, never follows it
        std::os::unix::fs::symlink(d.path().join("else/t.jpg"), out.join("real/t.jpg")).unwrap();
        assert!(check_inside(&out, &out.join("real/t.jpg")).is_ok());
    }

    #[test]
    fn inside_wants_real_folders_and_a_regular_file() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        std::fs::create_dir_all(root.join("real")).unwrap();
        std::fs::create_dir_all(d.path().join("else")).unwrap();
        std::fs::write(root.join("real/a.jpg"), b"x").unwrap();
        std::fs::write(d.path().join("else/a.jpg"), b"x").unwrap();
        std::os::unix::fs::symlink(d.path().join("else"), root.join("ln")).unwrap();
        std::os::unix::fs::symlink("real", root.join("inner")).unwrap();
        std::os::unix::fs::symlink("a.jpg", root.join("real/b.jpg")).unwrap();
        let kind = |rel: &str, leaf| {
            inside(&root, Path::new(rel), leaf, "the root")
                .map(|_| "ok")
                .unwrap_or_else(|r| r.kind.as_str())
        };
        assert_eq!(kind("real/a.jpg", Leaf::File), "ok");
        assert_eq!(kind("real/b.jpg", Leaf::File), "symbolic-link");
        assert_eq!(kind("real/b.jpg", Leaf::Replace), "ok");
        assert_eq!(kind("inner/a.jpg", Leaf::File), "symbolic-link");
        assert_eq!(kind("ln/a.jpg", Leaf::File), "symbolic-link");
        assert_eq!(kind("ln/a.jpg", Leaf::Replace), "symbolic-link");
        assert_eq!(kind("real/none.jpg", Leaf::File), "missing");
        assert_eq!(kind("real/a.jpg/x.jpg", Leaf::File), "missing");
        assert_eq!(kind("real", Leaf::File), "not-a-file");
        assert_eq!(kind("../root/real/a.jpg", Leaf::File), "unsafe-path");
        assert_eq!(kind("", Leaf::Replace), "unsafe-path");
        // the root itself may be reached through a link
        std::os::unix::fs::symlink(&root, d.path().join("via")).unwrap();
        assert!(inside(
            &d.path().join("via"),
            Path::new("real/a.jpg"),
            Leaf::File,
            "the root"
        )
        .is_ok());
    }
}

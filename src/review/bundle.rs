//! Where the review bundle goes and how its folder is made ready. Every path the bundle
//! writes or removes goes through [`inside::inside`] first, so a refusal touches nothing: no
//! link below the bundle folder (the folder itself may be one only when named with `-o`),
//! or a marker in a folder outside would have it emptied.

use crate::error::SetupError;
use crate::fsio::inside::{self, Leaf, PathRefused, Refusal};
use std::path::{Path, PathBuf};

/// A file in the bundle folder that says pixla made it (so it may be regenerated).
const MARKER: &str = ".pixla-review";

/// The bundle's paths, each checked.
pub(super) struct Bundle {
    /// The folder paths are checked from, the bundle folder below it, and what to call it.
    base: PathBuf,
    sub: PathBuf,
    what: &'static str,
    /// The bundle folder.
    pub dir: PathBuf,
    marker: PathBuf,
    pub index: PathBuf,
    img: PathBuf,
    v_dir: PathBuf,
    t_dir: PathBuf,
    /// Per shown file, its display image and thumbnail.
    pub pics: Vec<(PathBuf, PathBuf)>,
}

impl Bundle {
    /// The paths of a bundle of `shown` files in `dir` (named with `-o`), else in `review/`
    /// in the report's folder `parent`.
    pub(super) fn new(dir: Option<&Path>, parent: &Path, shown: usize) -> Result<Self, SetupError> {
        let (base, sub, what) = match dir {
            Some(d) => (d.to_path_buf(), PathBuf::new(), "the review folder"),
            None => (
                parent.to_path_buf(),
                PathBuf::from("review"),
                "the report's folder",
            ),
        };
        let dir = base.join(&sub);
        let mut b = Bundle {
            base,
            sub,
            what,
            dir,
            marker: PathBuf::new(),
            index: PathBuf::new(),
            img: PathBuf::new(),
            v_dir: PathBuf::new(),
            t_dir: PathBuf::new(),
            pics: Vec::new(),
        };
        (b.marker, b.index, b.img) = (b.place(MARKER)?, b.place("index.html")?, b.place("img")?);
        (b.v_dir, b.t_dir) = (b.place("img/v")?, b.place("img/t")?);
        b.pics = (0..shown)
            .map(|i| {
                Ok((
                    b.place(&format!("img/v/{i:05}.jpg"))?,
                    b.place(&format!("img/t/{i:05}.jpg"))?,
                ))
            })
            .collect::<Result<Vec<_>, SetupError>>()?;
        Ok(b)
    }

    /// The path of `rel` in the bundle folder, to be written or replaced.
    fn place(&self, rel: &str) -> Result<PathBuf, SetupError> {
        inside::inside(&self.base, &self.sub.join(rel), Leaf::Replace, self.what)
            .map_err(|r| self.refuse(r))
    }

    fn refuse(&self, r: PathRefused) -> SetupError {
        SetupError::UnsafePaths(format!("cannot write the review bundle in {}: {}; nothing removed or written\n  fix: remove the link, or choose another folder with -o", self.dir.display(), r.detail))
    }

    /// An existing bundle folder must be empty or pixla's (its marker a regular file); the
    /// pictures of an earlier review go, so none of another report lingers.
    pub(super) fn clear(&self) -> Result<(), SetupError> {
        if !self.dir.exists() {
            return Ok(());
        }
        let mut entries = std::fs::read_dir(&self.dir).map_err(|e| SetupError::Io {
            action: "read",
            path: self.dir.clone(),
            reason: e.to_string(),
        })?;
        if entries.next().is_some() {
            // pixla's marker is a regular file; a link is not one
            match inside::inside(&self.base, &self.sub.join(MARKER), Leaf::File, self.what) {
                Ok(_) => {}
                Err(r) if r.kind == Refusal::Missing => {
                    return Err(SetupError::UnsafePaths(format!(
                    "{} exists and was not made by `pixla review`: choose another folder with -o",
                    self.dir.display()
                )))
                }
                Err(r) => return Err(self.refuse(r)),
            }
        }
        let _ = std::fs::remove_dir_all(&self.img);
        Ok(())
    }

    /// The picture folders and the marker.
    pub(super) fn prepare(&self) -> Result<(), SetupError> {
        for d in [&self.v_dir, &self.t_dir] {
            std::fs::create_dir_all(d).map_err(|e| SetupError::Io {
                action: "create",
                path: d.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
        crate::fsio::write_atomic(
            &self.marker,
            b"made by pixla review; the folder is rewritten on the next run\n",
            None,
        )
        .map_err(|e| SetupError::Io {
            action: "write",
            path: self.marker.clone(),
            reason: format!("{e:#}"),
        })
    }
}

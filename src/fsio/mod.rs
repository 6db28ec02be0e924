//! File-system writes and reads that a crash or a hostile tree cannot subvert: atomic writes
//! (temp file in the target folder, fsync, rename) and the walk over the inputs ([`walk`]).

pub mod shard;
pub mod walk;

use anyhow::Context;
use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` atomically: a temp file in the same folder, fsync, rename. The
/// output gets the input's permission bits (`like`), never more than the user could read.
pub fn write_atomic(path: &Path, bytes: &[u8], like: Option<&Path>) -> anyhow::Result<()> {
    write_atomic_with(path, like, |f, _| {
        f.write_all(bytes).context("writing the output")
    })
}

/// Like [`write_atomic`], with the content written by `fill` into the temp file (for
/// outputs too big to hold in memory; it also gets the temp file's path, to read it back).
/// If `fill` fails, the temp file is removed.
pub fn write_atomic_with<T>(
    path: &Path,
    like: Option<&Path>,
    fill: impl FnOnce(&mut std::fs::File, &Path) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create folder {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".pixla-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temp file in {}", dir.display()))?;
    let tmp_path = tmp.path().to_path_buf();
    let out = fill(tmp.as_file_mut(), &tmp_path)?;
    tmp.as_file().sync_all().context("syncing the output")?;
    // temp files are created 0600; give the output the input's mode, else the usual 0644
    let perm = like
        .and_then(|l| std::fs::metadata(l).ok())
        .map(|m| m.permissions())
        .unwrap_or_else(|| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::Permissions::from_mode(0o644)
        });
    let _ = std::fs::set_permissions(tmp.path(), perm);
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot move the output into place at {}", path.display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_no_temp_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/x.bin");
        write_atomic(&p, b"abc", None).unwrap();
        write_atomic(&p, b"abcd", None).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"abcd");
        assert_eq!(std::fs::read_dir(d.path().join("sub")).unwrap().count(), 1);
    }
}

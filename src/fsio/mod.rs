//! File-system writes and reads that a crash or a hostile tree cannot subvert: atomic writes
//! (temp file in the target folder, fsync, rename), reads of regular files only (a FIFO or
//! device cannot block them), sha256 of bytes and files, paths that stay inside a folder
//! ([`inside`]), and the walk over the inputs ([`walk`]).

pub mod inside;
pub mod shard;
pub mod walk;

use anyhow::Context;
use sha2::Digest;
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

/// sha256 of `bytes`, as lowercase hex (how reports, journals and the registry write it).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// What a file that is not a regular file is, for messages: `a folder`, `a FIFO`, ...
pub fn file_kind(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_file() {
        "a regular file"
    } else if ft.is_dir() {
        "a folder"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// Open `path` for reading only when it is a regular file (symbolic links resolved): a
/// FIFO, socket or device could block the open or the read forever, a folder reads as
/// nothing. Opened without blocking and checked again on the open file, so a file swapped
/// after the check is refused too. The error for anything else is `InvalidInput`, with
/// what the path is.
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let refuse = |ft: std::fs::FileType| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} is {}, not a regular file",
                path.display(),
                file_kind(ft)
            ),
        )
    };
    let m = std::fs::metadata(path)?;
    if !m.is_file() {
        return Err(refuse(m.file_type()));
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(refuse(m.file_type()));
    }
    Ok(f)
}

/// Read a whole regular file (see [`open_regular`]).
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = open_regular(path)?;
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    Ok(v)
}

/// sha256 of a regular file, streamed (anything else is refused, see [`open_regular`]).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = open_regular(path)?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
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

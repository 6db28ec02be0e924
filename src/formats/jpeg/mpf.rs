//! The MPF (CIPA DC-007) index in APP2: its MP Entries (position, size and offset of each
//! image stored after the main image), read with every offset checked; and the names of the
//! images it lists, for the report. A broken index lists nothing.

use super::exif::Tiff;
use super::segments::{jpeg_dims, Layout};
use anyhow::{anyhow, bail, Result};

/// Names of the images an MPF index lists after the main image, for the report, and how
/// many bytes after the main image they cover (best effort: a broken index lists nothing).
pub(super) fn list_mp_images(
    source: &[u8],
    src: &Layout,
    mpf_tiff: &[u8],
    tiff_src: usize,
) -> (Vec<String>, usize) {
    let Ok(entries) = mp_entries(mpf_tiff) else {
        return (vec![], 0);
    };
    let mut names = Vec::new();
    let mut covered = 0;
    for (i, e) in entries.iter().enumerate().skip(1) {
        let start = tiff_src.saturating_add(e.offset as usize);
        let Some(img) = source
            .get(start..start.saturating_add(e.size as usize))
            .filter(|_| e.offset != 0 && start >= src.end)
        else {
            continue;
        };
        covered += img.len();
        names.push(match jpeg_dims(img) {
            Ok((w, h)) => format!("mpf-image {} ({w}x{h})", i + 1),
            Err(_) => format!("mpf-image {}", i + 1),
        });
    }
    (names, covered.min(source.len() - src.end))
}

pub(super) struct MpEntry {
    /// Position of the 16-byte entry in the MPF TIFF data.
    pub(super) pos: usize,
    pub(super) size: u32,
    pub(super) offset: u32,
}

pub(super) fn mp_entries(tiff: &[u8]) -> Result<Vec<MpEntry>> {
    let t = Tiff::new(tiff)?;
    let ifd = t.directory(t.u32(4)?.into())?;
    let e = ifd
        .get(0xB002)
        .ok_or_else(|| anyhow!("MPF index without MP Entries"))?;
    if e.typ != 7 || e.count % 16 != 0 || e.count == 0 || e.count > 16 * 64 {
        bail!("malformed MP Entry tag");
    }
    let n = (e.count / 16) as usize;
    if let Some(num) = ifd.get(0xB001) {
        if num.val as usize != n {
            bail!(
                "NumberOfImages ({}) does not match the MP Entries ({n})",
                num.val
            );
        }
    }
    let range = t
        .value_range(e)?
        .ok_or_else(|| anyhow!("malformed MP Entry tag"))?;
    (0..n)
        .map(|i| {
            let pos = range.start + 16 * i;
            Ok(MpEntry {
                pos,
                size: t.u32(pos + 4)?,
                offset: t.u32(pos + 8)?,
            })
        })
        .collect()
}

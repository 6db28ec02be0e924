//! Patching strips and tiles in a copy of the file ([`rewrite`]).

use super::chunk::encode_chunk;
use super::examined::Trim;
use super::layout::{blit_in, check_rect, editable, Layout};
use super::parse::Parsed;
use super::window::Window;
use anyhow::{bail, ensure, Context, Result};
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

/// What [`rewrite`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewriteStats {
    pub chunks_rewritten: usize,
    /// Of those, how many were put back in their old slot.
    pub chunks_in_place: usize,
    /// Of those, how many were appended at the end of the file.
    pub chunks_appended: usize,
    pub bytes_appended: u64,
    /// Bytes of old chunk data overwritten with zeros.
    pub bytes_zeroed: u64,
    /// A COG's `KNOWN_INCOMPATIBLE_EDITION` was switched to `YES` (tiles appended).
    pub cog_layout_invalidated: bool,
    /// Bytes no IFD references, dropped from the copy ([`copy_examined`](super::copy_examined)).
    pub unreferenced: Trim,
}

/// The patches grouped by the chunk they touch: (IFD, chunk index) → indices into the patches.
pub(super) type Plan = BTreeMap<(usize, usize), Vec<usize>>;

/// Copy `src` into `dst` and write each patch's pixels into it (see the module docs).
///
/// `dst` must be a fresh file the caller created (it is truncated first) and is not `src`. On
/// error its contents are unspecified and the caller must discard it. Patches may overlap (the
/// later one wins). Each IFD is edited on its own: to hide a region everywhere, the caller also
/// patches it on every overview ([`scale_rect`](super::scale_rect) maps a box onto an
/// overview). [`verify`](super::verify) reads the patches back from the written file.
pub fn rewrite(src: &Path, dst: &mut File, patches: &[(usize, Window)]) -> Result<RewriteStats> {
    let mut p = Parsed::open(src)?;
    same_file_guard(&p.src.f, dst)?;
    // Validate every patch before writing anything, and group them by chunk.
    let plan = plan_patches(&p, patches)?;
    let shared = p.shared_slots(&plan)?;
    let trim = p.write_examined(dst)?;
    let mut w = ChunkWriter {
        dst,
        st: RewriteStats {
            unreferenced: trim,
            ..Default::default()
        },
        copy_len: trim.len,
        end: trim.len,
        leader: p.ghost.as_ref().is_some_and(|g| g.leader),
    };
    let mut updates: Vec<(usize, usize, u64, u64)> = Vec::new();
    for (&(ifd, idx), ks) in &plan {
        let data = patched_chunk(&mut p, ifd, idx, ks, patches)?;
        let slot = Slot {
            off: p.ifds[ifd].offsets[idx],
            len: p.ifds[ifd].counts[idx],
            ghost: p.ghost_for(ifd, idx)?,
            shared: shared.contains(&(ifd, idx)),
        };
        let new_off = w.put(&slot, &data)?;
        if !p.big {
            ensure!(
                w.end <= u32::MAX as u64,
                "the edited file would exceed 4 GiB, which classic TIFF cannot address"
            );
        }
        updates.push((ifd, idx, new_off, data.len() as u64));
        w.st.chunks_rewritten += 1;
    }
    write_arrays(&p, w.dst, updates)?;
    if w.st.chunks_appended > 0 {
        if let Some(pos) = p.ghost.as_ref().and_then(|g| g.incompat_no) {
            write_at(w.dst, pos, b"YES\n")?;
            w.st.cog_layout_invalidated = true;
        }
    }
    w.dst.flush()?;
    Ok(w.st)
}

/// Check every patch against its IFD and group the patches by the chunks they touch.
fn plan_patches(p: &Parsed, patches: &[(usize, Window)]) -> Result<Plan> {
    let mut plan = Plan::new();
    for (k, (ifd, win)) in patches.iter().enumerate() {
        let lay = editable(&p.ifds, *ifd).with_context(|| format!("patch {k}"))?;
        check_patch(lay, k, *ifd, win)?;
        for idx in lay.chunks_in(win.x, win.y, win.w, win.h) {
            plan.entry((*ifd, idx)).or_default().push(k);
        }
    }
    Ok(plan)
}

/// Patch `k` lies inside IFD `ifd` and has its samples per pixel, bit depth and sample count.
fn check_patch(lay: &Layout, k: usize, ifd: usize, win: &Window) -> Result<()> {
    check_rect(lay, win.x, win.y, win.w, win.h).with_context(|| format!("patch {k}"))?;
    ensure!(
        win.spp == lay.info.samples_per_pixel,
        "patch {k} has {} samples per pixel, IFD {ifd} has {}",
        win.spp,
        lay.info.samples_per_pixel
    );
    ensure!(
        win.samples.bits() == lay.bps,
        "patch {k} has {}-bit samples, IFD {ifd} has {}-bit",
        win.samples.bits(),
        lay.bps
    );
    let n = win.w as u64 * win.h as u64 * win.spp as u64;
    ensure!(
        win.samples.len() as u64 == n,
        "patch {k}: {} samples for {}x{}x{}",
        win.samples.len(),
        win.w,
        win.h,
        win.spp
    );
    Ok(())
}

/// Chunk `idx` of IFD `ifd` decoded, with the patches `ks` written over it, encoded again.
fn patched_chunk(
    p: &mut Parsed,
    ifd: usize,
    idx: usize,
    ks: &[usize],
    patches: &[(usize, Window)],
) -> Result<Vec<u8>> {
    let lay = &p.ifds[ifd];
    let mut chunk = p.src.decode_chunk(lay, idx)?;
    for &k in ks {
        blit_in(lay, idx, &mut chunk, &patches[k].1)?;
    }
    encode_chunk(lay, chunk)
}

/// The old slot of a rewritten chunk.
struct Slot {
    off: u64,
    len: u64,
    /// The chunk carries a valid COG leader and trailer.
    ghost: bool,
    /// Another chunk uses bytes of this slot too (it is left alone).
    shared: bool,
}

/// Puts re-encoded chunks into the output, in their old slot or appended, and counts.
struct ChunkWriter<'a> {
    dst: &'a mut File,
    st: RewriteStats,
    /// Length of the examined copy, before anything was appended.
    copy_len: u64,
    /// Current end of the output.
    end: u64,
    /// The file follows the COG convention of a 4-byte size leader before each tile.
    leader: bool,
}

impl ChunkWriter<'_> {
    /// Write `data` for the chunk in `slot`; returns its new offset.
    fn put(&mut self, slot: &Slot, data: &[u8]) -> Result<u64> {
        if !slot.shared && slot.len > 0 && data.len() as u64 <= slot.len {
            self.in_place(slot, data)?;
            Ok(slot.off)
        } else {
            self.append(slot, data)
        }
    }

    /// Over the old slot; the rest of the slot (and its COG trailer position) zero-filled.
    fn in_place(&mut self, slot: &Slot, data: &[u8]) -> Result<()> {
        let (old_off, new_len) = (slot.off, data.len() as u64);
        write_at(self.dst, old_off, data)?;
        let mut tail = old_off + new_len;
        if slot.ghost {
            write_at(self.dst, old_off - 4, &(new_len as u32).to_le_bytes())?;
            write_at(self.dst, tail, &trailer(data))?;
            tail += 4;
        }
        let stop = old_off + slot.len + if slot.ghost { 4 } else { 0 };
        self.st.bytes_zeroed += zero_at(self.dst, tail, stop - tail)?;
        self.st.chunks_in_place += 1;
        Ok(())
    }

    /// At the end of the file (8-byte aligned); the whole old slot zero-filled unless shared.
    fn append(&mut self, slot: &Slot, data: &[u8]) -> Result<u64> {
        let new_len = data.len() as u64;
        let mut pos = self.end.next_multiple_of(8);
        if self.leader {
            // Keep the COG convention for the appended tile too: leader, data, trailer.
            write_at(self.dst, pos, &(new_len as u32).to_le_bytes())?;
            pos += 4;
            write_at(self.dst, pos, data)?;
            write_at(self.dst, pos + new_len, &trailer(data))?;
            self.end = pos + new_len + 4;
        } else {
            write_at(self.dst, pos, data)?;
            self.end = pos + new_len;
        }
        self.st.bytes_appended = self.end - self.copy_len;
        if !slot.shared && slot.len > 0 {
            let stop = slot.off + slot.len + if slot.ghost { 4 } else { 0 };
            self.st.bytes_zeroed += zero_at(self.dst, slot.off, stop - slot.off)?;
        }
        self.st.chunks_appended += 1;
        Ok(pos)
    }
}

/// Write the new offset and byte count of each rewritten chunk into its IFD's arrays.
fn write_arrays(p: &Parsed, dst: &mut File, updates: Vec<(usize, usize, u64, u64)>) -> Result<()> {
    for (ifd, idx, off, len) in updates {
        let lay = &p.ifds[ifd];
        let (o, c) = (&lay.off_arr, &lay.cnt_arr);
        write_at(
            dst,
            o.pos + idx as u64 * o.size(),
            &o.encode(off, p.src.le).context("new chunk offset")?,
        )?;
        write_at(
            dst,
            c.pos + idx as u64 * c.size(),
            &c.encode(len, p.src.le).context("new chunk byte count")?,
        )?;
    }
    Ok(())
}

impl Parsed {
    /// Touched chunks whose slot is also used by another chunk (those are appended and their
    /// old slot left alone). A touched slot that overlaps the TIFF structure is an error.
    pub(super) fn shared_slots(&self, plan: &Plan) -> Result<HashSet<(usize, usize)>> {
        let mut slots: Vec<(u64, u64, usize, usize)> = Vec::new();
        for (i, lay) in self.ifds.iter().enumerate() {
            for (j, (&o, &c)) in lay.offsets.iter().zip(&lay.counts).enumerate() {
                if c > 0 {
                    slots.push((o, o + c, i, j));
                }
            }
        }
        slots.sort_unstable();
        let mut shared = HashSet::new();
        let mut max_end = 0u64;
        let mut max_who: Option<(usize, usize)> = None;
        for &(o, e, i, j) in &slots {
            if o < max_end {
                shared.insert((i, j));
                if let Some(w) = max_who {
                    shared.insert(w);
                }
            }
            if e > max_end {
                max_end = e;
                max_who = Some((i, j));
            }
        }
        shared.retain(|k| plan.contains_key(k));
        for &(ifd, idx) in plan.keys() {
            let lay = &self.ifds[ifd];
            let (o, c) = (lay.offsets[idx], lay.counts[idx]);
            if c == 0 || shared.contains(&(ifd, idx)) {
                continue;
            }
            if let Some(s) = self.structure.iter().find(|s| o < s.1 && s.0 < o + c) {
                bail!(
                    "IFD {ifd} chunk {idx} ({c} bytes at {o}) overlaps TIFF structure at {}..{}",
                    s.0,
                    s.1
                );
            }
        }
        Ok(shared)
    }
}

pub(super) fn trailer(data: &[u8]) -> [u8; 4] {
    let mut t = [0u8; 4];
    let k = data.len().min(4);
    t[4 - k..].copy_from_slice(&data[data.len() - k..]);
    t
}

pub(super) fn write_at(f: &mut File, off: u64, buf: &[u8]) -> Result<()> {
    f.seek(SeekFrom::Start(off))?;
    f.write_all(buf)?;
    Ok(())
}

pub(super) fn zero_at(f: &mut File, off: u64, n: u64) -> Result<u64> {
    let z = [0u8; 65536];
    f.seek(SeekFrom::Start(off))?;
    let mut left = n;
    while left > 0 {
        let k = left.min(z.len() as u64) as usize;
        f.write_all(&z[..k])?;
        left -= k as u64;
    }
    Ok(n)
}

#[cfg(unix)]
pub(super) fn same_file_guard(src: &File, dst: &File) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (src.metadata()?, dst.metadata()?);
    ensure!(
        !(a.dev() == b.dev() && a.ino() == b.ino()),
        "the output file is the input file"
    );
    Ok(())
}

#[cfg(not(unix))]
pub(super) fn same_file_guard(_: &File, _: &File) -> Result<()> {
    Ok(())
}

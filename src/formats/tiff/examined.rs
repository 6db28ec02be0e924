//! The copy of a TIFF that holds only what its IFDs reference ([`copy_examined`]).

use super::parse::Parsed;
use super::rewrite::same_file_guard;
use anyhow::{Context, Result};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// What [`copy_examined`] left out of the copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trim {
    /// Non-zero bytes that no IFD references, set to zero.
    pub zeroed: u64,
    /// Unreferenced bytes cut from the end (they held something).
    pub cut: u64,
    /// The copy's length.
    pub len: u64,
}

impl Trim {
    /// For the report: `None` when the copy is the source byte for byte.
    pub fn describe(&self) -> Option<String> {
        (self.zeroed > 0 || self.cut > 0).then(|| {
            format!(
                "data no IFD references ({} bytes zeroed, {} bytes cut from the end)",
                self.zeroed, self.cut
            )
        })
    }
}

/// Copy the TIFF `src` into `dst` (a fresh file, truncated first) with only what its IFDs
/// reference: header, IFDs, tag values, strips and tiles. Any other byte (data appended
/// after the image, or hidden between its parts) was never read by pixla and does not reach
/// the output: set to zero, or cut off at the end. Offsets stay valid; a file without such
/// bytes is copied byte for byte.
pub fn copy_examined(src: &Path, dst: &mut File) -> Result<Trim> {
    let mut p = Parsed::open(src)?;
    same_file_guard(&p.src.f, dst)?;
    let t = p.write_examined(dst)?;
    dst.flush()?;
    Ok(t)
}

impl Parsed {
    /// The byte ranges `[start, end)` that the file's IFDs reference, sorted and merged: the
    /// header, the IFDs and their tag values (EXIF and GPS IFDs included), every strip and
    /// tile, and a COG's tile leaders and trailers. Everything else is no part of the image.
    pub(super) fn referenced(&self) -> Vec<(u64, u64)> {
        let mut r = self.structure.clone();
        let (lead, trail) = self
            .ghost
            .as_ref()
            .map_or((false, false), |g| (g.leader, g.trailer));
        for lay in &self.ifds {
            for (&o, &c) in lay.offsets.iter().zip(&lay.counts).filter(|(_, &c)| c > 0) {
                r.push((
                    if lead { o.saturating_sub(4) } else { o },
                    (o + c + if trail { 4 } else { 0 }).min(self.src.len),
                ));
            }
        }
        r.sort_unstable();
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(r.len());
        for (a, b) in r {
            match out.last_mut() {
                Some(l) if a <= l.1 => l.1 = l.1.max(b),
                _ => out.push((a, b)),
            }
        }
        out
    }

    /// Copy the source into `dst` (truncated first), with every byte that no IFD references
    /// set to zero, and the unreferenced bytes after the last referenced one cut off when
    /// any of them is not zero: the output holds nothing but the image(s) pixla read.
    pub(super) fn write_examined(&mut self, dst: &mut File) -> Result<Trim> {
        let refs = self.referenced();
        let len = self.src.len;
        let last = refs.last().map_or(0, |r| r.1);
        dst.set_len(0)?;
        dst.seek(SeekFrom::Start(0))?;
        self.src.f.seek(SeekFrom::Start(0))?;
        let mut buf = vec![0u8; 1 << 20];
        let (mut pos, mut k) = (0u64, 0usize);
        let (mut zeroed, mut tail_nonzero) = (0u64, 0u64);
        while pos < len {
            let n = (len - pos).min(buf.len() as u64) as usize;
            (&self.src.f)
                .read_exact(&mut buf[..n])
                .context("copying the source")?;
            let mut p = pos;
            let stop = pos + n as u64;
            while p < stop {
                while k < refs.len() && refs[k].1 <= p {
                    k += 1;
                }
                let gap_end = refs.get(k).map_or(u64::MAX, |r| r.0);
                if gap_end <= p {
                    p = refs[k].1.min(stop);
                    continue;
                }
                let e = gap_end.min(stop);
                for b in &mut buf[(p - pos) as usize..(e - pos) as usize] {
                    if *b != 0 {
                        *b = 0;
                        if p >= last {
                            tail_nonzero += 1
                        } else {
                            zeroed += 1
                        }
                    }
                }
                p = e;
            }
            dst.write_all(&buf[..n]).context("writing the output")?;
            pos = stop;
        }
        let mut t = Trim {
            zeroed,
            cut: 0,
            len,
        };
        if tail_nonzero > 0 {
            dst.set_len(last)?;
            t.cut = len - last;
            t.len = last;
        }
        dst.seek(SeekFrom::Start(t.len))?;
        Ok(t)
    }
}

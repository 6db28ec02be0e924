//! Where an IFD's chunks are ([`Layout`], [`ArrayLoc`]), and how chunk pixels map onto a
//! window (`spans`, `blit_out`, `blit_in`).

use super::ifd::{type_size, Types};
use super::info::{Chunking, IfdInfo};
use super::window::{Samples, Window};
use anyhow::{anyhow, bail, ensure, Result};

/// Where one integer array (offsets or byte counts) lives: element i at `pos + i * size`.
#[derive(Debug, Clone)]
pub(super) struct ArrayLoc {
    pub(super) typ: u16,
    pub(super) pos: u64,
}

impl ArrayLoc {
    pub(super) fn size(&self) -> u64 {
        type_size(self.typ, Types::BigTiff).unwrap_or(4)
    }
    pub(super) fn encode(&self, v: u64, le: bool) -> Result<Vec<u8>> {
        Ok(match self.typ {
            3 => {
                let v =
                    u16::try_from(v).map_err(|_| anyhow!("{v} does not fit the SHORT array"))?;
                if le {
                    v.to_le_bytes().to_vec()
                } else {
                    v.to_be_bytes().to_vec()
                }
            }
            4 | 13 => {
                let v = u32::try_from(v).map_err(|_| anyhow!("{v} does not fit the LONG array"))?;
                if le {
                    v.to_le_bytes().to_vec()
                } else {
                    v.to_be_bytes().to_vec()
                }
            }
            16 | 18 => {
                if le {
                    v.to_le_bytes().to_vec()
                } else {
                    v.to_be_bytes().to_vec()
                }
            }
            t => bail!("offset array of type {t}"),
        })
    }
}

#[derive(Debug, Clone)]
pub(super) struct Layout {
    pub(super) info: IfdInfo,
    pub(super) offsets: Vec<u64>,
    pub(super) counts: Vec<u64>,
    pub(super) off_arr: ArrayLoc,
    pub(super) cnt_arr: ArrayLoc,
    /// Chunk size in pixels (strips: image width × rows per strip).
    pub(super) cw: u32,
    pub(super) ch: u32,
    pub(super) across: u32,
    pub(super) down: u32,
    pub(super) bps: u16,
    pub(super) fill: u16,
    pub(super) le: bool,
}

impl Layout {
    pub(super) fn per_plane(&self) -> usize {
        self.across as usize * self.down as usize
    }
    pub(super) fn planes(&self) -> u16 {
        if self.info.planar == 2 {
            self.info.samples_per_pixel
        } else {
            1
        }
    }
    /// Samples per pixel inside one chunk.
    pub(super) fn spc(&self) -> usize {
        if self.info.planar == 2 {
            1
        } else {
            self.info.samples_per_pixel as usize
        }
    }
    /// (plane, x0, y0) of a chunk.
    pub(super) fn origin(&self, idx: usize) -> (u16, u32, u32) {
        let pp = self.per_plane();
        let (plane, i) = (idx / pp, idx % pp);
        let (row, col) = (i / self.across as usize, i % self.across as usize);
        (plane as u16, col as u32 * self.cw, row as u32 * self.ch)
    }
    /// Stored size (w, h) of a chunk: full tiles, but the last strip only has the rows left.
    pub(super) fn stored(&self, idx: usize) -> (u32, u32) {
        match self.info.chunking {
            Chunking::Tiles { .. } => (self.cw, self.ch),
            Chunking::Strips { .. } => {
                let (_, _, y0) = self.origin(idx);
                (self.cw, self.ch.min(self.info.height - y0))
            }
        }
    }
    pub(super) fn chunks_in(&self, x: u32, y: u32, w: u32, h: u32) -> Vec<usize> {
        let (c0, c1) = (x / self.cw, (x + w - 1) / self.cw);
        let (r0, r1) = (y / self.ch, (y + h - 1) / self.ch);
        let mut v = Vec::new();
        for plane in 0..self.planes() as usize {
            for r in r0..=r1 {
                for c in c0..=c1 {
                    v.push(
                        plane * self.per_plane() + r as usize * self.across as usize + c as usize,
                    );
                }
            }
        }
        v
    }
}

pub(super) fn editable(ifds: &[Layout], ifd: usize) -> Result<&Layout> {
    let lay = ifds
        .get(ifd)
        .ok_or_else(|| anyhow!("no IFD {ifd} (the file has {})", ifds.len()))?;
    if let Some(why) = &lay.info.unsupported {
        bail!("IFD {ifd} cannot be edited: {why}");
    }
    Ok(lay)
}

pub(super) fn check_rect(lay: &Layout, x: u32, y: u32, w: u32, h: u32) -> Result<()> {
    ensure!(w > 0 && h > 0, "empty window {w}x{h}");
    let (iw, ih) = (lay.info.width, lay.info.height);
    ensure!(
        x as u64 + w as u64 <= iw as u64 && y as u64 + h as u64 <= ih as u64,
        "window {w}x{h} at ({x}, {y}) is outside the {iw}x{ih} image of IFD {}",
        lay.info.index
    );
    Ok(())
}

/// Runs shared by chunk `idx` and the window `(wx, wy, ww, wh)`: `f(chunk_index, window_index,
/// n)` for `n` consecutive samples in both (n = 1 per sample for planar chunks).
pub(super) fn spans(
    lay: &Layout,
    idx: usize,
    win: (u32, u32, u32, u32),
    mut f: impl FnMut(usize, usize, usize),
) {
    let (plane, x0, y0) = lay.origin(idx);
    let (sw, sh) = lay.stored(idx);
    let (x0, y0, sw, sh) = (x0 as u64, y0 as u64, sw as u64, sh as u64);
    let (wx, wy, ww, wh) = (win.0 as u64, win.1 as u64, win.2 as u64, win.3 as u64);
    let xa = x0.max(wx);
    let xb = (x0 + sw).min(wx + ww).min(lay.info.width as u64);
    let ya = y0.max(wy);
    let yb = (y0 + sh).min(wy + wh).min(lay.info.height as u64);
    if xa >= xb || ya >= yb {
        return;
    }
    let spp = lay.info.samples_per_pixel as usize;
    let n = (xb - xa) as usize;
    for y in ya..yb {
        let crow = ((y - y0) * sw + (xa - x0)) as usize;
        let wrow = ((y - wy) * ww + (xa - wx)) as usize;
        if lay.info.planar == 2 {
            for i in 0..n {
                f(crow + i, (wrow + i) * spp + plane as usize, 1);
            }
        } else {
            f(crow * spp, wrow * spp, n * spp);
        }
    }
}

pub(super) fn win_rect(w: &Window) -> (u32, u32, u32, u32) {
    (w.x, w.y, w.w, w.h)
}

/// Chunk pixels → window.
pub(super) fn blit_out(lay: &Layout, idx: usize, chunk: &Samples, win: &mut Window) -> Result<()> {
    let r = win_rect(win);
    match (chunk, &mut win.samples) {
        (Samples::U8(c), Samples::U8(w)) => spans(lay, idx, r, |ci, wi, n| {
            w[wi..wi + n].copy_from_slice(&c[ci..ci + n])
        }),
        (Samples::U16(c), Samples::U16(w)) => spans(lay, idx, r, |ci, wi, n| {
            w[wi..wi + n].copy_from_slice(&c[ci..ci + n])
        }),
        _ => bail!("window and image sample types differ"),
    }
    Ok(())
}

/// Window (patch) pixels → chunk.
pub(super) fn blit_in(lay: &Layout, idx: usize, chunk: &mut Samples, win: &Window) -> Result<()> {
    let r = win_rect(win);
    match (chunk, &win.samples) {
        (Samples::U8(c), Samples::U8(w)) => spans(lay, idx, r, |ci, wi, n| {
            c[ci..ci + n].copy_from_slice(&w[wi..wi + n])
        }),
        (Samples::U16(c), Samples::U16(w)) => spans(lay, idx, r, |ci, wi, n| {
            c[ci..ci + n].copy_from_slice(&w[wi..wi + n])
        }),
        _ => bail!("window and image sample types differ"),
    }
    Ok(())
}

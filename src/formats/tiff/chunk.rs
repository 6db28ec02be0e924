//! One strip or tile: decoded from the file ([`Src::decode_chunk`]) and encoded back
//! ([`encode_chunk`]), predictor included.

use super::codec::{compress, decompress};
use super::ifd::rd16;
use super::layout::Layout;
use super::parse::{read_at, Src};
use super::window::Samples;
use anyhow::{ensure, Context, Result};

impl Src {
    pub(super) fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<()> {
        read_at(&mut self.f, self.len, off, buf)
    }

    /// Decode one chunk into native samples (its stored size, predictor undone).
    pub(super) fn decode_chunk(&mut self, lay: &Layout, idx: usize) -> Result<Samples> {
        let (sw, sh) = lay.stored(idx);
        let n = sw as usize * sh as usize * lay.spc();
        let nbytes = n * lay.bps as usize / 8;
        let (o, c) = (lay.offsets[idx], lay.counts[idx]);
        let ctx = || {
            format!(
                "IFD {} chunk {idx} ({c} bytes at offset {o})",
                lay.info.index
            )
        };
        if o == 0 && c == 0 {
            return Ok(if lay.bps == 8 {
                Samples::U8(vec![lay.fill as u8; n])
            } else {
                Samples::U16(vec![lay.fill; n])
            });
        }
        let full = lay.cw as u64 * lay.ch as u64 * lay.spc() as u64 * lay.bps as u64 / 8;
        ensure!(
            c <= 2 * full + 65536,
            "{}: byte count is implausible for a {}-byte chunk",
            ctx(),
            full
        );
        let mut comp = vec![0u8; c as usize];
        self.read(o, &mut comp).with_context(ctx)?;
        let raw = decompress(lay.info.compression, &comp, nbytes).with_context(ctx)?;
        let mut s = if lay.bps == 8 {
            Samples::U8(raw)
        } else {
            Samples::U16(raw.chunks_exact(2).map(|b| rd16(self.le, b)).collect())
        };
        if lay.info.predictor == 2 {
            let row = sw as usize * lay.spc();
            let spc = lay.spc();
            match &mut s {
                Samples::U8(v) => v
                    .chunks_exact_mut(row)
                    .for_each(|r| (spc..row).for_each(|i| r[i] = r[i].wrapping_add(r[i - spc]))),
                Samples::U16(v) => v
                    .chunks_exact_mut(row)
                    .for_each(|r| (spc..row).for_each(|i| r[i] = r[i].wrapping_add(r[i - spc]))),
            }
        }
        Ok(s)
    }
}

pub(super) fn encode_chunk(lay: &Layout, mut s: Samples) -> Result<Vec<u8>> {
    let (sw, _) = (lay.cw, lay.ch);
    if lay.info.predictor == 2 {
        let spc = lay.spc();
        let row = sw as usize * spc;
        match &mut s {
            Samples::U8(v) => v.chunks_exact_mut(row).for_each(|r| {
                (spc..row)
                    .rev()
                    .for_each(|i| r[i] = r[i].wrapping_sub(r[i - spc]))
            }),
            Samples::U16(v) => v.chunks_exact_mut(row).for_each(|r| {
                (spc..row)
                    .rev()
                    .for_each(|i| r[i] = r[i].wrapping_sub(r[i - spc]))
            }),
        }
    }
    let le = lay.le;
    let raw = match s {
        Samples::U8(v) => v,
        Samples::U16(v) => v
            .iter()
            .flat_map(|x| if le { x.to_le_bytes() } else { x.to_be_bytes() })
            .collect(),
    };
    compress(lay.info.compression, &raw)
}

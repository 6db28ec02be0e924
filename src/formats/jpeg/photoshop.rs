//! Photoshop APP13 (image resource blocks): the thumbnails (0x0409, 0x040C) are re-rendered
//! from the redacted pixels or removed; every other resource is copied as it was. A block
//! that runs past the segment, or an unknown signature before the padding, is an error.

use super::previews::{MetaChanges, Previews, Renderer};
use super::segments::MAX_SEGMENT;
use anyhow::{anyhow, bail, Result};
use std::ops::Range;

/// The signature that starts a Photoshop APP13.
const SIG: &[u8] = b"Photoshop 3.0\0";

pub(super) fn edit_photoshop(
    body: &[u8],
    previews: Previews,
    r: &mut Renderer,
    ch: &mut MetaChanges,
) -> Result<Vec<u8>> {
    let mut out = SIG.to_vec();
    let mut i = SIG.len();
    while i < body.len() {
        let Some(b) = block_at(body, i)? else {
            // zero padding ends the resources
            out.extend(&body[i..]);
            break;
        };
        i = b.next;
        if b.id != 0x0409 && b.id != 0x040C {
            out.extend(&body[b.start..b.next]);
            continue;
        }
        thumbnail(body, &b, previews, r, ch, &mut out)?;
    }
    if out.len() > MAX_SEGMENT {
        bail!("Photoshop segment would exceed 64 KiB");
    }
    Ok(out)
}

/// One image resource block.
struct Block {
    start: usize,
    id: u16,
    /// End of the (padded) Pascal name: where the data size is.
    name_end: usize,
    data: Range<usize>,
    /// Start of the next block (the data padded to even length, at most the segment's end).
    next: usize,
}

/// The block at `i`; `None` when only zero padding is left. An unknown signature or a block
/// that runs past the segment is an error.
fn block_at(body: &[u8], i: usize) -> Result<Option<Block>> {
    let truncated = || anyhow!("truncated resource block");
    let sig = body.get(i..i + 4).ok_or_else(truncated)?;
    if !matches!(sig, b"8BIM" | b"MeSa" | b"PHUT" | b"AgHg" | b"DCSR") {
        if body[i..].iter().all(|&b| b == 0) {
            return Ok(None);
        }
        bail!("unknown resource signature at {i}");
    }
    let id = body
        .get(i + 4..i + 6)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(truncated)?;
    let nlen = *body.get(i + 6).ok_or_else(truncated)? as usize;
    let name_end = i + 6 + ((1 + nlen + 1) & !1);
    let size = body
        .get(name_end..name_end + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(truncated)? as usize;
    let data_start = name_end + 4;
    let data_end = data_start
        .checked_add(size)
        .filter(|&e| e <= body.len())
        .ok_or_else(|| anyhow!("resource {id:#06x} runs past the segment"))?;
    Ok(Some(Block {
        start: i,
        id,
        name_end,
        data: data_start..data_end,
        next: (data_end + (size & 1)).min(body.len()),
    }))
}

/// A thumbnail block: a JPEG one (0x040C) re-rendered into `out` when asked, else dropped.
fn thumbnail(
    body: &[u8],
    b: &Block,
    previews: Previews,
    r: &mut Renderer,
    ch: &mut MetaChanges,
    out: &mut Vec<u8>,
) -> Result<()> {
    let data = &body[b.data.clone()];
    let (w, h) = match (data.get(4..8), data.get(8..12)) {
        (Some(w), Some(h)) => (
            u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
            u32::from_be_bytes([h[0], h[1], h[2], h[3]]),
        ),
        _ => (0, 0),
    };
    let name = format!("photoshop-thumbnail {w}x{h}");
    let fmt_jpeg = data.get(0..4) == Some(&[0, 0, 0, 1]);
    if previews == Previews::Regenerate
        && fmt_jpeg
        && b.id == 0x040C
        && w > 0
        && h > 0
        && data.len() > 28
    {
        let q = crate::formats::jpeg::tables::jpeg_quality(&data[28..]).unwrap_or(85);
        let jpg = r.jpeg(w, h, q)?;
        let mut nd = data[..28].to_vec();
        nd[20..24].copy_from_slice(&(jpg.len() as u32).to_be_bytes());
        nd.extend(&jpg);
        out.extend(&body[b.start..b.name_end]);
        out.extend((nd.len() as u32).to_be_bytes());
        out.extend(&nd);
        if nd.len() & 1 == 1 {
            out.push(0);
        }
        ch.regenerated.push(name);
    } else {
        ch.removed.push(name);
    }
    Ok(())
}

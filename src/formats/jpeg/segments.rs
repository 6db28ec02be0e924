//! The JPEG marker walk: a file's segments before its first scan, where the scan starts and
//! where its end-of-image marker ends ([`layout`]); what kind of metadata an APPn/COM segment
//! holds ([`kind`]); and writing segments back ([`write_jpeg`]). Every length is checked
//! against the data: a broken or truncated structure is an error, never a panic, and a file
//! without an end-of-image marker after its scans is refused.

use anyhow::{anyhow, bail, Result};

/// Largest APPn body (65535 minus the length field).
pub(super) const MAX_SEGMENT: usize = 65533;

pub(super) fn write_jpeg(head: &[(u8, Vec<u8>)], tail: &[u8], extra: &[&[u8]]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(
        2 + head.iter().map(|s| s.1.len() + 4).sum::<usize>()
            + tail.len()
            + extra.iter().map(|e| e.len()).sum::<usize>(),
    );
    out.extend([0xFF, 0xD8]);
    for (m, b) in head {
        if b.len() > MAX_SEGMENT {
            bail!(
                "APP segment {m:#04x} would be {} bytes, over the 64 KiB limit",
                b.len()
            );
        }
        out.extend([0xFF, *m]);
        out.extend(((b.len() + 2) as u16).to_be_bytes());
        out.extend(b);
    }
    out.extend(tail);
    for e in extra {
        out.extend(*e);
    }
    Ok(out)
}

pub(super) const XMP_SIG: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
pub(super) const XMP_EXT_SIG: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";

#[derive(Debug)]
pub(super) struct Seg {
    pub(super) marker: u8,
    /// Offset of the 0xFF of the marker.
    pub(super) start: usize,
    /// Offset just after the segment's contents.
    pub(super) end: usize,
}

impl Seg {
    pub(super) fn body<'a>(&self, b: &'a [u8]) -> &'a [u8] {
        &b[self.start + 4..self.end]
    }
}

/// A JPEG's marker segments before its first scan, where that scan starts, and where its
/// EOI ends.
#[derive(Debug)]
pub(super) struct Layout {
    pub(super) segs: Vec<Seg>,
    pub(super) sos: usize,
    pub(super) end: usize,
}

pub(super) fn is_app_or_com(m: u8) -> bool {
    (0xE0..=0xEF).contains(&m) || m == 0xFE
}

/// Read the marker at `i` (after fill bytes): (marker, offset of its 0xFF).
pub(super) fn marker_at(b: &[u8], mut i: usize) -> Result<(u8, usize)> {
    if b.get(i) != Some(&0xFF) {
        bail!("broken marker structure at byte {i}");
    }
    while b.get(i + 1) == Some(&0xFF) {
        i += 1;
    }
    let m = *b
        .get(i + 1)
        .ok_or_else(|| anyhow!("truncated JPEG at byte {i}"))?;
    Ok((m, i))
}

pub(super) fn segment_end(b: &[u8], i: usize) -> Result<usize> {
    let len = b
        .get(i + 2..i + 4)
        .ok_or_else(|| anyhow!("truncated segment at byte {i}"))?;
    let len = u16::from_be_bytes([len[0], len[1]]) as usize;
    if len < 2 || i + 2 + len > b.len() {
        bail!("segment at byte {i} runs past the end of the data");
    }
    Ok(i + 2 + len)
}

pub(super) fn layout(b: &[u8]) -> Result<Layout> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        bail!("not a JPEG (no start-of-image marker)");
    }
    let mut segs = Vec::new();
    let mut i = 2;
    let sos = loop {
        let (m, at) = marker_at(b, i)?;
        match m {
            0xDA => break at,
            0xD9 => bail!("end of image before any scan"),
            0x00 | 0x01 | 0xD0..=0xD8 => bail!("unexpected marker {m:#04x} at byte {at}"),
            _ => {}
        }
        let end = segment_end(b, at)?;
        segs.push(Seg {
            marker: m,
            start: at,
            end,
        });
        i = end;
    };
    // scans and the segments between them, up to EOI
    let mut i = sos;
    loop {
        let (m, at) = marker_at(b, i)?;
        match m {
            0xD9 => {
                return Ok(Layout {
                    segs,
                    sos,
                    end: at + 2,
                })
            }
            0x00 | 0x01 | 0xD0..=0xD8 => bail!("unexpected marker {m:#04x} at byte {at}"),
            _ => {}
        }
        i = segment_end(b, at)?;
        if m == 0xDA {
            // entropy-coded data: skip stuffed zeros and restart markers
            loop {
                let j = i + b[i..]
                    .iter()
                    .position(|&x| x == 0xFF)
                    .ok_or_else(|| anyhow!("truncated JPEG: no end-of-image marker"))?;
                match b.get(j + 1) {
                    None => bail!("truncated JPEG: no end-of-image marker"),
                    Some(0x00) | Some(0xD0..=0xD7) => i = j + 2,
                    Some(0xFF) => i = j + 1,
                    Some(_) => {
                        i = j;
                        break;
                    }
                }
            }
        }
    }
}

/// Main's bytes after SOI up to and including EOI, without its APPn/COM segments (an Adobe
/// APP14 is kept: it tells decoders how main's colours are coded).
pub(super) fn main_tail(main: &[u8]) -> Result<Vec<u8>> {
    let l = layout(main)?;
    let mut out = Vec::with_capacity(l.end);
    for s in &l.segs {
        if is_app_or_com(s.marker) && !(s.marker == 0xEE && s.body(main).starts_with(b"Adobe")) {
            continue;
        }
        out.extend(&main[s.start..s.end]);
    }
    out.extend(&main[l.sos..l.end]);
    Ok(out)
}

pub(super) fn is_sof(m: u8) -> bool {
    matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC)
}

/// Width and height from a JPEG's frame header.
pub(super) fn jpeg_dims(b: &[u8]) -> Result<(u32, u32)> {
    let l = layout(b)?;
    let sof = l
        .segs
        .iter()
        .find(|s| is_sof(s.marker))
        .ok_or_else(|| anyhow!("no frame header"))?;
    let c = sof.body(b);
    if c.len() < 5 {
        bail!("short frame header");
    }
    let (h, w) = (
        u16::from_be_bytes([c[1], c[2]]) as u32,
        u16::from_be_bytes([c[3], c[4]]) as u32,
    );
    if w == 0 || h == 0 {
        bail!("frame header with zero size");
    }
    Ok((w, h))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Jfif,
    Jfxx,
    Exif,
    Xmp,
    XmpExt,
    Icc,
    Mpf,
    FlashPix,
    Photoshop,
    Adobe,
    Comment,
    Other(u8),
}

impl Kind {
    pub(super) fn label(&self) -> String {
        match self {
            Kind::Jfif => "jfif".into(),
            Kind::Jfxx => "jfxx-thumbnail".into(),
            Kind::Exif => "exif".into(),
            Kind::Xmp => "xmp".into(),
            Kind::XmpExt => "xmp-extended".into(),
            Kind::Icc => "icc".into(),
            Kind::Mpf => "mpf index and images".into(),
            Kind::FlashPix => "flashpix (APP2 FPXR, may hold previews)".into(),
            Kind::Photoshop => "photoshop-irb".into(),
            Kind::Adobe => "adobe".into(),
            Kind::Comment => "comment".into(),
            Kind::Other(m) => format!("app{}", m - 0xE0),
        }
    }
}

pub(super) fn kind(m: u8, b: &[u8]) -> Kind {
    match m {
        0xE0 if b.starts_with(b"JFIF\0") => Kind::Jfif,
        0xE0 if b.starts_with(b"JFXX\0") => Kind::Jfxx,
        0xE1 if b.starts_with(b"Exif\0\0") => Kind::Exif,
        0xE1 if b.starts_with(XMP_SIG) => Kind::Xmp,
        0xE1 if b.starts_with(XMP_EXT_SIG) => Kind::XmpExt,
        0xE2 if b.starts_with(b"ICC_PROFILE\0") => Kind::Icc,
        0xE2 if b.starts_with(b"MPF\0") => Kind::Mpf,
        0xE2 if b.starts_with(b"FPXR\0") => Kind::FlashPix,
        0xED if b.starts_with(b"Photoshop 3.0\0") => Kind::Photoshop,
        0xEE if b.starts_with(b"Adobe") => Kind::Adobe,
        0xFE => Kind::Comment,
        m => Kind::Other(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::jpeg::testdata::small_jpeg;

    #[test]
    fn jpeg_walk_finds_the_end_of_the_main_image() {
        let a = small_jpeg(20, 10, 90);
        let mut f = a.clone();
        f.extend(b"trailing junk \xFF\xD9");
        let l = layout(&f).unwrap();
        assert_eq!(l.end, a.len());
        assert!(layout(&a[..a.len() - 2]).is_err());
        for n in 0..a.len() {
            let _ = layout(&a[..n]);
        }
        assert_eq!(jpeg_dims(&a).unwrap(), (20, 10));
    }
}

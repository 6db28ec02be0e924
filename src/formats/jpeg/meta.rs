//! JPEG metadata assembly: the redacted main image (opaque JPEG bytes from any encoder) is
//! wrapped in the source's metadata segments, byte for byte, except what must change:
//!
//! - **previews** of the scene, which would show it unredacted: the EXIF IFD1 thumbnail, the
//!   MPF (CIPA DC-007) secondary images stored after the main image, a Photoshop IRB
//!   thumbnail, a JFIF/JFXX thumbnail, and image data inside XMP (`xmp:Thumbnails`,
//!   `GImage:Data`, `GDepth:Data`, extended XMP). EXIF, MPF and Photoshop previews are
//!   re-rendered from the redacted pixels at their own size ([`Previews::Regenerate`]) or
//!   removed ([`Previews::Remove`]); the others are always removed. A preview that cannot be
//!   re-rendered is removed.
//! - **GPS** (`strip_gps`): the EXIF GPS IFD (its entry, its table and its values, zeroed so
//!   no coordinate survives in orphaned bytes) and location properties in XMP.
//! - **everything** (`strip_metadata`): only the ICC profile and an EXIF holding the
//!   Orientation are kept.
//!
//! Every change is listed in [`MetaChanges`] for the report. Offsets inside EXIF are never
//! moved (the changed parts are zeroed in place; what ends the TIFF data is cut off), so
//! maker notes with absolute offsets stay readable.
//!
//! Hand-written parts, kept small and bounds-checked (img-parts parses segments only up to
//! the first scan and has no TIFF editing; kamadak-exif reads but does not edit): the JPEG
//! marker walk that finds the end of the main image, the TIFF/IFD surgery, the MP Entry
//! patching and the Photoshop resource walk. Hostile structures give an error (the caller
//! then fails the file), never a panic. XMP is edited with an XML parser (roxmltree), by
//! cutting whole attributes and elements out of the packet text.

use anyhow::{anyhow, bail, Context, Result};
use image::{DynamicImage, RgbImage};
use serde::Serialize;
use std::ops::Range;

/// What to do with embedded previews of the scene.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Previews {
    /// Re-render each preview from the redacted pixels at its original size.
    #[default]
    Regenerate,
    /// Remove every preview.
    Remove,
}

#[derive(Clone, Debug, Serialize, Default, PartialEq, Eq)]
pub struct MetaOptions {
    pub previews: Previews,
    /// Remove GPS and location data (EXIF GPS IFD, XMP location properties).
    pub strip_gps: bool,
    /// Keep only the ICC profile and the EXIF Orientation.
    pub strip_metadata: bool,
}

impl MetaOptions {
    /// Does this ask for metadata to be removed even from an image with nothing to hide?
    pub fn strips(&self) -> bool {
        self.strip_gps || self.strip_metadata
    }
}

/// Human-readable items for the report.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct MetaChanges {
    pub kept: Vec<String>,
    pub removed: Vec<String>,
    pub regenerated: Vec<String>,
}

impl MetaChanges {
    fn keep(&mut self, s: &str) {
        if !self.kept.iter().any(|k| k == s) {
            self.kept.push(s.to_string());
        }
    }
    fn absorb(&mut self, prefix: &str, o: MetaChanges) {
        self.removed
            .extend(o.removed.into_iter().map(|s| format!("{prefix}: {s}")));
        self.regenerated
            .extend(o.regenerated.into_iter().map(|s| format!("{prefix}: {s}")));
    }
}

/// Largest APPn body (65535 minus the length field).
const MAX_SEGMENT: usize = 65533;
/// Previews larger than this are refused (bounded memory on hostile sizes).
const MAX_PREVIEW_PIXELS: u64 = 40_000_000;

/// Wrap `main` in `source`'s metadata.
///
/// `main`: a complete JPEG (SOI … EOI) of the redacted image as an encoder wrote it; its own
/// APPn/COM segments are dropped, except an Adobe APP14 (it describes main's colour
/// transform; the source's APP14 is kept only where it is true of main too). `source`: the original
/// file's bytes. `redacted`: the redacted image in stored orientation, the only pixels
/// previews are rendered from. For an image with nothing to hide, `main` may be `source`
/// itself (its scans are then kept untouched).
pub fn assemble(
    main: &[u8],
    source: &[u8],
    redacted: &DynamicImage,
    opts: &MetaOptions,
) -> Result<(Vec<u8>, MetaChanges)> {
    let mut r = Renderer {
        src: redacted,
        rgb: None,
    };
    assemble_at(main, source, &mut r, opts, true)
}

fn assemble_at(
    main: &[u8],
    source: &[u8],
    r: &mut Renderer,
    opts: &MetaOptions,
    primary: bool,
) -> Result<(Vec<u8>, MetaChanges)> {
    let src = layout(source).context("reading the source JPEG's structure")?;
    let tail = main_tail(main).context("reading the new main image")?;
    // the source's Adobe APP14 says how the old scans coded colour: it stays only where it
    // is also true of main (main has none of its own, and YCbCr or grey)
    let adobe_fits = |body: &[u8]| {
        let ml = layout(main).ok();
        let own = ml.as_ref().is_some_and(|l| {
            l.segs
                .iter()
                .any(|s| s.marker == 0xEE && s.body(main).starts_with(b"Adobe"))
        });
        let comps = ml.as_ref().and_then(|l| {
            l.segs
                .iter()
                .find(|s| is_sof(s.marker))
                .and_then(|s| s.body(main).get(5).copied())
        });
        !own && (comps == Some(1) || (comps == Some(3) && body.get(11) == Some(&1)))
    };
    let mut ch = MetaChanges::default();
    // (marker, body) of each segment written before main's tables
    let mut head: Vec<(u8, Vec<u8>)> = Vec::new();
    let mut mpf_at: Option<(usize, usize)> = None; // (index in head, tiff start in source)
    let mut has_ext_xmp = false;
    // bytes after the main image that belong to MPF images listed as removed
    let mut mpf_covered = 0usize;
    let app: Vec<&Seg> = src
        .segs
        .iter()
        .filter(|s| is_app_or_com(s.marker))
        .collect();

    if opts.strip_metadata {
        for s in &app {
            let body = s.body(source);
            match kind(s.marker, body) {
                Kind::Icc => {
                    ch.keep("icc");
                    head.push((s.marker, body.to_vec()));
                }
                Kind::Adobe if adobe_fits(body) => head.push((s.marker, body.to_vec())),
                Kind::Adobe => {}
                Kind::Exif => {
                    let o = Tiff::new(&body[6..])
                        .and_then(|t| t.orientation())
                        .context("reading EXIF")?;
                    if let Some(o) = o {
                        let mut b = b"Exif\0\0".to_vec();
                        b.extend(minimal_exif(o, body.get(6..8) == Some(b"II"))?);
                        head.push((0xE1, b));
                        ch.keep("exif (Orientation only)");
                    }
                    ch.removed.push("exif (all tags but Orientation)".into());
                }
                Kind::Mpf if primary => {
                    ch.removed.push("mpf index".into());
                    let (names, covered) = list_mp_images(source, &src, &body[4..], s.start + 8);
                    ch.removed.extend(names);
                    mpf_covered = covered;
                }
                k => ch.removed.push(k.label()),
            }
        }
        if primary && source.len() - src.end > mpf_covered {
            ch.removed.push(format!(
                "data after the image ({} bytes)",
                source.len() - src.end - mpf_covered
            ));
        }
        return Ok((write_jpeg(&head, &tail, &[])?, ch));
    }

    for s in &app {
        let body = s.body(source);
        match kind(s.marker, body) {
            Kind::Exif => {
                let tiff =
                    edit_exif(&body[6..], opts, r, &mut ch, MAX_SEGMENT - 6).context("EXIF")?;
                let mut b = b"Exif\0\0".to_vec();
                b.extend(tiff);
                head.push((s.marker, b));
                ch.keep("exif");
            }
            Kind::Xmp => {
                let sig = XMP_SIG.len();
                match edit_xmp(&body[sig..], opts.strip_gps, true, &mut ch).context("XMP")? {
                    Some(x) => {
                        let mut b = XMP_SIG.to_vec();
                        b.extend(x);
                        head.push((s.marker, b));
                    }
                    None => head.push((s.marker, body.to_vec())),
                }
                ch.keep("xmp");
            }
            Kind::XmpExt => {
                has_ext_xmp = true;
            }
            Kind::Mpf if primary => match opts.previews {
                Previews::Regenerate => {
                    mpf_at = Some((head.len(), s.start + 4 + 4));
                    head.push((s.marker, body.to_vec()));
                }
                Previews::Remove => {
                    ch.removed.push("mpf index".into());
                    let (names, covered) = list_mp_images(source, &src, &body[4..], s.start + 8);
                    ch.removed.extend(names);
                    mpf_covered = covered;
                }
            },
            Kind::Jfif => {
                // a JFIF APP0 may carry an uncompressed thumbnail (Xthumbnail, Ythumbnail)
                let (tw, th) = (
                    body.get(12).copied().unwrap_or(0),
                    body.get(13).copied().unwrap_or(0),
                );
                if body.len() > 14 || tw != 0 || th != 0 {
                    let mut b = body[..body.len().min(14)].to_vec();
                    if b.len() == 14 {
                        b[12] = 0;
                        b[13] = 0;
                    }
                    ch.removed.push(format!("jfif-thumbnail {tw}x{th}"));
                    head.push((s.marker, b));
                } else {
                    head.push((s.marker, body.to_vec()));
                }
                ch.keep("jfif");
            }
            Kind::Photoshop => {
                let b =
                    edit_photoshop(body, opts.previews, r, &mut ch).context("Photoshop APP13")?;
                head.push((s.marker, b));
                ch.keep("photoshop-irb");
            }
            Kind::Adobe if adobe_fits(body) => {
                ch.keep("adobe");
                head.push((s.marker, body.to_vec()));
            }
            Kind::Adobe => {}
            k @ (Kind::Jfxx | Kind::FlashPix) => ch.removed.push(k.label()),
            Kind::Mpf => {
                // an MPF image's own MP attributes: no offsets to fix
                ch.keep("mpf");
                head.push((s.marker, body.to_vec()));
            }
            k => {
                ch.keep(&k.label());
                head.push((s.marker, body.to_vec()));
            }
        }
    }
    if has_ext_xmp {
        // extended XMP exists to hold large values: mostly embedded images and depth maps
        ch.removed
            .push("xmp-extended (may hold embedded images)".into());
    }

    let trailing = if primary { source.len() - src.end } else { 0 };
    if mpf_at.is_none() {
        if trailing > mpf_covered {
            ch.removed.push(format!(
                "data after the image ({} bytes)",
                trailing - mpf_covered
            ));
        }
        return Ok((write_jpeg(&head, &tail, &[])?, ch));
    }
    let (idx, tiff_src) = mpf_at.unwrap();
    match regenerate_mpf(source, &src, &head[idx].1[4..], tiff_src, r, opts) {
        Ok((entries, images)) => {
            let used: usize = images.iter().map(|i| i.src_len).sum();
            // where the MPF TIFF header lands in the output: SOI, the segments before it, its
            // own marker, length and "MPF\0"
            let tiff_out = 2 + head[..idx].iter().map(|s| 4 + s.1.len()).sum::<usize>() + 4 + 4;
            let main_len = 2 + head.iter().map(|s| 4 + s.1.len()).sum::<usize>() + tail.len();
            let mut pos = main_len;
            let mut patch: Vec<(usize, u32, u32)> = vec![(entries[0], u32::try_from(main_len)?, 0)];
            for im in &images {
                let off = u32::try_from(pos - tiff_out)
                    .map_err(|_| anyhow!("output too large for MPF offsets"))?;
                patch.push((im.entry_pos, u32::try_from(im.bytes.len())?, off));
                pos += im.bytes.len();
            }
            let body = &mut head[idx].1[4..];
            let be = body.starts_with(b"MM");
            for (at, size, off) in patch {
                put_u32(body, at + 4, size, be)?;
                put_u32(body, at + 8, off, be)?;
            }
            ch.keep("mpf");
            for im in &images {
                ch.regenerated.push(im.label.clone());
            }
            for im in &images {
                ch.absorb(&im.label, im.changes.clone());
            }
            if trailing > used {
                ch.removed
                    .push(format!("data after the image ({} bytes)", trailing - used));
            }
            let extra: Vec<&[u8]> = images.iter().map(|i| i.bytes.as_slice()).collect();
            Ok((write_jpeg(&head, &tail, &extra)?, ch))
        }
        Err(e) => {
            head.remove(idx);
            ch.removed
                .push(format!("mpf index and images (cannot regenerate: {e:#})"));
            if trailing > 0 {
                ch.removed
                    .push(format!("data after the image ({trailing} bytes)"));
            }
            Ok((write_jpeg(&head, &tail, &[])?, ch))
        }
    }
}

/// Names of the images an MPF index lists after the main image, for the report, and how
/// many bytes after the main image they cover (best effort: a broken index lists nothing).
fn list_mp_images(
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

struct MpImage {
    entry_pos: usize,
    bytes: Vec<u8>,
    src_len: usize,
    label: String,
    changes: MetaChanges,
}

/// Re-render every secondary image listed in an MPF index. Returns the position of the
/// first MP Entry (in the MPF TIFF data) and the new images in entry order.
fn regenerate_mpf(
    source: &[u8],
    src: &Layout,
    mpf_tiff: &[u8],
    tiff_src: usize,
    r: &mut Renderer,
    opts: &MetaOptions,
) -> Result<(Vec<usize>, Vec<MpImage>)> {
    let entries = mp_entries(mpf_tiff)?;
    if entries[0].offset != 0 {
        bail!("the first MP Entry is not the main image");
    }
    let mut out = Vec::new();
    let mut seen: Vec<Range<usize>> = Vec::new();
    for (i, e) in entries.iter().enumerate().skip(1) {
        if e.offset == 0 || e.size == 0 {
            bail!("MP Entry {} has no image data", i + 1);
        }
        let start = tiff_src
            .checked_add(e.offset as usize)
            .ok_or_else(|| anyhow!("offset overflow"))?;
        let end = start
            .checked_add(e.size as usize)
            .ok_or_else(|| anyhow!("size overflow"))?;
        if start < src.end || end > source.len() {
            bail!(
                "MP Entry {} points outside the data after the main image",
                i + 1
            );
        }
        if seen.iter().any(|r| ranges_overlap(r, &(start..end))) {
            bail!("MP Entries overlap");
        }
        seen.push(start..end);
        let old = &source[start..end];
        let (w, h) = jpeg_dims(old).with_context(|| format!("MP image {}", i + 1))?;
        let q = crate::formats::jpeg::tables::jpeg_quality(old).unwrap_or(85);
        let new_main = r.jpeg(w, h, q)?;
        let (bytes, changes) = assemble_at(&new_main, old, r, opts, false)
            .with_context(|| format!("MP image {}", i + 1))?;
        out.push(MpImage {
            entry_pos: e.pos,
            bytes,
            src_len: e.size as usize,
            label: format!("mpf-image {} ({w}x{h})", i + 1),
            changes,
        });
    }
    Ok((vec![entries[0].pos], out))
}

struct MpEntry {
    /// Position of the 16-byte entry in the MPF TIFF data.
    pos: usize,
    size: u32,
    offset: u32,
}

fn mp_entries(tiff: &[u8]) -> Result<Vec<MpEntry>> {
    let t = Tiff::new(tiff)?;
    let ifd = t.ifd(t.u32(4)?)?;
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

fn ranges_overlap(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

fn write_jpeg(head: &[(u8, Vec<u8>)], tail: &[u8], extra: &[&[u8]]) -> Result<Vec<u8>> {
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

/// The same rules on a bare EXIF TIFF (a PNG eXIf chunk): thumbnail regenerated from
/// `redacted` or removed, GPS stripped; with `strip_metadata`, an EXIF holding only the
/// Orientation (or `None` when there is none).
pub fn edit_exif_tiff(
    tiff: &[u8],
    redacted: &DynamicImage,
    opts: &MetaOptions,
) -> Result<(Option<Vec<u8>>, MetaChanges)> {
    let mut ch = MetaChanges::default();
    if opts.strip_metadata {
        let t = Tiff::new(tiff)?;
        ch.removed.push("exif (all tags but Orientation)".into());
        return match t.orientation()? {
            Some(o) => Ok((Some(minimal_exif(o, !t.be)?), ch)),
            None => Ok((None, ch)),
        };
    }
    let mut r = Renderer {
        src: redacted,
        rgb: None,
    };
    let d = edit_exif(tiff, opts, &mut r, &mut ch, usize::MAX)?;
    Ok((Some(d), ch))
}

/// The XMP rules on a bare packet: embedded images cut (unless previews are kept),
/// location properties cut when `strip_gps`. `None` when nothing changed.
pub fn edit_xmp_packet(
    packet: &[u8],
    opts: &MetaOptions,
) -> Result<(Option<Vec<u8>>, MetaChanges)> {
    let mut ch = MetaChanges::default();
    let r = edit_xmp(packet, opts.strip_gps, true, &mut ch)?;
    Ok((r, ch))
}

// ---------------------------------------------------------------------------------------
// JPEG structure

const XMP_SIG: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const XMP_EXT_SIG: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";

#[derive(Debug)]
struct Seg {
    marker: u8,
    /// Offset of the 0xFF of the marker.
    start: usize,
    /// Offset just after the segment's contents.
    end: usize,
}

impl Seg {
    fn body<'a>(&self, b: &'a [u8]) -> &'a [u8] {
        &b[self.start + 4..self.end]
    }
}

/// A JPEG's marker segments before its first scan, where that scan starts, and where its
/// EOI ends.
#[derive(Debug)]
struct Layout {
    segs: Vec<Seg>,
    sos: usize,
    end: usize,
}

fn is_app_or_com(m: u8) -> bool {
    (0xE0..=0xEF).contains(&m) || m == 0xFE
}

/// Read the marker at `i` (after fill bytes): (marker, offset of its 0xFF).
fn marker_at(b: &[u8], mut i: usize) -> Result<(u8, usize)> {
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

fn segment_end(b: &[u8], i: usize) -> Result<usize> {
    let len = b
        .get(i + 2..i + 4)
        .ok_or_else(|| anyhow!("truncated segment at byte {i}"))?;
    let len = u16::from_be_bytes([len[0], len[1]]) as usize;
    if len < 2 || i + 2 + len > b.len() {
        bail!("segment at byte {i} runs past the end of the data");
    }
    Ok(i + 2 + len)
}

fn layout(b: &[u8]) -> Result<Layout> {
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
fn main_tail(main: &[u8]) -> Result<Vec<u8>> {
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

fn is_sof(m: u8) -> bool {
    matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC)
}

/// Width and height from a JPEG's frame header.
fn jpeg_dims(b: &[u8]) -> Result<(u32, u32)> {
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
enum Kind {
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
    fn label(&self) -> String {
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

fn kind(m: u8, b: &[u8]) -> Kind {
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

// ---------------------------------------------------------------------------------------
// Rendering previews from the redacted pixels

struct Renderer<'a> {
    src: &'a DynamicImage,
    rgb: Option<RgbImage>,
}

impl Renderer<'_> {
    /// The redacted image fitted into `w`×`h` (black bars where the aspect differs, as
    /// cameras do), encoded as a baseline JPEG without APPn segments.
    fn jpeg(&mut self, w: u32, h: u32, quality: u8) -> Result<Vec<u8>> {
        // a preview is smaller than its image; a hostile size must not cost memory or time
        let area = self.src.width() as u64 * self.src.height() as u64;
        if w as u64 * h as u64 > MAX_PREVIEW_PIXELS.min(area.max(1 << 20)) {
            bail!("preview of {w}x{h} is larger than the image");
        }
        let src = self.src;
        let full = self.rgb.get_or_insert_with(|| src.to_rgb8());
        let (sw, sh) = full.dimensions();
        let s = (w as f64 / sw as f64).min(h as f64 / sh as f64);
        let iw = ((sw as f64 * s).round() as u32).clamp(1, w);
        let ih = ((sh as f64 * s).round() as u32).clamp(1, h);
        let img = if w - iw <= 1 && h - ih <= 1 {
            image::imageops::thumbnail(full, w, h)
        } else {
            let inner = image::imageops::thumbnail(full, iw, ih);
            let mut canvas = RgbImage::new(w, h);
            image::imageops::overlay(
                &mut canvas,
                &inner,
                ((w - iw) / 2) as i64,
                ((h - ih) / 2) as i64,
            );
            canvas
        };
        let mut raw = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut raw, quality.clamp(1, 100))
            .encode_image(&img)?;
        let mut out = vec![0xFF, 0xD8];
        out.extend(main_tail(&raw)?);
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------
// TIFF (inside EXIF, MPF)

struct Tiff<'a> {
    d: &'a [u8],
    be: bool,
}

#[derive(Debug, Clone)]
struct Entry {
    /// Position of the 12-byte entry.
    pos: usize,
    tag: u16,
    typ: u16,
    count: u32,
    /// The value/offset field as a u32.
    val: u32,
}

#[derive(Debug, Clone)]
struct Ifd {
    off: usize,
    entries: Vec<Entry>,
    /// Position of the next-IFD link.
    next_pos: usize,
    next: u32,
}

impl Ifd {
    fn get(&self, tag: u16) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }
    /// The bytes of the IFD's table: count, entries, next link.
    fn table(&self) -> Range<usize> {
        self.off..self.next_pos + 4
    }
}

fn type_size(t: u16) -> Option<usize> {
    match t {
        1 | 2 | 6 | 7 => Some(1),
        3 | 8 => Some(2),
        4 | 9 | 11 | 13 => Some(4),
        5 | 10 | 12 => Some(8),
        _ => None,
    }
}

impl<'a> Tiff<'a> {
    fn new(d: &'a [u8]) -> Result<Self> {
        let be = match d.get(..4) {
            Some(b"MM\0*") => true,
            Some(b"II*\0") => false,
            _ => bail!("no TIFF header"),
        };
        Ok(Tiff { d, be })
    }
    fn u16(&self, at: usize) -> Result<u16> {
        let b = self
            .d
            .get(
                at..at
                    .checked_add(2)
                    .ok_or_else(|| anyhow!("offset overflow"))?,
            )
            .ok_or_else(|| anyhow!("read past the end of the TIFF data at {at}"))?;
        Ok(if self.be {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    }
    fn u32(&self, at: usize) -> Result<u32> {
        let b = self
            .d
            .get(
                at..at
                    .checked_add(4)
                    .ok_or_else(|| anyhow!("offset overflow"))?,
            )
            .ok_or_else(|| anyhow!("read past the end of the TIFF data at {at}"))?;
        let b = [b[0], b[1], b[2], b[3]];
        Ok(if self.be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
    fn ifd(&self, off: u32) -> Result<Ifd> {
        let off = off as usize;
        if off < 8 || off >= self.d.len() {
            bail!(
                "IFD offset {off} outside the TIFF data ({} bytes)",
                self.d.len()
            );
        }
        let n = self.u16(off)? as usize;
        if n > 1000 {
            bail!("IFD at {off} claims {n} entries");
        }
        let next_pos = off + 2 + 12 * n;
        if next_pos + 4 > self.d.len() {
            bail!("IFD at {off} is truncated");
        }
        let entries = (0..n)
            .map(|i| {
                let p = off + 2 + 12 * i;
                Ok(Entry {
                    pos: p,
                    tag: self.u16(p)?,
                    typ: self.u16(p + 2)?,
                    count: self.u32(p + 4)?,
                    val: self.u32(p + 8)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Ifd {
            off,
            entries,
            next_pos,
            next: self.u32(next_pos)?,
        })
    }
    /// The out-of-line bytes of an entry's value, if it has any.
    fn value_range(&self, e: &Entry) -> Result<Option<Range<usize>>> {
        let size = type_size(e.typ)
            .ok_or_else(|| anyhow!("tag {:#06x} has unknown type {}", e.tag, e.typ))?
            .checked_mul(e.count as usize)
            .ok_or_else(|| anyhow!("tag {:#06x}: size overflow", e.tag))?;
        if size <= 4 {
            return Ok(None);
        }
        let start = e.val as usize;
        let end = start
            .checked_add(size)
            .ok_or_else(|| anyhow!("tag {:#06x}: size overflow", e.tag))?;
        if start < 8 || end > self.d.len() {
            bail!(
                "tag {:#06x}: value at {start}..{end} outside the TIFF data ({} bytes)",
                e.tag,
                self.d.len()
            );
        }
        Ok(Some(start..end))
    }
    /// A sub-IFD pointed to by `tag` in `ifd`.
    fn sub(&self, ifd: &Ifd, tag: u16) -> Result<Option<Ifd>> {
        match ifd.get(tag) {
            None => Ok(None),
            Some(e) if (e.typ == 4 || e.typ == 13) && e.count == 1 => Ok(Some(
                self.ifd(e.val)
                    .with_context(|| format!("sub-IFD {tag:#06x}"))?,
            )),
            Some(_) => bail!("malformed sub-IFD pointer {tag:#06x}"),
        }
    }
    fn orientation(&self) -> Result<Option<u16>> {
        let ifd0 = self.ifd(self.u32(4)?)?;
        Ok(ifd0
            .get(0x0112)
            .filter(|e| e.typ == 3 && e.count == 1)
            .map(|e| {
                if self.be {
                    (e.val >> 16) as u16
                } else {
                    (e.val & 0xFFFF) as u16
                }
            })
            .filter(|o| (1..=8).contains(o)))
    }
    /// Table and out-of-line values of an IFD (values must lie inside the data).
    fn ifd_ranges(&self, ifd: &Ifd) -> Result<Vec<Range<usize>>> {
        let mut v = vec![ifd.table()];
        for e in &ifd.entries {
            v.extend(self.value_range(e)?);
        }
        Ok(v)
    }
}

fn put_u32(d: &mut [u8], at: usize, v: u32, be: bool) -> Result<()> {
    let b = if be { v.to_be_bytes() } else { v.to_le_bytes() };
    d.get_mut(at..at + 4)
        .ok_or_else(|| anyhow!("write past the end at {at}"))?
        .copy_from_slice(&b);
    Ok(())
}

/// An EXIF TIFF with only IFD0 and its Orientation.
fn minimal_exif(orientation: u16, little_endian: bool) -> Result<Vec<u8>> {
    let f = exif::Field {
        tag: exif::Tag::Orientation,
        ifd_num: exif::In::PRIMARY,
        value: exif::Value::Short(vec![orientation]),
    };
    let mut w = exif::experimental::Writer::new();
    w.push_field(&f);
    let mut out = std::io::Cursor::new(Vec::new());
    w.write(&mut out, little_endian)
        .map_err(|e| anyhow!("writing the minimal EXIF: {e}"))?;
    Ok(out.into_inner())
}

/// Apply the GPS and preview rules to an EXIF TIFF. Never moves a byte that stays: removed
/// parts are zeroed in place and cut off where they end the data; a regenerated thumbnail
/// goes at the end.
fn edit_exif(
    tiff: &[u8],
    opts: &MetaOptions,
    r: &mut Renderer,
    ch: &mut MetaChanges,
    max_len: usize,
) -> Result<Vec<u8>> {
    let t = Tiff::new(tiff)?;
    let ifd0 = t.ifd(t.u32(4)?).context("IFD0")?;
    let exif_ifd = t.sub(&ifd0, 0x8769)?;
    let interop = match &exif_ifd {
        Some(e) => t.sub(e, 0xA005)?,
        None => None,
    };
    let gps = t.sub(&ifd0, 0x8825)?;
    let ifd1 = if ifd0.next != 0 {
        Some(t.ifd(ifd0.next).context("IFD1")?)
    } else {
        None
    };
    // every IFD must have its own bytes: a loop or an overlap is a hostile structure
    let all: Vec<&Ifd> = [
        Some(&ifd0),
        exif_ifd.as_ref(),
        interop.as_ref(),
        gps.as_ref(),
        ifd1.as_ref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            if ranges_overlap(&a.table(), &b.table()) {
                bail!("IFDs at {} and {} overlap (IFD loop?)", a.off, b.off);
            }
        }
    }
    if let Some(i1) = &ifd1 {
        if i1.next != 0 {
            bail!(
                "IFD1 links to a further IFD at {} (IFD loop or unsupported IFD chain)",
                i1.next
            );
        }
    }
    // what must not be touched: the tables and values of the IFDs that stay
    let mut keep: Vec<Range<usize>> = std::iter::once(0..8).collect();
    for ifd in [Some(&ifd0), exif_ifd.as_ref(), interop.as_ref()]
        .into_iter()
        .flatten()
    {
        keep.push(ifd.table());
        for e in &ifd.entries {
            if let Ok(Some(r)) = t.value_range(e) {
                keep.push(r);
            }
        }
    }
    let check_free = |rs: &[Range<usize>], what: &str| -> Result<()> {
        for r in rs {
            if keep.iter().any(|k| ranges_overlap(k, r)) {
                bail!("{what} overlaps other EXIF data");
            }
        }
        Ok(())
    };

    let mut d = tiff.to_vec();
    let be = t.be;
    let mut removed: Vec<Range<usize>> = Vec::new();
    let mut ifd0_next_pos = ifd0.next_pos;

    if opts.strip_gps {
        if let Some(g) = &gps {
            let rs = t.ifd_ranges(g).context("GPS IFD")?;
            check_free(&rs, "the GPS IFD")?;
            for r in &rs {
                d[r.clone()].fill(0);
            }
            removed.extend(rs);
            // drop the GPSInfo entry from IFD0: later entries move up, the freed 12 bytes are zeroed
            let e = ifd0.get(0x8825).unwrap();
            let end = ifd0.next_pos + 4;
            d.copy_within(e.pos + 12..end, e.pos);
            d[end - 12..end].fill(0);
            let n = ifd0.entries.len() as u16 - 1;
            let nb = if be { n.to_be_bytes() } else { n.to_le_bytes() };
            d[ifd0.off..ifd0.off + 2].copy_from_slice(&nb);
            ifd0_next_pos -= 12;
            ch.removed
                .push(format!("gps (exif GPS IFD, {} tags)", g.entries.len()));
        }
    }

    if let Some(i1) = ifd1.as_ref() {
        let jpeg = match (i1.get(0x0201), i1.get(0x0202)) {
            (Some(o), Some(l)) => {
                if o.typ != 4 || o.count != 1 || l.typ != 4 || l.count != 1 {
                    bail!("malformed thumbnail offset/length tags");
                }
                let start = o.val as usize;
                let end = start
                    .checked_add(l.val as usize)
                    .ok_or_else(|| anyhow!("thumbnail size overflow"))?;
                if start < 8 || end > tiff.len() {
                    bail!(
                        "thumbnail at {start}..{end} outside the EXIF data ({} bytes)",
                        tiff.len()
                    );
                }
                Some((o.pos, l.pos, start..end))
            }
            (None, None) => None,
            _ => bail!("thumbnail offset without length (or the reverse)"),
        };
        let strips = i1.get(0x0111).is_some();
        if jpeg.is_some() || strips {
            // the thumbnail's pixels must have bytes of their own (they are zeroed); IFD1's table
            // and values are zeroed only where no other IFD uses them
            let mut pix: Vec<Range<usize>> = Vec::new();
            if let (Some(so), Some(sc)) = (i1.get(0x0111), i1.get(0x0117)) {
                let offs = strip_list(&t, so)?;
                let lens = strip_list(&t, sc)?;
                if offs.len() != lens.len() {
                    bail!("IFD1 strip offsets and counts differ in number");
                }
                for (o, l) in offs.into_iter().zip(lens) {
                    let end = (o as usize)
                        .checked_add(l as usize)
                        .filter(|&e| e <= tiff.len())
                        .ok_or_else(|| anyhow!("thumbnail strip outside the EXIF data"))?;
                    pix.push(o as usize..end);
                }
            }
            if let Some((_, _, r)) = &jpeg {
                pix.push(r.clone());
            }
            check_free(&pix, "the IFD1 thumbnail")?;
            let mut rs: Vec<Range<usize>> = t
                .ifd_ranges(i1)
                .context("IFD1")?
                .into_iter()
                .filter(|r| !keep.iter().any(|k| ranges_overlap(k, r)))
                .collect();
            rs.extend(pix);
            let old = jpeg.as_ref().map(|j| &tiff[j.2.clone()]);
            // an EXIF thumbnail fits in 64 KiB: a bigger claimed size is not believed
            let size = old
                .and_then(|o| jpeg_dims(o).ok())
                .filter(|&(w, h)| w as u64 * h as u64 <= 1 << 20);
            let name = match size {
                Some((w, h)) => format!("exif-thumbnail {w}x{h}"),
                None => "exif-thumbnail".to_string(),
            };
            // regenerate into the same IFD1 when possible
            let mut regenerated = false;
            if opts.previews == Previews::Regenerate {
                if let (Some((opos, lpos, r0)), Some((w, h))) = (&jpeg, size) {
                    let q0 =
                        crate::formats::jpeg::tables::jpeg_quality(&tiff[r0.clone()]).unwrap_or(85);
                    // zero the old thumbnail, cut it off if it ends the data, append the new one
                    d[r0.clone()].fill(0);
                    let mut cut = removed.clone();
                    cut.push(r0.clone());
                    let base = truncate_len(d.len(), &cut);
                    let at = base + (base & 1);
                    let mut q = q0;
                    loop {
                        let new = r.jpeg(w, h, q)?;
                        if at + new.len() <= max_len {
                            d.truncate(base);
                            d.resize(at, 0);
                            d.extend(&new);
                            put_u32(&mut d, *opos + 8, at as u32, be)?;
                            put_u32(&mut d, *lpos + 8, new.len() as u32, be)?;
                            regenerated = true;
                            break;
                        }
                        if q <= 15 {
                            break;
                        }
                        q = q.saturating_sub(10).max(10);
                    }
                    if regenerated {
                        ch.regenerated.push(if q == q0 {
                            name.clone()
                        } else {
                            format!("{name} (quality {q}, to fit the 64 KiB segment)")
                        });
                    }
                }
            }
            if !regenerated {
                for r in &rs {
                    d[r.clone()].fill(0);
                }
                removed.extend(rs);
                put_u32(&mut d, ifd0_next_pos, 0, be)?;
                ch.removed.push(if strips && jpeg.is_none() {
                    "exif-thumbnail (uncompressed)".into()
                } else {
                    name
                });
            }
        }
    }
    let n = truncate_len(d.len(), &removed);
    d.truncate(n);
    if d.len() > max_len {
        bail!("EXIF is {} bytes, over the 64 KiB segment limit", d.len());
    }
    Ok(d)
}

fn strip_list(t: &Tiff, e: &Entry) -> Result<Vec<u32>> {
    if e.count > 4096 {
        bail!("too many thumbnail strips");
    }
    let n = e.count as usize;
    let at = |i: usize| -> Result<u32> {
        match (e.typ, t.value_range(e)?) {
            (3, None) => Ok(if (i == 0) == t.be {
                e.val >> 16
            } else {
                e.val & 0xFFFF
            }),
            (4, None) => Ok(e.val),
            (3, Some(r)) => Ok(t.u16(r.start + 2 * i)? as u32),
            (4, Some(r)) => t.u32(r.start + 4 * i),
            _ => bail!("malformed strip tag"),
        }
    };
    (0..n).map(at).collect()
}

/// Length of the data once removed ranges that end it are cut off (repeatedly).
fn truncate_len(len: usize, removed: &[Range<usize>]) -> usize {
    let mut n = len;
    loop {
        match removed
            .iter()
            .filter(|r| r.end >= n && r.start < n)
            .map(|r| r.start)
            .min()
        {
            Some(s) => n = s,
            None => return n.max(8),
        }
    }
}

// ---------------------------------------------------------------------------------------
// XMP

const NS_EXIF: &str = "http://ns.adobe.com/exif/1.0/";
const NS_XMP: &str = "http://ns.adobe.com/xap/1.0/";
const NS_NOTE: &str = "http://ns.adobe.com/xmp/note/";
const NS_GIMAGE: &str = "http://ns.google.com/photos/1.0/image/";
const NS_GDEPTH: &str = "http://ns.google.com/photos/1.0/depthmap/";
const NS_PHOTOSHOP: &str = "http://ns.adobe.com/photoshop/1.0/";
const NS_IPTC_CORE: &str = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/";
const NS_IPTC_EXT: &str = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/";
const NS_RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const NS_X: &str = "adobe:ns:meta/";

/// Embedded images (always removed: they show the unredacted scene).
fn xmp_is_image(ns: &str, local: &str) -> bool {
    matches!(
        (ns, local),
        (NS_XMP, "Thumbnails")
            | (NS_GIMAGE, "Data")
            | (NS_GDEPTH, "Data")
            | (NS_GDEPTH, "Confidence")
            | (NS_NOTE, "HasExtendedXMP")
    )
}

/// GPS and location properties: any property named GPS…/Gps…, …Latitude, …Longitude (and
/// DJI's "GpsLongtitude"), DJI's AbsoluteAltitude, and the IPTC/Photoshop place names.
pub fn xmp_is_location(ns: &str, local: &str) -> bool {
    if ns == NS_RDF || ns == NS_X {
        return false;
    }
    let l = local.to_ascii_lowercase();
    l.starts_with("gps")
        || l.contains("latitude")
        || l.contains("longitude")
        || l.contains("longtitude")
        || l == "absolutealtitude"
        || (ns == NS_EXIF && l.starts_with("gps"))
        || matches!(
            (ns, local),
            (NS_PHOTOSHOP, "City")
                | (NS_PHOTOSHOP, "State")
                | (NS_PHOTOSHOP, "Country")
                | (NS_IPTC_CORE, "Location")
                | (NS_IPTC_CORE, "CountryCode")
                | (NS_IPTC_EXT, "LocationCreated")
                | (NS_IPTC_EXT, "LocationShown")
        )
}

/// Cut the matching properties out of an XMP packet. `None` when nothing changed.
fn edit_xmp(
    packet: &[u8],
    strip_gps: bool,
    cut_images: bool,
    ch: &mut MetaChanges,
) -> Result<Option<Vec<u8>>> {
    let needles: &[&[u8]] = &[b"Thumbnails", b"GImage", b"GDepth", b"HasExtendedXMP"];
    let has_images = cut_images
        && needles
            .iter()
            .any(|n| packet.windows(n.len()).any(|w| w == *n));
    if !strip_gps && !has_images {
        return Ok(None);
    }
    let text = std::str::from_utf8(packet).map_err(|_| anyhow!("XMP packet is not UTF-8"))?;
    // parse up to the last '>' (packets may end in NULs or padding)
    let xml_end = text
        .rfind('>')
        .map(|i| i + 1)
        .ok_or_else(|| anyhow!("XMP packet has no XML"))?;
    let xml = &text[..xml_end];
    let doc =
        roxmltree::Document::parse(xml).map_err(|e| anyhow!("XMP is not well-formed XML: {e}"))?;
    let mut cut: Vec<(Range<usize>, String, bool)> = Vec::new(); // (range, name, is image)
    let ws_before = |start: usize| -> usize {
        let b = xml.as_bytes();
        let mut s = start;
        while s > 0 && matches!(b[s - 1], b' ' | b'\t' | b'\r' | b'\n') {
            s -= 1;
        }
        s
    };
    let mut stack = vec![doc.root()];
    while let Some(n) = stack.pop() {
        for a in n.attributes() {
            let (Some(ns), local) = (a.namespace(), a.name()) else {
                continue;
            };
            let img = cut_images && xmp_is_image(ns, local);
            if img || (strip_gps && xmp_is_location(ns, local)) {
                let r = a.range();
                cut.push((
                    ws_before(r.start)..r.end,
                    xml[a.range_qname()].to_string(),
                    img,
                ));
            }
        }
        for c in n.children().filter(|c| c.is_element()) {
            let tag = c.tag_name();
            let img = cut_images
                && tag
                    .namespace()
                    .is_some_and(|ns| xmp_is_image(ns, tag.name()));
            if img
                || (strip_gps
                    && tag
                        .namespace()
                        .is_some_and(|ns| xmp_is_location(ns, tag.name())))
            {
                let r = c.range();
                let qname_end = xml[r.start + 1..]
                    .find(|ch: char| ch.is_whitespace() || ch == '>' || ch == '/')
                    .map(|i| r.start + 1 + i)
                    .unwrap_or(r.end);
                cut.push((
                    ws_before(r.start)..r.end,
                    xml[r.start + 1..qname_end].to_string(),
                    img,
                ));
            } else {
                stack.push(c);
            }
        }
    }
    if cut.is_empty() {
        return Ok(None);
    }
    cut.sort_by_key(|c| c.0.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (r, name, img) in &cut {
        if r.start < at {
            bail!("overlapping XMP edits");
        }
        out.push_str(&xml[at..r.start]);
        at = r.end;
        let label = if *img {
            format!("xmp {name} (embedded image data)")
        } else {
            format!("xmp {name}")
        };
        if !ch.removed.contains(&label) {
            ch.removed.push(label);
        }
    }
    out.push_str(&text[at..]);
    roxmltree::Document::parse(&out[..out.rfind('>').map(|i| i + 1).unwrap_or(0)])
        .map_err(|e| anyhow!("XMP after editing is not well-formed ({e}); refusing to write it"))?;
    Ok(Some(out.into_bytes()))
}

// ---------------------------------------------------------------------------------------
// Photoshop APP13 (image resource blocks): thumbnails 0x0409 / 0x040C

fn edit_photoshop(
    body: &[u8],
    previews: Previews,
    r: &mut Renderer,
    ch: &mut MetaChanges,
) -> Result<Vec<u8>> {
    const SIG: &[u8] = b"Photoshop 3.0\0";
    let mut out = SIG.to_vec();
    let mut i = SIG.len();
    let rd32 = |i: usize| -> Result<u32> {
        body.get(i..i + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| anyhow!("truncated resource block"))
    };
    while i < body.len() {
        let start = i;
        let sig = body
            .get(i..i + 4)
            .ok_or_else(|| anyhow!("truncated resource block"))?;
        if !matches!(sig, b"8BIM" | b"MeSa" | b"PHUT" | b"AgHg" | b"DCSR") {
            if body[i..].iter().all(|&b| b == 0) {
                out.extend(&body[i..]);
                break;
            }
            bail!("unknown resource signature at {i}");
        }
        let id = body
            .get(i + 4..i + 6)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| anyhow!("truncated resource block"))?;
        let nlen = *body
            .get(i + 6)
            .ok_or_else(|| anyhow!("truncated resource block"))? as usize;
        let name_end = i + 6 + ((1 + nlen + 1) & !1);
        let size = rd32(name_end)? as usize;
        let data_start = name_end + 4;
        let data_end = data_start
            .checked_add(size)
            .filter(|&e| e <= body.len())
            .ok_or_else(|| anyhow!("resource {id:#06x} runs past the segment"))?;
        let next = (data_end + (size & 1)).min(body.len());
        i = next;
        if id != 0x0409 && id != 0x040C {
            out.extend(&body[start..next]);
            continue;
        }
        let data = &body[data_start..data_end];
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
            && id == 0x040C
            && w > 0
            && h > 0
            && data.len() > 28
        {
            let q = crate::formats::jpeg::tables::jpeg_quality(&data[28..]).unwrap_or(85);
            let jpg = r.jpeg(w, h, q)?;
            let mut nd = data[..28].to_vec();
            nd[20..24].copy_from_slice(&(jpg.len() as u32).to_be_bytes());
            nd.extend(&jpg);
            out.extend(&body[start..name_end]);
            out.extend((nd.len() as u32).to_be_bytes());
            out.extend(&nd);
            if nd.len() & 1 == 1 {
                out.push(0);
            }
            ch.regenerated.push(name);
        } else {
            ch.removed.push(name);
        }
    }
    if out.len() > MAX_SEGMENT {
        bail!("Photoshop segment would exceed 64 KiB");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le16(v: u16) -> [u8; 2] {
        v.to_le_bytes()
    }
    fn le32(v: u32) -> [u8; 4] {
        v.to_le_bytes()
    }

    /// A little-endian EXIF TIFF: IFD0 (Orientation, GPS pointer) → GPS IFD with a
    /// latitude, IFD1 with a JPEG thumbnail at the end.
    fn sample_tiff(thumb: &[u8]) -> Vec<u8> {
        let mut d = b"II*\0".to_vec();
        d.extend(le32(8));
        // IFD0 at 8: 2 entries
        d.extend(le16(2));
        d.extend(le16(0x0112));
        d.extend(le16(3));
        d.extend(le32(1));
        d.extend(le32(6));
        d.extend(le16(0x8825));
        d.extend(le16(4));
        d.extend(le32(1));
        d.extend(le32(38)); // GPS IFD
        d.extend(le32(68)); // IFD1
        assert_eq!(d.len(), 38);
        // GPS IFD at 38: GPSLatitude (3 rationals at 56)
        d.extend(le16(1));
        d.extend(le16(0x0002));
        d.extend(le16(5));
        d.extend(le32(3));
        d.extend(le32(56));
        d.extend(le32(0));
        assert_eq!(d.len(), 56);
        for v in [59u32, 1, 19, 1, 4512, 100] {
            d.extend(le32(v));
        }
        assert_eq!(d.len(), 80);
        // IFD1 at 80 (patch the link)
        d[34..38].copy_from_slice(&le32(80));
        d.extend(le16(2));
        d.extend(le16(0x0201));
        d.extend(le16(4));
        d.extend(le32(1));
        d.extend(le32(110));
        d.extend(le16(0x0202));
        d.extend(le16(4));
        d.extend(le32(1));
        d.extend(le32(thumb.len() as u32));
        d.extend(le32(0));
        assert_eq!(d.len(), 110);
        d.extend(thumb);
        d
    }

    fn small_jpeg(w: u32, h: u32, v: u8) -> Vec<u8> {
        let img = RgbImage::from_pixel(w, h, image::Rgb([v, v, v]));
        let mut b = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut b, 80)
            .encode_image(&img)
            .unwrap();
        b
    }

    fn run(tiff: &[u8], opts: &MetaOptions) -> Result<(Vec<u8>, MetaChanges)> {
        let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(64, 48, image::Rgb([10, 200, 10])));
        let mut r = Renderer {
            src: &img,
            rgb: None,
        };
        let mut ch = MetaChanges::default();
        edit_exif(tiff, opts, &mut r, &mut ch, MAX_SEGMENT - 6).map(|d| (d, ch))
    }

    fn fields(tiff: &[u8]) -> Vec<(exif::Tag, exif::In)> {
        let e = exif::Reader::new().read_raw(tiff.to_vec()).unwrap();
        e.fields().map(|f| (f.tag, f.ifd_num)).collect()
    }

    #[test]
    fn gps_is_removed_and_its_bytes_zeroed() {
        let t = sample_tiff(&small_jpeg(16, 12, 50));
        let opts = MetaOptions {
            strip_gps: true,
            ..Default::default()
        };
        let (d, ch) = run(&t, &opts).unwrap();
        let f = fields(&d);
        assert!(
            f.iter().all(|(t, _)| !t.to_string().starts_with("GPS")),
            "{f:?}"
        );
        assert!(f.contains(&(exif::Tag::Orientation, exif::In::PRIMARY)));
        assert!(f.contains(&(exif::Tag::JPEGInterchangeFormat, exif::In::THUMBNAIL)));
        // the latitude's numbers do not survive anywhere
        assert!(!d.windows(4).any(|w| w == le32(4512)));
        assert_eq!(ch.removed, vec!["gps (exif GPS IFD, 1 tags)"]);
        assert_eq!(ch.regenerated, vec!["exif-thumbnail 16x12"]);
    }

    #[test]
    fn thumbnail_is_regenerated_from_the_given_pixels_or_removed() {
        let old = small_jpeg(16, 12, 50);
        let t = sample_tiff(&old);
        let (d, _) = run(&t, &MetaOptions::default()).unwrap();
        let e = exif::Reader::new().read_raw(d.clone()).unwrap();
        let off = e
            .get_field(exif::Tag::JPEGInterchangeFormat, exif::In::THUMBNAIL)
            .unwrap()
            .value
            .get_uint(0)
            .unwrap() as usize;
        let len = e
            .get_field(exif::Tag::JPEGInterchangeFormatLength, exif::In::THUMBNAIL)
            .unwrap()
            .value
            .get_uint(0)
            .unwrap() as usize;
        let th = image::load_from_memory(&d[off..off + len])
            .unwrap()
            .to_rgb8();
        assert_eq!(th.dimensions(), (16, 12));
        let p = th.get_pixel(8, 6);
        assert!(
            p[1] > 150 && p[0] < 60,
            "thumbnail not rendered from the redacted image: {p:?}"
        );
        assert!(!d.windows(old.len()).any(|w| w == old.as_slice()));

        let (d, ch) = run(
            &t,
            &MetaOptions {
                previews: Previews::Remove,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(fields(&d).iter().all(|f| f.1 == exif::In::PRIMARY));
        assert_eq!(ch.removed, vec!["exif-thumbnail 16x12"]);
        assert!(d.len() < 110, "the thumbnail at the end is cut off");
    }

    #[test]
    fn hostile_exif_is_an_error_not_a_panic() {
        let t = sample_tiff(&small_jpeg(16, 12, 50));
        let opts = MetaOptions {
            strip_gps: true,
            ..Default::default()
        };
        // every truncation
        for n in 0..t.len() {
            let _ = run(&t[..n], &opts);
        }
        assert!(run(&t[..60], &opts).is_err(), "truncated GPS values");
        assert!(run(&t[..20], &opts).is_err(), "truncated IFD");
        // thumbnail offset beyond the segment
        let mut b = t.clone();
        b[90..94].copy_from_slice(&le32(100_000));
        assert!(run(&b, &MetaOptions::default())
            .unwrap_err()
            .to_string()
            .contains("outside"));
        // GPS pointer beyond the segment
        let mut b = t.clone();
        b[30..34].copy_from_slice(&le32(u32::MAX));
        assert!(run(&b, &opts).is_err());
        // IFD loop: IFD1 links back to IFD0, or IFD1 is IFD0
        let mut b = t.clone();
        b[106..110].copy_from_slice(&le32(8));
        assert!(run(&b, &opts).is_err());
        let mut b = t.clone();
        b[34..38].copy_from_slice(&le32(8));
        assert!(run(&b, &opts).unwrap_err().to_string().contains("overlap"));
        // GPS values overlapping IFD0: zeroing them would break what stays
        let mut b = t.clone();
        b[48..52].copy_from_slice(&le32(10));
        assert!(run(&b, &opts).is_err());
        // a huge entry count
        let mut b = t.clone();
        b[8..10].copy_from_slice(&le16(0xFFFF));
        assert!(run(&b, &opts).is_err());
        // random byte flips never panic
        let mut x = 0x1234_5678u32;
        for _ in 0..3000 {
            let mut b = t.clone();
            for _ in 0..3 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let i = x as usize % b.len();
                b[i] = (x >> 8) as u8;
            }
            let _ = run(&b, &opts);
            let _ = run(
                &b,
                &MetaOptions {
                    previews: Previews::Remove,
                    ..Default::default()
                },
            );
        }
    }

    #[test]
    fn xmp_location_properties_are_cut_cleanly() {
        let x = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" drone-dji:GpsLatitude="59.3" drone-dji:GpsLongtitude="18.1"
   drone-dji:AbsoluteAltitude="+60.1" drone-dji:RelativeAltitude="+60.20">
   <exif:GPSLongitude>18,4.12E</exif:GPSLongitude>
   <exif:ExposureTime>1/100</exif:ExposureTime>
  </rdf:Description></rdf:RDF></x:xmpmeta>
  <?xpacket end="w"?>"#;
        let mut ch = MetaChanges::default();
        let out = String::from_utf8(
            edit_xmp(x.as_bytes(), true, true, &mut ch)
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        for gone in [
            "GpsLatitude",
            "GpsLongtitude",
            "AbsoluteAltitude",
            "GPSLongitude",
            "59.3",
            "18,4",
        ] {
            assert!(!out.contains(gone), "{gone} survived: {out}");
        }
        for kept in [
            "RelativeAltitude=\"+60.20\"",
            "<exif:ExposureTime>1/100</exif:ExposureTime>",
            "<?xpacket end=\"w\"?>",
        ] {
            assert!(out.contains(kept), "{kept} lost: {out}");
        }
        assert_eq!(ch.removed.len(), 4, "{:?}", ch.removed);
        assert!(ch
            .removed
            .contains(&"xmp drone-dji:GpsLongtitude".to_string()));
        // nothing to do without strip_gps
        assert!(edit_xmp(x.as_bytes(), false, true, &mut ch)
            .unwrap()
            .is_none());
        // a broken packet is an error when it must be edited
        assert!(edit_xmp(b"<x:xmpmeta><rdf:RDF>", true, true, &mut ch).is_err());
    }

    fn seg(m: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, m];
        v.extend(((body.len() + 2) as u16).to_be_bytes());
        v.extend(body);
        v
    }

    /// A JPEG with EXIF (GPS, thumbnail), an MPF index and one 32x24 MPF preview after it.
    fn mpf_file() -> Vec<u8> {
        let preview = small_jpeg(32, 24, 200);
        let mut mpf = b"MPF\0II*\0".to_vec();
        mpf.extend(le32(8));
        mpf.extend(le16(2));
        for (tag, typ, count, val) in [(0xB001u16, 4u16, 1u32, 2u32), (0xB002, 7, 32, 38)] {
            mpf.extend(le16(tag));
            mpf.extend(le16(typ));
            mpf.extend(le32(count));
            mpf.extend(le32(val));
        }
        mpf.extend(le32(0));
        assert_eq!(mpf.len(), 4 + 38);
        mpf.extend([0u8; 32]);
        let mut exif = b"Exif\0\0".to_vec();
        exif.extend(sample_tiff(&small_jpeg(16, 12, 50)));
        let main = small_jpeg(64, 48, 50);
        let mut f = vec![0xFF, 0xD8];
        f.extend(seg(0xE1, &exif));
        let tiff_at = f.len() + 8;
        f.extend(seg(0xE2, &mpf));
        f.extend(&main[2..]);
        let main_len = f.len() as u32;
        let e = tiff_at + 38;
        f[e + 4..e + 8].copy_from_slice(&le32(main_len));
        f[e + 16 + 4..e + 16 + 8].copy_from_slice(&le32(preview.len() as u32));
        f[e + 16 + 8..e + 16 + 12].copy_from_slice(&le32(main_len - tiff_at as u32));
        f.extend(&preview);
        f
    }

    #[test]
    fn mpf_previews_are_regenerated_and_indexed() {
        let src = mpf_file();
        let red = DynamicImage::ImageRgb8(RgbImage::from_pixel(64, 48, image::Rgb([10, 200, 10])));
        let main = small_jpeg(64, 48, 10);
        let (out, ch) = assemble(
            &main,
            &src,
            &red,
            &MetaOptions {
                strip_gps: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            ch.regenerated,
            ["exif-thumbnail 16x12", "mpf-image 2 (32x24)"]
        );
        assert_eq!(ch.removed, ["gps (exif GPS IFD, 1 tags)"]);
        let l = layout(&out).unwrap();
        let mpf = l.segs.iter().find(|s| s.marker == 0xE2).unwrap();
        let tiff_at = mpf.start + 8;
        let e = mp_entries(&mpf.body(&out)[4..]).unwrap();
        assert_eq!((e[0].size as usize, e[0].offset), (l.end, 0));
        let p0 = tiff_at + e[1].offset as usize;
        assert_eq!(p0, l.end);
        assert_eq!(p0 + e[1].size as usize, out.len());
        let p = image::load_from_memory(&out[p0..]).unwrap().to_rgb8();
        assert_eq!(p.dimensions(), (32, 24));
        assert!(
            p.get_pixel(16, 12)[1] > 150,
            "preview not from the redacted pixels"
        );

        // removed: no MPF segment, nothing after the main image
        let (out, ch) = assemble(
            &main,
            &src,
            &red,
            &MetaOptions {
                previews: Previews::Remove,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            ch.removed,
            ["exif-thumbnail 16x12", "mpf index", "mpf-image 2 (32x24)"]
        );
        let l = layout(&out).unwrap();
        assert_eq!(l.end, out.len());
        assert!(l.segs.iter().all(|s| s.marker != 0xE2));

        // a broken index: the MPF images are removed (towards privacy), and the report says so
        let mut bad = src.clone();
        let at = bad.windows(4).position(|w| w == b"MPF\0").unwrap() + 4 + 38 + 16 + 8;
        bad[at..at + 4].copy_from_slice(&le32(u32::MAX - 10));
        let (out, ch) = assemble(&main, &bad, &red, &MetaOptions::default()).unwrap();
        assert!(
            ch.removed
                .iter()
                .any(|r| r.starts_with("mpf index and images (cannot regenerate")),
            "{:?}",
            ch.removed
        );
        assert!(
            ch.removed
                .iter()
                .any(|r| r.starts_with("data after the image")),
            "{:?}",
            ch.removed
        );
        assert_eq!(layout(&out).unwrap().end, out.len());
    }

    #[test]
    fn hostile_files_never_panic_assemble() {
        let src = mpf_file();
        let red = DynamicImage::ImageRgb8(RgbImage::from_pixel(64, 48, image::Rgb([10, 200, 10])));
        let main = small_jpeg(64, 48, 10);
        for n in (0..src.len()).step_by(7) {
            let _ = assemble(&main, &src[..n], &red, &MetaOptions::default());
        }
        let mut x = 0x9E37_79B9u32;
        for _ in 0..1500 {
            let mut b = src.clone();
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                // flips in the metadata part, where the offsets are
                let i = x as usize % 400;
                b[i] = (x >> 8) as u8;
            }
            for o in [
                MetaOptions::default(),
                MetaOptions {
                    strip_gps: true,
                    previews: Previews::Remove,
                    strip_metadata: false,
                },
                MetaOptions {
                    strip_metadata: true,
                    ..Default::default()
                },
            ] {
                let _ = assemble(&main, &b, &red, &o);
            }
        }
    }

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

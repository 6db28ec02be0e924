//! EXIF surgery: the GPS IFD and the IFD1 thumbnail are zeroed in place (a regenerated
//! thumbnail goes at the end), every other byte stays where it was, so maker notes with
//! absolute offsets stay readable; an EXIF reduced to its Orientation for `strip_metadata`.
//! Every IFD must have bytes of its own (a loop or an overlap is refused), and nothing that
//! stays may be zeroed: a hostile structure is an error, never a panic.

use super::previews::{MetaChanges, MetaOptions, Previews, Renderer};
use super::segments::jpeg_dims;
use crate::formats::tiff::ifd::{
    self, put_u32, rd16, rd32, Bytes, Entry, Form, Ifd, IfdError, Slice, Types,
};
use anyhow::{anyhow, bail, Context, Result};
use image::DynamicImage;
use std::ops::Range;

pub(super) fn ranges_overlap(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
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

/// TIFF data in memory (EXIF, and the MPF index), read by the one IFD reader
/// ([`crate::formats::tiff::ifd`]) with EXIF's limits: classic TIFF 6.0 (types 1 to 13), at
/// most [`MAX_ENTRIES`] entries a table, IFDs and out-of-line values at offset 8 or later and
/// inside the data; a value is checked when it is used, so a broken value that is never
/// touched (a maker note's) does not fail the file.
pub(super) struct Tiff<'a> {
    pub(super) d: &'a [u8],
    pub(super) be: bool,
}

/// Most entries an EXIF or MPF IFD may claim.
const MAX_ENTRIES: u64 = 1000;

/// The bytes of an IFD's table: count, entries, next link.
pub(super) fn table(ifd: &Ifd) -> Range<usize> {
    ifd.off as usize..ifd.next_pos as usize + 4
}

impl<'a> Tiff<'a> {
    pub(super) fn new(d: &'a [u8]) -> Result<Self> {
        let be = match d.get(..4) {
            Some(b"MM\0*") => true,
            Some(b"II*\0") => false,
            _ => bail!("no TIFF header"),
        };
        Ok(Tiff { d, be })
    }
    pub(super) fn u16(&self, at: usize) -> Result<u16> {
        let mut b = [0u8; 2];
        Slice(self.d).read(at as u64, &mut b)?;
        Ok(rd16(!self.be, &b))
    }
    pub(super) fn u32(&self, at: usize) -> Result<u32> {
        let mut b = [0u8; 4];
        Slice(self.d).read(at as u64, &mut b)?;
        Ok(rd32(!self.be, &b))
    }
    /// The IFD at `off`, read by the one IFD reader with EXIF's [`Form`] (see [`Tiff`]).
    pub(super) fn directory(&self, off: u64) -> Result<Ifd> {
        if off < 8 || off >= self.d.len() as u64 {
            bail!(
                "IFD offset {off} outside the TIFF data ({} bytes)",
                self.d.len()
            );
        }
        let form = Form {
            big: false,
            le: !self.be,
            types: Types::Tiff6,
            max_entries: MAX_ENTRIES,
            empty_ok: true,
            unique_tags: false,
            check_values: false,
        };
        ifd::read_ifd(&mut Slice(self.d), off, &form, &mut Vec::new()).map_err(|e| match e {
            IfdError::Read(e) => e,
            IfdError::TooManyEntries { n } => anyhow!("IFD at {off} claims {n} entries"),
            IfdError::Truncated { .. } => anyhow!("IFD at {off} is truncated"),
            e => anyhow!(e),
        })
    }
    /// The out-of-line bytes of an entry's value, if it has any.
    pub(super) fn value_range(&self, e: &Entry) -> Result<Option<Range<usize>>> {
        if e.len.is_none() {
            bail!("tag {:#06x} has unknown type {}", e.tag, e.typ);
        }
        match e.value_range(8, self.d.len() as u64) {
            Ok(r) => Ok(r.map(|r| r.start as usize..r.end as usize)),
            Err(IfdError::ValueOutside { at, len, .. }) => bail!(
                "tag {:#06x}: value at {at}..{} outside the TIFF data ({} bytes)",
                e.tag,
                at + len,
                self.d.len()
            ),
            Err(IfdError::ValueOffsetOverflow { .. }) => bail!("tag {:#06x}: size overflow", e.tag),
            Err(other) => Err(anyhow!(other)),
        }
    }
    /// A sub-IFD pointed to by `tag` in `ifd`.
    pub(super) fn sub(&self, ifd: &Ifd, tag: u16) -> Result<Option<Ifd>> {
        match ifd.get(tag) {
            None => Ok(None),
            Some(e) if (e.typ == 4 || e.typ == 13) && e.count == 1 => Ok(Some(
                self.directory(e.val)
                    .with_context(|| format!("sub-IFD {tag:#06x}"))?,
            )),
            Some(_) => bail!("malformed sub-IFD pointer {tag:#06x}"),
        }
    }
    pub(super) fn orientation(&self) -> Result<Option<u16>> {
        let ifd0 = self.directory(self.u32(4)?.into())?;
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
    pub(super) fn ifd_ranges(&self, ifd: &Ifd) -> Result<Vec<Range<usize>>> {
        let mut v = vec![table(ifd)];
        for e in &ifd.entries {
            v.extend(self.value_range(e)?);
        }
        Ok(v)
    }
}

/// An EXIF TIFF with only IFD0 and its Orientation.
pub(super) fn minimal_exif(orientation: u16, little_endian: bool) -> Result<Vec<u8>> {
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
pub(super) fn edit_exif(
    tiff: &[u8],
    opts: &MetaOptions,
    r: &mut Renderer,
    ch: &mut MetaChanges,
    max_len: usize,
) -> Result<Vec<u8>> {
    let t = Tiff::new(tiff)?;
    let ifds = ExifIfds::read(&t)?;
    let mut e = ExifEdit {
        keep: ifds.kept_ranges(&t),
        t: &t,
        d: tiff.to_vec(),
        removed: Vec::new(),
        ifd0_next_pos: ifds.ifd0.next_pos as usize,
    };
    if opts.strip_gps {
        if let Some(g) = &ifds.gps {
            e.strip_gps(&ifds.ifd0, g, ch)?;
        }
    }
    if let Some(i1) = ifds.ifd1.as_ref() {
        e.thumbnail(i1, opts, r, ch, max_len)?;
    }
    let mut d = e.d;
    let n = truncate_len(d.len(), &e.removed);
    d.truncate(n);
    if d.len() > max_len {
        bail!("EXIF is {} bytes, over the 64 KiB segment limit", d.len());
    }
    Ok(d)
}

/// The IFDs of an EXIF TIFF that pixla edits, each with bytes of its own.
struct ExifIfds {
    ifd0: Ifd,
    exif: Option<Ifd>,
    interop: Option<Ifd>,
    gps: Option<Ifd>,
    ifd1: Option<Ifd>,
}

impl ExifIfds {
    /// IFD0, its EXIF (and Interoperability) and GPS IFDs, and IFD1; refused when two of
    /// them overlap or IFD1 links further.
    fn read(t: &Tiff) -> Result<ExifIfds> {
        let ifd0 = t.directory(t.u32(4)?.into()).context("IFD0")?;
        let exif = t.sub(&ifd0, 0x8769)?;
        let interop = match &exif {
            Some(e) => t.sub(e, 0xA005)?,
            None => None,
        };
        let gps = t.sub(&ifd0, 0x8825)?;
        let ifd1 = if ifd0.next != 0 {
            Some(t.directory(ifd0.next).context("IFD1")?)
        } else {
            None
        };
        let ifds = ExifIfds {
            ifd0,
            exif,
            interop,
            gps,
            ifd1,
        };
        ifds.check_apart()?;
        Ok(ifds)
    }

    /// Every IFD must have its own bytes: a loop or an overlap is a hostile structure.
    fn check_apart(&self) -> Result<()> {
        let all: Vec<&Ifd> = [
            Some(&self.ifd0),
            self.exif.as_ref(),
            self.interop.as_ref(),
            self.gps.as_ref(),
            self.ifd1.as_ref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                if ranges_overlap(&table(a), &table(b)) {
                    bail!("IFDs at {} and {} overlap (IFD loop?)", a.off, b.off);
                }
            }
        }
        if let Some(i1) = &self.ifd1 {
            if i1.next != 0 {
                bail!(
                    "IFD1 links to a further IFD at {} (IFD loop or unsupported IFD chain)",
                    i1.next
                );
            }
        }
        Ok(())
    }

    /// What must not be touched: the header, the tables and values of the IFDs that stay.
    fn kept_ranges(&self, t: &Tiff) -> Vec<Range<usize>> {
        let mut keep: Vec<Range<usize>> = std::iter::once(0..8).collect();
        for ifd in [Some(&self.ifd0), self.exif.as_ref(), self.interop.as_ref()]
            .into_iter()
            .flatten()
        {
            keep.push(table(ifd));
            for e in &ifd.entries {
                if let Ok(Some(r)) = t.value_range(e) {
                    keep.push(r);
                }
            }
        }
        keep
    }
}

/// Where IFD1's JPEG thumbnail is: positions of its offset and length entries, its bytes.
type ThumbnailTags = (usize, usize, Range<usize>);

/// The EXIF bytes being edited in place (offsets never move).
struct ExifEdit<'t, 'a> {
    t: &'t Tiff<'a>,
    /// The output, a copy of the source TIFF data.
    d: Vec<u8>,
    /// Ranges that must not be touched ([`ExifIfds::kept_ranges`]).
    keep: Vec<Range<usize>>,
    /// Ranges zeroed; cut off where they end the data.
    removed: Vec<Range<usize>>,
    /// Position of IFD0's next-IFD link (it moves up when the GPS entry is dropped).
    ifd0_next_pos: usize,
}

impl ExifEdit<'_, '_> {
    /// `rs` must not overlap what stays.
    fn check_free(&self, rs: &[Range<usize>], what: &str) -> Result<()> {
        for r in rs {
            if self.keep.iter().any(|k| ranges_overlap(k, r)) {
                bail!("{what} overlaps other EXIF data");
            }
        }
        Ok(())
    }

    /// Zero the GPS IFD `g` (table and values) and drop its entry from IFD0.
    fn strip_gps(&mut self, ifd0: &Ifd, g: &Ifd, ch: &mut MetaChanges) -> Result<()> {
        let (t, be) = (self.t, self.t.be);
        let rs = t.ifd_ranges(g).context("GPS IFD")?;
        self.check_free(&rs, "the GPS IFD")?;
        let d = &mut self.d;
        for r in &rs {
            d[r.clone()].fill(0);
        }
        self.removed.extend(rs);
        // drop the GPSInfo entry from IFD0: later entries move up, the freed 12 bytes are zeroed
        let e = ifd0.get(0x8825).context("IFD0 has no GPSInfo entry")?;
        let (pos, end) = (e.pos as usize, ifd0.next_pos as usize + 4);
        d.copy_within(pos + 12..end, pos);
        d[end - 12..end].fill(0);
        let n = ifd0.entries.len() as u16 - 1;
        let nb = if be { n.to_be_bytes() } else { n.to_le_bytes() };
        d[ifd0.off as usize..ifd0.off as usize + 2].copy_from_slice(&nb);
        self.ifd0_next_pos -= 12;
        ch.removed
            .push(format!("gps (exif GPS IFD, {} tags)", g.entries.len()));
        Ok(())
    }

    /// IFD1's thumbnail (JPEG or strips): regenerated in place when asked and possible,
    /// else IFD1 is unlinked and its bytes zeroed.
    fn thumbnail(
        &mut self,
        i1: &Ifd,
        opts: &MetaOptions,
        r: &mut Renderer,
        ch: &mut MetaChanges,
        max_len: usize,
    ) -> Result<()> {
        let tiff = self.t.d;
        let jpeg = thumbnail_tags(i1, tiff.len())?;
        let strips = i1.get(0x0111).is_some();
        if jpeg.is_none() && !strips {
            return Ok(());
        }
        // the thumbnail's pixels must have bytes of their own (they are zeroed); IFD1's table
        // and values are zeroed only where no other IFD uses them
        let pix = self.thumbnail_pixels(i1, &jpeg)?;
        self.check_free(&pix, "the IFD1 thumbnail")?;
        let mut rs: Vec<Range<usize>> = self
            .t
            .ifd_ranges(i1)
            .context("IFD1")?
            .into_iter()
            .filter(|r| !self.keep.iter().any(|k| ranges_overlap(k, r)))
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
        if opts.previews == Previews::Regenerate {
            if let (Some(j), Some(size)) = (&jpeg, size) {
                if let Some(label) = self.regenerate_thumbnail(j, size, &name, r, max_len)? {
                    ch.regenerated.push(label);
                    return Ok(());
                }
            }
        }
        for r in &rs {
            self.d[r.clone()].fill(0);
        }
        self.removed.extend(rs);
        put_u32(&mut self.d, self.ifd0_next_pos, 0, self.t.be)?;
        ch.removed.push(if strips && jpeg.is_none() {
            "exif-thumbnail (uncompressed)".into()
        } else {
            name
        });
        Ok(())
    }

    /// The bytes of the thumbnail's pixels: its strips and its JPEG.
    fn thumbnail_pixels(
        &self,
        i1: &Ifd,
        jpeg: &Option<ThumbnailTags>,
    ) -> Result<Vec<Range<usize>>> {
        let len = self.t.d.len();
        let mut pix: Vec<Range<usize>> = Vec::new();
        if let (Some(so), Some(sc)) = (i1.get(0x0111), i1.get(0x0117)) {
            let offs = strip_list(self.t, so)?;
            let lens = strip_list(self.t, sc)?;
            if offs.len() != lens.len() {
                bail!("IFD1 strip offsets and counts differ in number");
            }
            for (o, l) in offs.into_iter().zip(lens) {
                let end = (o as usize)
                    .checked_add(l as usize)
                    .filter(|&e| e <= len)
                    .ok_or_else(|| anyhow!("thumbnail strip outside the EXIF data"))?;
                pix.push(o as usize..end);
            }
        }
        if let Some((_, _, r)) = jpeg {
            pix.push(r.clone());
        }
        Ok(pix)
    }

    /// Zero the old JPEG thumbnail, cut it off if it ends the data, and append a new one of
    /// the same size, at a lower quality if needed to fit `max_len`. Returns its label, or
    /// `None` (nothing written) when even quality 10 does not fit.
    fn regenerate_thumbnail(
        &mut self,
        (opos, lpos, r0): &ThumbnailTags,
        (w, h): (u32, u32),
        name: &str,
        r: &mut Renderer,
        max_len: usize,
    ) -> Result<Option<String>> {
        let (tiff, be) = (self.t.d, self.t.be);
        let d = &mut self.d;
        let q0 = crate::formats::jpeg::tables::jpeg_quality(&tiff[r0.clone()]).unwrap_or(85);
        // zero the old thumbnail, cut it off if it ends the data, append the new one
        d[r0.clone()].fill(0);
        let mut cut = self.removed.clone();
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
                put_u32(d, *opos + 8, at as u32, be)?;
                put_u32(d, *lpos + 8, new.len() as u32, be)?;
                return Ok(Some(if q == q0 {
                    name.to_string()
                } else {
                    format!("{name} (quality {q}, to fit the 64 KiB segment)")
                }));
            }
            if q <= 15 {
                return Ok(None);
            }
            q = q.saturating_sub(10).max(10);
        }
    }
}

/// IFD1's JPEG thumbnail tags (JPEGInterchangeFormat and its length), checked to point
/// inside the `len` bytes of EXIF data; `None` when IFD1 has neither.
fn thumbnail_tags(i1: &Ifd, len: usize) -> Result<Option<ThumbnailTags>> {
    match (i1.get(0x0201), i1.get(0x0202)) {
        (Some(o), Some(l)) => {
            if o.typ != 4 || o.count != 1 || l.typ != 4 || l.count != 1 {
                bail!("malformed thumbnail offset/length tags");
            }
            let start = o.val as usize;
            let end = start
                .checked_add(l.val as usize)
                .ok_or_else(|| anyhow!("thumbnail size overflow"))?;
            if start < 8 || end > len {
                bail!("thumbnail at {start}..{end} outside the EXIF data ({len} bytes)");
            }
            Ok(Some((o.pos as usize, l.pos as usize, start..end)))
        }
        (None, None) => Ok(None),
        _ => bail!("thumbnail offset without length (or the reverse)"),
    }
}

pub(super) fn strip_list(t: &Tiff, e: &Entry) -> Result<Vec<u32>> {
    if e.count > 4096 {
        bail!("too many thumbnail strips");
    }
    let n = e.count as usize;
    let at = |i: usize| -> Result<u32> {
        match (e.typ, t.value_range(e)?) {
            (3, None) => Ok(if (i == 0) == t.be {
                e.val as u32 >> 16
            } else {
                e.val as u32 & 0xFFFF
            }),
            (4, None) => Ok(e.val as u32),
            (3, Some(r)) => Ok(t.u16(r.start + 2 * i)? as u32),
            (4, Some(r)) => t.u32(r.start + 4 * i),
            _ => bail!("malformed strip tag"),
        }
    };
    (0..n).map(at).collect()
}

/// Length of the data once removed ranges that end it are cut off (repeatedly).
pub(super) fn truncate_len(len: usize, removed: &[Range<usize>]) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::jpeg::segments::MAX_SEGMENT;
    use crate::formats::jpeg::testdata::{le16, le32, sample_tiff, small_jpeg};
    use image::RgbImage;

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
}

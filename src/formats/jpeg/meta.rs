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

use super::exif::{edit_exif, minimal_exif, ranges_overlap, Tiff};
use super::mpf::{list_mp_images, mp_entries};
use super::photoshop::edit_photoshop;
use super::previews::Renderer;
use super::segments::{
    is_app_or_com, is_sof, jpeg_dims, kind, layout, main_tail, write_jpeg, Kind, Layout, Seg,
    MAX_SEGMENT, XMP_SIG,
};
use super::xmp::edit_xmp;
use crate::formats::tiff::ifd::put_u32;
use anyhow::{anyhow, bail, Context, Result};
use image::DynamicImage;
use std::ops::Range;

pub use super::exif::edit_exif_tiff;
pub use super::previews::{MetaChanges, MetaOptions, Previews};
pub use super::xmp::{edit_xmp_packet, xmp_is_location};

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

/// An output being assembled around `main`: the source's segments, edited, go into `head`.
struct Assembly<'a> {
    main: &'a [u8],
    source: &'a [u8],
    src: &'a Layout,
    opts: &'a MetaOptions,
    /// The primary image (not an MPF image being re-rendered): it owns the MPF index and
    /// the data after the image.
    primary: bool,
    ch: MetaChanges,
    /// (marker, body) of each segment written before main's tables
    head: Vec<(u8, Vec<u8>)>,
    /// (index in head, tiff start in source) of an MPF index whose images are regenerated
    mpf_at: Option<(usize, usize)>,
    has_ext_xmp: bool,
    /// bytes after the main image that belong to MPF images listed as removed
    mpf_covered: usize,
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
    let mut a = Assembly {
        main,
        source,
        src: &src,
        opts,
        primary,
        ch: MetaChanges::default(),
        head: Vec::new(),
        mpf_at: None,
        has_ext_xmp: false,
        mpf_covered: 0,
    };
    let app = src.segs.iter().filter(|s| is_app_or_com(s.marker));
    if opts.strip_metadata {
        for s in app {
            a.strip_segment(s)?;
        }
        return a.finish_stripped(&tail);
    }
    for s in app {
        a.edit_segment(s, r)?;
    }
    a.finish(&tail, r)
}

/// The source's Adobe APP14 (`body`) says how the old scans coded colour: it stays only where
/// it is also true of `main` (main has none of its own, and YCbCr or grey).
fn adobe_fits(main: &[u8], body: &[u8]) -> bool {
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
}

/// A JFIF APP0 without its uncompressed thumbnail (Xthumbnail, Ythumbnail), and the
/// thumbnail's size; `None` when it has none.
fn jfif_without_thumbnail(body: &[u8]) -> Option<(Vec<u8>, u8, u8)> {
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
        Some((b, tw, th))
    } else {
        None
    }
}

impl Assembly<'_> {
    /// `strip_metadata`: keep the ICC profile, a fitting Adobe APP14 and the EXIF Orientation;
    /// list the rest as removed.
    fn strip_segment(&mut self, s: &Seg) -> Result<()> {
        let body = s.body(self.source);
        match kind(s.marker, body) {
            Kind::Icc => {
                self.ch.keep("icc");
                self.head.push((s.marker, body.to_vec()));
            }
            Kind::Adobe if adobe_fits(self.main, body) => self.head.push((s.marker, body.to_vec())),
            Kind::Adobe => {}
            Kind::Exif => {
                let o = Tiff::new(&body[6..])
                    .and_then(|t| t.orientation())
                    .context("reading EXIF")?;
                if let Some(o) = o {
                    let mut b = b"Exif\0\0".to_vec();
                    b.extend(minimal_exif(o, body.get(6..8) == Some(b"II"))?);
                    self.head.push((0xE1, b));
                    self.ch.keep("exif (Orientation only)");
                }
                self.ch
                    .removed
                    .push("exif (all tags but Orientation)".into());
            }
            Kind::Mpf if self.primary => self.remove_mpf(s, body),
            k => self.ch.removed.push(k.label()),
        }
        Ok(())
    }

    /// The MPF index and the images it lists are removed.
    fn remove_mpf(&mut self, s: &Seg, body: &[u8]) {
        self.ch.removed.push("mpf index".into());
        let (names, covered) = list_mp_images(self.source, self.src, &body[4..], s.start + 8);
        self.ch.removed.extend(names);
        self.mpf_covered = covered;
    }

    /// The output of `strip_metadata`, with the data after the image listed as removed.
    fn finish_stripped(mut self, tail: &[u8]) -> Result<(Vec<u8>, MetaChanges)> {
        let after = self.source.len() - self.src.end;
        if self.primary && after > self.mpf_covered {
            self.ch.removed.push(format!(
                "data after the image ({} bytes)",
                after - self.mpf_covered
            ));
        }
        Ok((write_jpeg(&self.head, tail, &[])?, self.ch))
    }

    /// One source segment, kept, edited or removed.
    fn edit_segment(&mut self, s: &Seg, r: &mut Renderer) -> Result<()> {
        let (opts, ch) = (self.opts, &mut self.ch);
        let body = s.body(self.source);
        match kind(s.marker, body) {
            Kind::Exif => {
                let tiff = edit_exif(&body[6..], opts, r, ch, MAX_SEGMENT - 6).context("EXIF")?;
                let mut b = b"Exif\0\0".to_vec();
                b.extend(tiff);
                self.head.push((s.marker, b));
                self.ch.keep("exif");
            }
            Kind::Xmp => self.xmp(s, body)?,
            Kind::XmpExt => {
                self.has_ext_xmp = true;
            }
            Kind::Mpf if self.primary => match opts.previews {
                Previews::Regenerate => {
                    self.mpf_at = Some((self.head.len(), s.start + 4 + 4));
                    self.head.push((s.marker, body.to_vec()));
                }
                Previews::Remove => self.remove_mpf(s, body),
            },
            Kind::Jfif => self.jfif(s, body),
            Kind::Photoshop => {
                let b = edit_photoshop(body, opts.previews, r, ch).context("Photoshop APP13")?;
                self.head.push((s.marker, b));
                self.ch.keep("photoshop-irb");
            }
            Kind::Adobe if adobe_fits(self.main, body) => {
                self.ch.keep("adobe");
                self.head.push((s.marker, body.to_vec()));
            }
            Kind::Adobe => {}
            k @ (Kind::Jfxx | Kind::FlashPix) => self.ch.removed.push(k.label()),
            Kind::Mpf => {
                // an MPF image's own MP attributes: no offsets to fix
                self.ch.keep("mpf");
                self.head.push((s.marker, body.to_vec()));
            }
            k => {
                self.ch.keep(&k.label());
                self.head.push((s.marker, body.to_vec()));
            }
        }
        Ok(())
    }

    /// The XMP packet, edited (GPS, embedded images).
    fn xmp(&mut self, s: &Seg, body: &[u8]) -> Result<()> {
        let sig = XMP_SIG.len();
        match edit_xmp(&body[sig..], self.opts.strip_gps, true, &mut self.ch).context("XMP")? {
            Some(x) => {
                let mut b = XMP_SIG.to_vec();
                b.extend(x);
                self.head.push((s.marker, b));
            }
            None => self.head.push((s.marker, body.to_vec())),
        }
        self.ch.keep("xmp");
        Ok(())
    }

    /// The JFIF APP0, without its thumbnail.
    fn jfif(&mut self, s: &Seg, body: &[u8]) {
        match jfif_without_thumbnail(body) {
            Some((b, tw, th)) => {
                self.ch.removed.push(format!("jfif-thumbnail {tw}x{th}"));
                self.head.push((s.marker, b));
            }
            None => self.head.push((s.marker, body.to_vec())),
        }
        self.ch.keep("jfif");
    }

    /// The output: head, main, and the regenerated MPF images when the index was kept.
    fn finish(mut self, tail: &[u8], r: &mut Renderer) -> Result<(Vec<u8>, MetaChanges)> {
        if self.has_ext_xmp {
            // extended XMP exists to hold large values: mostly embedded images and depth maps
            self.ch
                .removed
                .push("xmp-extended (may hold embedded images)".into());
        }
        let trailing = if self.primary {
            self.source.len() - self.src.end
        } else {
            0
        };
        let Some((idx, tiff_src)) = self.mpf_at else {
            if trailing > self.mpf_covered {
                self.ch.removed.push(format!(
                    "data after the image ({} bytes)",
                    trailing - self.mpf_covered
                ));
            }
            return Ok((write_jpeg(&self.head, tail, &[])?, self.ch));
        };
        let regenerated = regenerate_mpf(
            self.source,
            self.src,
            &self.head[idx].1[4..],
            tiff_src,
            r,
            self.opts,
        );
        match regenerated {
            Ok((entries, images)) => self.with_mpf_images(tail, idx, trailing, &entries, &images),
            Err(e) => {
                self.head.remove(idx);
                self.ch
                    .removed
                    .push(format!("mpf index and images (cannot regenerate: {e:#})"));
                if trailing > 0 {
                    self.ch
                        .removed
                        .push(format!("data after the image ({trailing} bytes)"));
                }
                Ok((write_jpeg(&self.head, tail, &[])?, self.ch))
            }
        }
    }

    /// The output with the regenerated MPF `images` after main, and the MP Entries of the
    /// index at `head[idx]` pointing at them.
    fn with_mpf_images(
        mut self,
        tail: &[u8],
        idx: usize,
        trailing: usize,
        entries: &[usize],
        images: &[MpImage],
    ) -> Result<(Vec<u8>, MetaChanges)> {
        let used: usize = images.iter().map(|i| i.src_len).sum();
        self.patch_mp_entries(tail, idx, entries, images)?;
        self.ch.keep("mpf");
        for im in images {
            self.ch.regenerated.push(im.label.clone());
        }
        for im in images {
            self.ch.absorb(&im.label, im.changes.clone());
        }
        if trailing > used {
            self.ch
                .removed
                .push(format!("data after the image ({} bytes)", trailing - used));
        }
        let extra: Vec<&[u8]> = images.iter().map(|i| i.bytes.as_slice()).collect();
        Ok((write_jpeg(&self.head, tail, &extra)?, self.ch))
    }

    /// Set each MP Entry's size and offset to where main and the images land in the output.
    fn patch_mp_entries(
        &mut self,
        tail: &[u8],
        idx: usize,
        entries: &[usize],
        images: &[MpImage],
    ) -> Result<()> {
        let head = &mut self.head;
        // where the MPF TIFF header lands in the output: SOI, the segments before it, its
        // own marker, length and "MPF\0"
        let tiff_out = 2 + head[..idx].iter().map(|s| 4 + s.1.len()).sum::<usize>() + 4 + 4;
        let main_len = 2 + head.iter().map(|s| 4 + s.1.len()).sum::<usize>() + tail.len();
        let mut pos = main_len;
        let mut patch: Vec<(usize, u32, u32)> = vec![(entries[0], u32::try_from(main_len)?, 0)];
        for im in images {
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
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::jpeg::testdata::{le32, mpf_file, small_jpeg};
    use image::RgbImage;

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
}

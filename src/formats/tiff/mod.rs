//! TIFF / GeoTIFF surgery: change only the pixels under redactions, keep every other byte.
//!
//! Survey orthophotos are GeoTIFFs, often a gigapixel or more, tiled, with georeferencing,
//! GDAL metadata, nodata and internal overviews in their tags. Re-encoding them with a generic
//! image library loses the tags and needs the whole raster in memory. This module instead
//!
//! 1. [`inspect`]s the file: header and IFD chain only (classic TIFF and BigTIFF, `II` and
//!    `MM`), every offset and count checked against the file length, IFD loops refused;
//! 2. [`read_window`]s: decodes only the strips or tiles that intersect a window, one at a time;
//! 3. [`rewrite`]s: copies the source into the caller's (temporary) output file (byte for
//!    byte, except bytes no IFD references, which are zeroed or cut: [`copy_examined`]),
//!    then decodes each strip or tile that intersects a patch, writes the patch pixels over it,
//!    re-encodes it with the same compression and predictor, and puts it back: in its old slot
//!    if it fits (the rest of the slot zero-filled), else appended at the end of the file with
//!    the whole old slot zero-filled, so the unredacted pixels of a touched chunk survive
//!    nowhere. Only the touched elements of the StripOffsets/TileOffsets and
//!    StripByteCounts/TileByteCounts arrays change; every tag, GeoTIFF key, GDAL metadata,
//!    nodata, ICC, XMP and EXIF byte stays as it was.
//!
//! Memory is bounded by one decoded chunk (at most [`MAX_CHUNK_BYTES`]) plus the windows the
//! caller passes, plus the offset arrays (8 bytes per chunk), whatever the image size.
//!
//! Supported layouts (anything else is reported in [`IfdInfo::unsupported`] and refused by
//! [`read_window`] / [`rewrite`]):
//! - compression none (1), LZW (5, MSB-first as written by libtiff/GDAL), Deflate (8 and
//!   32946), PackBits (32773);
//! - predictor none (1) or horizontal differencing (2);
//! - 8- or 16-bit unsigned integer samples, 1 to 4 samples per pixel, photometric
//!   BlackIsZero (1) or RGB (2), PlanarConfiguration contiguous (1) or separate (2);
//! - strips or tiles, partial edge chunks, sparse chunks (offset 0 and byte count 0, read as
//!   the GDAL_NODATA value or 0);
//! - any number of IFDs in the main chain (GDAL internal overviews, masks, page chains);
//! - every strip or tile with bytes of its own: chunks that share bytes, or overlap the TIFF
//!   structure, are refused by [`inspect`] (so the work of reading a file is bounded by its
//!   size: at most one non-empty chunk per byte);
//! - GDAL's COG "ghost" layout: the 4-byte size leader and 4-byte trailer of each tile are
//!   kept consistent; if a tile has to be appended, the ghost's
//!   `KNOWN_INCOMPATIBLE_EDITION=NO` is switched to `YES` in place, as GDAL itself does.
//!
//! PackBits is the only codec written here by hand (a few lines, no maintained crate exposes
//! one); LZW is `weezl` (the `tiff` crate's own codec) and Deflate is `flate2`.

pub(crate) mod ifd;

use anyhow::{anyhow, bail, ensure, Context, Result};
use ifd::{rd16, rd32, rd64, type_size, Entry, Form, IfdError, Types};
use image::DynamicImage;
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Largest decoded strip or tile this module will hold in memory.
pub const MAX_CHUNK_BYTES: u64 = 256 << 20;
/// Largest window [`read_window`] will allocate.
pub const MAX_WINDOW_BYTES: u64 = 4 << 30;
const MAX_IFDS: usize = 4096;
const MAX_ENTRIES: u64 = 65535;
const MAX_CHUNKS: u64 = 1 << 24;

const T_NEW_SUBFILE_TYPE: u16 = 254;
const T_WIDTH: u16 = 256;
const T_HEIGHT: u16 = 257;
const T_BITS: u16 = 258;
const T_COMPRESSION: u16 = 259;
const T_PHOTOMETRIC: u16 = 262;
const T_FILL_ORDER: u16 = 266;
const T_STRIP_OFFSETS: u16 = 273;
const T_SPP: u16 = 277;
const T_ROWS_PER_STRIP: u16 = 278;
const T_STRIP_BYTE_COUNTS: u16 = 279;
const T_PLANAR: u16 = 284;
const T_PREDICTOR: u16 = 317;
const T_TILE_WIDTH: u16 = 322;
const T_TILE_LENGTH: u16 = 323;
const T_TILE_OFFSETS: u16 = 324;
const T_TILE_BYTE_COUNTS: u16 = 325;
const T_EXTRA_SAMPLES: u16 = 338;
const T_SAMPLE_FORMAT: u16 = 339;
const T_GDAL_NODATA: u16 = 42113;
const T_SUB_IFDS: u16 = 330;
const T_EXIF_IFD: u16 = 34665;
const T_GPS_IFD: u16 = 34853;
const T_INTEROP_IFD: u16 = 40965;

/// How an IFD's pixels are cut into separately compressed chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    Strips { rows_per_strip: u32 },
    Tiles { w: u32, h: u32 },
}

/// One image file directory (full image, overview, mask or page).
#[derive(Debug, Clone, PartialEq)]
pub struct IfdInfo {
    pub index: usize,
    /// File offset of the IFD.
    pub offset: u64,
    pub width: u32,
    pub height: u32,
    pub bits_per_sample: u16,
    pub samples_per_pixel: u16,
    pub sample_format: u16,
    pub photometric: u16,
    pub planar: u16,
    pub compression: u16,
    pub predictor: u16,
    pub chunking: Chunking,
    /// NewSubfileType: bit 0 = reduced-resolution (overview), bit 1 = page, bit 2 = mask.
    pub subfile_type: u32,
    /// ExtraSamples (338): 1 = associated alpha, 2 = unassociated alpha, 0 = unspecified.
    pub extra_samples: Vec<u16>,
    /// Number of strips or tiles (all planes).
    pub chunk_count: usize,
    /// Images in SubIFDs (tag 330), which pixla does not read.
    pub sub_ifds: usize,
    /// Why this IFD cannot be edited; `None` when [`read_window`] and [`rewrite`] accept it.
    pub unsupported: Option<String>,
}

impl IfdInfo {
    /// Reduced-resolution version of another image (a GDAL internal overview).
    pub fn is_overview(&self) -> bool {
        self.subfile_type & 1 != 0
    }
    /// Transparency mask (GDAL internal mask).
    pub fn is_mask(&self) -> bool {
        self.subfile_type & 4 != 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TiffInfo {
    pub bigtiff: bool,
    pub little_endian: bool,
    pub file_len: u64,
    /// The file carries GDAL's COG ghost header with tile leaders/trailers.
    pub cog_ghost: bool,
    pub ifds: Vec<IfdInfo>,
}

/// Samples, interleaved (`spp` per pixel), row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Samples {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

impl Samples {
    pub fn len(&self) -> usize {
        match self {
            Samples::U8(v) => v.len(),
            Samples::U16(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn bits(&self) -> u16 {
        match self {
            Samples::U8(_) => 8,
            Samples::U16(_) => 16,
        }
    }
}

/// A rectangle of pixels of one IFD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    pub spp: u16,
    pub samples: Samples,
}

impl Window {
    /// The window as an image (spp 1 → Luma, 2 → LumaA, 3 → Rgb, 4 → Rgba), e.g. to run
    /// [`crate::redact::apply`] on it; 4-sample gray+extras is treated as Rgba.
    pub fn to_image(&self) -> Result<DynamicImage> {
        use image::ImageBuffer as B;
        let (w, h) = (self.w, self.h);
        let bad = || anyhow!("window samples do not match {}x{}x{}", w, h, self.spp);
        Ok(match (&self.samples, self.spp) {
            (Samples::U8(v), 1) => {
                DynamicImage::ImageLuma8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            (Samples::U8(v), 2) => {
                DynamicImage::ImageLumaA8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            (Samples::U8(v), 3) => {
                DynamicImage::ImageRgb8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            (Samples::U8(v), 4) => {
                DynamicImage::ImageRgba8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            (Samples::U16(v), 1) => {
                DynamicImage::ImageLuma16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            (Samples::U16(v), 2) => {
                DynamicImage::ImageLumaA16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            (Samples::U16(v), 3) => {
                DynamicImage::ImageRgb16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            (Samples::U16(v), 4) => {
                DynamicImage::ImageRgba16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?)
            }
            _ => bail!("no image type for {} samples per pixel", self.spp),
        })
    }

    /// A window at (x, y) holding `img`'s pixels (the inverse of [`Window::to_image`]).
    pub fn from_image(x: u32, y: u32, img: &DynamicImage) -> Result<Window> {
        let (w, h) = (img.width(), img.height());
        let (spp, samples) = match img {
            DynamicImage::ImageLuma8(b) => (1, Samples::U8(b.as_raw().clone())),
            DynamicImage::ImageLumaA8(b) => (2, Samples::U8(b.as_raw().clone())),
            DynamicImage::ImageRgb8(b) => (3, Samples::U8(b.as_raw().clone())),
            DynamicImage::ImageRgba8(b) => (4, Samples::U8(b.as_raw().clone())),
            DynamicImage::ImageLuma16(b) => (1, Samples::U16(b.as_raw().clone())),
            DynamicImage::ImageLumaA16(b) => (2, Samples::U16(b.as_raw().clone())),
            DynamicImage::ImageRgb16(b) => (3, Samples::U16(b.as_raw().clone())),
            DynamicImage::ImageRgba16(b) => (4, Samples::U16(b.as_raw().clone())),
            other => bail!("cannot put {:?} pixels into a TIFF window", other.color()),
        };
        Ok(Window {
            x,
            y,
            w,
            h,
            spp,
            samples,
        })
    }
}

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
    /// Bytes no IFD references, dropped from the copy ([`copy_examined`]).
    pub unreferenced: Trim,
}

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

/// Scale a rectangle of IFD `from` onto IFD `to` (e.g. full image → overview), rounding
/// outwards so the result covers every pixel the rectangle touches; clipped to `to`.
/// Returns `None` if it falls outside.
pub fn scale_rect(
    info: &TiffInfo,
    from: usize,
    to: usize,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
) -> Option<(u32, u32, u32, u32)> {
    let (a, b) = (info.ifds.get(from)?, info.ifds.get(to)?);
    let sx = |v: u64, up: bool| -> u64 {
        let n = v * b.width as u64;
        if up {
            n.div_ceil(a.width as u64)
        } else {
            n / a.width as u64
        }
    };
    let sy = |v: u64, up: bool| -> u64 {
        let n = v * b.height as u64;
        if up {
            n.div_ceil(a.height as u64)
        } else {
            n / a.height as u64
        }
    };
    let x0 = sx(x as u64, false).min(b.width as u64);
    let y0 = sy(y as u64, false).min(b.height as u64);
    let x1 = sx(x as u64 + w as u64, true).min(b.width as u64);
    let y1 = sy(y as u64 + h as u64, true).min(b.height as u64);
    (x1 > x0 && y1 > y0).then(|| (x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32))
}

/// Read the header and every IFD of the main chain. Allocates no pixel buffers.
pub fn inspect(path: &Path) -> Result<TiffInfo> {
    Ok(Parsed::open(path)?.info())
}

/// Decode the window (x, y, w, h) of IFD `ifd`, touching only the chunks that intersect it.
/// Opens and parses the file each call; use [`TiffReader`] to read many windows.
pub fn read_window(path: &Path, ifd: usize, x: u32, y: u32, w: u32, h: u32) -> Result<Window> {
    TiffReader::open(path)?.read_window(ifd, x, y, w, h)
}

/// An open, parsed TIFF for reading many windows (e.g. detection in bands) without parsing the
/// IFDs again each time. Holds the file handle and the offset arrays, no pixels.
pub struct TiffReader {
    p: Parsed,
}

impl TiffReader {
    pub fn open(path: &Path) -> Result<TiffReader> {
        Ok(TiffReader {
            p: Parsed::open(path)?,
        })
    }

    pub fn info(&self) -> TiffInfo {
        self.p.info()
    }

    /// See [`read_window`].
    pub fn read_window(&mut self, ifd: usize, x: u32, y: u32, w: u32, h: u32) -> Result<Window> {
        let p = &mut self.p;
        let lay = editable(&p.ifds, ifd)?;
        check_rect(lay, x, y, w, h)?;
        let spp = lay.info.samples_per_pixel;
        let n = (w as u64) * (h as u64) * spp as u64;
        ensure!(
            n * (lay.bps as u64 / 8) <= MAX_WINDOW_BYTES,
            "window {w}x{h} is larger than {MAX_WINDOW_BYTES} bytes"
        );
        let mut win = Window {
            x,
            y,
            w,
            h,
            spp,
            samples: if lay.bps == 8 {
                Samples::U8(vec![0; n as usize])
            } else {
                Samples::U16(vec![0; n as usize])
            },
        };
        for idx in lay.chunks_in(x, y, w, h) {
            let chunk = p.src.decode_chunk(lay, idx)?;
            blit_out(lay, idx, &chunk, &mut win)?;
        }
        Ok(win)
    }
}

/// Read every patch back from a rewritten file (the caller's temp file, before renaming it)
/// and check it holds exactly the patch pixels: a fail-closed self-check of [`rewrite`].
pub fn verify(path: &Path, patches: &[(usize, Window)]) -> Result<()> {
    let mut r = TiffReader::open(path)?;
    for (k, (ifd, win)) in patches.iter().enumerate() {
        let got = r
            .read_window(*ifd, win.x, win.y, win.w, win.h)
            .with_context(|| format!("reading back patch {k}"))?;
        ensure!(
            got.samples == win.samples,
            "patch {k} on IFD {ifd} did not read back as written"
        );
    }
    Ok(())
}

/// Copy `src` into `dst` and write each patch's pixels into it (see the module docs).
///
/// `dst` must be a fresh file the caller created (it is truncated first) and is not `src`. On
/// error its contents are unspecified and the caller must discard it. Patches may overlap (the
/// later one wins). Each IFD is edited on its own: to hide a region everywhere, the caller also
/// patches it on every overview ([`scale_rect`] maps a box onto an overview). [`verify`] reads
/// the patches back from the written file.
pub fn rewrite(src: &Path, dst: &mut File, patches: &[(usize, Window)]) -> Result<RewriteStats> {
    let mut p = Parsed::open(src)?;
    same_file_guard(&p.src.f, dst)?;
    // Validate every patch before writing anything, and group them by chunk.
    let mut plan: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for (k, (ifd, win)) in patches.iter().enumerate() {
        let lay = editable(&p.ifds, *ifd).with_context(|| format!("patch {k}"))?;
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
        for idx in lay.chunks_in(win.x, win.y, win.w, win.h) {
            plan.entry((*ifd, idx)).or_default().push(k);
        }
    }
    let shared = p.shared_slots(&plan)?;

    let trim = p.write_examined(dst)?;
    let mut st = RewriteStats {
        unreferenced: trim,
        ..Default::default()
    };
    let mut end = trim.len;
    let mut updates: Vec<(usize, usize, u64, u64)> = Vec::new();
    for (&(ifd, idx), ks) in &plan {
        let lay = &p.ifds[ifd];
        let mut chunk = p.src.decode_chunk(lay, idx)?;
        for &k in ks {
            blit_in(lay, idx, &mut chunk, &patches[k].1)?;
        }
        let data = encode_chunk(lay, chunk)?;
        let (old_off, old_len) = (lay.offsets[idx], lay.counts[idx]);
        let ghost = p.ghost_for(ifd, idx)?;
        let is_shared = shared.contains(&(ifd, idx));
        let new_len = data.len() as u64;
        let new_off;
        if !is_shared && old_len > 0 && new_len <= old_len {
            new_off = old_off;
            write_at(dst, new_off, &data)?;
            let mut tail = old_off + new_len;
            if ghost {
                write_at(dst, old_off - 4, &(new_len as u32).to_le_bytes())?;
                write_at(dst, tail, &trailer(&data))?;
                tail += 4;
            }
            let stop = old_off + old_len + if ghost { 4 } else { 0 };
            st.bytes_zeroed += zero_at(dst, tail, stop - tail)?;
            st.chunks_in_place += 1;
        } else {
            let mut pos = end.next_multiple_of(8);
            if p.ghost.as_ref().is_some_and(|g| g.leader) {
                // Keep the COG convention for the appended tile too: leader, data, trailer.
                write_at(dst, pos, &(new_len as u32).to_le_bytes())?;
                pos += 4;
                write_at(dst, pos, &data)?;
                write_at(dst, pos + new_len, &trailer(&data))?;
                end = pos + new_len + 4;
            } else {
                write_at(dst, pos, &data)?;
                end = pos + new_len;
            }
            new_off = pos;
            st.bytes_appended = end - trim.len;
            if !is_shared && old_len > 0 {
                let stop = old_off + old_len + if ghost { 4 } else { 0 };
                st.bytes_zeroed += zero_at(dst, old_off, stop - old_off)?;
            }
            st.chunks_appended += 1;
        }
        if !p.big {
            ensure!(
                end <= u32::MAX as u64,
                "the edited file would exceed 4 GiB, which classic TIFF cannot address"
            );
        }
        updates.push((ifd, idx, new_off, new_len));
        st.chunks_rewritten += 1;
    }
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
    if st.chunks_appended > 0 {
        if let Some(pos) = p.ghost.as_ref().and_then(|g| g.incompat_no) {
            write_at(dst, pos, b"YES\n")?;
            st.cog_layout_invalidated = true;
        }
    }
    dst.flush()?;
    Ok(st)
}

// ---------------------------------------------------------------------------------------
// Parsing

/// Where one integer array (offsets or byte counts) lives: element i at `pos + i * size`.
#[derive(Debug, Clone)]
struct ArrayLoc {
    typ: u16,
    pos: u64,
}

impl ArrayLoc {
    fn size(&self) -> u64 {
        type_size(self.typ, Types::BigTiff).unwrap_or(4)
    }
    fn encode(&self, v: u64, le: bool) -> Result<Vec<u8>> {
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
struct Layout {
    info: IfdInfo,
    offsets: Vec<u64>,
    counts: Vec<u64>,
    off_arr: ArrayLoc,
    cnt_arr: ArrayLoc,
    /// Chunk size in pixels (strips: image width × rows per strip).
    cw: u32,
    ch: u32,
    across: u32,
    down: u32,
    bps: u16,
    fill: u16,
    le: bool,
}

impl Layout {
    fn per_plane(&self) -> usize {
        self.across as usize * self.down as usize
    }
    fn planes(&self) -> u16 {
        if self.info.planar == 2 {
            self.info.samples_per_pixel
        } else {
            1
        }
    }
    /// Samples per pixel inside one chunk.
    fn spc(&self) -> usize {
        if self.info.planar == 2 {
            1
        } else {
            self.info.samples_per_pixel as usize
        }
    }
    /// (plane, x0, y0) of a chunk.
    fn origin(&self, idx: usize) -> (u16, u32, u32) {
        let pp = self.per_plane();
        let (plane, i) = (idx / pp, idx % pp);
        let (row, col) = (i / self.across as usize, i % self.across as usize);
        (plane as u16, col as u32 * self.cw, row as u32 * self.ch)
    }
    /// Stored size (w, h) of a chunk: full tiles, but the last strip only has the rows left.
    fn stored(&self, idx: usize) -> (u32, u32) {
        match self.info.chunking {
            Chunking::Tiles { .. } => (self.cw, self.ch),
            Chunking::Strips { .. } => {
                let (_, _, y0) = self.origin(idx);
                (self.cw, self.ch.min(self.info.height - y0))
            }
        }
    }
    fn chunks_in(&self, x: u32, y: u32, w: u32, h: u32) -> Vec<usize> {
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

#[derive(Debug, Clone)]
struct Ghost {
    leader: bool,
    trailer: bool,
    /// Position of `NO\n ` after `KNOWN_INCOMPATIBLE_EDITION=`.
    incompat_no: Option<u64>,
}

/// The source file, read-only, with its length and byte order.
struct Src {
    f: File,
    len: u64,
    le: bool,
}

struct Parsed {
    src: Src,
    big: bool,
    ghost: Option<Ghost>,
    /// Byte ranges [start, end) of the header, ghost area, IFDs and out-of-line tag values.
    structure: Vec<(u64, u64)>,
    ifds: Vec<Layout>,
}

fn read_at(f: &mut File, len: u64, off: u64, buf: &mut [u8]) -> Result<()> {
    let end = off
        .checked_add(buf.len() as u64)
        .ok_or_else(|| anyhow!("offset {off} overflows"))?;
    ensure!(
        end <= len,
        "{} bytes at offset {off} run past the end of the file ({len} bytes)",
        buf.len()
    );
    f.seek(SeekFrom::Start(off))?;
    f.read_exact(buf)?;
    Ok(())
}

impl Parsed {
    fn open(path: &Path) -> Result<Parsed> {
        let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let len = f.metadata()?.len();
        let mut p = Parsed {
            src: Src { f, len, le: true },
            big: false,
            ghost: None,
            structure: Vec::new(),
            ifds: Vec::new(),
        };
        p.parse()
            .with_context(|| format!("{} is not a TIFF pixla can edit", path.display()))?;
        Ok(p)
    }

    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<()> {
        self.src.read(off, buf)
    }

    fn parse(&mut self) -> Result<()> {
        ensure!(
            self.src.len >= 8,
            "file is only {} bytes long",
            self.src.len
        );
        let mut h = [0u8; 16];
        let hn = self.src.len.min(16) as usize;
        self.read(0, &mut h[..hn])?;
        self.src.le = match &h[..2] {
            b"II" => true,
            b"MM" => false,
            _ => bail!("no TIFF byte-order mark"),
        };
        let first = match rd16(self.src.le, &h[2..]) {
            42 => rd32(self.src.le, &h[4..]) as u64,
            43 => {
                ensure!(hn == 16, "truncated BigTIFF header");
                ensure!(
                    rd16(self.src.le, &h[4..]) == 8 && rd16(self.src.le, &h[6..]) == 0,
                    "BigTIFF header with offset size other than 8"
                );
                self.big = true;
                rd64(self.src.le, &h[8..])
            }
            v => bail!("TIFF version {v} (neither 42 nor 43)"),
        };
        let hl = if self.big { 16 } else { 8 };
        self.structure.push((0, hl));
        self.parse_ghost(hl)?;

        let mut next = first;
        let mut seen = HashSet::new();
        let mut raw_ifds = Vec::new();
        while next != 0 {
            ensure!(seen.insert(next), "IFD chain loops back to offset {next}");
            ensure!(raw_ifds.len() < MAX_IFDS, "more than {MAX_IFDS} IFDs");
            let (entries, n) = self
                .directory(next)
                .with_context(|| format!("IFD {} at offset {next}", raw_ifds.len()))?;
            raw_ifds.push((next, entries));
            next = n;
        }
        ensure!(!raw_ifds.is_empty(), "no IFD");
        // the EXIF, GPS and Interoperability IFDs are structure too (their entries and
        // values are kept); best effort: what cannot be read is not referenced
        let mut private: Vec<u64> = Vec::new();
        for (_, entries) in &raw_ifds {
            private.extend(
                entries
                    .iter()
                    .filter(|e| matches!(e.tag, T_EXIF_IFD | T_GPS_IFD) && e.count == 1)
                    .map(|e| self.field_u(e)),
            );
        }
        while let Some(off) = private.pop() {
            if off == 0 || !seen.insert(off) || seen.len() > MAX_IFDS * 2 {
                continue;
            }
            if let Ok((entries, _)) = self.directory(off) {
                private.extend(
                    entries
                        .iter()
                        .filter(|e| e.tag == T_INTEROP_IFD && e.count == 1)
                        .map(|e| self.field_u(e)),
                );
            }
        }
        for (i, (off, entries)) in raw_ifds.iter().enumerate() {
            self.build(i, *off, entries)
                .with_context(|| format!("IFD {i}"))?;
        }
        self.check_slots()
    }

    /// The value of a one-element inline integer entry (an IFD offset).
    fn field_u(&self, e: &Entry) -> u64 {
        match (e.typ, self.big) {
            (3, _) => rd16(self.src.le, &e.field) as u64,
            (16 | 18, true) => rd64(self.src.le, &e.field),
            _ => rd32(self.src.le, &e.field) as u64,
        }
    }

    /// Every strip and tile has bytes of its own, outside the TIFF structure. A file whose
    /// chunks share bytes (a million strips at one offset) would make the work of reading it
    /// unbounded by its size; with this rule there are at most as many non-empty chunks as
    /// the file has bytes. Refused otherwise.
    fn check_slots(&self) -> Result<()> {
        let mut slots: Vec<(u64, u64, u32, u32)> = Vec::new();
        for (i, lay) in self.ifds.iter().enumerate() {
            slots.extend(
                lay.offsets
                    .iter()
                    .zip(&lay.counts)
                    .enumerate()
                    .filter(|(_, (_, &c))| c > 0)
                    .map(|(j, (&o, &c))| (o, o + c, i as u32, j as u32)),
            );
        }
        slots.sort_unstable();
        let mut max: Option<(u64, u32, u32)> = None;
        for &(o, e, i, j) in &slots {
            if let Some((end, pi, pj)) = max.filter(|m| o < m.0) {
                bail!("IFD {pi} chunk {pj} and IFD {i} chunk {j} share bytes (at offset {o}, up to {end}): every strip or tile must have bytes of its own; refused");
            }
            if max.is_none_or(|m| e > m.0) {
                max = Some((e, i, j));
            }
        }
        let mut st = self.structure.clone();
        st.sort_unstable();
        let mut k = 0;
        for &(o, e, i, j) in &slots {
            while k < st.len() && st[k].1 <= o {
                k += 1;
            }
            // st is sorted by start, not merged: look at every range that starts before e
            if let Some(s) = st[k..].iter().take_while(|s| s.0 < e).find(|s| s.1 > o) {
                bail!("IFD {i} chunk {j} ({} bytes at {o}) overlaps TIFF structure at {}..{}; refused", e - o, s.0, s.1);
            }
        }
        Ok(())
    }

    /// The byte ranges `[start, end)` that the file's IFDs reference, sorted and merged: the
    /// header, the IFDs and their tag values (EXIF and GPS IFDs included), every strip and
    /// tile, and a COG's tile leaders and trailers. Everything else is no part of the image.
    fn referenced(&self) -> Vec<(u64, u64)> {
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
    fn write_examined(&mut self, dst: &mut File) -> Result<Trim> {
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

    fn parse_ghost(&mut self, hl: u64) -> Result<()> {
        const KEY: &[u8] = b"GDAL_STRUCTURAL_METADATA_SIZE=";
        let mut b = [0u8; 43];
        if self.src.len < hl + 43 || self.read(hl, &mut b).is_err() || !b.starts_with(KEY) {
            return Ok(());
        }
        let Some(size) = std::str::from_utf8(&b[30..36])
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        else {
            return Ok(());
        };
        if size > 65536 || hl + 43 + size > self.src.len {
            return Ok(());
        }
        let mut text = vec![0u8; size as usize];
        self.read(hl + 43, &mut text)?;
        let has = |s: &[u8]| text.windows(s.len()).position(|w| w == s);
        let incompat_no = has(b"KNOWN_INCOMPATIBLE_EDITION=NO\n ").map(|i| hl + 43 + i as u64 + 27);
        self.ghost = Some(Ghost {
            leader: has(b"BLOCK_LEADER=SIZE_AS_UINT4").is_some(),
            trailer: has(b"BLOCK_TRAILER=LAST_4_BYTES_REPEATED").is_some(),
            incompat_no,
        });
        self.structure.push((hl, hl + 43 + size));
        Ok(())
    }

    /// Entries and the next-IFD offset of the IFD at `off`, read by the one IFD reader with a
    /// file's limits: at most [`MAX_ENTRIES`] entries, none empty, no tag twice, every value
    /// inside the file. Its table and values join the structure (also those read before a
    /// broken entry: the EXIF and GPS IFDs are read best effort).
    fn directory(&mut self, off: u64) -> Result<(Vec<Entry>, u64)> {
        let form = Form {
            big: self.big,
            le: self.src.le,
            types: Types::BigTiff,
            max_entries: MAX_ENTRIES,
            empty_ok: false,
            unique_tags: true,
            check_values: true,
        };
        let mut seen = Vec::new();
        let read = ifd::read_ifd(&mut self.src, off, &form, &mut seen);
        self.structure.extend(seen);
        let file_len = self.src.len;
        let ifd = read.map_err(|e| match e {
            IfdError::Read(e) => e,
            IfdError::Truncated { need } => anyhow!(
                "{need} bytes at offset {off} run past the end of the file ({file_len} bytes)"
            ),
            IfdError::ValueOutside { tag, len, at } => anyhow!(
                "tag {tag}: {len} value bytes at offset {at} run past the end of the file ({file_len} bytes)"
            ),
            e => anyhow!(e),
        })?;
        Ok((ifd.entries, ifd.next))
    }

    /// Integer values of an entry (BYTE, SHORT, LONG, LONG8, IFD, IFD8).
    fn uints(&mut self, e: &Entry) -> Result<Vec<u64>> {
        let s = match e.typ {
            1 => 1,
            3 => 2,
            4 | 13 => 4,
            16 | 18 => 8,
            t => bail!("tag {} has field type {t}, not an unsigned integer", e.tag),
        };
        ensure!(
            e.count <= MAX_CHUNKS,
            "tag {} has {} values",
            e.tag,
            e.count
        );
        let mut raw = vec![0u8; (e.count * s) as usize];
        if e.inline {
            let k = raw.len();
            raw.copy_from_slice(&e.field[..k]);
        } else {
            self.read(e.value_pos, &mut raw)?;
        }
        Ok(raw
            .chunks_exact(s as usize)
            .map(|c| match s {
                1 => c[0] as u64,
                2 => rd16(self.src.le, c) as u64,
                4 => rd32(self.src.le, c) as u64,
                _ => rd64(self.src.le, c),
            })
            .collect())
    }

    fn build(&mut self, index: usize, offset: u64, entries: &[Entry]) -> Result<()> {
        let get = |t: u16| entries.iter().find(|e| e.tag == t).cloned();
        let one = |p: &mut Parsed, t: u16, default: Option<u64>| -> Result<u64> {
            match get(t) {
                Some(e) => {
                    let v = p.uints(&e)?;
                    v.first()
                        .copied()
                        .ok_or_else(|| anyhow!("tag {t} has no value"))
                }
                None => default.ok_or_else(|| anyhow!("required tag {t} is missing")),
            }
        };
        let width = one(self, T_WIDTH, None)?;
        let height = one(self, T_HEIGHT, None)?;
        ensure!(
            width > 0 && height > 0 && width <= u32::MAX as u64 && height <= u32::MAX as u64,
            "image size {width}x{height}"
        );
        let (width, height) = (width as u32, height as u32);
        let spp = one(self, T_SPP, Some(1))?;
        ensure!(
            (1..=u16::MAX as u64).contains(&spp),
            "SamplesPerPixel {spp}"
        );
        let spp = spp as u16;
        let compression = one(self, T_COMPRESSION, Some(1))? as u16;
        let photometric = match get(T_PHOTOMETRIC) {
            Some(e) => self.uints(&e)?.first().copied().unwrap_or(u16::MAX as u64) as u16,
            None => u16::MAX,
        };
        let planar = one(self, T_PLANAR, Some(1))? as u16;
        let predictor = one(self, T_PREDICTOR, Some(1))? as u16;
        let fill_order = one(self, T_FILL_ORDER, Some(1))?;
        let subfile_type = one(self, T_NEW_SUBFILE_TYPE, Some(0))? as u32;
        let per_sample = |p: &mut Parsed, t: u16, d: u64| -> Result<Vec<u64>> {
            Ok(match get(t) {
                Some(e) => p.uints(&e)?,
                None => vec![d],
            })
        };
        let bits = per_sample(self, T_BITS, 1)?;
        let formats = per_sample(self, T_SAMPLE_FORMAT, 1)?;
        ensure!(
            !bits.is_empty() && !formats.is_empty(),
            "empty BitsPerSample or SampleFormat"
        );
        let extra_samples = match get(T_EXTRA_SAMPLES) {
            Some(e) => self.uints(&e)?.into_iter().map(|v| v as u16).collect(),
            None => Vec::new(),
        };
        let tiled = get(T_TILE_WIDTH).is_some() || get(T_TILE_LENGTH).is_some();
        let (cw, ch, chunking, t_off, t_cnt) = if tiled {
            let (w, h) = (
                one(self, T_TILE_WIDTH, None)?,
                one(self, T_TILE_LENGTH, None)?,
            );
            ensure!(
                w > 0 && h > 0 && w <= u32::MAX as u64 && h <= u32::MAX as u64,
                "tile size {w}x{h}"
            );
            (
                w as u32,
                h as u32,
                Chunking::Tiles {
                    w: w as u32,
                    h: h as u32,
                },
                T_TILE_OFFSETS,
                T_TILE_BYTE_COUNTS,
            )
        } else {
            let rps = one(self, T_ROWS_PER_STRIP, Some(u32::MAX as u64))?;
            ensure!(rps > 0, "RowsPerStrip 0");
            let rps = rps.min(height as u64) as u32;
            (
                width,
                rps,
                Chunking::Strips {
                    rows_per_strip: rps,
                },
                T_STRIP_OFFSETS,
                T_STRIP_BYTE_COUNTS,
            )
        };
        let across = (width as u64).div_ceil(cw as u64);
        let down = (height as u64).div_ceil(ch as u64);
        let planes = if planar == 2 { spp as u64 } else { 1 };
        let expected = across
            .checked_mul(down)
            .and_then(|v| v.checked_mul(planes))
            .ok_or_else(|| anyhow!("chunk count overflows"))?;
        ensure!(
            expected <= MAX_CHUNKS,
            "{expected} chunks (at most {MAX_CHUNKS})"
        );

        let eo = get(t_off).ok_or_else(|| {
            anyhow!(
                "no {} tag",
                if tiled { "TileOffsets" } else { "StripOffsets" }
            )
        })?;
        let ec = get(t_cnt).ok_or_else(|| {
            anyhow!(
                "no {} tag",
                if tiled {
                    "TileByteCounts"
                } else {
                    "StripByteCounts"
                }
            )
        })?;
        for e in [&eo, &ec] {
            ensure!(
                matches!(e.typ, 3 | 4 | 16),
                "tag {} has field type {} (SHORT, LONG or LONG8 expected)",
                e.tag,
                e.typ
            );
        }
        let offsets = self.uints(&eo)?;
        let counts = self.uints(&ec)?;
        ensure!(
            offsets.len() == counts.len(),
            "{} chunk offsets but {} byte counts",
            offsets.len(),
            counts.len()
        );
        ensure!(
            offsets.len() as u64 == expected,
            "{} chunks recorded, {expected} expected for {width}x{height} in {cw}x{ch} chunks",
            offsets.len()
        );
        for (i, (&o, &c)) in offsets.iter().zip(&counts).enumerate() {
            if o == 0 && c == 0 {
                continue;
            }
            let end = o
                .checked_add(c)
                .ok_or_else(|| anyhow!("chunk {i}: offset overflows"))?;
            ensure!(
                end <= self.src.len,
                "chunk {i}: {c} bytes at offset {o} run past the end of the file ({} bytes)",
                self.src.len
            );
        }

        // Editability.
        let mut why: Vec<String> = Vec::new();
        let bps = bits[0];
        if !(bits.len() == 1 || bits.len() == spp as usize) {
            why.push(format!(
                "{} BitsPerSample values for {spp} samples",
                bits.len()
            ));
        }
        if bits.iter().any(|&b| b != bps) {
            why.push(format!("mixed bits per sample {bits:?}"));
        } else if bps != 8 && bps != 16 {
            why.push(format!("{bps}-bit samples (8 and 16 are supported)"));
        }
        if formats.iter().any(|&f| f != 1) {
            why.push(format!("SampleFormat {formats:?} (unsigned integer only)"));
        }
        if !(1..=4).contains(&spp) {
            why.push(format!("{spp} samples per pixel (1 to 4 supported)"));
        }
        match photometric {
            1 => {}
            2 if spp >= 3 => {}
            u16::MAX => why.push("no PhotometricInterpretation".into()),
            p => why.push(format!(
                "PhotometricInterpretation {p} with {spp} samples (BlackIsZero or RGB supported)"
            )),
        }
        if !matches!(compression, 1 | 5 | 8 | 32946 | 32773) {
            why.push(format!(
                "compression {compression} (none, LZW, Deflate and PackBits supported)"
            ));
        }
        if !matches!(predictor, 1 | 2) {
            why.push(format!("predictor {predictor}"));
        }
        if !matches!(planar, 1 | 2) {
            why.push(format!("PlanarConfiguration {planar}"));
        }
        if fill_order != 1 {
            why.push(format!("FillOrder {fill_order}"));
        }
        let spc = if planar == 2 { 1 } else { spp as u64 };
        let chunk_bytes = cw as u64 * ch as u64 * spc * bps.max(1).div_ceil(8);
        if chunk_bytes > MAX_CHUNK_BYTES {
            why.push(format!(
                "one chunk decodes to {chunk_bytes} bytes (at most {MAX_CHUNK_BYTES})"
            ));
        }
        let fill = match get(T_GDAL_NODATA) {
            Some(e) if e.typ == 2 => {
                let mut b = vec![0u8; e.len.unwrap_or(0).min(64) as usize];
                if e.inline {
                    let k = b.len();
                    b.copy_from_slice(&e.field[..k]);
                } else {
                    self.read(e.value_pos, &mut b)?;
                }
                let s = String::from_utf8_lossy(&b)
                    .trim_matches(|c: char| c == '\0' || c.is_whitespace())
                    .to_string();
                s.parse::<f64>()
                    .ok()
                    .filter(|v| {
                        v.fract() == 0.0
                            && *v >= 0.0
                            && *v <= if bps == 8 { 255.0 } else { 65535.0 }
                    })
                    .map_or(0, |v| v as u16)
            }
            _ => 0,
        };
        let info = IfdInfo {
            index,
            offset,
            width,
            height,
            bits_per_sample: bps as u16,
            samples_per_pixel: spp,
            sample_format: formats[0] as u16,
            photometric,
            planar,
            compression,
            predictor,
            chunking,
            subfile_type,
            extra_samples,
            chunk_count: offsets.len(),
            sub_ifds: get(T_SUB_IFDS).map_or(0, |e| e.count as usize),
            unsupported: if why.is_empty() {
                None
            } else {
                Some(why.join("; "))
            },
        };
        let loc = |e: &Entry| ArrayLoc {
            typ: e.typ,
            pos: e.value_pos,
        };
        let lay = Layout {
            info,
            off_arr: loc(&eo),
            cnt_arr: loc(&ec),
            offsets,
            counts,
            cw,
            ch,
            across: across as u32,
            down: down as u32,
            bps: bps as u16,
            fill,
            le: self.src.le,
        };
        self.ifds.push(lay);
        Ok(())
    }

    fn info(&self) -> TiffInfo {
        TiffInfo {
            bigtiff: self.big,
            little_endian: self.src.le,
            file_len: self.src.len,
            cog_ghost: self.ghost.as_ref().is_some_and(|g| g.leader),
            ifds: self.ifds.iter().map(|l| l.info.clone()).collect(),
        }
    }

    /// Does this chunk carry a valid COG leader and trailer?
    fn ghost_for(&mut self, ifd: usize, idx: usize) -> Result<bool> {
        let Some(g) = self.ghost.clone() else {
            return Ok(false);
        };
        if !(g.leader && g.trailer) {
            return Ok(false);
        }
        let (o, c) = (self.ifds[ifd].offsets[idx], self.ifds[ifd].counts[idx]);
        if o < 4 || c < 4 || o + c + 4 > self.src.len {
            return Ok(false);
        }
        let mut lead = [0u8; 4];
        self.read(o - 4, &mut lead)?;
        let mut tail = [0u8; 8];
        self.read(o + c - 4, &mut tail)?;
        Ok(u32::from_le_bytes(lead) as u64 == c && tail[..4] == tail[4..])
    }

    /// Touched chunks whose slot is also used by another chunk (those are appended and their
    /// old slot left alone). A touched slot that overlaps the TIFF structure is an error.
    fn shared_slots(
        &self,
        plan: &BTreeMap<(usize, usize), Vec<usize>>,
    ) -> Result<HashSet<(usize, usize)>> {
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

impl ifd::Bytes for Src {
    fn len(&self) -> u64 {
        self.len
    }
    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<()> {
        Src::read(self, off, buf)
    }
}

impl Src {
    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<()> {
        read_at(&mut self.f, self.len, off, buf)
    }

    /// Decode one chunk into native samples (its stored size, predictor undone).
    fn decode_chunk(&mut self, lay: &Layout, idx: usize) -> Result<Samples> {
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

fn editable(ifds: &[Layout], ifd: usize) -> Result<&Layout> {
    let lay = ifds
        .get(ifd)
        .ok_or_else(|| anyhow!("no IFD {ifd} (the file has {})", ifds.len()))?;
    if let Some(why) = &lay.info.unsupported {
        bail!("IFD {ifd} cannot be edited: {why}");
    }
    Ok(lay)
}

fn check_rect(lay: &Layout, x: u32, y: u32, w: u32, h: u32) -> Result<()> {
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
fn spans(
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

fn win_rect(w: &Window) -> (u32, u32, u32, u32) {
    (w.x, w.y, w.w, w.h)
}

/// Chunk pixels → window.
fn blit_out(lay: &Layout, idx: usize, chunk: &Samples, win: &mut Window) -> Result<()> {
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
fn blit_in(lay: &Layout, idx: usize, chunk: &mut Samples, win: &Window) -> Result<()> {
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

fn encode_chunk(lay: &Layout, mut s: Samples) -> Result<Vec<u8>> {
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

fn decompress(compression: u16, comp: &[u8], nbytes: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; nbytes];
    match compression {
        1 => {
            ensure!(
                comp.len() >= nbytes,
                "uncompressed chunk has {} bytes, {nbytes} needed",
                comp.len()
            );
            out.copy_from_slice(&comp[..nbytes]);
        }
        5 => {
            ensure!(
                !(comp.len() >= 2 && comp[0] == 0 && comp[1] & 1 == 1),
                "old-style (LSB-first) LZW is not supported"
            );
            let mut d =
                weezl::decode::Configuration::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
                    .with_yield_on_full_buffer(true)
                    .build();
            let (mut i, mut o) = (0, 0);
            while o < nbytes {
                let r = d.decode_bytes(&comp[i..], &mut out[o..]);
                i += r.consumed_in;
                o += r.consumed_out;
                match r.status {
                    Ok(weezl::LzwStatus::Ok) if r.consumed_in + r.consumed_out > 0 => {}
                    Ok(_) => break,
                    Err(e) => bail!("LZW data is corrupt: {e}"),
                }
            }
            ensure!(o == nbytes, "LZW data ends after {o} of {nbytes} bytes");
        }
        8 | 32946 => {
            let mut z = flate2::read::ZlibDecoder::new(comp);
            z.read_exact(&mut out)
                .context("Deflate data is corrupt or short")?;
        }
        32773 => {
            let (mut i, mut o) = (0usize, 0usize);
            while o < nbytes {
                ensure!(
                    i < comp.len(),
                    "PackBits data ends after {o} of {nbytes} bytes"
                );
                let n = comp[i] as i8;
                i += 1;
                if n >= 0 {
                    let k = n as usize + 1;
                    ensure!(
                        i + k <= comp.len() && o + k <= nbytes,
                        "PackBits literal run overruns"
                    );
                    out[o..o + k].copy_from_slice(&comp[i..i + k]);
                    i += k;
                    o += k;
                } else if n != -128 {
                    let k = (1 - n as isize) as usize;
                    ensure!(
                        i < comp.len() && o + k <= nbytes,
                        "PackBits repeat run overruns"
                    );
                    out[o..o + k].fill(comp[i]);
                    i += 1;
                    o += k;
                }
            }
        }
        c => bail!("compression {c} is not supported"),
    }
    Ok(out)
}

fn compress(compression: u16, raw: &[u8]) -> Result<Vec<u8>> {
    Ok(match compression {
        1 => raw.to_vec(),
        5 => weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .encode(raw)
            .map_err(|e| anyhow!("LZW: {e}"))?,
        8 | 32946 => {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            z.write_all(raw)?;
            z.finish()?
        }
        32773 => packbits(raw),
        c => bail!("compression {c} is not supported"),
    })
}

/// PackBits, written here: runs of 2+ equal bytes as repeats, the rest as literals (≤128).
fn packbits(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 128 + 1);
    let mut i = 0;
    while i < raw.len() {
        let mut run = 1;
        while i + run < raw.len() && run < 128 && raw[i + run] == raw[i] {
            run += 1;
        }
        if run >= 2 {
            out.push((1i16 - run as i16) as i8 as u8);
            out.push(raw[i]);
            i += run;
        } else {
            let start = i;
            i += 1;
            while i < raw.len() && i - start < 128 && !(i + 1 < raw.len() && raw[i] == raw[i + 1]) {
                i += 1;
            }
            out.push((i - start - 1) as u8);
            out.extend_from_slice(&raw[start..i]);
        }
    }
    out
}

fn trailer(data: &[u8]) -> [u8; 4] {
    let mut t = [0u8; 4];
    let k = data.len().min(4);
    t[4 - k..].copy_from_slice(&data[data.len() - k..]);
    t
}

fn write_at(f: &mut File, off: u64, buf: &[u8]) -> Result<()> {
    f.seek(SeekFrom::Start(off))?;
    f.write_all(buf)?;
    Ok(())
}

fn zero_at(f: &mut File, off: u64, n: u64) -> Result<u64> {
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
fn same_file_guard(src: &File, dst: &File) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (src.metadata()?, dst.metadata()?);
    ensure!(
        !(a.dev() == b.dev() && a.ino() == b.ino()),
        "the output file is the input file"
    );
    Ok(())
}

#[cfg(not(unix))]
fn same_file_guard(_: &File, _: &File) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_round_trip() {
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![7],
            vec![1, 1],
            vec![1, 2, 3, 3, 3, 3, 4, 5, 5, 6],
            (0..1000u32).map(|i| (i * 7 % 13) as u8).collect(),
            vec![9; 1000],
            (0..1000u32)
                .map(|i| if i % 300 < 150 { 4 } else { (i % 251) as u8 })
                .collect(),
        ];
        for raw in cases {
            let enc = packbits(&raw);
            assert_eq!(decompress(32773, &enc, raw.len()).unwrap(), raw);
        }
    }

    #[test]
    fn codecs_round_trip_and_refuse_short_data() {
        let raw: Vec<u8> = (0..5000u32).map(|i| ((i / 10) % 256) as u8).collect();
        for c in [1u16, 5, 8, 32946, 32773] {
            let enc = compress(c, &raw).unwrap();
            assert_eq!(
                decompress(c, &enc, raw.len()).unwrap(),
                raw,
                "compression {c}"
            );
            let short = &enc[..enc.len() / 2];
            assert!(
                decompress(c, short, raw.len()).is_err(),
                "compression {c} accepted half its data"
            );
        }
    }
}

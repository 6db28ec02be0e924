//! Lossless JPEG redaction: rewrite only the DCT blocks under a redaction, in the compressed
//! domain, through libjpeg's coefficient API (mozjpeg-sys builds libjpeg-turbo's code from
//! source, so nothing has to be installed on the machine).
//!
//! Every block outside the redactions keeps its quantised coefficients bit for bit, and the
//! quantisation tables, sampling factors, component ids and restart interval are carried
//! over; only the Huffman coding is rebuilt (optimised tables). Then:
//!
//! - fill: the boxes as planned, to the pixel, all in one pass. A block wholly inside them
//!   gets DC = black (Y = 0, Cb = Cr = 128) and no AC energy; a block they cover in part is
//!   decoded to samples, the covered samples (chroma samples rounded outwards) are set to
//!   black and neutral, and the block is encoded again with the file's quantisation table
//!   (`dct`): the covered luma is asked for black minus the least overshoot that leaves it
//!   black after quantisation, and a chroma block that quantisation cannot keep neutral under
//!   the box is made neutral whole. The covered samples' old values play no part in the new
//!   block. (Widened to the 8 px MCU grid, the 13 plate fills of the demo's
//!   `small-vehicles1.jpeg` were 11 times the detected plates' area; to the pixel, 3.5 times,
//!   the padding's share, as on the re-encode path.)
//! - pixelate: the box is first widened to the MCU grid ([`align_to_mcu`]) and cut into
//!   cells of whole MCUs; every block of a cell gets the cell's mean DC (per component) and
//!   no AC energy, so each cell decodes to one flat colour, exactly what spatial pixelation
//!   does.
//!
//! Only blocks a box touches change.
//!
//! Anything the path cannot do exactly (arithmetic coding, 12-bit, CMYK/YCCK, a scan with
//! corrupt data, blur) is an `Err`, and the caller falls back to re-encoding and says so.

use crate::error::FileErrorKind;
use crate::formats::jpeg::dct::{self, Target};
use crate::formats::refused;
use crate::geom::PixBox;
use anyhow::{anyhow, bail};
use mozjpeg_sys::*;
use std::collections::BTreeMap;
use std::ops::Range;
use std::os::raw::{c_int, c_ulong};

/// The MCU grid of a JPEG, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    pub mcu_w: u32,
    pub mcu_h: u32,
    pub width: u32,
    pub height: u32,
    pub progressive: bool,
    /// Components (1 grey, 3 YCbCr) and their sampling factors.
    pub components: u8,
    pub samp: [(u8, u8); 4],
}

impl Grid {
    /// Pixels covered by one block of component `ci`, across and down.
    pub fn block_px(&self, ci: usize) -> (u32, u32) {
        let (h, v) = self.samp[ci];
        (self.mcu_w / h.max(1) as u32, self.mcu_h / v.max(1) as u32)
    }
}

/// One edit, in stored pixels. A pixelation's `rect` must be on the MCU grid (see
/// [`align_to_mcu`]); a fill's may be any box.
#[derive(Clone, Copy, Debug)]
pub struct Edit {
    pub rect: PixBox,
    pub kind: EditKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EditKind {
    /// Solid black, to the pixel: blocks the box covers in part are re-encoded with only
    /// their covered samples changed.
    Fill,
    /// Flat cells of `cell` px (a multiple of the MCU size).
    Pixelate { cell: u32 },
}

/// What a lossless rewrite did.
#[derive(Debug, Clone)]
pub struct Rewritten {
    /// The new JPEG (SOI, tables, frame, scans, EOI; no APPn segments of the source).
    pub bytes: Vec<u8>,
    pub grid: Grid,
    /// DCT blocks rewritten, over all components.
    pub blocks_changed: usize,
}

/// Widen `r` outwards to the MCU grid (clipped to the image). Returns `None` for an empty box.
pub fn align_to_mcu(r: PixBox, g: &Grid) -> Option<PixBox> {
    if r.w == 0 || r.h == 0 {
        return None;
    }
    let x0 = (r.x / g.mcu_w) * g.mcu_w;
    let y0 = (r.y / g.mcu_h) * g.mcu_h;
    let x1 = (r.x + r.w)
        .div_ceil(g.mcu_w)
        .saturating_mul(g.mcu_w)
        .min(g.width);
    let y1 = (r.y + r.h)
        .div_ceil(g.mcu_h)
        .saturating_mul(g.mcu_h)
        .min(g.height);
    (x1 > x0 && y1 > y0).then(|| PixBox {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    })
}

/// Pixelation cell for a wanted block edge: rounded up to a whole number of MCUs in both
/// directions (least common multiple of the MCU width and height).
pub fn cell_size(block: u32, g: &Grid) -> u32 {
    let l = lcm(g.mcu_w, g.mcu_h);
    block.max(1).div_ceil(l) * l
}

fn lcm(a: u32, b: u32) -> u32 {
    fn gcd(a: u32, b: u32) -> u32 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    a / gcd(a, b) * b
}

// ---- libjpeg error handling: errors unwind out of C as a Rust panic (mozjpeg-sys is built
// with -fexceptions and declares its callbacks "C-unwind"), caught at the API boundary.

struct JpegError(String);

unsafe extern "C-unwind" fn error_exit(cinfo: &mut jpeg_common_struct) {
    let msg = message(cinfo);
    std::panic::resume_unwind(Box::new(JpegError(msg)));
}

unsafe extern "C-unwind" fn emit_message(cinfo: &mut jpeg_common_struct, level: c_int) {
    // level -1 is a warning (corrupt data libjpeg could step over); remember the first one
    if level < 0 {
        let err = &mut *cinfo.err;
        if err.num_warnings == 0 {
            let msg = message(cinfo);
            let slot = cinfo.client_data as *mut Option<String>;
            if !slot.is_null() {
                *slot = Some(msg);
            }
        }
        (*cinfo.err).num_warnings += 1;
    }
}

unsafe extern "C-unwind" fn output_message(_cinfo: &mut jpeg_common_struct) {}

unsafe fn message(cinfo: &mut jpeg_common_struct) -> String {
    let err = &mut *cinfo.err;
    let buf = [0u8; 80];
    if let Some(f) = err.format_message {
        f(cinfo, &buf);
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn new_err() -> Box<jpeg_error_mgr> {
    // SAFETY: jpeg_error_mgr is a plain C struct; jpeg_std_error fills every field
    let mut err: Box<jpeg_error_mgr> = Box::new(unsafe { std::mem::zeroed() });
    unsafe { jpeg_std_error(&mut err) };
    err.error_exit = Some(error_exit);
    err.emit_message = Some(emit_message);
    err.output_message = Some(output_message);
    err
}

/// Run `f`, turning a libjpeg error (unwound as a panic) into an `Err`.
fn guarded<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => match p.downcast::<JpegError>() {
            Ok(e) => Err(anyhow!("libjpeg: {}", e.0)),
            Err(p) => std::panic::resume_unwind(p),
        },
    }
}

/// A decompressor over `src` with its coefficients read. Dropping it frees everything.
struct Reader<'a> {
    cinfo: Box<jpeg_decompress_struct>,
    _err: Box<jpeg_error_mgr>,
    warning: Box<Option<String>>,
    coefs: *mut *mut jvirt_barray_control,
    frame: Frame,
    _src: &'a [u8],
}

/// What the frame and restart markers say (fields mozjpeg-sys keeps private).
#[derive(Clone, Copy, Debug, Default)]
struct Frame {
    progressive: bool,
    arithmetic: bool,
    precision: u8,
    restart_interval: u16,
}

/// Is this JPEG's frame arithmetic-coded (SOF9–SOF11, SOF13–SOF15)? The same marker walk as
/// the lossless path's own (`frame_of`), so both agree on which files are arithmetic.
pub fn is_arithmetic(src: &[u8]) -> bool {
    frame_of(src).arithmetic
}

/// Read SOFn and DRI from the markers before the first scan.
fn frame_of(src: &[u8]) -> Frame {
    let mut f = Frame {
        precision: 8,
        ..Default::default()
    };
    let mut i = 2usize;
    while i + 4 <= src.len() && src[i] == 0xFF {
        let m = src[i + 1];
        if m == 0xFF {
            i += 1;
            continue;
        }
        if m == 0xDA || m == 0xD9 {
            break;
        }
        let len = u16::from_be_bytes([src[i + 2], src[i + 3]]) as usize;
        let body = src.get(i + 4..i + 2 + len).unwrap_or(&[]);
        match m {
            0xC0..=0xCF if m != 0xC4 && m != 0xC8 && m != 0xCC => {
                f.progressive = matches!(m, 0xC2 | 0xC6 | 0xCA | 0xCE);
                f.arithmetic = m >= 0xC9;
                f.precision = body.first().copied().unwrap_or(8);
            }
            0xDD if body.len() >= 2 => f.restart_interval = u16::from_be_bytes([body[0], body[1]]),
            _ => {}
        }
        i += 2 + len;
    }
    f
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        // a destroy after an error is allowed in libjpeg and frees all its memory
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
            jpeg_destroy_decompress(&mut self.cinfo)
        }));
    }
}

impl<'a> Reader<'a> {
    /// Parse the header only.
    fn header(src: &'a [u8]) -> anyhow::Result<Reader<'a>> {
        let mut err = new_err();
        // SAFETY: zeroed then initialised by jpeg_create_decompress, as libjpeg requires
        let mut cinfo: Box<jpeg_decompress_struct> = Box::new(unsafe { std::mem::zeroed() });
        cinfo.common.err = &mut *err;
        let mut r = Reader {
            cinfo,
            _err: err,
            warning: Box::new(None),
            coefs: std::ptr::null_mut(),
            frame: frame_of(src),
            _src: src,
        };
        unsafe {
            jpeg_create_decompress(&mut *r.cinfo);
            // the warning slot lives in its own box, so its address survives moves of `r`
            r.cinfo.common.client_data = (&mut *r.warning) as *mut Option<String> as *mut _;
            jpeg_mem_src(&mut r.cinfo, src.as_ptr(), src.len() as c_ulong);
            jpeg_read_header(&mut r.cinfo, 1);
        }
        Ok(r)
    }

    fn grid(&self) -> Grid {
        let c = &self.cinfo;
        Grid {
            mcu_w: 8 * c.max_h_samp_factor.max(1) as u32,
            mcu_h: 8 * c.max_v_samp_factor.max(1) as u32,
            width: c.image_width,
            height: c.image_height,
            progressive: self.frame.progressive,
            components: c.num_components as u8,
            samp: {
                let mut s = [(1u8, 1u8); 4];
                for (i, ci) in self.components().iter().take(4).enumerate() {
                    s[i] = (ci.h_samp_factor as u8, ci.v_samp_factor as u8);
                }
                s
            },
        }
    }

    /// Refuse what the lossless path cannot carry exactly.
    fn check_supported(&self) -> anyhow::Result<()> {
        let c = &self.cinfo;
        if self.frame.arithmetic {
            bail!("arithmetic-coded JPEG");
        }
        if self.frame.precision != 8 {
            bail!("{}-bit JPEG", self.frame.precision);
        }
        match (c.num_components, c.jpeg_color_space) {
            (1, J_COLOR_SPACE::JCS_GRAYSCALE) | (3, J_COLOR_SPACE::JCS_YCbCr) => Ok(()),
            (n, cs) => bail!("{n}-component {cs:?} JPEG"),
        }
    }

    fn read_coefficients(&mut self) -> anyhow::Result<()> {
        self.coefs = unsafe { jpeg_read_coefficients(&mut self.cinfo) };
        if self.coefs.is_null() {
            bail!("could not read the DCT coefficients");
        }
        if let Some(w) = self.warning.as_ref() {
            bail!("corrupt scan data ({w})");
        }
        Ok(())
    }

    fn components(&self) -> &[jpeg_component_info] {
        unsafe {
            std::slice::from_raw_parts(self.cinfo.comp_info, self.cinfo.num_components as usize)
        }
    }

    /// Block rows `row..row+1` of component `ci`, writable, `padded width` blocks wide.
    unsafe fn block_row(&mut self, ci: usize, row: u32) -> &mut [JBLOCK] {
        let comp = &*self.cinfo.comp_info.add(ci);
        let wb = padded(comp.width_in_blocks, comp.h_samp_factor);
        let mem = &*self.cinfo.common.mem;
        let access = mem.access_virt_barray.expect("libjpeg memory manager");
        let arr = access(&mut self.cinfo.common, *self.coefs.add(ci), row, 1, 1);
        std::slice::from_raw_parts_mut(*arr, wb as usize)
    }
}

fn padded(blocks: JDIMENSION, samp: c_int) -> u32 {
    let s = samp.max(1) as u32;
    blocks.div_ceil(s) * s
}

/// The MCU grid of a JPEG (header only).
pub fn grid(src: &[u8]) -> anyhow::Result<Grid> {
    guarded(|| {
        let r = Reader::header(src)?;
        r.check_supported()?;
        Ok(r.grid())
    })
}

/// Rewrite `src` with `edits` applied in the DCT domain. Edits are applied in order (put
/// fills after pixelations, so a plate inside a person stays solid).
pub fn rewrite(src: &[u8], edits: &[Edit]) -> anyhow::Result<Rewritten> {
    guarded(|| {
        let mut r = Reader::header(src)?;
        r.check_supported()?;
        let g = r.grid();
        r.read_coefficients()?;
        let comps = unsafe { components(&r) };
        let mut changed = 0usize;
        let mut fills = vec![];
        for e in edits {
            match e.kind {
                // all fills at once, after every pixelation: a block two fills share is
                // re-encoded once, so neither fill's black is taken as picture by the other
                EditKind::Fill => fills.push(e.rect),
                EditKind::Pixelate { cell } => unsafe {
                    changed += pixelate(&mut r, &g, &comps, e.rect, cell)?
                },
            };
        }
        changed += unsafe { fill(&mut r, &g, &comps, &fills) };
        let bytes = unsafe { write(&mut r)? };
        Ok(Rewritten {
            bytes,
            grid: g,
            blocks_changed: changed,
        })
    })
}

/// Block ranges `[b0, b1)` of a component covering pixel range `[p0, p1)`; at the image's
/// far edge the range runs into the MCU padding, so no padding block keeps old content.
fn block_range(
    p0: u32,
    p1: u32,
    image_edge: u32,
    mcu_px: u32,
    samp: c_int,
    blocks: JDIMENSION,
) -> (u32, u32) {
    // pixels per block of this component
    let max_samp_px = mcu_px; // 8 * max sampling factor
    let bpx = max_samp_px / samp.max(1) as u32; // e.g. 16 for 4:2:0 chroma, 8 for luma
    let b0 = p0 / bpx;
    let b1 = if p1 >= image_edge {
        padded(blocks, samp)
    } else {
        p1.div_ceil(bpx)
    };
    (b0, b1.min(padded(blocks, samp)))
}

/// What an edit needs of one component: sampling factors, size in blocks, and its
/// quantisation table (natural order).
struct Comp {
    hs: c_int,
    vs: c_int,
    wb: JDIMENSION,
    hb: JDIMENSION,
    q: [u16; 64],
}

/// A rectangle of pixels, `x0..x1` × `y0..y1`.
#[derive(Clone, Copy)]
struct Cell {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
}

/// Pixelate `rect` in cells of `cell` px; returns the number of blocks changed.
unsafe fn pixelate(
    r: &mut Reader,
    g: &Grid,
    comps: &[Comp],
    rect: PixBox,
    cell: u32,
) -> anyhow::Result<usize> {
    check_pixelation(g, rect, cell)?;
    let (x0, y0) = (rect.x, rect.y);
    let (x1, y1) = (
        (rect.x + rect.w).min(g.width),
        (rect.y + rect.h).min(g.height),
    );
    let mut changed = 0;
    let mut cy = y0;
    while cy < y1 {
        let cy1 = cy.saturating_add(cell).min(y1);
        let mut cx = x0;
        while cx < x1 {
            let cx1 = cx.saturating_add(cell).min(x1);
            let c = Cell {
                x0: cx,
                y0: cy,
                x1: cx1,
                y1: cy1,
            };
            changed += pixelate_cell(r, g, comps, c);
            cx = cx1;
        }
        cy = cy1;
    }
    Ok(changed)
}

/// The components of the image being edited.
unsafe fn components(r: &Reader) -> Vec<Comp> {
    r.components()
        .iter()
        .map(|c| Comp {
            hs: c.h_samp_factor,
            vs: c.v_samp_factor,
            wb: c.width_in_blocks,
            hb: c.height_in_blocks,
            q: if c.quant_table.is_null() {
                [1; 64]
            } else {
                (*c.quant_table).quantval.map(|v| v.max(1))
            },
        })
        .collect()
}

/// A pixelation must lie on the MCU grid, in cells of whole MCUs.
fn check_pixelation(g: &Grid, rect: PixBox, cell: u32) -> anyhow::Result<()> {
    if !rect.x.is_multiple_of(g.mcu_w) || !rect.y.is_multiple_of(g.mcu_h) {
        bail!(
            "pixelation {rect:?} is not on the {}x{} MCU grid",
            g.mcu_w,
            g.mcu_h
        );
    }
    if cell == 0 || !cell.is_multiple_of(g.mcu_w) || !cell.is_multiple_of(g.mcu_h) {
        bail!(
            "pixelation cell {cell} is not a whole number of {}x{} MCUs",
            g.mcu_w,
            g.mcu_h
        );
    }
    Ok(())
}

/// Set every block of every component under cell `c` to the cell's mean DC; returns the
/// number of blocks changed.
unsafe fn pixelate_cell(r: &mut Reader, g: &Grid, comps: &[Comp], c: Cell) -> usize {
    let mut changed = 0;
    for (ci, k) in comps.iter().enumerate() {
        let (bx0, bx1) = block_range(c.x0, c.x1, g.width, g.mcu_w, k.hs, k.wb);
        let (by0, by1) = block_range(c.y0, c.y1, g.height, g.mcu_h, k.vs, k.hb);
        if bx1 <= bx0 || by1 <= by0 {
            continue;
        }
        let dc = mean_dc(r, ci, bx0..bx1, by0..by1);
        for by in by0..by1 {
            let row = r.block_row(ci, by);
            for b in &mut row[bx0 as usize..bx1 as usize] {
                *b = [0; 64];
                b[0] = dc;
                changed += 1;
            }
        }
    }
    changed
}

/// Fill `rects` black, to the pixel: blocks wholly inside them get a flat black (luma) or
/// neutral (chroma) DC, blocks covered in part are re-encoded once with only their covered
/// samples changed ([`dct::fill_partial`]). A box that reaches the image's far edge runs into
/// the MCU padding. Returns the number of blocks changed.
unsafe fn fill(r: &mut Reader, g: &Grid, comps: &[Comp], rects: &[PixBox]) -> usize {
    let mut changed = 0;
    for (ci, k) in comps.iter().enumerate() {
        let target = if ci == 0 {
            Target::Black
        } else {
            Target::Neutral
        };
        for ((bx, by), covered) in coverage(g, k, rects) {
            let b = &mut r.block_row(ci, by)[bx as usize];
            if covered.iter().all(|&c| c) {
                *b = [0; 64];
                b[0] = flat_dc(target, k.q[0]);
            } else {
                dct::fill_partial(b, &k.q, &covered, target);
            }
            changed += 1;
        }
    }
    changed
}

/// The blocks of component `k` that `rects` touch, each with its covered samples (the union
/// over the boxes), in block order.
fn coverage(g: &Grid, k: &Comp, rects: &[PixBox]) -> BTreeMap<(u32, u32), [bool; 64]> {
    // pixels per sample of this component, across and down
    let (sx, sy) = (
        g.mcu_w / (8 * k.hs.max(1) as u32),
        g.mcu_h / (8 * k.vs.max(1) as u32),
    );
    let mut out: BTreeMap<(u32, u32), [bool; 64]> = BTreeMap::new();
    for rect in rects
        .iter()
        .filter(|b| b.w > 0 && b.h > 0 && b.x < g.width && b.y < g.height)
    {
        let (x1, y1) = (rect.x.saturating_add(rect.w), rect.y.saturating_add(rect.h));
        // into the padding beyond the far edge
        let span = Cell {
            x0: rect.x,
            y0: rect.y,
            x1: if x1 >= g.width { u32::MAX } else { x1 },
            y1: if y1 >= g.height { u32::MAX } else { y1 },
        };
        let (bx0, bx1) = block_range(rect.x, x1, g.width, g.mcu_w, k.hs, k.wb);
        let (by0, by1) = block_range(rect.y, y1, g.height, g.mcu_h, k.vs, k.hb);
        for by in by0..by1 {
            for bx in bx0..bx1 {
                let c = covered_samples(span, bx * 8 * sx, by * 8 * sy, sx, sy);
                let m = out.entry((bx, by)).or_insert([false; 64]);
                m.iter_mut().zip(c).for_each(|(m, c)| *m |= c);
            }
        }
    }
    out.retain(|_, m| m.iter().any(|&c| c));
    out
}

/// The samples of a block at pixel `(x, y)` (each sample `sx` × `sy` px) whose pixels meet
/// `span`: rounded outwards, so a chroma sample half over the box is covered.
fn covered_samples(span: Cell, x: u32, y: u32, sx: u32, sy: u32) -> [bool; 64] {
    std::array::from_fn(|k| {
        let (px, py) = (x + (k as u32 % 8) * sx, y + (k as u32 / 8) * sy);
        px < span.x1 && px + sx > span.x0 && py < span.y1 && py + sy > span.y0
    })
}

/// The DC of a flat block at the target level: 8 × the level-shifted value, quantised.
fn flat_dc(target: Target, q0: u16) -> i16 {
    (8.0 * target.level() as f64 / q0 as f64).round() as i16
}

/// The mean DC coefficient of component `ci`'s blocks `bx` × `by`, rounded.
unsafe fn mean_dc(r: &mut Reader, ci: usize, bx: Range<u32>, by: Range<u32>) -> i16 {
    let mut sum = 0i64;
    let mut n = 0i64;
    for y in by {
        let row = r.block_row(ci, y);
        for b in &row[bx.start as usize..bx.end as usize] {
            sum += b[0] as i64;
            n += 1;
        }
    }
    (sum as f64 / n.max(1) as f64).round() as i16
}

/// Write the (edited) coefficients as a new JPEG with the source's critical parameters.
unsafe fn write(r: &mut Reader) -> anyhow::Result<Vec<u8>> {
    let mut err = new_err();
    let mut cinfo: Box<jpeg_compress_struct> = Box::new(std::mem::zeroed());
    cinfo.common.err = &mut *err;
    jpeg_create_compress(&mut *cinfo);
    struct Guard(Box<jpeg_compress_struct>, *mut u8);
    impl Drop for Guard {
        fn drop(&mut self) {
            unsafe {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    jpeg_destroy_compress(&mut self.0)
                }));
                if !self.1.is_null() {
                    libc::free(self.1 as *mut _);
                }
            }
        }
    }
    let mut g = Guard(cinfo, std::ptr::null_mut());
    let mut size: c_ulong = 0;
    // libjpeg-turbo's defaults (baseline, standard scans), not mozjpeg's search for the
    // smallest progressive script: the output keeps the source's kind of JPEG
    jpeg_c_set_int_param(
        &mut g.0,
        J_INT_PARAM::JINT_COMPRESS_PROFILE,
        JINT_COMPRESS_PROFILE_VALUE::JCP_FASTEST as c_int,
    );
    jpeg_copy_critical_parameters(&r.cinfo, &mut g.0);
    g.0.restart_interval = r.frame.restart_interval as _;
    g.0.optimize_coding = 1;
    g.0.write_JFIF_header = 0;
    g.0.write_Adobe_marker = 0;
    if r.frame.progressive {
        jpeg_simple_progression(&mut g.0);
    }
    jpeg_mem_dest(&mut g.0, &mut g.1, &mut size);
    jpeg_write_coefficients(&mut g.0, r.coefs);
    jpeg_finish_compress(&mut g.0);
    if g.1.is_null() {
        bail!("libjpeg wrote no output");
    }
    Ok(std::slice::from_raw_parts(g.1, size as usize).to_vec())
}

/// The quantised DCT coefficients of every component, row-major blocks of the visible
/// (unpadded) block grid: `(width_in_blocks, height_in_blocks, blocks)` per component.
/// For checking that a rewrite left the other blocks alone.
/// One component's DCT coefficients: (width in blocks, height in blocks, the blocks).
pub type Coefficients = (u32, u32, Vec<[i16; 64]>);

pub fn coefficients(src: &[u8]) -> anyhow::Result<Vec<Coefficients>> {
    guarded(|| {
        let mut r = Reader::header(src)?;
        r.read_coefficients()?;
        let dims: Vec<(u32, u32)> = r
            .components()
            .iter()
            .map(|c| (c.width_in_blocks, c.height_in_blocks))
            .collect();
        let mut out = Vec::new();
        for (ci, (wb, hb)) in dims.into_iter().enumerate() {
            let mut blocks = Vec::with_capacity((wb * hb) as usize);
            for by in 0..hb {
                let row = unsafe { r.block_row(ci, by) };
                blocks.extend_from_slice(&row[..wb as usize]);
            }
            out.push((wb, hb, blocks));
        }
        Ok(out)
    })
}

/// Decode to RGB with libjpeg's accurate integer IDCT and plain (box) chroma upsampling,
/// so every output pixel depends only on the blocks that cover it. The reference decoder
/// for showing that pixels outside the edited MCUs are unchanged.
pub fn decode_rgb_plain(src: &[u8]) -> anyhow::Result<image::RgbImage> {
    guarded(|| {
        let mut r = Reader::header(src)?;
        unsafe {
            r.cinfo.out_color_space = J_COLOR_SPACE::JCS_RGB;
            r.cinfo.do_fancy_upsampling = 0;
            r.cinfo.dct_method = J_DCT_METHOD::JDCT_ISLOW;
            jpeg_start_decompress(&mut r.cinfo);
            let (w, h) = (r.cinfo.output_width, r.cinfo.output_height);
            let mut buf = vec![0u8; w as usize * h as usize * 3];
            while r.cinfo.output_scanline < h {
                let line = r.cinfo.output_scanline as usize;
                let mut row = buf[line * w as usize * 3..].as_mut_ptr();
                jpeg_read_scanlines(&mut r.cinfo, &mut row, 1);
            }
            jpeg_finish_decompress(&mut r.cinfo);
            image::RgbImage::from_raw(w, h, buf).ok_or_else(|| anyhow!("bad decoded size"))
        }
    })
}

/// Decode a JPEG the `image` crate's decoder does not read (arithmetic coding, SOF9–SOF11)
/// with libjpeg: grey as L8, YCbCr/RGB as RGB8. `check(w, h)` sees the frame size before any
/// pixel buffer is allocated (the size limits); corrupt scan data is an error, as a truncated
/// scan is for the other decoder.
pub fn decode_pixels(
    src: &[u8],
    check: impl FnOnce(u32, u32) -> anyhow::Result<()>,
) -> anyhow::Result<image::DynamicImage> {
    guarded(|| {
        let mut r = Reader::header(src)?;
        let (w, h, n) = (
            r.cinfo.image_width,
            r.cinfo.image_height,
            r.cinfo.num_components,
        );
        check(w, h)?;
        let grey = match (n, r.cinfo.jpeg_color_space) {
            (1, _) => true,
            (3, J_COLOR_SPACE::JCS_YCbCr | J_COLOR_SPACE::JCS_RGB) => false,
            (n, cs) => {
                return Err(refused(
                    FileErrorKind::Unsupported,
                    format!("{n}-component {cs:?} JPEG in this coding is not supported"),
                ))
            }
        };
        if r.frame.precision != 8 {
            return Err(refused(
                FileErrorKind::Unsupported,
                format!("{}-bit JPEG is not supported", r.frame.precision),
            ));
        }
        let ch = if grey { 1 } else { 3 };
        unsafe {
            r.cinfo.out_color_space = if grey {
                J_COLOR_SPACE::JCS_GRAYSCALE
            } else {
                J_COLOR_SPACE::JCS_RGB
            };
            jpeg_start_decompress(&mut r.cinfo);
            let (w, h) = (r.cinfo.output_width, r.cinfo.output_height);
            let mut buf = vec![0u8; w as usize * h as usize * ch];
            while r.cinfo.output_scanline < h {
                let line = r.cinfo.output_scanline as usize;
                let mut row = buf[line * w as usize * ch..].as_mut_ptr();
                if jpeg_read_scanlines(&mut r.cinfo, &mut row, 1) != 1 {
                    bail!("truncated JPEG: the scan data ends early");
                }
            }
            jpeg_finish_decompress(&mut r.cinfo);
            if let Some(w) = r.warning.as_ref() {
                bail!("corrupt JPEG scan data ({w})");
            }
            let img = if grey {
                image::GrayImage::from_raw(w, h, buf).map(image::DynamicImage::ImageLuma8)
            } else {
                image::RgbImage::from_raw(w, h, buf).map(image::DynamicImage::ImageRgb8)
            };
            img.ok_or_else(|| anyhow!("bad decoded size"))
        }
    })
}

/// How two JPEGs of the same grid differ, relative to a set of rectangles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Both files have the same components, sampling factors and block grid; when not (a
    /// re-encode may change the chroma subsampling) the block counts stay 0.
    pub same_grid: bool,
    /// Blocks (all components) whose coefficients differ, inside and outside the rects.
    pub blocks_inside: usize,
    pub blocks_outside: usize,
    /// Pixels outside the rects that decode differently (plain decoder).
    pub pixels_outside: usize,
    /// Pixels inside the rects that decode differently.
    pub pixels_inside: usize,
}

/// Compare `a` and `b` block by block and pixel by pixel (with [`decode_rgb_plain`]);
/// a block counts as inside when its top-left pixel is in one of `rects`.
pub fn compare(a: &[u8], b: &[u8], rects: &[PixBox]) -> anyhow::Result<Comparison> {
    let g = grid(a)?;
    let inside = |x: u32, y: u32| rects.iter().any(|r| r.contains(x, y));
    let mut c = Comparison::default();
    let (ca, cb) = (coefficients(a)?, coefficients(b)?);
    c.same_grid = grid(b)?.samp == g.samp
        && ca.len() == cb.len()
        && ca.iter().zip(&cb).all(|(x, y)| (x.0, x.1) == (y.0, y.1));
    for (ci, ((wb, hb, ba), (_, _, bb))) in ca.iter().zip(&cb).enumerate().filter(|_| c.same_grid) {
        let (bw, bh) = g.block_px(ci);
        for by in 0..*hb {
            for bx in 0..*wb {
                let i = (by * wb + bx) as usize;
                if ba[i] != bb[i] {
                    if inside(bx * bw, by * bh) {
                        c.blocks_inside += 1;
                    } else {
                        c.blocks_outside += 1;
                    }
                }
            }
        }
    }
    let (pa, pb) = (decode_rgb_plain(a)?, decode_rgb_plain(b)?);
    for (x, y, p) in pb.enumerate_pixels() {
        if p != pa.get_pixel(x, y) {
            if inside(x, y) {
                c.pixels_inside += 1;
            } else {
                c.pixels_outside += 1;
            }
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(w: u32, h: u32, progressive: bool) -> Vec<u8> {
        // a textured picture encoded by libjpeg itself (4:2:0, quality 90)
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 7 + y * 3) as u8, (x ^ y) as u8, ((x * y) / 7) as u8])
        });
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
                &mut out, 90,
            ))
            .unwrap();
        if progressive {
            // transcode to progressive with no edit
            let mut r = Reader::header(&out).unwrap();
            r.read_coefficients().unwrap();
            r.frame.progressive = true;
            unsafe { write(&mut r).unwrap() }
        } else {
            out
        }
    }

    #[test]
    fn untouched_rewrite_keeps_every_coefficient() {
        for prog in [false, true] {
            let src = sample(203, 117, prog);
            let out = rewrite(&src, &[]).unwrap();
            assert_eq!(
                coefficients(&src).unwrap(),
                coefficients(&out.bytes).unwrap()
            );
            assert_eq!(grid(&out.bytes).unwrap().progressive, prog);
        }
    }

    #[test]
    fn edits_change_only_blocks_inside_the_aligned_box() {
        let src = sample(203, 117, false);
        let g = grid(&src).unwrap();
        let m = g.mcu_w;
        // a fill is exact: the blocks it touches are those of its MCU-aligned box
        let exact = PixBox {
            x: 21,
            y: 5,
            w: 30,
            h: 20,
        };
        let fill = align_to_mcu(exact, &g).unwrap();
        assert_eq!(
            fill,
            PixBox {
                x: 21 / m * m,
                y: 0,
                w: (51u32).div_ceil(m) * m - 21 / m * m,
                h: 25u32.div_ceil(m) * m
            }
        );
        // a box at the far corner runs to the image edge (203 is not a multiple of the MCU)
        let pix = align_to_mcu(
            PixBox {
                x: 150,
                y: 70,
                w: 53,
                h: 47,
            },
            &g,
        )
        .unwrap();
        assert_eq!((pix.x + pix.w, pix.y + pix.h), (203, 117));
        let cell = cell_size(20, &g);
        let out = rewrite(
            &src,
            &[
                Edit {
                    rect: pix,
                    kind: EditKind::Pixelate { cell },
                },
                Edit {
                    rect: exact,
                    kind: EditKind::Fill,
                },
            ],
        )
        .unwrap();
        let c = compare(&src, &out.bytes, &[fill, pix]).unwrap();
        assert!(c.blocks_inside > 0);
        assert_eq!((c.blocks_outside, c.pixels_outside), (0, 0), "{c:?}");
        let px = decode_rgb_plain(&out.bytes).unwrap();
        let before = decode_rgb_plain(&src).unwrap();
        let mut kept = (0, 0);
        for (x, y, p) in px.enumerate_pixels() {
            if exact.contains(x, y) {
                assert!(
                    p.0.iter().all(|&v| v <= 3),
                    "fill not black at {x},{y}: {:?}",
                    p.0
                );
            } else if fill.contains(x, y) && !pix.contains(x, y) {
                // around the box, in the blocks it touches: the picture's luma stays
                // (re-quantised; the chroma of a block it touches may go neutral)
                let luma =
                    |p: [u8; 3]| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
                kept.0 += 1;
                kept.1 += ((luma(p.0) - luma(before.get_pixel(x, y).0)).abs() <= 24.0) as usize;
            }
        }
        assert!(
            kept.0 > 0 && kept.1 * 10 >= kept.0 * 9,
            "pixels beside the fill lost: {kept:?}"
        );
        // pixelated: flat within a cell
        let (cx, cy) = (pix.x, pix.y);
        let c = px.get_pixel(cx, cy);
        assert!(px
            .get_pixel(cx + cell - 1, cy + cell - 1)
            .0
            .iter()
            .zip(c.0)
            .all(|(a, b)| (*a as i32 - b as i32).abs() <= 1));
    }

    #[test]
    fn hostile_input_is_an_error_not_a_crash() {
        assert!(rewrite(b"", &[]).is_err());
        assert!(rewrite(b"\xff\xd8\xff\xdb\x00\x03", &[]).is_err());
        let src = sample(64, 64, false);
        assert!(
            rewrite(&src[..src.len() / 2], &[]).is_err(),
            "a truncated scan must not pass as lossless"
        );
        assert!(rewrite(
            &src,
            &[Edit {
                rect: PixBox {
                    x: 3,
                    y: 0,
                    w: 16,
                    h: 16
                },
                kind: EditKind::Pixelate { cell: 16 }
            }]
        )
        .is_err());
    }
}

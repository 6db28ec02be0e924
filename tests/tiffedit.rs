//! TIFF / GeoTIFF surgery (src/tiffedit.rs) on GeoTIFFs made from a real fixture with GDAL
//! (gdal_translate, gdaladdo, gdalinfo): pixels change only under the patches, every other
//! byte of the file stays, GDAL sees the same georeferencing, the old compressed data of a
//! touched chunk is gone, and hostile files give errors.
//!
//! The checks use a small TIFF dumper written here, independent of the module's own parser, and
//! GDAL (not the module) to decode pixels.

use crate::common::{gdal, shared};
use pixla::internal_tests::tiffedit::{self, Chunking, RewriteStats, Samples, TiffInfo, Window};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURE: &str = "aerial-nadir/lacmus_01.png";

// ---------------------------------------------------------------------------------------
// GDAL helpers

/// A GeoTIFF from the fixture: SWEREF 99 TM, 1 m pixels... (here 100 m / 896 px), nodata 0.
fn make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let fx = shared(FIXTURE);
    let mut a = vec![
        "-q",
        "-a_srs",
        "EPSG:3006",
        "-a_ullr",
        "500000",
        "6400000",
        "500100",
        "6399900",
        "-a_nodata",
        "0",
    ];
    a.extend_from_slice(args);
    a.push(fx.to_str().unwrap());
    a.push(out.to_str().unwrap());
    gdal("gdal_translate", &a);
    out
}

/// gdalinfo -json without the parts that name the file.
fn gdal_json(p: &Path) -> Value {
    let o = Command::new("gdalinfo")
        .args(["-json", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "gdalinfo: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = v.as_object_mut().unwrap();
    m.remove("description");
    m.remove("files");
    v
}

/// gdalinfo -checksum reads every block of every band and overview; GDAL must report no error.
fn gdal_reads_all(p: &Path) {
    let o = Command::new("gdalinfo")
        .args(["-checksum", p.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && !err.contains("ERROR"),
        "GDAL cannot read {}: {err}",
        p.display()
    );
}

// ---------------------------------------------------------------------------------------
// A small independent TIFF dumper

#[derive(Debug, Clone)]
struct DEntry {
    tag: u16,
    typ: u16,
    count: u64,
    pos: u64,
    raw: Vec<u8>,
    /// (offset, byte length) of an out-of-line value.
    out: Option<(u64, u64)>,
}

#[derive(Debug)]
struct Dump {
    le: bool,
    big: bool,
    ifds: Vec<(u64, Vec<DEntry>)>,
}

fn tsize(t: u16) -> u64 {
    match t {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        _ => 8,
    }
}

impl Dump {
    fn new(b: &[u8]) -> Dump {
        let le = &b[..2] == b"II";
        let mut d = Dump {
            le,
            big: false,
            ifds: vec![],
        };
        d.big = d.u(b, 2, 2) == 43;
        let mut next = if d.big { d.u(b, 8, 8) } else { d.u(b, 4, 4) };
        while next != 0 {
            let (cs, es) = if d.big { (8, 20) } else { (2, 12) };
            let n = d.u(b, next, cs);
            let mut es_ = vec![];
            for i in 0..n {
                let pos = next + cs + i * es;
                let tag = d.u(b, pos, 2) as u16;
                let typ = d.u(b, pos + 2, 2) as u16;
                let count = if d.big {
                    d.u(b, pos + 4, 8)
                } else {
                    d.u(b, pos + 4, 4)
                };
                let len = count * tsize(typ);
                let fs = if d.big { 8 } else { 4 };
                let out = (len > fs).then(|| (d.u(b, pos + es - fs, fs), len));
                es_.push(DEntry {
                    tag,
                    typ,
                    count,
                    pos,
                    raw: b[pos as usize..(pos + es) as usize].to_vec(),
                    out,
                });
            }
            d.ifds.push((next, es_));
            next = d.u(b, next + cs + n * es, if d.big { 8 } else { 4 });
        }
        d
    }
    fn u(&self, b: &[u8], off: u64, n: u64) -> u64 {
        let s = &b[off as usize..(off + n) as usize];
        let mut v = 0u64;
        for i in 0..n as usize {
            let byte = if self.le { s[n as usize - 1 - i] } else { s[i] };
            v = v << 8 | byte as u64;
        }
        v
    }
    fn entry(&self, ifd: usize, tag: u16) -> Option<&DEntry> {
        self.ifds[ifd].1.iter().find(|e| e.tag == tag)
    }
    /// Position and size of element i of an integer array entry.
    fn elem(&self, e: &DEntry, i: u64) -> (u64, u64) {
        let s = tsize(e.typ);
        let base = match e.out {
            Some((o, _)) => o,
            None => e.pos + if self.big { 12 } else { 8 },
        };
        (base + i * s, s)
    }
    fn vals(&self, b: &[u8], ifd: usize, tag: u16) -> Vec<u64> {
        let Some(e) = self.entry(ifd, tag) else {
            return vec![];
        };
        (0..e.count)
            .map(|i| {
                let (p, s) = self.elem(e, i);
                self.u(b, p, s)
            })
            .collect()
    }
    fn val(&self, b: &[u8], ifd: usize, tag: u16, d: u64) -> u64 {
        self.vals(b, ifd, tag).first().copied().unwrap_or(d)
    }
    /// (offset tag, count tag, chunk w, chunk h, across, chunks per plane) of an IFD.
    fn grid(&self, b: &[u8], ifd: usize) -> (u16, u16, u64, u64, u64, u64) {
        let (w, h) = (self.val(b, ifd, 256, 0), self.val(b, ifd, 257, 0));
        let (ot, ct, cw, ch) = if self.entry(ifd, 322).is_some() {
            (324, 325, self.val(b, ifd, 322, 0), self.val(b, ifd, 323, 0))
        } else {
            (273, 279, w, self.val(b, ifd, 278, h).min(h))
        };
        let across = w.div_ceil(cw);
        (ot, ct, cw, ch, across, across * h.div_ceil(ch))
    }
}

// ---------------------------------------------------------------------------------------
// Patches

fn noise(x: u32, y: u32, c: u32, seed: u32) -> u32 {
    let mut v = x.wrapping_mul(73856093)
        ^ y.wrapping_mul(19349663)
        ^ c.wrapping_mul(83492791)
        ^ seed.wrapping_mul(2654435761);
    v ^= v >> 13;
    v = v.wrapping_mul(0x5bd1e995);
    v ^ (v >> 15)
}

/// A patch: noise (`seed` > 0, compresses badly, so the chunk tends to be appended) or a
/// constant (`seed` = 0, compresses well, so the chunk tends to fit its old slot).
fn patch(
    info: &TiffInfo,
    ifd: usize,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    seed: u32,
) -> (usize, Window) {
    let f = &info.ifds[ifd];
    let (x, y) = (x.min(f.width - 1), y.min(f.height - 1));
    let (w, h) = (w.min(f.width - x), h.min(f.height - y));
    let spp = f.samples_per_pixel as u32;
    let v = |i: u32| {
        let (px, c) = (i / spp, i % spp);
        let (xx, yy) = (x + px % w, y + px / w);
        if seed == 0 {
            7
        } else {
            noise(xx, yy, c, seed)
        }
    };
    let n = w * h * spp;
    let samples = if f.bits_per_sample == 8 {
        Samples::U8((0..n).map(|i| v(i) as u8).collect())
    } else {
        Samples::U16((0..n).map(|i| v(i) as u16).collect())
    };
    (
        ifd,
        Window {
            x,
            y,
            w,
            h,
            spp: f.samples_per_pixel,
            samples,
        },
    )
}

/// Patches crossing chunk borders, on the partial bottom-right edge chunk, a single pixel, and
/// one on every overview.
fn standard_patches(info: &TiffInfo) -> Vec<(usize, Window)> {
    let f = &info.ifds[0];
    let (cw, ch) = match f.chunking {
        Chunking::Tiles { w, h } => (w, h),
        Chunking::Strips { rows_per_strip } => (f.width / 3 + 20, rows_per_strip),
    };
    let partial = match f.chunking {
        Chunking::Tiles { w, h } => !f.width.is_multiple_of(w) || !f.height.is_multiple_of(h),
        Chunking::Strips { rows_per_strip } => !f.height.is_multiple_of(rows_per_strip),
    };
    assert!(
        partial,
        "the bottom-right patch must land on a partial edge chunk: {:?}",
        f.chunking
    );
    let mut v = vec![
        patch(info, 0, cw - 20, ch - 15, 61, 2 * ch.min(40) + 3, 1),
        patch(info, 0, f.width - 120, f.height - 21, 120, 21, 0),
        patch(info, 0, f.width / 2 + 3, f.height / 2 + 5, 1, 1, 2),
    ];
    // A whole interior chunk made flat: it compresses better, so it goes back in its slot.
    let (fx, fy, fw, fh) = match f.chunking {
        Chunking::Tiles { w, h } => (2 * w, h, w, h),
        Chunking::Strips { rows_per_strip } => (0, 4 * rows_per_strip, f.width, rows_per_strip),
    };
    let overlaps = v
        .iter()
        .any(|(_, p)| p.x < fx + fw && fx < p.x + p.w && p.y < fy + fh && fy < p.y + p.h);
    if fx + fw <= f.width && fy + fh <= f.height && !overlaps {
        v.push(patch(info, 0, fx, fy, fw, fh, 0));
    }
    for (i, o) in info.ifds.iter().enumerate().skip(1) {
        if o.is_overview() && o.unsupported.is_none() {
            v.push(patch(
                info,
                i,
                o.width / 4,
                o.height / 4,
                50,
                30,
                3 + i as u32,
            ));
        }
    }
    v
}

// ---------------------------------------------------------------------------------------
// Independent pixel decoding: GDAL, raw pixel-interleaved (ENVI BIP), overviews by -ovr.
// (The `tiff` crate 0.11 refuses some GDAL LZW tiles that end without an EOI code, which
// libtiff and GDAL accept, so it is not used here.)

fn decode_all(p: &Path, ifd: usize) -> (u32, u32, Vec<u32>) {
    let out = p.with_extension(format!("ifd{ifd}.raw"));
    let mut a: Vec<String> = ["-q", "-of", "ENVI", "-co", "INTERLEAVE=BIP"]
        .map(String::from)
        .to_vec();
    if ifd > 0 {
        a.extend(["-ovr".into(), (ifd - 1).to_string()]);
    }
    a.extend([p.to_str().unwrap().into(), out.to_str().unwrap().into()]);
    gdal(
        "gdal_translate",
        &a.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    );
    let hdr = std::fs::read_to_string(out.with_extension("hdr")).unwrap();
    let field = |k: &str| -> u32 {
        hdr.lines()
            .find(|l| l.split('=').next().unwrap().trim() == k)
            .and_then(|l| l.split('=').nth(1)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {k} in ENVI header"))
    };
    let (w, h, typ) = (field("samples"), field("lines"), field("data type"));
    assert_eq!(field("byte order"), 0, "little-endian raw expected");
    let raw = std::fs::read(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    let v = match typ {
        1 => raw.into_iter().map(u32::from).collect(),
        12 => raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]) as u32)
            .collect(),
        t => panic!("ENVI data type {t}"),
    };
    (w, h, v)
}

fn sample(win: &Window, i: usize) -> u32 {
    match &win.samples {
        Samples::U8(v) => v[i] as u32,
        Samples::U16(v) => v[i] as u32,
    }
}

// ---------------------------------------------------------------------------------------
// The full check of one rewrite

/// Rewrite `src` with `patches` and check everything; returns the stats.
fn check_case(src: &Path, patches: &[(usize, Window)]) -> RewriteStats {
    let info = tiffedit::inspect(src).unwrap();
    let dir = src.parent().unwrap();
    let dst = dir.join(format!(
        "{}.out.tif",
        src.file_stem().unwrap().to_str().unwrap()
    ));
    let mut f = std::fs::File::create(&dst).unwrap();
    let st = tiffedit::rewrite(src, &mut f, patches).unwrap();
    drop(f);
    tiffedit::verify(&dst, patches).unwrap();
    // verify() must be able to fail: the source does not hold the patches.
    assert!(tiffedit::verify(src, patches).is_err());
    let (a, b) = (std::fs::read(src).unwrap(), std::fs::read(&dst).unwrap());
    eprintln!(
        "{}: {} IFDs, {:?}",
        src.file_name().unwrap().to_str().unwrap(),
        info.ifds.len(),
        st
    );
    assert!(st.chunks_rewritten > 0);

    // (1) GDAL sees the same georeferencing, metadata, nodata, types, colour interpretation,
    // overviews; and reads every block without error.
    let (ja, jb) = (gdal_json(src), gdal_json(&dst));
    for key in [
        "coordinateSystem",
        "geoTransform",
        "metadata",
        "bands",
        "size",
        "cornerCoordinates",
    ] {
        let (mut x, mut y) = (ja[key].clone(), jb[key].clone());
        if st.cog_layout_invalidated {
            // GDAL stops calling the file a COG once KNOWN_INCOMPATIBLE_EDITION=YES.
            for v in [&mut x, &mut y] {
                if let Some(m) = v
                    .pointer_mut("/IMAGE_STRUCTURE")
                    .and_then(|m| m.as_object_mut())
                {
                    m.remove("LAYOUT");
                }
            }
        }
        assert_eq!(x, y, "gdalinfo {key} changed");
    }
    assert!(ja["coordinateSystem"]["wkt"]
        .as_str()
        .unwrap()
        .contains("SWEREF99 TM"));
    gdal_reads_all(&dst);

    // (2) Same IFDs; every entry other than the chunk arrays byte-equal, with its out-of-line
    // value; chunk arrays keep their type, count and place.
    let (da, db) = (Dump::new(&a), Dump::new(&b));
    assert_eq!(da.ifds.len(), db.ifds.len());
    let chunk_tags = [273u16, 279, 324, 325];
    for ((oa, ea), (ob, eb)) in da.ifds.iter().zip(&db.ifds) {
        assert_eq!(oa, ob, "IFD moved");
        assert_eq!(ea.len(), eb.len());
        for (x, y) in ea.iter().zip(eb) {
            assert_eq!(
                (x.tag, x.typ, x.count, x.pos, x.out.map(|o| o.0)),
                (y.tag, y.typ, y.count, y.pos, y.out.map(|o| o.0))
            );
            if chunk_tags.contains(&x.tag) {
                continue;
            }
            assert_eq!(x.raw, y.raw, "entry of tag {} changed", x.tag);
            if let Some((o, n)) = x.out {
                assert_eq!(
                    a[o as usize..(o + n) as usize],
                    b[o as usize..(o + n) as usize],
                    "value of tag {} changed",
                    x.tag
                );
            }
        }
    }

    // Touched chunks, worked out here from the tags and the patches.
    let mut allowed: Vec<(u64, u64)> = vec![];
    let ghost = info.cog_ghost;
    if let Some(i) = a
        .windows(27)
        .position(|w| w == b"KNOWN_INCOMPATIBLE_EDITION=")
    {
        allowed.push((i as u64 + 27, i as u64 + 31));
    }
    let touched = |ifd: usize, k: usize| -> bool {
        let (_, _, cw, ch, across, per_plane) = da.grid(&a, ifd);
        let (w, h) = (da.val(&a, ifd, 256, 0), da.val(&a, ifd, 257, 0));
        let i = k as u64 % per_plane;
        let (x0, y0) = (i % across * cw, i / across * ch);
        let (x1, y1) = ((x0 + cw).min(w), (y0 + ch).min(h));
        patches.iter().any(|(pi, p)| {
            *pi == ifd
                && (p.x as u64) < x1
                && x0 < (p.x + p.w) as u64
                && (p.y as u64) < y1
                && y0 < (p.y + p.h) as u64
        })
    };
    // Slots of the untouched chunks: identical compressed data may legitimately sit there
    // (e.g. two uniform strips).
    let mut kept: Vec<(u64, u64)> = vec![];
    for ifd in 0..da.ifds.len() {
        let (ot, ct, ..) = da.grid(&a, ifd);
        for (k, (o, c)) in db
            .vals(&b, ifd, ot)
            .into_iter()
            .zip(db.vals(&b, ifd, ct))
            .enumerate()
        {
            if !touched(ifd, k) {
                kept.push((o, o + c));
            }
        }
    }
    let mut touched_total = 0;
    for ifd in 0..da.ifds.len() {
        let (ot, ct, ..) = da.grid(&a, ifd);
        let (oa, ca) = (da.vals(&a, ifd, ot), da.vals(&a, ifd, ct));
        let (ob, cb) = (db.vals(&b, ifd, ot), db.vals(&b, ifd, ct));
        for k in 0..oa.len() {
            if !touched(ifd, k) {
                assert_eq!(
                    (oa[k], ca[k]),
                    (ob[k], cb[k]),
                    "untouched chunk {k} of IFD {ifd} moved"
                );
                continue;
            }
            touched_total += 1;
            let (o, c) = (oa[k], ca[k]);
            let (no, nc) = (ob[k], cb[k]);
            // (4) the old compressed bytes are gone (but for identical untouched chunks), and
            // the old slot holds only zeros (or the new data, when it went back in place).
            let old = &a[o as usize..(o + c) as usize];
            let mut at = 0;
            while let Some(i) = (c > 0)
                .then(|| b[at..].windows(old.len()).position(|w| w == old))
                .flatten()
            {
                let p = (at + i) as u64;
                assert!(kept.iter().any(|s| s.0 <= p && p + c <= s.1), "old data of chunk {k} of IFD {ifd} ({c} bytes at {o}, now {nc} at {no}) survives at {p}");
                at += i + 1;
            }
            let slot_end = o + c + if ghost { 4 } else { 0 };
            let keep = if no == o {
                nc + if ghost { 4 } else { 0 }
            } else {
                0
            };
            assert!(
                b[(o + keep) as usize..slot_end as usize]
                    .iter()
                    .all(|&z| z == 0),
                "old slot of chunk {k} of IFD {ifd} not zeroed"
            );
            if ghost {
                assert_eq!(
                    b[no as usize - 4..no as usize],
                    (nc as u32).to_le_bytes(),
                    "COG leader"
                );
                assert_eq!(
                    b[(no + nc) as usize..(no + nc + 4) as usize],
                    b[(no + nc - 4) as usize..(no + nc) as usize],
                    "COG trailer"
                );
                allowed.push((o - 4, o));
            }
            allowed.push((o, slot_end));
            for tag in [ot, ct] {
                let (p, s) = da.elem(da.entry(ifd, tag).unwrap(), k as u64);
                allowed.push((p, p + s));
            }
        }
    }
    assert_eq!(
        touched_total, st.chunks_rewritten,
        "the module touched a different set of chunks"
    );
    // Every other byte of the source is unchanged; the file only grows.
    assert!(b.len() >= a.len());
    allowed.sort();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if x != y {
            let i = i as u64;
            assert!(
                allowed.iter().any(|r| r.0 <= i && i < r.1),
                "byte {i} changed outside the touched chunks and their array entries"
            );
        }
    }

    // (3) Pixels, decoded by GDAL: the patch inside, the source outside.
    for ifd in 0..info.ifds.len() {
        if info.ifds[ifd].unsupported.is_some() {
            continue;
        }
        let (w, h, pa) = decode_all(src, ifd);
        let (_, _, pb) = decode_all(&dst, ifd);
        assert_eq!(
            (w, h),
            (info.ifds[ifd].width, info.ifds[ifd].height),
            "GDAL overview {ifd} is not IFD {ifd}"
        );
        assert_eq!(pa.len(), pb.len());
        let spp = info.ifds[ifd].samples_per_pixel as usize;
        let mine: Vec<&Window> = patches
            .iter()
            .filter(|p| p.0 == ifd)
            .map(|p| &p.1)
            .collect();
        let mut inside = 0;
        for (i, (&x, &y)) in pa.iter().zip(&pb).enumerate() {
            let (px, s) = (i / spp, i % spp);
            let (cx, cy) = ((px % w as usize) as u32, (px / w as usize) as u32);
            match mine
                .iter()
                .rev()
                .find(|p| cx >= p.x && cx < p.x + p.w && cy >= p.y && cy < p.y + p.h)
            {
                Some(p) => {
                    inside += 1;
                    let j = ((cy - p.y) * p.w + (cx - p.x)) as usize * spp + s;
                    assert_eq!(
                        y,
                        sample(p, j),
                        "IFD {ifd} pixel ({cx}, {cy}) sample {s} is not the patch"
                    );
                }
                None => assert_eq!(
                    x, y,
                    "IFD {ifd} pixel ({cx}, {cy}) sample {s} changed outside the patches"
                ),
            }
        }
        assert_eq!(
            inside,
            mine.iter()
                .map(|p| (p.w * p.h) as usize * spp)
                .sum::<usize>(),
            "overlapping test patches"
        );
        // The module's own window reader agrees with the `tiff` crate on the whole output.
        let f = &info.ifds[ifd];
        let win = tiffedit::read_window(&dst, ifd, 0, 0, f.width, f.height).unwrap();
        assert!(
            (0..pb.len()).all(|i| sample(&win, i) == pb[i]),
            "read_window disagrees with GDAL on IFD {ifd}"
        );
    }
    st
}

fn run_case(name: &str, args: &[&str], overviews: &[&str]) -> RewriteStats {
    let d = tempfile::tempdir().unwrap();
    let src = make(d.path(), name, args);
    if !overviews.is_empty() {
        let mut a = vec!["-q", "-r", "average", src.to_str().unwrap()];
        a.extend_from_slice(overviews);
        gdal("gdaladdo", &a);
    }
    let info = tiffedit::inspect(&src).unwrap();
    for f in &info.ifds {
        assert!(
            f.unsupported.is_none() || f.is_mask(),
            "{name}: IFD {} unsupported: {:?}",
            f.index,
            f.unsupported
        );
    }
    assert_eq!(gdal_json(&src)["bands"][0]["noDataValue"], 0.0);
    let before = std::fs::read(&src).unwrap();
    let st = check_case(&src, &standard_patches(&info));
    assert_eq!(std::fs::read(&src).unwrap(), before, "the input changed");
    st
}

// ---------------------------------------------------------------------------------------
// Layouts

#[test]
fn strips_uncompressed_rgb() {
    let st = run_case(
        "s_none.tif",
        &[
            "-b",
            "1",
            "-b",
            "2",
            "-b",
            "3",
            "-co",
            "COMPRESS=NONE",
            "-co",
            "BLOCKYSIZE=64",
        ],
        &[],
    );
    assert_eq!(
        st.chunks_appended, 0,
        "an uncompressed chunk always fits its slot"
    );
}

#[test]
fn strips_lzw_gray_default_rows() {
    run_case("s_lzw.tif", &["-b", "1", "-co", "COMPRESS=LZW"], &[]);
}

#[test]
fn strips_deflate_predictor_gray_alpha_big_endian() {
    let d = tempfile::tempdir().unwrap();
    let src = make(
        d.path(),
        "s_defl_mm.tif",
        &[
            "-b",
            "1",
            "-b",
            "4",
            "-co",
            "COMPRESS=DEFLATE",
            "-co",
            "PREDICTOR=2",
            "-co",
            "ENDIANNESS=BIG",
            "-co",
            "BLOCKYSIZE=100",
        ],
    );
    let info = tiffedit::inspect(&src).unwrap();
    assert!(!info.little_endian);
    assert_eq!(
        (
            info.ifds[0].samples_per_pixel,
            info.ifds[0].compression,
            info.ifds[0].predictor
        ),
        (2, 8, 2)
    );
    check_case(&src, &standard_patches(&info));
}

#[test]
fn tiles_lzw_predictor_rgba() {
    let st = run_case(
        "t_lzw_rgba.tif",
        &[
            "-co",
            "TILED=YES",
            "-co",
            "COMPRESS=LZW",
            "-co",
            "PREDICTOR=2",
        ],
        &[],
    );
    assert!(
        st.chunks_appended > 0 && st.chunks_in_place > 0,
        "both placements exercised: {st:?}"
    );
}

#[test]
fn tiles_deflate_predictor_16bit_bigtiff() {
    let d = tempfile::tempdir().unwrap();
    let src = make(
        d.path(),
        "t_u16_big.tif",
        &[
            "-ot",
            "UInt16",
            "-scale",
            "0",
            "255",
            "0",
            "65535",
            "-b",
            "1",
            "-b",
            "2",
            "-b",
            "3",
            "-co",
            "TILED=YES",
            "-co",
            "COMPRESS=DEFLATE",
            "-co",
            "PREDICTOR=2",
            "-co",
            "BIGTIFF=YES",
        ],
    );
    let info = tiffedit::inspect(&src).unwrap();
    assert!(info.bigtiff);
    assert_eq!(info.ifds[0].bits_per_sample, 16);
    check_case(&src, &standard_patches(&info));
}

#[test]
fn tiles_lzw_16bit_bigtiff_big_endian_planar() {
    let st = run_case(
        "t_planar.tif",
        &[
            "-ot",
            "UInt16",
            "-scale",
            "0",
            "255",
            "0",
            "65535",
            "-co",
            "TILED=YES",
            "-co",
            "BLOCKXSIZE=128",
            "-co",
            "BLOCKYSIZE=128",
            "-co",
            "COMPRESS=LZW",
            "-co",
            "PREDICTOR=2",
            "-co",
            "BIGTIFF=YES",
            "-co",
            "ENDIANNESS=BIG",
            "-co",
            "INTERLEAVE=BAND",
        ],
        &[],
    );
    assert!(st.chunks_rewritten >= 4 * 4, "all four planes touched");
}

#[test]
fn tiles_packbits_rgb() {
    run_case(
        "t_packbits.tif",
        &[
            "-b",
            "1",
            "-b",
            "2",
            "-b",
            "3",
            "-co",
            "TILED=YES",
            "-co",
            "COMPRESS=PACKBITS",
        ],
        &[],
    );
}

#[test]
fn internal_overviews_gdaladdo() {
    let d = tempfile::tempdir().unwrap();
    let src = make(
        d.path(),
        "ovr.tif",
        &[
            "-b",
            "1",
            "-b",
            "2",
            "-b",
            "3",
            "-co",
            "TILED=YES",
            "-co",
            "COMPRESS=LZW",
            "-co",
            "PREDICTOR=2",
        ],
    );
    gdal(
        "gdaladdo",
        &["-q", "-r", "average", src.to_str().unwrap(), "2", "4"],
    );
    let info = tiffedit::inspect(&src).unwrap();
    assert_eq!(info.ifds.len(), 3);
    assert!(info.ifds[1].is_overview() && info.ifds[2].is_overview());
    assert_eq!((info.ifds[1].width, info.ifds[1].height), (448, 332));
    let patches = standard_patches(&info);
    assert_eq!(
        patches.iter().filter(|p| p.0 > 0).count(),
        2,
        "a patch on each overview"
    );
    check_case(&src, &patches);
    // scale_rect maps a full-resolution box onto an overview, rounding outwards.
    assert_eq!(
        tiffedit::scale_rect(&info, 0, 1, 101, 51, 10, 10),
        Some((50, 25, 6, 6))
    );
    assert_eq!(
        tiffedit::scale_rect(&info, 0, 2, 895, 662, 1, 1),
        Some((223, 165, 1, 1))
    );
}

#[test]
fn cog_leaders_and_trailers_kept() {
    let d = tempfile::tempdir().unwrap();
    let src = make(
        d.path(),
        "cog.tif",
        &[
            "-of",
            "COG",
            "-co",
            "COMPRESS=LZW",
            "-co",
            "BLOCKSIZE=256",
            "-b",
            "1",
            "-b",
            "2",
            "-b",
            "3",
        ],
    );
    let info = tiffedit::inspect(&src).unwrap();
    assert!(info.cog_ghost, "GDAL's COG writes tile leaders");
    assert!(info.ifds.len() >= 2, "COG has overviews");
    let st = check_case(&src, &standard_patches(&info));
    assert_eq!(st.cog_layout_invalidated, st.chunks_appended > 0);
}

/// The intended use: read the window around a detection, redact it with pixla's own
/// `redact::apply` through `Window::to_image`, and write it back.
#[test]
fn redact_through_window_images() {
    use pixla::internal_tests::{geom::PixBox, redact};
    let d = tempfile::tempdir().unwrap();
    let src = make(
        d.path(),
        "r16.tif",
        &[
            "-ot",
            "UInt16",
            "-scale",
            "0",
            "255",
            "0",
            "65535",
            "-co",
            "TILED=YES",
            "-co",
            "COMPRESS=LZW",
            "-co",
            "PREDICTOR=2",
        ],
    );
    let info = tiffedit::inspect(&src).unwrap();
    assert_eq!(
        (info.ifds[0].samples_per_pixel, info.ifds[0].bits_per_sample),
        (4, 16)
    );
    let win = tiffedit::read_window(&src, 0, 200, 150, 180, 140).unwrap();
    let mut img = win.to_image().unwrap();
    assert!(matches!(img, image::DynamicImage::ImageRgba16(_)));
    redact::apply(
        &mut img,
        PixBox {
            x: 20,
            y: 20,
            w: 140,
            h: 100,
        },
        redact::Method::Pixelate,
        8,
    );
    let patched = tiffedit::Window::from_image(200, 150, &img).unwrap();
    assert_ne!(patched.samples, win.samples, "pixelation changed nothing");
    check_case(&src, &[(0, patched.clone())]);
    let back =
        tiffedit::read_window(&src.with_file_name("r16.out.tif"), 0, 200, 150, 180, 140).unwrap();
    assert_eq!(back, patched);
}

/// GDAL's SPARSE_OK files leave never-written tiles out (offset 0, byte count 0); GDAL reads
/// them as the nodata value. A patch on one appends a real tile holding nodata around it.
#[test]
fn sparse_tiles_read_as_nodata_and_get_appended() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("sparse.tif");
    gdal(
        "gdal_create",
        &[
            "-q",
            "-of",
            "GTiff",
            "-outsize",
            "600",
            "400",
            "-bands",
            "1",
            "-ot",
            "Byte",
            "-a_srs",
            "EPSG:3006",
            "-a_ullr",
            "500000",
            "6400000",
            "500060",
            "6399960",
            "-a_nodata",
            "5",
            "-co",
            "TILED=YES",
            "-co",
            "SPARSE_OK=TRUE",
            "-co",
            "COMPRESS=LZW",
            src.to_str().unwrap(),
        ],
    );
    let b = std::fs::read(&src).unwrap();
    let dm = Dump::new(&b);
    assert!(
        dm.vals(&b, 0, 324).iter().all(|&o| o == 0),
        "gdal_create wrote tiles"
    );
    let w = tiffedit::read_window(&src, 0, 250, 250, 20, 20).unwrap();
    assert_eq!(w.samples, Samples::U8(vec![5; 400]));
    let info = tiffedit::inspect(&src).unwrap();
    let st = check_case(&src, &[patch(&info, 0, 240, 240, 40, 30, 9)]);
    assert_eq!((st.chunks_appended, st.bytes_zeroed), (4, 0));
}

#[test]
fn read_window_matches_gdal() {
    let d = tempfile::tempdir().unwrap();
    let src = make(
        d.path(),
        "w.tif",
        &[
            "-co",
            "TILED=YES",
            "-co",
            "BLOCKXSIZE=64",
            "-co",
            "BLOCKYSIZE=32",
            "-co",
            "COMPRESS=DEFLATE",
            "-co",
            "PREDICTOR=2",
        ],
    );
    let (w, _, all) = decode_all(&src, 0);
    for (x, y, ww, hh) in [
        (0, 0, 1, 1),
        (63, 31, 2, 2),
        (100, 200, 300, 17),
        (895, 662, 1, 1),
        (0, 0, 896, 663),
        (830, 600, 66, 63),
    ] {
        let win = tiffedit::read_window(&src, 0, x, y, ww, hh).unwrap();
        for j in 0..hh {
            for i in 0..ww {
                for s in 0..4 {
                    let a = all[(((y + j) * w + x + i) * 4 + s) as usize];
                    assert_eq!(
                        sample(&win, ((j * ww + i) * 4 + s) as usize),
                        a,
                        "({x},{y}) window pixel ({i},{j})"
                    );
                }
            }
        }
    }
    assert!(
        tiffedit::read_window(&src, 0, 890, 0, 7, 1).is_err(),
        "window past the right edge"
    );
    assert!(
        tiffedit::read_window(&src, 0, 0, 0, 0, 5).is_err(),
        "empty window"
    );
    assert!(
        tiffedit::read_window(&src, 1, 0, 0, 1, 1).is_err(),
        "no IFD 1"
    );
}

#[test]
fn rewrite_refuses_bad_patches_and_its_own_input() {
    let d = tempfile::tempdir().unwrap();
    let src = make(
        d.path(),
        "p.tif",
        &["-b", "1", "-co", "TILED=YES", "-co", "COMPRESS=LZW"],
    );
    let info = tiffedit::inspect(&src).unwrap();
    let good = patch(&info, 0, 10, 10, 5, 5, 1);
    let mut out = std::fs::File::create(d.path().join("o.tif")).unwrap();
    let mut wrong_spp = good.clone();
    wrong_spp.1.spp = 3;
    let mut wrong_type = good.clone();
    wrong_type.1.samples = Samples::U16(vec![0; 25]);
    let mut short = good.clone();
    short.1.samples = Samples::U8(vec![0; 24]);
    let mut outside = good.clone();
    outside.1.x = 894;
    for (what, p) in [
        ("spp", wrong_spp),
        ("type", wrong_type),
        ("length", short),
        ("outside", outside),
        ("ifd", (5, good.1.clone())),
    ] {
        assert!(
            tiffedit::rewrite(&src, &mut out, &[p]).is_err(),
            "bad patch ({what}) accepted"
        );
    }
    // The destination must not be the source (it would be truncated).
    let before = std::fs::read(&src).unwrap();
    let mut same = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&src);
    if let Ok(f) = same.as_mut() {
        assert!(tiffedit::rewrite(&src, f, &[good]).is_err());
    }
    assert_eq!(std::fs::read(&src).unwrap(), before);
}

#[test]
fn unsupported_layouts_are_reported_and_refused() {
    let d = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "jpeg.tif",
            &["-b", "1", "-b", "2", "-b", "3", "-co", "COMPRESS=JPEG"],
            "compression 7",
        ),
        (
            "float.tif",
            &["-ot", "Float32", "-b", "1", "-co", "COMPRESS=LZW"],
            "SampleFormat",
        ),
        (
            "ycbcr.tif",
            &[
                "-b",
                "1",
                "-b",
                "2",
                "-b",
                "3",
                "-co",
                "COMPRESS=JPEG",
                "-co",
                "PHOTOMETRIC=YCBCR",
            ],
            "PhotometricInterpretation 6",
        ),
        (
            "onebit.tif",
            &["-b", "1", "-ot", "Byte", "-co", "NBITS=1"],
            "1-bit",
        ),
        ("int16.tif", &["-b", "1", "-ot", "Int16"], "SampleFormat"),
    ];
    for (name, args, why) in cases {
        let src = make(d.path(), name, args);
        let info = tiffedit::inspect(&src).unwrap();
        let u = info.ifds[0].unsupported.clone().unwrap_or_default();
        assert!(u.contains(why), "{name}: expected '{why}' in {u:?}");
        assert!(tiffedit::read_window(&src, 0, 0, 0, 4, 4).is_err());
        let w = Window {
            x: 0,
            y: 0,
            w: 1,
            h: 1,
            spp: info.ifds[0].samples_per_pixel,
            samples: Samples::U8(vec![0; info.ifds[0].samples_per_pixel as usize]),
        };
        let mut out = std::fs::File::create(d.path().join("o.tif")).unwrap();
        assert!(
            tiffedit::rewrite(&src, &mut out, &[(0, w)]).is_err(),
            "{name} rewritten"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Hostile files

/// A minimal little-endian classic TIFF: entries (tag, type, values) with values ≤ 4 bytes
/// inline, then `data` at the end; returns the file and the offset of `data`.
fn craft(entries: &[(u16, u16, Vec<u32>)], data: &[u8], next_ifd: Option<u32>) -> Vec<u8> {
    let n = entries.len();
    let ifd_len = 2 + 12 * n + 4;
    let mut extra: Vec<u8> = vec![];
    let extra_base = 8 + ifd_len;
    let mut ifd = (n as u16).to_le_bytes().to_vec();
    let data_off = |extra_len: usize| (extra_base + extra_len) as u32;
    let mut sorted = entries.to_vec();
    sorted.sort_by_key(|e| e.0);
    let total_extra: usize = sorted
        .iter()
        .map(|(_, t, v)| {
            if v.len() as u64 * tsize(*t) > 4 {
                v.len() * tsize(*t) as usize
            } else {
                0
            }
        })
        .sum();
    let doff = data_off(total_extra);
    for (tag, typ, vals) in &sorted {
        let vals: Vec<u32> = vals
            .iter()
            .map(|&v| if v == u32::MAX - 1 { doff } else { v })
            .collect();
        let mut bytes = vec![];
        for v in &vals {
            match typ {
                3 => bytes.extend_from_slice(&(*v as u16).to_le_bytes()),
                _ => bytes.extend_from_slice(&v.to_le_bytes()),
            }
        }
        ifd.extend_from_slice(&tag.to_le_bytes());
        ifd.extend_from_slice(&typ.to_le_bytes());
        ifd.extend_from_slice(&(vals.len() as u32).to_le_bytes());
        if bytes.len() <= 4 {
            bytes.resize(4, 0);
            ifd.extend_from_slice(&bytes);
        } else {
            ifd.extend_from_slice(&((extra_base + extra.len()) as u32).to_le_bytes());
            extra.extend_from_slice(&bytes);
        }
    }
    ifd.extend_from_slice(&next_ifd.unwrap_or(0).to_le_bytes());
    let mut f = b"II*\0".to_vec();
    f.extend_from_slice(&8u32.to_le_bytes());
    f.extend_from_slice(&ifd);
    f.extend_from_slice(&extra);
    f.extend_from_slice(data);
    f
}

/// `DATA` in a value list stands for the offset of the data block.
const DATA: u32 = u32::MAX - 1;

fn gray(
    w: u32,
    h: u32,
    rps: u32,
    offsets: Vec<u32>,
    counts: Vec<u32>,
) -> Vec<(u16, u16, Vec<u32>)> {
    vec![
        (256, 4, vec![w]),
        (257, 4, vec![h]),
        (258, 3, vec![8]),
        (259, 3, vec![1]),
        (262, 3, vec![1]),
        (273, 4, offsets),
        (277, 3, vec![1]),
        (278, 4, vec![rps]),
        (279, 4, counts),
    ]
}

#[test]
fn crafted_tiny_tiff_reads_and_rewrites() {
    let d = tempfile::tempdir().unwrap();
    let px: Vec<u8> = (0..16).collect();
    let p = d.path().join("tiny.tif");
    std::fs::write(&p, craft(&gray(4, 4, 4, vec![DATA], vec![16]), &px, None)).unwrap();
    let info = tiffedit::inspect(&p).unwrap();
    assert_eq!(info.ifds[0].unsupported, None);
    let win = tiffedit::read_window(&p, 0, 1, 1, 2, 2).unwrap();
    assert_eq!(win.samples, Samples::U8(vec![5, 6, 9, 10]));
    let mut f = std::fs::File::create(d.path().join("o.tif")).unwrap();
    let patch = Window {
        x: 1,
        y: 1,
        w: 2,
        h: 2,
        spp: 1,
        samples: Samples::U8(vec![0; 4]),
    };
    tiffedit::rewrite(&p, &mut f, &[(0, patch)]).unwrap();
    let out = tiffedit::read_window(&d.path().join("o.tif"), 0, 0, 0, 4, 4).unwrap();
    assert_eq!(
        out.samples,
        Samples::U8(vec![0, 1, 2, 3, 4, 0, 0, 7, 8, 0, 0, 11, 12, 13, 14, 15])
    );
}

#[test]
fn hostile_files_give_errors() {
    let d = tempfile::tempdir().unwrap();
    let try_all = |name: &str, bytes: &[u8]| -> (bool, bool, bool) {
        let p = d.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let i = tiffedit::inspect(&p);
        let r = tiffedit::read_window(&p, 0, 0, 0, 1, 1);
        let mut out = std::fs::File::create(d.path().join(format!("{name}.out"))).unwrap();
        let w = Window {
            x: 0,
            y: 0,
            w: 1,
            h: 1,
            spp: 1,
            samples: Samples::U8(vec![0]),
        };
        let rw = tiffedit::rewrite(&p, &mut out, &[(0, w)]);
        (i.is_ok(), r.is_ok(), rw.is_ok())
    };
    let err = |name: &str, bytes: &[u8], msg: &str| {
        let p = d.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let e = format!("{:#}", tiffedit::inspect(&p).unwrap_err());
        assert!(e.contains(msg), "{name}: {e}");
        assert_eq!(try_all(name, bytes), (false, false, false), "{name}");
    };
    err("empty.tif", b"", "bytes long");
    err("magic.tif", b"PK\x03\x04zipzipzip", "byte-order mark");
    let mut past = b"II*\0".to_vec();
    past.extend_from_slice(&0x7fff_0000u32.to_le_bytes());
    err("past_eof.tif", &past, "past the end");
    // A strip beyond the end of the file.
    err(
        "strip_past_eof.tif",
        &craft(&gray(4, 4, 4, vec![1_000_000], vec![16]), &[0; 16], None),
        "past the end",
    );
    // A strip whose bytes run past the end.
    err(
        "strip_short.tif",
        &craft(&gray(4, 4, 4, vec![DATA], vec![17]), &[0; 16], None),
        "past the end",
    );
    // IFD chain pointing back to itself.
    err(
        "loop.tif",
        &craft(&gray(4, 4, 4, vec![DATA], vec![16]), &[0; 16], Some(8)),
        "loops",
    );
    // Chunk count that does not match the image.
    err(
        "count.tif",
        &craft(&gray(4, 4, 2, vec![DATA], vec![16]), &[0; 16], None),
        "expected",
    );
    // 65535 x 65535 tiled with one tile recorded.
    let mut t = gray(65535, 65535, 0, vec![DATA], vec![16]);
    t.retain(|e| !matches!(e.0, 273 | 278 | 279));
    t.extend([
        (322, 4, vec![256]),
        (323, 4, vec![256]),
        (324, 4, vec![DATA]),
        (325, 4, vec![16]),
    ]);
    err("huge_tiles.tif", &craft(&t, &[0; 16], None), "expected");
    // 65535 x 65535 in one strip: structurally valid, but one chunk would be 4 GiB.
    let huge = craft(
        &gray(65535, 65535, 65535, vec![DATA], vec![16]),
        &[0; 16],
        None,
    );
    let p = d.path().join("huge.tif");
    std::fs::write(&p, &huge).unwrap();
    let info = tiffedit::inspect(&p).unwrap();
    assert!(
        info.ifds[0]
            .unsupported
            .as_deref()
            .unwrap()
            .contains("decodes to"),
        "{:?}",
        info.ifds[0].unsupported
    );
    assert_eq!(try_all("huge.tif", &huge), (true, false, false));
    // Uncompressed strip shorter than its pixels.
    let short = craft(&gray(4, 4, 4, vec![DATA], vec![8]), &[0; 16], None);
    assert_eq!(try_all("short_strip.tif", &short), (true, false, false));
    // Truncations of a real GeoTIFF.
    let real = std::fs::read(make(
        d.path(),
        "real.tif",
        &["-co", "TILED=YES", "-co", "COMPRESS=LZW"],
    ))
    .unwrap();
    for cut in [4, 8, 15, 100, 400, real.len() / 2, real.len() - 1] {
        let (i, r, w) = try_all(&format!("cut{cut}.tif"), &real[..cut]);
        assert!(!i && !r && !w, "truncated to {cut} bytes: accepted");
    }
}

/// Flip bytes in the header, IFDs and tag values of a real GeoTIFF: whatever the module
/// returns, it must not panic, and what it accepts must stay within bounds.
#[test]
fn mutated_files_never_panic() {
    let d = tempfile::tempdir().unwrap();
    let real = std::fs::read(make(
        d.path(),
        "m.tif",
        &[
            "-outsize",
            "200",
            "150",
            "-co",
            "TILED=YES",
            "-co",
            "BLOCKXSIZE=64",
            "-co",
            "BLOCKYSIZE=64",
            "-co",
            "COMPRESS=LZW",
            "-co",
            "PREDICTOR=2",
        ],
    ))
    .unwrap();
    let dr = Dump::new(&real);
    // The structural region: up to the end of the last out-of-line tag value.
    let end = dr
        .ifds
        .iter()
        .flat_map(|(o, es)| {
            es.iter()
                .map(|e| e.out.map_or(0, |x| x.0 + x.1))
                .chain([*o])
        })
        .max()
        .unwrap() as usize
        + 32;
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut ok, mut refused) = (0, 0);
    let p = d.path().join("mut.tif");
    for _ in 0..400 {
        let mut b = real.clone();
        for _ in 0..1 + rnd() % 4 {
            let i = (rnd() as usize) % end.min(b.len());
            b[i] = match rnd() % 4 {
                0 => 0,
                1 => 0xff,
                _ => rnd() as u8,
            };
        }
        std::fs::write(&p, &b).unwrap();
        let Ok(info) = tiffedit::inspect(&p) else {
            refused += 1;
            continue;
        };
        let f = &info.ifds[0];
        let (w, h) = (f.width.min(40), f.height.min(40));
        let r = tiffedit::read_window(&p, 0, 0, 0, w, h);
        let mut out = std::fs::File::create(d.path().join("mut.out")).unwrap();
        let patch = Window {
            x: 0,
            y: 0,
            w: 1,
            h: 1,
            spp: f.samples_per_pixel,
            samples: Samples::U8(vec![1; f.samples_per_pixel as usize]),
        };
        let rw = tiffedit::rewrite(&p, &mut out, &[(0, patch)]);
        if r.is_ok() && rw.is_ok() {
            ok += 1
        } else {
            refused += 1
        }
    }
    eprintln!("mutations: {ok} edited, {refused} refused");
    assert!(refused > 0 && ok > 0);
}

// ---------------------------------------------------------------------------------------
// Gigapixel: cargo test --release --test integration -- --ignored --nocapture tiffedit::gigapixel
// (alone, as here: its peak-RSS bound reads the whole test process's VmHWM)

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
#[ignore = "builds a 40000x25000 GeoTIFF (minutes, ~GB of disk); run by hand"]
fn gigapixel_tiled_lzw() {
    let d = tempfile::tempdir_in(
        std::env::var("PIXLA_BIG_TMP")
            .unwrap_or_else(|_| std::env::temp_dir().to_string_lossy().into()),
    )
    .unwrap();
    let t = std::time::Instant::now();
    let src = make(
        d.path(),
        "giga.tif",
        &[
            "-outsize",
            "40000",
            "25000",
            "-r",
            "bilinear",
            "-b",
            "1",
            "-b",
            "2",
            "-b",
            "3",
            "-co",
            "TILED=YES",
            "-co",
            "COMPRESS=LZW",
            "-co",
            "BIGTIFF=IF_SAFER",
            "-co",
            "NUM_THREADS=2",
        ],
    );
    let size = std::fs::metadata(&src).unwrap().len();
    eprintln!(
        "built 40000x25000 RGB tiled LZW GeoTIFF: {size} bytes in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let hwm0 = vm_hwm_kib();

    let t = std::time::Instant::now();
    let info = tiffedit::inspect(&src).unwrap();
    assert_eq!((info.ifds[0].width, info.ifds[0].height), (40000, 25000));
    eprintln!(
        "inspect: {:.3} s, {} chunks",
        t.elapsed().as_secs_f64(),
        info.ifds[0].chunk_count
    );

    let t = std::time::Instant::now();
    let mut px = 0u64;
    let mut reader = tiffedit::TiffReader::open(&src).unwrap();
    for k in 0..20u32 {
        let (x, y) = (k * 1987 % (40000 - 1024), k * 1231 % (25000 - 1024));
        let w = reader.read_window(0, x, y, 1024, 1024).unwrap();
        px += (w.w * w.h) as u64;
    }
    eprintln!(
        "read 20 windows of 1024x1024: {:.2} s ({:.1} Mpx/s)",
        t.elapsed().as_secs_f64(),
        px as f64 / 1e6 / t.elapsed().as_secs_f64()
    );

    let mut patches = vec![];
    for k in 0..9u32 {
        patches.push(patch(
            &info,
            0,
            300 + k * 4301,
            200 + k * 2711,
            600,
            400,
            k + 1,
        ));
    }
    patches.push(patch(&info, 0, 40000 - 70, 25000 - 50, 70, 50, 0));
    let dst = d.path().join("giga.out.tif");
    let t = std::time::Instant::now();
    let mut f = std::fs::File::create(&dst).unwrap();
    let st = tiffedit::rewrite(&src, &mut f, &patches).unwrap();
    drop(f);
    eprintln!(
        "rewrite with 10 patches: {:.2} s, {st:?}",
        t.elapsed().as_secs_f64()
    );
    let t = std::time::Instant::now();
    tiffedit::verify(&dst, &patches).unwrap();
    eprintln!("verify: {:.2} s", t.elapsed().as_secs_f64());
    for (_, p) in &patches {
        let got = tiffedit::read_window(&dst, 0, p.x, p.y, p.w, p.h).unwrap();
        assert_eq!(got.samples, p.samples);
        // A ring around the patch is unchanged.
        let (x, y) = (p.x.saturating_sub(8), p.y.saturating_sub(8));
        let (w, h) = (
            (p.x + p.w + 8).min(40000) - x,
            (p.y + p.h + 8).min(25000) - y,
        );
        let a = tiffedit::read_window(&src, 0, x, y, w, h).unwrap();
        let b = tiffedit::read_window(&dst, 0, x, y, w, h).unwrap();
        for j in 0..h {
            for i in 0..w {
                let inside = x + i >= p.x && x + i < p.x + p.w && y + j >= p.y && y + j < p.y + p.h;
                if !inside {
                    let k = ((j * w + i) * 3) as usize;
                    assert_eq!(sample(&a, k), sample(&b, k));
                }
            }
        }
    }
    let (ja, jb) = (gdal_json(&src), gdal_json(&dst));
    assert_eq!(ja["geoTransform"], jb["geoTransform"]);
    assert_eq!(ja["coordinateSystem"], jb["coordinateSystem"]);
    let hwm = vm_hwm_kib();
    eprintln!(
        "peak RSS (VmHWM): {:.1} MiB (before the module ran: {:.1} MiB)",
        hwm as f64 / 1024.0,
        hwm0 as f64 / 1024.0
    );
    assert!(hwm < 1536 * 1024, "peak RSS {hwm} KiB");
}

//! The hostile-input corpus, generated here (no downloads): broken, tricky and unusual
//! files and paths, each with its intended outcome — a per-file error with a clear reason
//! and no output (the rest of the batch done, exit 1), or, for valid but unusual images
//! (CMYK/grey JPEG, 16-bit/palette/alpha PNG, odd names), a correct redaction or clean copy
//! with the pixel type kept. Run-level set-up errors (bad model, bad ONNX Runtime) exit 2.
//! Nothing is ever written outside OUT. The table of case → outcome goes to
//! `target/test-output/hostile.md` (and stdout with `--nocapture`).

use crate::common::*;
use image::{DynamicImage, GenericImageView};
use serde_json::Value;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

#[derive(Clone)]
enum Expect {
    /// failed, error contains the fragment, error_kind is the kind, no output
    Failed(&'static str, &'static str),
    /// skipped, error contains the fragment, no output
    Skipped(&'static str),
    /// redacted or clean, output written; optionally the output's colour type
    Done(Option<image::ColorType>),
}

struct Case {
    what: &'static str,
    /// the report's input path
    rel: String,
    /// the output's path under OUT
    out_rel: PathBuf,
    expect: Expect,
}

fn enc(img: &DynamicImage, fmt: image::ImageFormat) -> Vec<u8> {
    let mut c = std::io::Cursor::new(Vec::new());
    img.write_to(&mut c, fmt).unwrap();
    c.into_inner()
}

fn crc32(data: &[u8]) -> u32 {
    // PNG chunk CRC (ISO 3309), bitwise: a few chunks per test
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut v = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    v.extend_from_slice(&body);
    v.extend_from_slice(&crc32(&body).to_be_bytes());
    v
}

fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn ihdr(w: u32, h: u32, depth: u8, ctype: u8) -> Vec<u8> {
    let mut d = w.to_be_bytes().to_vec();
    d.extend_from_slice(&h.to_be_bytes());
    d.extend_from_slice(&[depth, ctype, 0, 0, 0]);
    chunk(b"IHDR", &d)
}

const PNG_SIG: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A palette PNG (3-3-2 bit colour cube) of `img`, written by hand: the image crate does not
/// write palette PNGs.
fn palette_png(img: &image::RgbImage) -> Vec<u8> {
    let plte: Vec<u8> = (0..=255u8)
        .flat_map(|i| [(i >> 5) * 36, ((i >> 2) & 7) * 36, (i & 3) * 85])
        .collect();
    let mut raw = Vec::new();
    for row in img.rows() {
        raw.push(0);
        raw.extend(row.map(|p| (p[0] & 0xe0) | ((p[1] >> 3) & 0x1c) | (p[2] >> 6)));
    }
    let mut v = PNG_SIG.to_vec();
    v.extend(ihdr(img.width(), img.height(), 8, 3));
    v.extend(chunk(b"PLTE", &plte));
    v.extend(chunk(b"IDAT", &zlib(&raw)));
    v.extend(chunk(b"IEND", b""));
    v
}

/// An animated PNG: two frames (the default image is the first).
fn apng(w: u32, h: u32) -> Vec<u8> {
    let raw: Vec<u8> = (0..h)
        .flat_map(|y| std::iter::once(0).chain((0..w * 3).map(move |x| (x + y) as u8)))
        .collect();
    let fctl = |seq: u32| {
        let mut d = seq.to_be_bytes().to_vec();
        for v in [w, h, 0, 0] {
            d.extend_from_slice(&v.to_be_bytes());
        }
        d.extend_from_slice(&[0, 1, 0, 10, 0, 0]);
        chunk(b"fcTL", &d)
    };
    let mut v = PNG_SIG.to_vec();
    v.extend(ihdr(w, h, 8, 2));
    v.extend(chunk(b"acTL", &[0, 0, 0, 2, 0, 0, 0, 0]));
    v.extend(fctl(0));
    v.extend(chunk(b"IDAT", &zlib(&raw)));
    v.extend(fctl(1));
    let mut fd = 2u32.to_be_bytes().to_vec();
    fd.extend(zlib(&raw));
    v.extend(chunk(b"fdAT", &fd));
    v.extend(chunk(b"IEND", b""));
    v
}

/// A little-endian uncompressed RGB TIFF, `pages` pages of `w`x`h` (the header may lie:
/// `claim` overrides the size written in the tags).
fn tiff(w: u32, h: u32, pages: usize, claim: Option<(u32, u32)>) -> Vec<u8> {
    let data: Vec<u8> = (0..w * h * 3).map(|i| (i * 31) as u8).collect();
    let (cw, ch) = claim.unwrap_or((w, h));
    let mut out = b"II*\0\0\0\0\0".to_vec();
    let mut ifds = vec![];
    for _ in 0..pages {
        let off = out.len() as u32;
        out.extend_from_slice(&data);
        if out.len() % 2 == 1 {
            out.push(0);
        }
        ifds.push(out.len());
        let tags: [(u16, u16, u32); 10] = [
            (256, 4, cw),
            (257, 4, ch),
            (258, 3, 8),
            (259, 3, 1),
            (262, 3, 2),
            (273, 4, off),
            (277, 3, 3),
            (278, 4, ch),
            (279, 4, data.len() as u32),
            (284, 3, 1),
        ];
        out.extend_from_slice(&(tags.len() as u16).to_le_bytes());
        for (t, typ, v) in tags {
            out.extend_from_slice(&t.to_le_bytes());
            out.extend_from_slice(&typ.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            if typ == 3 {
                out.extend_from_slice(&(v as u16).to_le_bytes());
                out.extend_from_slice(&[0, 0]);
            } else {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out.extend_from_slice(&[0, 0, 0, 0]);
    }
    out[4..8].copy_from_slice(&(ifds[0] as u32).to_le_bytes());
    for p in 1..ifds.len() {
        let next_at = ifds[p - 1] + 2 + 12 * 10;
        out[next_at..next_at + 4].copy_from_slice(&(ifds[p] as u32).to_le_bytes());
    }
    out
}

/// A little-endian TIFF of the given IFDs, each a tag list `(tag, type, values)` and its
/// pixel data, written just before the IFD; the StripOffsets (273) values are offsets into
/// that data. Values over 4 bytes follow their IFD.
/// An IFD to write: its entries (tag, type, values) and its strip's bytes.
type TestIfd = (Vec<(u16, u16, Vec<u32>)>, Vec<u8>);

fn tiff_ifds(ifds: &[TestIfd]) -> Vec<u8> {
    let mut out = b"II*\0\0\0\0\0".to_vec();
    let mut next_at = 4;
    for (tags, data) in ifds {
        let base = out.len() as u32;
        out.extend(data);
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let ifd = out.len();
        out[next_at..next_at + 4].copy_from_slice(&(ifd as u32).to_le_bytes());
        let mut tags = tags.clone();
        tags.sort_by_key(|t| t.0);
        let mut extra_at = ifd + 2 + 12 * tags.len() + 4;
        let mut extra = Vec::new();
        out.extend((tags.len() as u16).to_le_bytes());
        for (t, typ, vals) in &tags {
            let bytes: Vec<u8> = vals
                .iter()
                .map(|v| if *t == 273 { v + base } else { *v })
                .flat_map(|v| {
                    if *typ == 3 {
                        (v as u16).to_le_bytes().to_vec()
                    } else {
                        v.to_le_bytes().to_vec()
                    }
                })
                .collect();
            out.extend(t.to_le_bytes());
            out.extend(typ.to_le_bytes());
            out.extend((vals.len() as u32).to_le_bytes());
            if bytes.len() <= 4 {
                out.extend(&bytes);
                out.extend(&[0, 0, 0, 0][bytes.len()..]);
            } else {
                out.extend((extra_at as u32).to_le_bytes());
                extra_at += bytes.len();
                extra.extend(bytes);
            }
        }
        next_at = out.len();
        out.extend([0; 4]);
        out.extend(extra);
    }
    out
}

/// The tags of a one-strip `w`x`h` image: `bits` and `format` (SampleFormat) per sample.
fn strip_tags(
    w: u32,
    h: u32,
    bits: u32,
    spp: u32,
    format: u32,
    bytes: u32,
) -> Vec<(u16, u16, Vec<u32>)> {
    vec![
        (256, 4, vec![w]),
        (257, 4, vec![h]),
        (258, 3, vec![bits; spp as usize]),
        (259, 3, vec![1]),
        (262, 3, vec![if spp >= 3 { 2 } else { 1 }]),
        (273, 4, vec![0]),
        (277, 3, vec![spp]),
        (278, 4, vec![h]),
        (279, 4, vec![bytes]),
        (339, 3, vec![format; spp as usize]),
    ]
}

/// A zlib stream of `n` zero bytes (about 1000 times smaller), written a MB at a time.
fn zlib_zeros(n: usize) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let block = vec![0u8; 1 << 20];
    for _ in 0..n >> 20 {
        e.write_all(&block).unwrap();
    }
    e.finish().unwrap()
}

/// A 16x16 PNG with one more chunk before its image data.
fn png_with(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let raw: Vec<u8> = (0..16u32)
        .flat_map(|y| std::iter::once(0).chain((0..48u32).map(move |x| (x * 5 + y) as u8)))
        .collect();
    let mut v = PNG_SIG.to_vec();
    v.extend(ihdr(16, 16, 8, 2));
    v.extend(chunk(kind, body));
    v.extend(chunk(b"IDAT", &zlib(&raw)));
    v.extend(chunk(b"IEND", b""));
    v
}

/// The first frame marker (SOFn) of a JPEG, walking its segments.
fn first_sof(b: &[u8]) -> u8 {
    let mut i = 2;
    loop {
        let m = b[i + 1];
        if (0xC0..=0xCF).contains(&m) && ![0xC4, 0xC8, 0xCC].contains(&m) {
            return m;
        }
        i += 2 + u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
    }
}

/// `src` transcoded to arithmetic coding (SOF9, or SOF10 when progressive) with libjpeg's
/// coefficient API, no pixel changed (no tool needed: mozjpeg-sys is built with it).
fn arithmetic_jpeg(src: &[u8]) -> Vec<u8> {
    use mozjpeg_sys::*;
    unsafe {
        let mut derr: jpeg_error_mgr = std::mem::zeroed();
        let mut d: jpeg_decompress_struct = std::mem::zeroed();
        d.common.err = jpeg_std_error(&mut derr);
        jpeg_create_decompress(&mut d);
        jpeg_mem_src(&mut d, src.as_ptr(), src.len() as _);
        jpeg_read_header(&mut d, 1);
        let coefs = jpeg_read_coefficients(&mut d);
        let mut cerr: jpeg_error_mgr = std::mem::zeroed();
        let mut c: jpeg_compress_struct = std::mem::zeroed();
        c.common.err = jpeg_std_error(&mut cerr);
        jpeg_create_compress(&mut c);
        jpeg_c_set_int_param(
            &mut c,
            J_INT_PARAM::JINT_COMPRESS_PROFILE,
            JINT_COMPRESS_PROFILE_VALUE::JCP_FASTEST as _,
        );
        let (mut buf, mut size): (*mut u8, _) = (std::ptr::null_mut(), 0);
        jpeg_mem_dest(&mut c, &mut buf, &mut size);
        jpeg_copy_critical_parameters(&d, &mut c);
        c.arith_code = 1;
        c.optimize_coding = 0;
        if first_sof(src) == 0xC2 {
            jpeg_simple_progression(&mut c);
        }
        jpeg_write_coefficients(&mut c, coefs);
        jpeg_finish_compress(&mut c);
        let out = std::slice::from_raw_parts(buf, size as usize).to_vec();
        jpeg_destroy_compress(&mut c);
        jpeg_destroy_decompress(&mut d);
        libc::free(buf as *mut _);
        assert!(
            matches!(first_sof(&out), 0xC9 | 0xCA),
            "not arithmetic-coded: SOF {:#x}",
            first_sof(&out)
        );
        out
    }
}

/// A JPEG of a flat picture (nothing to hide) whose EXIF thumbnail is `thumb`.
fn jpeg_with_thumbnail(thumb: &[u8]) -> Vec<u8> {
    let main = enc(
        &DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            320,
            240,
            image::Rgb([90, 120, 60]),
        )),
        image::ImageFormat::Jpeg,
    );
    let mut w = exif::experimental::Writer::new();
    let f = exif::Field {
        tag: exif::Tag::Orientation,
        ifd_num: exif::In::PRIMARY,
        value: exif::Value::Short(vec![1]),
    };
    w.push_field(&f);
    w.set_jpeg(thumb, exif::In::THUMBNAIL);
    let mut tiff = std::io::Cursor::new(Vec::new());
    w.write(&mut tiff, false).unwrap();
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff.into_inner());
    let mut out = main[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(&app1);
    out.extend(&main[2..]);
    out
}

/// A JPEG whose frame header claims `w`x`h`.
fn jpeg_claiming(src: &[u8], w: u16, h: u16) -> Vec<u8> {
    let mut b = src.to_vec();
    let mut i = 2;
    while i + 9 < b.len() {
        let m = b[i + 1];
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if (0xC0..=0xC2).contains(&m) {
            b[i + 5..i + 7].copy_from_slice(&h.to_be_bytes());
            b[i + 7..i + 9].copy_from_slice(&w.to_be_bytes());
            return b;
        }
        i += 2 + len;
    }
    panic!("no SOF");
}

fn cmyk_jpeg(img: &image::RgbImage) -> Vec<u8> {
    let data: Vec<u8> = img
        .pixels()
        .flat_map(|p| {
            let k = 255 - p[0].max(p[1]).max(p[2]);
            let f = |c: u8| {
                if k == 255 {
                    0
                } else {
                    ((255 - c - k) as u32 * 255 / (255 - k) as u32) as u8
                }
            };
            [f(p[0]), f(p[1]), f(p[2]), k]
        })
        .collect();
    let mut out = Vec::new();
    let e = jpeg_encoder::Encoder::new(&mut out, 90);
    e.encode(
        &data,
        img.width() as u16,
        img.height() as u16,
        jpeg_encoder::ColorType::Cmyk,
    )
    .unwrap();
    out
}

fn gif_anim() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = image::codecs::gif::GifEncoder::new(&mut out);
        for i in 0..2u8 {
            let f = image::RgbaImage::from_pixel(16, 16, image::Rgba([i * 100, 50, 50, 255]));
            e.encode_frame(image::Frame::new(f)).unwrap();
        }
    }
    out
}

/// A tmpfs mounted at `at` (root with CAP_SYS_ADMIN only), unmounted on drop.
struct Mount(PathBuf);
impl Mount {
    fn tmpfs(at: &Path, opts: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then(|| Mount(at.to_path_buf()))
    }
}
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn write(p: &Path, b: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, b).unwrap();
}

#[test]
fn hostile_corpus_each_case_gets_its_intended_outcome() {
    let d = tempfile::tempdir().unwrap();
    let inp = d.path().join("in");
    let out = d.path().join("out");
    std::fs::create_dir_all(&inp).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let tiny = std::fs::read(shared("metadata/webodm_tiny_drone_image.jpg")).unwrap();
    let people = image::open(shared("street/deface_city.jpg")).unwrap();
    let people_rgb = people.to_rgb8();
    let small = image::load_from_memory(&tiny).unwrap();
    let png = enc(&small, image::ImageFormat::Png);
    let tif = enc(&small, image::ImageFormat::Tiff);
    let mut cases: Vec<Case> = Vec::new();
    let mut add = |what: &'static str, rel: &str, bytes: Option<&[u8]>, expect: Expect| {
        if let Some(b) = bytes {
            write(&inp.join(rel), b);
        }
        cases.push(Case {
            what,
            rel: rel.to_string(),
            out_rel: PathBuf::from(rel),
            expect,
        });
    };
    use Expect::*;
    add(
        "zero-byte file",
        "zero.jpg",
        Some(b""),
        Failed("empty file", "decode"),
    );
    add(
        "truncated JPEG (cut in its metadata)",
        "trunc-meta.jpg",
        Some(&tiny[..tiny.len() / 2]),
        Failed("corrupt JPEG", "decode"),
    );
    add(
        "truncated JPEG (cut in its scan data)",
        "trunc.jpg",
        Some(&tiny[..tiny.len() - 300]),
        Failed("truncated JPEG", "decode"),
    );
    add(
        "truncated PNG (half)",
        "trunc.png",
        Some(&png[..png.len() / 2]),
        Failed("cannot decode", "decode"),
    );
    add(
        "truncated TIFF (half)",
        "trunc.tif",
        Some(&tif[..tif.len() / 2]),
        Failed("", "decode"),
    );
    add(
        "JPEG named .png",
        "wrong-ext.png",
        Some(&tiny),
        Failed("content is JPEG but the name says PNG", "unsupported"),
    );
    add(
        "text named .jpg",
        "text.jpg",
        Some(b"hello, this is not a picture\n"),
        Failed("not a JPEG, PNG or TIFF", "unsupported"),
    );
    add(
        "JPEG with broken marker structure",
        "garbage.jpg",
        Some(&[&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10][..], &[0x13; 200]].concat()),
        Failed("corrupt JPEG", "decode"),
    );
    let mut huge_png = PNG_SIG.to_vec();
    huge_png.extend(ihdr(65535, 65535, 8, 2));
    huge_png.extend(chunk(b"IDAT", &zlib(&[0; 64])));
    huge_png.extend(chunk(b"IEND", b""));
    add(
        "PNG header claiming 65535x65535",
        "huge.png",
        Some(&huge_png),
        Failed("over the limit", "limit"),
    );
    let mut big_png = PNG_SIG.to_vec();
    big_png.extend(ihdr(1_000_000, 1_000_000, 16, 6));
    big_png.extend(chunk(b"IEND", b""));
    add(
        "PNG header claiming 1000000x1000000 RGBA16",
        "huger.png",
        Some(&big_png),
        Failed("", "decode"),
    );
    add(
        "JPEG header claiming 65535x65535",
        "huge.jpg",
        Some(&jpeg_claiming(&tiny, 65535, 65535)),
        Failed("over the limit", "limit"),
    );
    add(
        "TIFF header claiming 100000x100000",
        "huge.tif",
        Some(&tiff(8, 8, 1, Some((100_000, 100_000)))),
        Failed("over the limit", "limit"),
    );
    let mut zero_png = PNG_SIG.to_vec();
    zero_png.extend(ihdr(0, 10, 8, 2));
    zero_png.extend(chunk(b"IEND", b""));
    add(
        "PNG header with zero width",
        "zero-width.png",
        Some(&zero_png),
        Failed("", "decode"),
    );
    let mut bad_crc = png.clone();
    let n = bad_crc.len();
    bad_crc[n - 20] ^= 0xff;
    add(
        "PNG with a corrupt chunk",
        "bad-crc.png",
        Some(&bad_crc),
        Failed("", "decode"),
    );
    add(
        "multi-page TIFF",
        "pages.tif",
        Some(&tiff(16, 16, 2, None)),
        Failed("page", "unsupported"),
    );
    add(
        "animated PNG (APNG)",
        "anim.png",
        Some(&apng(24, 24)),
        Failed("animated PNG", "unsupported"),
    );
    add(
        "animated GIF (.gif)",
        "anim.gif",
        Some(&gif_anim()),
        Skipped("not an image by its extension"),
    );
    add(
        "animated GIF named .jpg",
        "gif.jpg",
        Some(&gif_anim()),
        Failed("does not redact", "unsupported"),
    );
    add(
        "1x1 PNG",
        "one.png",
        Some(&enc(
            &DynamicImage::ImageRgb8(image::RgbImage::new(1, 1)),
            image::ImageFormat::Png,
        )),
        Done(Some(image::ColorType::Rgb8)),
    );
    // CMYK with people: fails closed (see encode::encode_jpeg); CMYK with nothing to hide is
    // a byte copy (pixel type kept)
    add(
        "CMYK JPEG (people)",
        "cmyk.jpg",
        Some(&cmyk_jpeg(&people_rgb)),
        Failed("CMYK/YCCK JPEG with regions to hide", "unsupported"),
    );
    add(
        "CMYK JPEG (nothing to hide)",
        "cmyk-empty.jpg",
        Some(&cmyk_jpeg(&image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
        }))),
        Done(None),
    );
    add(
        "greyscale JPEG (people)",
        "grey.jpg",
        Some(&enc(
            &DynamicImage::ImageLuma8(people.to_luma8()),
            image::ImageFormat::Jpeg,
        )),
        Done(Some(image::ColorType::L8)),
    );
    add(
        "16-bit RGB PNG (people)",
        "rgb16.png",
        Some(&enc(
            &DynamicImage::ImageRgb16(people.to_rgb16()),
            image::ImageFormat::Png,
        )),
        Done(Some(image::ColorType::Rgb16)),
    );
    add(
        "16-bit grey PNG (people)",
        "grey16.png",
        Some(&enc(
            &DynamicImage::ImageLuma16(people.to_luma16()),
            image::ImageFormat::Png,
        )),
        Done(Some(image::ColorType::L16)),
    );
    add(
        "palette PNG (people)",
        "palette.png",
        Some(&palette_png(&people_rgb)),
        Done(None),
    );
    let mut rgba = people.to_rgba8();
    for (x, _, p) in rgba.enumerate_pixels_mut() {
        p[3] = (128 + x % 128) as u8;
    }
    add(
        "RGBA PNG (people, alpha)",
        "alpha.png",
        Some(&enc(
            &DynamicImage::ImageRgba8(rgba),
            image::ImageFormat::Png,
        )),
        Done(Some(image::ColorType::Rgba8)),
    );
    add(
        "grey+alpha PNG (people)",
        "grey-alpha.png",
        Some(&enc(
            &DynamicImage::ImageLumaA8(people.to_luma_alpha8()),
            image::ImageFormat::Png,
        )),
        Done(Some(image::ColorType::La8)),
    );
    add(
        "name with spaces",
        "with spaces.jpg",
        Some(&tiny),
        Done(None),
    );
    add(
        "name with a newline",
        "new\nline.jpg",
        Some(&tiny),
        Done(None),
    );
    add(
        "folder named like an image",
        "folder.jpg/inner.jpg",
        Some(&tiny),
        Done(None),
    );
    // links inside IN
    let elsewhere = d.path().join("elsewhere");
    write(&elsewhere.join("secret.jpg"), &tiny);
    std::os::unix::fs::symlink(elsewhere.join("secret.jpg"), inp.join("outside.jpg")).unwrap();
    add(
        "symlink to a file outside IN",
        "outside.jpg",
        None,
        Failed("outside the input folder", "io"),
    );
    write(&inp.join("target.jpg"), &tiny);
    std::os::unix::fs::symlink("target.jpg", inp.join("inlink.jpg")).unwrap();
    add(
        "symlink to a file inside IN",
        "inlink.jpg",
        None,
        Done(None),
    );
    add("(target of that symlink)", "target.jpg", None, Done(None));
    std::os::unix::fs::symlink("loop.jpg", inp.join("loop.jpg")).unwrap();
    add(
        "symlink loop (link to itself)",
        "loop.jpg",
        None,
        Failed("symbolic link", "io"),
    );
    std::fs::create_dir_all(inp.join("sub")).unwrap();
    std::os::unix::fs::symlink("..", inp.join("sub/up")).unwrap();
    add(
        "symlink loop (folder link to its parent)",
        "sub/up",
        None,
        Skipped("not followed"),
    );
    std::os::unix::fs::symlink(elsewhere.join("nothing.jpg"), inp.join("dangling.jpg")).unwrap();
    add(
        "dangling symlink",
        "dangling.jpg",
        None,
        Failed("broken symbolic link", "io"),
    );
    let fifo = std::ffi::CString::new(inp.join("fifo.jpg").as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    add(
        "FIFO named .jpg (must not hang)",
        "fifo.jpg",
        None,
        Failed("not a regular file", "io"),
    );
    // non-UTF-8 name: the report shows it lossily, the output keeps the bytes
    let raw_name = OsStr::from_bytes(b"caf\xe9.jpg");
    write(&inp.join(raw_name), &tiny);
    cases.push(Case {
        what: "non-UTF-8 file name",
        rel: "caf\u{fffd}.jpg".into(),
        out_rel: PathBuf::from(raw_name),
        expect: Done(None),
    });
    // OUT side: a file where a folder must go, links leading out of OUT, full and read-only disks
    let mut add = |what: &'static str, rel: &str, bytes: &[u8], expect: Expect| {
        write(&inp.join(rel), bytes);
        cases.push(Case {
            what,
            rel: rel.to_string(),
            out_rel: PathBuf::from(rel),
            expect,
        });
    };
    std::fs::write(out.join("blocked"), b"a file where a folder must go").unwrap();
    add(
        "output folder not creatable (a file is in the way)",
        "blocked/x.jpg",
        &tiny,
        Failed("cannot create folder", "io"),
    );
    let escape_to = d.path().join("escape-target");
    std::fs::create_dir_all(&escape_to).unwrap();
    std::os::unix::fs::symlink(&escape_to, out.join("escape")).unwrap();
    add(
        "OUT/escape is a symlink out of OUT",
        "escape/x.jpg",
        &tiny,
        Failed("leads outside the output folder", "io"),
    );
    std::os::unix::fs::symlink(d.path().join("nowhere/deeper"), out.join("dangle")).unwrap();
    add(
        "OUT/dangle is a dangling symlink out of OUT",
        "dangle/sub/x.jpg",
        &tiny,
        Failed("leads outside the output folder", "io"),
    );
    let big = std::fs::read(shared("plates/nomeroff_10002_B8233XA.jpg")).unwrap();
    let full = Mount::tmpfs(&out.join("full"), "size=64k");
    let disk_full_how = if full.is_some() {
        "tmpfs size=64k"
    } else {
        "RLIMIT_FSIZE 300 kB (mount not allowed)"
    };
    add(
        "disk full",
        "full/big.jpg",
        &big,
        Failed(
            if full.is_some() {
                "No space left"
            } else {
                "too large"
            },
            "io",
        ),
    );
    let ro = Mount::tmpfs(&out.join("ro"), "ro,size=64k");
    if ro.is_some() {
        add(
            "output folder on a read-only file system",
            "ro/x.jpg",
            &tiny,
            Failed("Read-only file system", "io"),
        );
    }
    // nothing reaches OUT that no detector examined: a clean file is delivered without what
    // follows its image, and with its previews re-rendered from the examined pixels
    let city = std::fs::read(shared("street/deface_city.jpg")).unwrap();
    // a flat grey picture, so that nothing in it can be taken for a person: the case is
    // about the bytes after it (the stripes `tiff` draws look like a person to pixla-aerial)
    let mut plain_tif = tiff(16, 16, 1, None);
    plain_tif[8..8 + 16 * 16 * 3].fill(120);
    add(
        "clean JPEG followed by another JPEG (people)",
        "trailing.jpg",
        &[&tiny[..], &city].concat(),
        Done(None),
    );
    add(
        "clean PNG with a JPEG (people) after IEND",
        "trailing.png",
        &[&png[..], &city].concat(),
        Done(None),
    );
    add(
        "clean TIFF with a JPEG (people) after its data",
        "trailing.tif",
        &[&plain_tif[..], &city].concat(),
        Done(None),
    );
    let crowd_thumb = enc(&people.thumbnail(160, 120), image::ImageFormat::Jpeg);
    add(
        "clean JPEG whose EXIF thumbnail shows people",
        "thumb.jpg",
        &jpeg_with_thumbnail(&crowd_thumb),
        Done(None),
    );
    let px = |w: u32, h: u32, n: usize| -> Vec<u8> {
        (0..w * h * n as u32).map(|i| (i * 7) as u8).collect()
    };
    add(
        "TIFF with a SubIFD (tag 330)",
        "subifd.tif",
        &tiff_ifds(&[(
            [strip_tags(8, 8, 8, 3, 1, 192), vec![(330, 4, vec![8])]].concat(),
            px(8, 8, 3),
        )]),
        Failed("SubIFD", "unsupported"),
    );
    let float_page = (
        strip_tags(4, 4, 32, 3, 3, 192),
        (0..48)
            .flat_map(|i| (i as f32 / 48.0).to_le_bytes())
            .collect::<Vec<u8>>(),
    );
    add(
        "two-page float TIFF (the fallback path)",
        "pages-float.tif",
        &tiff_ifds(&[float_page.clone(), float_page]),
        Failed("page", "unsupported"),
    );
    // decompression bombs: small on disk, 64 MB inflated (the limit is 16 MB)
    let bomb = zlib_zeros(64 << 20);
    add(
        "PNG iCCP chunk inflating to 64 MB",
        "bomb-iccp.png",
        &png_with(b"iCCP", &[&b"icc\0\0"[..], &bomb].concat()),
        Failed("limit for compressed metadata", "limit"),
    );
    add(
        "PNG zTXt chunk inflating to 64 MB",
        "bomb-ztxt.png",
        &png_with(b"zTXt", &[&b"Comment\0\0"[..], &bomb].concat()),
        Failed("limit for compressed metadata", "limit"),
    );
    add(
        "PNG iTXt chunk inflating to 64 MB",
        "bomb-itxt.png",
        &png_with(b"iTXt", &[&b"Comment\0\x01\0\0\0"[..], &bomb].concat()),
        Failed("limit for compressed metadata", "limit"),
    );
    // a TIFF whose 100,000 strips all point at the same 8 bytes
    let n = 100_000u32;
    let shared_strips = tiff_ifds(&[(
        vec![
            (256, 4, vec![8]),
            (257, 4, vec![n]),
            (258, 3, vec![8]),
            (259, 3, vec![1]),
            (262, 3, vec![1]),
            (273, 4, vec![0; n as usize]),
            (277, 3, vec![1]),
            (278, 4, vec![1]),
            (279, 4, vec![8; n as usize]),
        ],
        px(8, 1, 1),
    )]);
    add(
        "TIFF with 100,000 strips at one offset",
        "shared-strips.tif",
        &shared_strips,
        Failed("share bytes", "decode"),
    );
    let in_structure = tiff_ifds(&[(
        vec![
            (256, 4, vec![8]),
            (257, 4, vec![1000]),
            (258, 3, vec![8]),
            (259, 3, vec![1]),
            (262, 3, vec![1]),
            (273, 4, (0..1000).map(|i| 8 * i).collect()),
            (277, 3, vec![1]),
            (278, 4, vec![1]),
            (279, 4, vec![8; 1000]),
        ],
        vec![],
    )]);
    add(
        "TIFF whose strips lie in its own IFD and offset tables",
        "strips-in-ifd.tif",
        &in_structure,
        Failed("overlaps TIFF structure", "decode"),
    );
    let hidden = tiff_ifds(&[(
        strip_tags(8, 8, 8, 3, 1, 192),
        [px(8, 8, 3), city[..4000].to_vec()].concat(),
    )]);
    add(
        "clean TIFF with a JPEG (people) between its strip and its IFD",
        "gap.tif",
        &hidden,
        Done(None),
    );
    // arithmetic coding (SOF9 baseline, SOF10 progressive): decoded by libjpeg, re-encoded
    add(
        "arithmetic-coded JPEG, progressive (people)",
        "arith.jpg",
        &arithmetic_jpeg(&city),
        Done(Some(image::ColorType::Rgb8)),
    );
    add(
        "arithmetic-coded JPEG (nothing to hide)",
        "arith-clean.jpg",
        &arithmetic_jpeg(&tiny),
        Done(None),
    );
    add(
        "32-bit float RGB TIFF (people)",
        "float.tif",
        &enc(
            &DynamicImage::ImageRgb32F(people.to_rgb32f()),
            image::ImageFormat::Tiff,
        ),
        Done(Some(image::ColorType::Rgb32F)),
    );
    add(
        "a plain good file (the rest of the batch)",
        "good.jpg",
        &tiny,
        Done(None),
    );

    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("pixla"));
    c.arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(&out)
        .args(["--quiet", "-j", "2"])
        .env_remove("PIXLA_OPERATOR");
    if full.is_none() {
        use std::os::unix::process::CommandExt;
        unsafe {
            c.pre_exec(|| {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let l = libc::rlimit {
                    rlim_cur: 300_000,
                    rlim_max: 300_000,
                };
                libc::setrlimit(libc::RLIMIT_FSIZE, &l);
                Ok(())
            });
        }
    }
    let t0 = std::time::Instant::now();
    let child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&o.stderr);
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("pixla-report.json")).expect("report"))
            .unwrap();
    let mut table =
        String::from("| case | input | status | reason / output |\n|---|---|---|---|\n");
    let mut problems = Vec::new();
    for case in &cases {
        let e = report["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["input"] == case.rel.as_str());
        let Some(e) = e else {
            problems.push(format!("{}: {:?} not in the report", case.what, case.rel));
            continue;
        };
        let status = e["status"].as_str().unwrap_or("?");
        let err = e["error"].as_str().unwrap_or("");
        let outp = out.join(&case.out_rel);
        let mut shown = err.to_string();
        match &case.expect {
            Failed(frag, _) | Skipped(frag) => {
                let want = if matches!(case.expect, Failed(..)) {
                    "failed"
                } else {
                    "skipped"
                };
                if status != want || !err.contains(frag) {
                    problems.push(format!(
                        "{}: want {want} with {frag:?}, got {status}: {err}",
                        case.what
                    ));
                }
                // a failure says its kind; a skipped file is no failure and has none
                let want_kind = match &case.expect {
                    Failed(_, kind) => Value::from(*kind),
                    _ => Value::Null,
                };
                if e["error_kind"] != want_kind {
                    problems.push(format!(
                        "{}: want error_kind {want_kind}, got {}: {err}",
                        case.what, e["error_kind"]
                    ));
                }
                shown = format!("{} ({})", err, e["error_kind"].as_str().unwrap_or("-"));
                if std::fs::symlink_metadata(&outp)
                    .map(|m| m.is_file())
                    .unwrap_or(false)
                    || e.get("output").is_some()
                {
                    problems.push(format!("{}: an output was written", case.what));
                }
            }
            Done(ct) => {
                if status != "redacted" && status != "clean" {
                    problems.push(format!(
                        "{}: want redacted/clean, got {status}: {err}",
                        case.what
                    ));
                } else {
                    // an arithmetic-coded JPEG (kept as it is when clean) is read by pixla's
                    // own decoder: the image crate does not read that coding
                    let opened = image::open(&outp).or_else(|er| {
                        std::fs::read(&outp)
                            .ok()
                            .and_then(|b| {
                                pixla::internal_tests::decode::decode(
                                    &b,
                                    &outp,
                                    &Default::default(),
                                )
                                .ok()
                            })
                            .map(|d| d.image)
                            .ok_or(er)
                    });
                    match opened {
                        Ok(img) => {
                            shown = format!(
                                "{} {} regions, {:?} {}x{}",
                                e["encoding"].as_str().unwrap_or(""),
                                e["regions"].as_array().map(|r| r.len()).unwrap_or(0),
                                img.color(),
                                img.width(),
                                img.height()
                            );
                            if let Some(ct) = ct {
                                if img.color() != *ct {
                                    problems.push(format!(
                                        "{}: output colour type {:?}, want {ct:?}",
                                        case.what,
                                        img.color()
                                    ));
                                }
                            }
                            if e["width"].as_u64() != Some(img.dimensions().0 as u64) {
                                problems.push(format!("{}: output size differs", case.what));
                            }
                        }
                        Err(er) => problems.push(format!("{}: output unreadable: {er}", case.what)),
                    }
                }
            }
        }
        table.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            case.what,
            case.rel.escape_debug(),
            status,
            shown.replace('|', "\\|").replace('\n', " ")
        ));
    }
    // people in the unusual pixel types were found and hidden
    for rel in [
        "grey.jpg",
        "rgb16.png",
        "grey16.png",
        "alpha.png",
        "grey-alpha.png",
        "palette.png",
        "arith.jpg",
        "float.tif",
    ] {
        if file_entry(&report, rel)["status"] != "redacted" {
            problems.push(format!("{rel}: the people were not redacted"));
        }
    }
    // a clean file's output is its examined image alone; the report says what was dropped
    for (rel, want, why) in [
        ("trailing.jpg", &tiny, "data after the image"),
        ("trailing.png", &png, "data after the image"),
        ("trailing.tif", &plain_tif, "no IFD references"),
    ] {
        let got = std::fs::read(out.join(rel)).unwrap_or_default();
        if &got != want {
            problems.push(format!(
                "{rel}: the output is not the examined image alone ({} bytes, the image is {})",
                got.len(),
                want.len()
            ));
        }
        let e = file_entry(&report, rel);
        if e["encoding"] != "metadata-only"
            || !e["metadata_removed"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x.as_str().unwrap_or("").contains(why)))
        {
            problems.push(format!(
                "{rel}: the report does not say the trailing data was dropped: {} {}",
                e["encoding"], e["metadata_removed"]
            ));
        }
    }
    let gap = std::fs::read(out.join("gap.tif")).unwrap_or_default();
    // the strip's 192 bytes start at 8; the JPEG's 4000 follow
    if gap.len() != hidden.len()
        || gap[..200] != hidden[..200]
        || gap[200..4200].iter().any(|&b| b != 0)
        || !file_entry(&report, "gap.tif")["metadata_removed"]
            .to_string()
            .contains("bytes zeroed")
    {
        problems.push(format!(
            "gap.tif: the bytes between the strip and the IFD were delivered ({} bytes, {})",
            gap.len(),
            file_entry(&report, "gap.tif")["metadata_removed"]
        ));
    }
    let thumb_out = std::fs::read(out.join("thumb.jpg")).unwrap_or_default();
    let regenerated = file_entry(&report, "thumb.jpg")["metadata_regenerated"].to_string();
    if thumb_out.is_empty()
        || thumb_out
            .windows(crowd_thumb.len())
            .any(|w| w == crowd_thumb)
        || !regenerated.contains("exif-thumbnail")
    {
        problems.push(format!("thumb.jpg: the unexamined thumbnail was delivered as it was (regenerated: {regenerated})"));
    }
    // arithmetic coding takes the re-encode path, and the report says why
    let a = file_entry(&report, "arith.jpg");
    if a["encoding"] != "reencode" || !a["fallback"].as_str().unwrap_or("").contains("arithmetic") {
        problems.push(format!(
            "arith.jpg: want the re-encode path for arithmetic coding, got {} ({})",
            a["encoding"], a["fallback"]
        ));
    }
    // float stays float: the re-encoded TIFF keeps its 32-bit float samples outside the regions
    if let (Ok(i), Ok(o)) = (
        image::open(inp.join("float.tif")),
        image::open(out.join("float.tif")),
    ) {
        let regions = boxes(
            file_entry(&report, "float.tif"),
            &["person", "vehicle", "plate", "face"],
        );
        let (i, o) = (i.to_rgb32f(), o.to_rgb32f());
        let outside_changed = i
            .enumerate_pixels()
            .filter(|(x, y, p)| !in_any(&regions, *x, *y) && o.get_pixel(*x, *y) != *p)
            .count();
        let inside_changed = i
            .enumerate_pixels()
            .filter(|(x, y, p)| in_any(&regions, *x, *y) && o.get_pixel(*x, *y) != *p)
            .count();
        if outside_changed > 0 || inside_changed == 0 {
            problems.push(format!("float.tif: {outside_changed} pixels changed outside the regions, {inside_changed} inside"));
        }
    }
    // CMYK stays CMYK: four components in the output's frame header
    if let Ok(b) = std::fs::read(out.join("cmyk-empty.jpg")) {
        let sof = b
            .windows(2)
            .position(|w| w[0] == 0xFF && (0xC0..=0xC2).contains(&w[1]))
            .unwrap();
        if b[sof + 9] != 4 {
            problems.push(format!(
                "cmyk-empty.jpg: output has {} components",
                b[sof + 9]
            ));
        }
    } else {
        problems.push("cmyk-empty.jpg: no output".into());
    }
    // nothing outside OUT, no temp file or journal left in it
    if std::fs::read_dir(&escape_to).unwrap().count() != 0 || d.path().join("nowhere").exists() {
        problems.push("something was written outside OUT".into());
    }
    let temps: Vec<_> = walkdir::WalkDir::new(&out)
        .into_iter()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".pixla-"))
        .map(|e| e.path().display().to_string())
        .collect();
    if !temps.is_empty() {
        problems.push(format!("temp/journal files left: {temps:?}"));
    }
    if o.status.code() != Some(1) {
        problems.push(format!("exit {:?}, want 1: {stderr}", o.status.code()));
    }
    let ro_used = ro.is_some();
    drop(full);
    drop(ro);

    // run-level set-up errors: exit 2, nothing processed, a message that says what to do
    let one = d.path().join("one");
    write(&one.join("a.jpg"), &tiny);
    let models = pixla::internal_tests::models::models_dir(None);
    let mut run_level = vec![];
    for (what, how) in [
        ("truncated model file", 0),
        ("model file with a wrong sha256", 1),
        ("ONNX Runtime library not loadable", 2),
    ] {
        let md = d.path().join(format!("models{how}"));
        std::fs::create_dir_all(&md).unwrap();
        for m in ["nanodet-m.onnx", "ppocrv4-det.onnx"] {
            std::fs::copy(models.join(m), md.join(m)).unwrap();
        }
        let nano = md.join("nanodet-m.onnx");
        let mut b = std::fs::read(&nano).unwrap();
        match how {
            0 => b.truncate(b.len() / 3),
            1 => {
                let n = b.len() / 2;
                b[n] ^= 0x55
            }
            _ => {}
        }
        std::fs::write(&nano, &b).unwrap();
        let o2 = d.path().join(format!("out-setup{how}"));
        let mut c = pixla();
        c.arg("redact")
            .arg(&one)
            .arg("-o")
            .arg(&o2)
            .arg("--models-dir")
            .arg(&md)
            .arg("--quiet");
        if how == 2 {
            let fake = d.path().join("libonnxruntime.so.1");
            std::fs::write(&fake, b"not a shared library").unwrap();
            c.env("ORT_DYLIB_PATH", &fake);
        }
        let r = c.output().unwrap();
        let msg = String::from_utf8_lossy(&r.stderr).trim().replace('\n', " ");
        let ok = r.status.code() == Some(2)
            && !o2.join("a.jpg").exists()
            && (if how == 2 {
                msg.contains("ORT_DYLIB_PATH") || msg.contains("ONNX Runtime")
            } else {
                msg.contains("sha256") && msg.contains("pixla models fetch")
            });
        if !ok {
            problems.push(format!("{what}: exit {:?}: {msg}", r.status.code()));
        }
        run_level.push(format!(
            "| {what} | (run) | exit {} | {} |\n",
            r.status.code().unwrap_or(-1),
            msg.replace('|', "\\|")
        ));
    }
    // unreadable file: root reads everything, so this run is done as `nobody` (setpriv),
    // with readable copies of the models and the runtime
    let mut unreadable = "| unreadable file (mode 000, run as uid 65534) | `secret.jpg` | not run: setpriv unavailable | |\n".to_string();
    if std::process::Command::new("setpriv")
        .arg("--help")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
    {
        use std::os::unix::fs::PermissionsExt;
        let base = d.path().join("nobody");
        let (ui, uo, um) = (base.join("in"), base.join("out"), base.join("models"));
        write(&ui.join("secret.jpg"), &tiny);
        write(&ui.join("ok.jpg"), &tiny);
        std::fs::set_permissions(
            ui.join("secret.jpg"),
            std::fs::Permissions::from_mode(0o000),
        )
        .unwrap();
        std::fs::create_dir_all(&uo).unwrap();
        std::fs::create_dir_all(&um).unwrap();
        for m in ["nanodet-m.onnx", "ppocrv4-det.onnx"] {
            std::fs::copy(models.join(m), um.join(m)).unwrap();
        }
        let ort = pixla::internal_tests::runtime::locate().unwrap();
        std::fs::copy(&ort, base.join("libonnxruntime.so")).unwrap();
        for p in [d.path(), &base, &ui, &um] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::set_permissions(&uo, std::fs::Permissions::from_mode(0o777)).unwrap();
        let r = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(assert_cmd::cargo::cargo_bin("pixla"))
            .arg("redact")
            .arg(&ui)
            .arg("-o")
            .arg(&uo)
            .arg("--models-dir")
            .arg(&um)
            .arg("--quiet")
            .env("ORT_DYLIB_PATH", base.join("libonnxruntime.so"))
            .env("PIXLA_HOME", &base)
            .env_remove("PIXLA_OPERATOR")
            .output()
            .unwrap();
        let rep: Option<Value> = std::fs::read(uo.join("pixla-report.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let entry = rep.as_ref().and_then(|r| {
            r["files"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["input"] == "secret.jpg")
                .cloned()
        });
        let err = entry
            .as_ref()
            .and_then(|e| e["error"].as_str().map(str::to_string))
            .unwrap_or_default();
        let ok = r.status.code() == Some(1)
            && entry.as_ref().is_some_and(|e| e["status"] == "failed")
            && entry.as_ref().is_some_and(|e| e["error_kind"] == "io")
            && err.contains("ermission denied")
            && !uo.join("secret.jpg").exists()
            && rep
                .as_ref()
                .is_some_and(|r| file_entry(r, "ok.jpg")["status"] != "failed");
        if !ok {
            problems.push(format!(
                "unreadable file: exit {:?}, {err}; {}",
                r.status.code(),
                String::from_utf8_lossy(&r.stderr)
            ));
        }
        unreadable = format!(
            "| unreadable file (mode 000, run as uid 65534) | `secret.jpg` | {} | {} |\n",
            entry
                .as_ref()
                .map(|e| e["status"].as_str().unwrap_or("?").to_string())
                .unwrap_or("missing".into()),
            err.replace('|', "\\|")
        );
    }
    table.push_str(&unreadable);
    for r in run_level {
        table.push_str(&r);
    }
    let n = cases.len() + 4;
    let text = format!("Hostile corpus: {n} cases; batch exit {:?} in {secs:.1} s; disk full via {disk_full_how}; read-only output: {}\n\n{table}", o.status.code(), if ro_used { "tmpfs ro" } else { "not run (mount not allowed)" });
    std::fs::write(test_output().join("hostile.md"), &text).unwrap();
    println!("{text}");
    assert!(n >= 30);
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}\n\n{text}",
        problems.len(),
        problems.join("\n")
    );
}

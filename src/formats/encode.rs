//! Encoding: redacted pixels → bytes in the input's own format, with the input's metadata
//! carried over unchanged. (The atomic write of those bytes is [`crate::fsio::write_atomic`].)
//!
//! - JPEG: re-encoded at the quality estimated from the source's quantisation tables, then
//!   wrapped in the source's APPn segments by [`crate::formats::jpeg::meta::assemble`]: byte for byte in
//!   their original order, except embedded previews (re-rendered from the redacted pixels or
//!   removed) and, on request, GPS or all metadata. (A lossless path that rewrites only the
//!   DCT blocks under a redaction is planned; see the README.)
//! - PNG: same bit depth and colour type; colour, text, EXIF and XMP chunks copied.
//! - TIFF: pixels, bit depth and colour type kept (32-bit float RGB(A) too); tags beyond the
//!   basic image structure are not yet carried (see the README); the report says so per file.
//! - An image with nothing to hide: [`clean`].

use crate::error::FileErrorKind;
use crate::formats::decode::{Decoded, Format};
use crate::formats::jpeg::meta::{self, MetaOptions};
use crate::formats::jpeg::tables::{jpeg_components, jpeg_quality};
use crate::formats::refused;
use anyhow::{bail, Context};
use image::{DynamicImage, ImageEncoder};
use img_parts::{png::Png, Bytes};

/// What the encoded output kept and what it lost, for the report.
#[derive(Debug, Default, Clone)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub metadata_kept: Vec<String>,
    pub metadata_dropped: Vec<String>,
    /// Removed on purpose (previews, GPS, stripping).
    pub metadata_removed: Vec<String>,
    /// Re-rendered from the redacted pixels (previews).
    pub metadata_regenerated: Vec<String>,
    pub quality: Option<u8>,
    /// Lossless JPEG: DCT blocks rewritten.
    pub blocks_changed: Option<usize>,
}

/// Encode `img` like the source `src` (its original bytes, decoded as `dec`), with the
/// source's metadata as `meta` says.
pub fn encode(
    img: &DynamicImage,
    dec: &Decoded,
    src: &[u8],
    meta: &MetaOptions,
) -> anyhow::Result<Encoded> {
    match dec.format {
        Format::Jpeg => encode_jpeg(img, src, meta),
        Format::Png => encode_png(img, dec, src, meta),
        Format::Tiff => encode_tiff(img, dec),
    }
}

fn encode_jpeg(img: &DynamicImage, src: &[u8], meta: &MetaOptions) -> anyhow::Result<Encoded> {
    // the decoder hands CMYK/YCCK over as RGB: re-encoding would silently turn a print file
    // into RGB under its CMYK colour profile; fail closed instead
    if jpeg_components(src) == Some(4) {
        return Err(refused(FileErrorKind::Unsupported, "CMYK/YCCK JPEG with regions to hide: the lossless path does not take 4-component JPEGs and re-encoding would turn it into RGB; convert it to RGB (or YCbCr) first"));
    }
    let quality = jpeg_quality(src).unwrap_or(92).max(75);
    let mut raw = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut raw, quality);
    match img {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => img.write_with_encoder(enc)?,
        other => DynamicImage::ImageRgb8(other.to_rgb8()).write_with_encoder(enc)?,
    }
    let bytes = raw;
    let (bytes, ch) =
        meta::assemble(&bytes, src, img, meta).context("carrying the metadata over")?;
    Ok(Encoded {
        bytes,
        metadata_kept: ch.kept,
        metadata_dropped: vec![],
        metadata_removed: ch.removed,
        metadata_regenerated: ch.regenerated,
        quality: Some(quality),
        blocks_changed: None,
    })
}

/// Redact a JPEG in the DCT domain (see `jpeg_lossless`); `img` is the same redaction done
/// on the decoded pixels, from which previews are re-rendered.
pub fn encode_jpeg_lossless(
    src: &[u8],
    edits: &[crate::formats::jpeg::lossless::Edit],
    img: &DynamicImage,
    meta: &MetaOptions,
) -> anyhow::Result<Encoded> {
    let r = crate::formats::jpeg::lossless::rewrite(src, edits)?;
    let (bytes, ch) =
        meta::assemble(&r.bytes, src, img, meta).context("carrying the metadata over")?;
    Ok(Encoded {
        bytes,
        metadata_kept: ch.kept,
        metadata_dropped: vec![],
        metadata_removed: ch.removed,
        metadata_regenerated: ch.regenerated,
        quality: None,
        blocks_changed: Some(r.blocks_changed),
    })
}

/// The output for an image with nothing to hide: only what the detectors examined, with
/// the source's metadata. `None`: the file is exactly that already, and the output is the
/// input byte for byte. Else the metadata is rewritten around the untouched image data
/// (JPEG scans, PNG IDAT): what follows the image (a JPEG's EOI, a PNG's IEND) is dropped,
/// and previews, which no detector looked at and which may show another picture than the
/// main image, are re-rendered from the examined pixels (or removed with `--previews
/// remove`), as for a redacted image; with `--strip-gps`/`--strip-metadata` the metadata
/// is stripped too (a PNG is then re-encoded losslessly).
pub fn clean(dec: &Decoded, src: &[u8], meta: &MetaOptions) -> anyhow::Result<Option<Encoded>> {
    let enc = match dec.format {
        Format::Jpeg => {
            let (bytes, ch) =
                meta::assemble(src, src, &dec.image, meta).context("rewriting the metadata")?;
            if !meta.strips() && ch.removed.is_empty() && ch.regenerated.is_empty() {
                return Ok(None);
            }
            Encoded {
                bytes,
                metadata_kept: ch.kept,
                metadata_removed: ch.removed,
                metadata_regenerated: ch.regenerated,
                ..Default::default()
            }
        }
        Format::Png if meta.strips() => encode(&dec.image, dec, src, meta)?,
        Format::Png => match clean_png(&dec.image, src, meta)? {
            Some(e) => Encoded {
                metadata_kept: crate::formats::decode::metadata_kinds(&e.bytes, Format::Png),
                ..e
            },
            None => return Ok(None),
        },
        Format::Tiff => bail!("TIFF files are not rewritten here (see tiffpath)"),
    };
    Ok(Some(enc))
}

/// A clean PNG's chunks up to IEND, the carried ones through [`png_chunk`] (previews
/// re-rendered from `img`); `None` when that changes nothing and nothing follows IEND.
fn clean_png(
    img: &DynamicImage,
    src: &[u8],
    meta: &MetaOptions,
) -> anyhow::Result<Option<Encoded>> {
    let end = crate::formats::decode::png_end(src).context("the PNG has no IEND chunk")?;
    let mut png = Png::from_bytes(Bytes::copy_from_slice(&src[..end]))
        .context("reading the source PNG's chunks")?;
    let mut ch = ChunkChanges::default();
    let mut changed = false;
    let chunks = png.chunks_mut();
    let mut i = 0;
    while i < chunks.len() {
        if PNG_CARRY.contains(&&chunks[i].kind()) {
            match png_chunk(&chunks[i], img, meta, &mut ch)? {
                Some(c) if c.contents() == chunks[i].contents() => {}
                Some(c) => {
                    chunks[i] = c;
                    changed = true;
                }
                None => {
                    chunks.remove(i);
                    changed = true;
                    continue;
                }
            }
        }
        i += 1;
    }
    let ChunkChanges {
        mut removed,
        regenerated,
    } = ch;
    if end < src.len() {
        removed.push(format!("data after the image ({} bytes)", src.len() - end));
    } else if !changed && removed.is_empty() && regenerated.is_empty() {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    png.encoder().write_to(&mut bytes)?;
    Ok(Some(Encoded {
        bytes,
        metadata_removed: removed,
        metadata_regenerated: regenerated,
        ..Default::default()
    }))
}

/// PNG chunks copied from the source: colour space, physical size, text, EXIF, XMP, time.
const PNG_CARRY: &[&[u8; 4]] = &[
    b"iCCP", b"sRGB", b"gAMA", b"cHRM", b"pHYs", b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME",
];

fn encode_png(
    img: &DynamicImage,
    dec: &Decoded,
    src: &[u8],
    meta: &MetaOptions,
) -> anyhow::Result<Encoded> {
    let mut out =
        Png::from_bytes(Bytes::from(png_pixels(img)?)).context("re-reading the encoded PNG")?;
    let source =
        Png::from_bytes(Bytes::copy_from_slice(src)).context("reading the source PNG's chunks")?;
    let mut ch = ChunkChanges::default();
    let mut carried = Vec::new();
    for c in source
        .chunks()
        .iter()
        .filter(|c| PNG_CARRY.contains(&&c.kind()))
    {
        if let Some(c) = png_chunk(c, img, meta, &mut ch)? {
            carried.push(c);
        }
    }
    insert_after_ihdr(&mut out, carried);
    let mut removed = ch.removed;
    if let Some(end) = crate::formats::decode::png_end(src).filter(|&e| e < src.len()) {
        removed.push(format!("data after the image ({} bytes)", src.len() - end));
    }
    let mut bytes = Vec::new();
    out.encoder().write_to(&mut bytes)?;
    let kept = if meta.strip_metadata || !removed.is_empty() {
        crate::formats::decode::metadata_kinds(&bytes, Format::Png)
    } else {
        dec.metadata.clone()
    };
    Ok(Encoded {
        bytes,
        metadata_kept: kept,
        metadata_dropped: vec![],
        metadata_removed: removed,
        metadata_regenerated: ch.regenerated,
        quality: None,
        blocks_changed: None,
    })
}

/// The redacted pixels as a PNG of the image crate's (no metadata chunks).
fn png_pixels(img: &DynamicImage) -> anyhow::Result<Vec<u8>> {
    let mut raw = Vec::new();
    let enc = image::codecs::png::PngEncoder::new_with_quality(
        &mut raw,
        image::codecs::png::CompressionType::Default,
        image::codecs::png::FilterType::Adaptive,
    );
    enc.write_image(
        img.as_bytes(),
        img.width(),
        img.height(),
        img.color().into(),
    )?;
    Ok(raw)
}

/// Replace `out`'s own carried-kind chunks with `carried`, right after IHDR.
fn insert_after_ihdr(out: &mut Png, carried: Vec<img_parts::png::PngChunk>) {
    let chunks = out.chunks_mut();
    chunks.retain(|c| !PNG_CARRY.contains(&&c.kind()));
    let at = chunks
        .iter()
        .position(|c| &c.kind() == b"IHDR")
        .map(|i| i + 1)
        .unwrap_or(0);
    for (i, c) in carried.into_iter().enumerate() {
        chunks.insert(at + i, c);
    }
}

/// What happened to the source's PNG metadata, for the report.
#[derive(Default)]
struct ChunkChanges {
    removed: Vec<String>,
    regenerated: Vec<String>,
}

/// A source PNG chunk as it goes into the output (`None`: removed), by the same rules as
/// JPEG metadata: EXIF thumbnails regenerated or removed, GPS/location stripped on request,
/// only colour chunks and the EXIF Orientation kept with `strip_metadata`.
fn png_chunk(
    c: &img_parts::png::PngChunk,
    img: &DynamicImage,
    meta: &MetaOptions,
    out: &mut ChunkChanges,
) -> anyhow::Result<Option<img_parts::png::PngChunk>> {
    use img_parts::png::PngChunk;
    let kind = c.kind();
    let name = String::from_utf8_lossy(&kind).into_owned();
    let colour = matches!(&kind, b"iCCP" | b"sRGB" | b"gAMA" | b"cHRM");
    if colour {
        return Ok(Some(c.clone()));
    }
    if &kind == b"eXIf" {
        let (tiff, ch) = meta::edit_exif_tiff(c.contents(), img, meta).context("PNG eXIf")?;
        out.removed.extend(ch.removed);
        out.regenerated.extend(ch.regenerated);
        return Ok(tiff.map(|t| PngChunk::new(kind, Bytes::from(t))));
    }
    if meta.strip_metadata {
        out.removed.push(format!("png {name}"));
        return Ok(None);
    }
    let body = c.contents();
    let keyword = body.split(|&b| b == 0).next().unwrap_or_default();
    if keyword.starts_with(b"Raw profile type") && meta.strip_gps {
        // ImageMagick's hex-encoded EXIF/XMP: not edited, removed
        out.removed
            .push(format!("png {name} {}", String::from_utf8_lossy(keyword)));
        return Ok(None);
    }
    if &kind == b"iTXt" && keyword == b"XML:com.adobe.xmp" {
        return xmp_itxt(c, meta, &mut out.removed);
    }
    Ok(Some(c.clone()))
}

/// An XMP iTXt chunk with its packet edited; a compressed one is kept as it is, or removed
/// with `strip_gps`.
fn xmp_itxt(
    c: &img_parts::png::PngChunk,
    meta: &MetaOptions,
    removed: &mut Vec<String>,
) -> anyhow::Result<Option<img_parts::png::PngChunk>> {
    let body = c.contents();
    let Some(text_at) = itxt_text_start(body) else {
        if meta.strip_gps {
            removed.push("png iTXt xmp (compressed, not edited)".into());
            return Ok(None);
        }
        return Ok(Some(c.clone()));
    };
    let (new, ch) = meta::edit_xmp_packet(&body[text_at..], meta).context("PNG XMP")?;
    removed.extend(ch.removed);
    Ok(Some(match new {
        Some(x) => {
            let mut b = body[..text_at].to_vec();
            b.extend(x);
            img_parts::png::PngChunk::new(c.kind(), Bytes::from(b))
        }
        None => c.clone(),
    }))
}

/// Where the text of an uncompressed iTXt chunk starts; `None` when it is compressed or
/// malformed.
fn itxt_text_start(body: &[u8]) -> Option<usize> {
    // keyword\0, compression flag, method, language\0, translated keyword\0, text
    let keyword = body.split(|&b| b == 0).next().unwrap_or_default();
    let k = keyword.len() + 1;
    let compressed = body.get(k).copied().unwrap_or(1) != 0;
    let lang_end = body
        .get(k + 2..)
        .and_then(|b| b.iter().position(|&x| x == 0))
        .map(|p| k + 2 + p + 1);
    let tr_end = lang_end.and_then(|l| {
        body.get(l..)
            .and_then(|b| b.iter().position(|&x| x == 0))
            .map(|p| l + p + 1)
    });
    tr_end.filter(|_| !compressed)
}

fn encode_tiff(img: &DynamicImage, dec: &Decoded) -> anyhow::Result<Encoded> {
    let mut raw = std::io::Cursor::new(Vec::new());
    match img {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_)
        | DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageRgb16(_)
        | DynamicImage::ImageRgba16(_)
        | DynamicImage::ImageRgb32F(_)
        | DynamicImage::ImageRgba32F(_) => img.write_to(&mut raw, image::ImageFormat::Tiff)?,
        other => bail!("cannot write {:?} as TIFF", other.color()),
    }
    let dropped = dec
        .metadata
        .iter()
        .filter(|m| *m == "tiff-tags")
        .cloned()
        .collect();
    Ok(Encoded {
        bytes: raw.into_inner(),
        metadata_kept: vec![],
        metadata_dropped: dropped,
        quality: None,
        ..Default::default()
    })
}

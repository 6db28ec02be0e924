//! TIFF and GeoTIFF files: only the pixels under the redactions change, every tag stays
//! byte-equal (see [`crate::formats::tiff`]), and huge orthophotos are never decoded whole.
//!
//! - Detection reads the picture through a [`Raster`]: a TIFF up to `--max-megapixels` is
//!   decoded in memory as any image; a bigger one (up to `--max-megapixels-tiled`) is read
//!   tile by tile from the file ([`TiffRaster`]), so memory stays bounded by the tiles in
//!   flight.
//! - Redaction reads each region's window from the file, hides it in the file's own sample
//!   type, and writes it back as a patch; internal overviews (reduced-resolution IFDs, e.g.
//!   made by `gdaladdo`) get the same regions scaled, so no overview shows what the full
//!   resolution hides.
//! - A TIFF with more than one full-resolution image (a multi-page TIFF) fails: its other
//!   pages would go unexamined. A layout `tiffedit` cannot edit in place (JPEG-in-TIFF,
//!   float samples...) is decoded and re-encoded with the `image` crate instead, if it fits
//!   the in-memory limit; its extra tags are then lost, and the report says so.

use crate::config::Config;
use crate::error::{FileError, FileErrorKind};
use crate::file::corrections::{edit_regions, Edits};
use crate::file::failure::{tagged, Classify};
use crate::file::plan::{apply_regions, plan_regions};
use crate::find::loaded::Models;
use crate::find::passes::detect_raster;
use crate::find::raster::{MemRaster, Raster};
use crate::find::Found;
use crate::formats::decode::{self, Format};
use crate::formats::encode;
use crate::formats::tiff::{self, TiffInfo, Window};
use crate::fsio::walk::Job;
use crate::fsio::{write_atomic, write_atomic_with};
use crate::geom::PixBox;
use crate::redact;
#[cfg(test)]
use crate::redact::Method;
use crate::report::{Encoding, FileEntry, Status};
use anyhow::{bail, Context};
use image::{DynamicImage, RgbImage};
use std::io::{Read, Write};
use std::path::Path;

/// Detection on a TIFF: decoded whole (orientation applied) when it is at most
/// `--max-megapixels`, else read tile by tile from the file (orientation 1 only).
fn detect_tiff(
    path: &Path,
    info: &TiffInfo,
    (w, h): (u32, u32),
    orientation: image::metadata::Orientation,
    cfg: &Config,
    models: &Models,
) -> anyhow::Result<Vec<Found>> {
    let mp = w as f64 * h as f64 / 1e6;
    Ok(if mp <= cfg.limits.max_megapixels {
        let mut img = tiff::read_window(path, 0, 0, 0, w, h)
            .and_then(|win| win.to_image())
            .map_err(|e| tagged(FileErrorKind::Decode, e))?;
        img.apply_orientation(orientation);
        let up = img.to_rgb8();
        drop(img);
        detect_raster(&MemRaster(&up), cfg, models).context("detection failed")?
    } else {
        if orientation != image::metadata::Orientation::NoTransforms {
            return Err(FileError::new(FileErrorKind::Unsupported, format!("TIFF over {:.0} MP with an Orientation tag other than 1: not supported tile by tile", cfg.limits.max_megapixels)).into());
        }
        detect_raster(&TiffRaster::new(path, info), cfg, models).context("detection failed")?
    })
}

/// Does the file start like a TIFF (classic or BigTIFF, either byte order)?
pub fn is_tiff(path: &Path) -> anyhow::Result<bool> {
    let mut f = std::fs::File::open(path).context("cannot read the file")?;
    let mut head = [0u8; 4];
    let n = f.read(&mut head).context("cannot read the file")?;
    Ok(n == 4 && matches!(&head, b"II*\0" | b"MM\0*" | b"II+\0" | b"MM\0+"))
}

/// IFD 0 of a TIFF, read tile by tile through [`tiff::read_window`], as upright RGB8
/// (16-bit scaled down, grey expanded, alpha dropped). Only for orientation 1.
pub struct TiffRaster<'a> {
    pub path: &'a Path,
    pub info: &'a TiffInfo,
    /// Open readers (parsed IFDs, offset tables), one per concurrent tile read.
    readers: std::sync::Mutex<Vec<tiff::TiffReader>>,
}

impl<'a> TiffRaster<'a> {
    pub fn new(path: &'a Path, info: &'a TiffInfo) -> Self {
        TiffRaster {
            path,
            info,
            readers: std::sync::Mutex::new(Vec::new()),
        }
    }
    /// A window of IFD `ifd` as RGB8; a failure is tagged `decode` (see [`tagged`]).
    fn rgb(&self, ifd: usize, r: PixBox) -> anyhow::Result<RgbImage> {
        self.read_rgb(ifd, r)
            .map_err(|e| tagged(FileErrorKind::Decode, e))
    }
    fn read_rgb(&self, ifd: usize, r: PixBox) -> anyhow::Result<RgbImage> {
        let pooled = self.readers.lock().map(|mut v| v.pop()).unwrap_or(None);
        let mut rd = match pooled {
            Some(rd) => rd,
            None => tiff::TiffReader::open(self.path)?,
        };
        let img = rd
            .read_window(ifd, r.x, r.y, r.w, r.h)?
            .to_image()?
            .to_rgb8();
        if let Ok(mut v) = self.readers.lock() {
            v.push(rd);
        }
        Ok(img)
    }
}

impl Raster for TiffRaster<'_> {
    fn size(&self) -> (u32, u32) {
        (self.info.ifds[0].width, self.info.ifds[0].height)
    }
    fn read(&self, r: PixBox) -> anyhow::Result<RgbImage> {
        self.rgb(0, r)
    }
    fn overview(&self, w: u32, h: u32) -> anyhow::Result<RgbImage> {
        // the smallest internal overview that is still at least as big as asked for
        let best = self
            .info
            .ifds
            .iter()
            .filter(|i| {
                i.is_overview()
                    && !i.is_mask()
                    && i.unsupported.is_none()
                    && i.width >= w
                    && i.height >= h
            })
            .min_by_key(|i| i.width);
        if let Some(o) = best {
            let img = self.rgb(
                o.index,
                PixBox {
                    x: 0,
                    y: 0,
                    w: o.width,
                    h: o.height,
                },
            )?;
            return Ok(image::imageops::thumbnail(&img, w, h));
        }
        // else: bands of full-resolution rows, each shrunk to its share of the output rows
        let (fw, fh) = self.size();
        let mut out = RgbImage::new(w, h);
        let band = 512u32;
        let mut y = 0;
        while y < fh {
            let y1 = (y + band).min(fh);
            let (t0, t1) = (
                (y as u64 * h as u64 / fh as u64) as u32,
                (y1 as u64 * h as u64 / fh as u64) as u32,
            );
            if t1 > t0 {
                let rows = self.rgb(
                    0,
                    PixBox {
                        x: 0,
                        y,
                        w: fw,
                        h: y1 - y,
                    },
                )?;
                let small = image::imageops::thumbnail(&rows, w, t1 - t0);
                image::imageops::replace(&mut out, &small, 0, t0 as i64);
            }
            y = y1;
        }
        Ok(out)
    }
}

/// Largest window read and redacted at once (a piece of a region), and largest sum of
/// patches held before they are written (one rewrite pass).
const PIECE_BYTES: u64 = 64 << 20;
const PASS_BYTES: u64 = 384 << 20;

/// Cut `r` into pieces of at most `max_bytes` (at `bpp` bytes a pixel), along the
/// pixelation grid of `block` px anchored at `r`'s corner, so that pixelating each piece
/// gives exactly the cells pixelating `r` whole would (a piece is never smaller than one
/// cell).
pub fn split(r: PixBox, block: u32, bpp: u64, max_bytes: u64) -> Vec<PixBox> {
    let block = block.max(1);
    let max_px = (max_bytes / bpp.max(1)).max(1);
    // whole cell rows first, then whole cell columns if one row band is still too big
    let rows = ((max_px / r.w.max(1) as u64) as u32 / block).max(1) * block;
    let cols = if (r.w as u64) * (rows.min(r.h) as u64) > max_px {
        ((max_px / rows as u64) as u32 / block).max(1) * block
    } else {
        r.w
    };
    let mut out = Vec::new();
    let mut y = 0;
    while y < r.h {
        let h = rows.min(r.h - y);
        let mut x = 0;
        while x < r.w {
            let w = cols.min(r.w - x);
            out.push(PixBox {
                x: r.x + x,
                y: r.y + y,
                w,
                h,
            });
            x += w;
        }
        y += h;
    }
    out
}

/// Process one TIFF job (see the module docs).
pub fn process(
    job: &Job,
    cfg: &Config,
    models: &Models,
    edits: Option<&Edits>,
    e: &mut FileEntry,
) -> Result<(), FileError> {
    use FileErrorKind::{Decode, Internal, Io, Limit, Review, Unsupported};
    decode::check_name(Format::Tiff, &job.input).kind(Unsupported)?;
    e.format = Some("tiff".into());
    if cfg.meta.strips() {
        // TIFF tags are kept byte for byte; GPS IFDs and GeoTIFF georeferencing (which is a
        // location too) are not edited, so a stripped delivery cannot be promised
        return Err(FileError::new(Unsupported, "--strip-gps/--strip-metadata are not applied to TIFF files (their tags, GeoTIFF georeferencing included, are kept byte for byte): not written"));
    }
    let info = tiff::inspect(&job.input)
        .context("cannot read the TIFF structure")
        .classify(Decode)?;
    let main = info
        .ifds
        .first()
        .context("TIFF without an image")
        .kind(Decode)?;
    one_image(&info).kind(Unsupported)?;
    if let Some(why) = &main.unsupported {
        // not editable in place: the ordinary decode → re-encode path, if it fits in memory
        return fallback(job, cfg, models, edits, e, why);
    }
    let (w, h) = (main.width, main.height);
    e.width = Some(w);
    e.height = Some(h);
    let mp = w as f64 * h as f64 / 1e6;
    if mp > cfg.limits.max_megapixels_tiled {
        return Err(FileError::new(Limit, format!("image is {w}x{h} ({mp:.0} MP), over the limit of {:.0} MP for tile-by-tile processing (--max-megapixels-tiled): refused before decoding", cfg.limits.max_megapixels_tiled)));
    }
    let meta = std::fs::metadata(&job.input)
        .context("cannot read the file")
        .kind(Io)?;
    e.input_bytes = Some(meta.len());
    e.input_sha256 = Some(
        crate::fsio::sha256_file(&job.input)
            .context("cannot read the file")
            .kind(Io)?,
    );

    // detection: whole in memory when small enough, else tile by tile from the file
    // (BigTIFF headers are not read by the image crate: orientation 1 is assumed for them)
    let orientation = tiff_orientation(&job.input);
    e.metadata_kept = vec!["tiff-tags".into()];
    let found =
        detect_tiff(&job.input, &info, (w, h), orientation, cfg, models).classify(Internal)?;
    e.orientation = Some(decode::orientation_code(orientation));
    let (mut regions, not_hidden) = plan_regions(w, h, &found, orientation, cfg);
    if let Some(ed) = edits {
        let (r, s) = edit_regions(regions, ed, w, h, cfg).kind(Review)?;
        regions = r;
        e.suppressed = s;
    }
    // application order: blur, pixelation, then fill (fill wins where they overlap)
    let mut plan: Vec<&crate::report::Region> = regions.iter().collect();
    plan.sort_by_key(|r| match r.method {
        redact::Method::Fill => 2,
        redact::Method::Pixelate => 1,
        _ => 0,
    });
    e.detections_not_hidden = not_hidden;

    if regions.is_empty() {
        e.status = Status::Clean;
        copy_clean(job, e).classify(Io)?;
    } else {
        // pieces of every region on the full image and every overview, in the plan's order
        let mut pieces: Vec<(usize, PixBox, redact::Method, u32)> = Vec::new();
        for p in &plan {
            let rect = PixBox {
                x: p.bbox[0],
                y: p.bbox[1],
                w: p.bbox[2],
                h: p.bbox[3],
            };
            let pblock = p
                .block
                .unwrap_or_else(|| redact::block_size(&rect, cfg.blocks));
            for ifd in info
                .ifds
                .iter()
                .filter(|i| i.index == 0 || (i.is_overview() && !i.is_mask()))
            {
                if let Some(why) = &ifd.unsupported {
                    return Err(FileError::new(Unsupported, format!("overview IFD {} cannot be edited ({why}); it would keep showing the region", ifd.index)));
                }
                let r = if ifd.index == 0 {
                    Some((rect.x, rect.y, rect.w, rect.h))
                } else {
                    tiff::scale_rect(&info, 0, ifd.index, rect.x, rect.y, rect.w, rect.h)
                };
                let Some((x, y, rw, rh)) = r else { continue };
                let block = ((pblock as u64 * ifd.width as u64).div_ceil(w as u64) as u32).max(1);
                let bpp = (ifd.samples_per_pixel as u64 * ifd.bits_per_sample as u64)
                    .div_ceil(8)
                    .max(1);
                for piece in split(PixBox { x, y, w: rw, h: rh }, block, bpp, PIECE_BYTES) {
                    pieces.push((ifd.index, piece, p.method, block));
                }
            }
        }
        // patches are held in memory until written: write them in passes of at most
        // PASS_BYTES, each pass a full copy of the previous one (one pass in practice)
        let mut passes: Vec<Vec<(usize, PixBox, redact::Method, u32)>> = vec![vec![]];
        let mut held = 0u64;
        for pc in pieces {
            let bytes = pc.1.w as u64 * pc.1.h as u64 * 8;
            if held + bytes > PASS_BYTES && !passes.last().unwrap().is_empty() {
                passes.push(vec![]);
                held = 0;
            }
            held += bytes;
            passes.last_mut().unwrap().push(pc);
        }
        let dir = job.output.parent().unwrap_or(Path::new("."));
        let mut current: Option<tempfile::NamedTempFile> = None;
        let mut stats = tiff::RewriteStats::default();
        let n = passes.len();
        for (k, pass) in passes.into_iter().enumerate() {
            let from = current
                .as_ref()
                .map(|t| t.path().to_path_buf())
                .unwrap_or_else(|| job.input.clone());
            // pieces are read from the file as it was before this pass; where two regions
            // overlap, the later one's patch wins and is hidden by its own method (fill
            // after pixelation, as in the plan); a later pass reads this pass's result
            let mut patches = Vec::with_capacity(pass.len());
            for (ifd, r, method, block) in &pass {
                let mut img: DynamicImage = tiff::read_window(&from, *ifd, r.x, r.y, r.w, r.h)
                    .and_then(|win| win.to_image())
                    .classify(Decode)?;
                redact::apply_block(
                    &mut img,
                    PixBox {
                        x: 0,
                        y: 0,
                        w: r.w,
                        h: r.h,
                    },
                    *method,
                    *block,
                );
                patches.push((*ifd, Window::from_image(r.x, r.y, &img).classify(Internal)?));
            }
            let s = if k + 1 == n {
                // read the patches back from the temp file before it is renamed into place
                write_atomic_with(&job.output, Some(&job.input), |f, tmp| {
                    let s = tiff::rewrite(&from, f, &patches)?;
                    f.flush().context("writing the output")?;
                    tiff::verify(tmp, &expected(&patches))
                        .context("the rewritten TIFF does not read back as redacted")
                        .map_err(|e| tagged(Internal, e))?;
                    Ok(s)
                })
                .classify(Io)?
            } else {
                std::fs::create_dir_all(dir).ok();
                let mut t = tempfile::Builder::new()
                    .prefix(".pixla-")
                    .suffix(".tmp")
                    .tempfile_in(dir)
                    .context("cannot create a temp file")
                    .kind(Io)?;
                let s = tiff::rewrite(&from, t.as_file_mut(), &patches).classify(Io)?;
                current = Some(t);
                s
            };
            stats.chunks_rewritten += s.chunks_rewritten;
            if k == 0 {
                stats.unreferenced = s.unreferenced;
            }
        }
        e.status = Status::Redacted;
        e.encoding = Some(Encoding::Lossless);
        e.blocks_changed = Some(stats.chunks_rewritten);
        e.metadata_removed.extend(stats.unreferenced.describe());
        e.regions = regions.clone();
    }
    let out_meta = std::fs::metadata(&job.output)
        .context("cannot read the output back")
        .kind(Io)?;
    e.output = Some(job.rel.to_string_lossy().into_owned());
    e.output_bytes = Some(out_meta.len());
    e.output_sha256 = Some(
        crate::fsio::sha256_file(&job.output)
            .context("cannot read the output back")
            .kind(Io)?,
    );
    Ok(())
}

/// One image per file: a multi-page TIFF (more full-resolution IFDs in the chain) or one
/// with SubIFDs (tag 330: images outside the chain) is refused, since its other images
/// would go unchecked. Reduced-resolution IFDs (overviews) and masks are not pages.
fn one_image(info: &TiffInfo) -> anyhow::Result<()> {
    let pages: Vec<usize> = info
        .ifds
        .iter()
        .skip(1)
        .filter(|i| !i.is_overview() && !i.is_mask())
        .map(|i| i.index)
        .collect();
    if !pages.is_empty() {
        bail!("multi-page TIFF ({} more full-resolution images in IFDs {:?}): pixla examines one image per file, so the other pages would go unchecked; split the pages first", pages.len(), pages);
    }
    let sub: usize = info.ifds.iter().map(|i| i.sub_ifds).sum();
    if sub > 0 {
        bail!("TIFF with {sub} SubIFD image(s) (tag 330): pixla examines one image per file, so those would go unchecked; refused");
    }
    Ok(())
}

/// The output of a TIFF with nothing to hide: the file as it is, less any byte no IFD
/// references ([`tiff::copy_examined`]; `copy` when there is none, else
/// `metadata-only`, with what was left out listed).
fn copy_clean(job: &Job, e: &mut FileEntry) -> anyhow::Result<()> {
    let t = write_atomic_with(&job.output, Some(&job.input), |f, _| {
        tiff::copy_examined(&job.input, f)
    })?;
    match t.describe() {
        None => e.encoding = Some(Encoding::Copy),
        Some(d) => {
            e.encoding = Some(Encoding::MetadataOnly);
            e.metadata_removed.push(d);
        }
    }
    Ok(())
}

/// What each patch's window must read back as once all patches are written in order:
/// later patches overwrite earlier ones where they overlap.
fn expected(patches: &[(usize, Window)]) -> Vec<(usize, Window)> {
    let mut out: Vec<(usize, Window)> = patches.to_vec();
    for (i, (own, dst)) in out.iter_mut().enumerate() {
        for (ifd, later) in &patches[i + 1..] {
            if ifd != own {
                continue;
            }
            let (x0, y0) = (dst.x.max(later.x), dst.y.max(later.y));
            let (x1, y1) = (
                (dst.x + dst.w).min(later.x + later.w),
                (dst.y + dst.h).min(later.y + later.h),
            );
            if x1 <= x0 || y1 <= y0 || dst.spp != later.spp {
                continue;
            }
            let spp = dst.spp as usize;
            for y in y0..y1 {
                let d = ((y - dst.y) as usize * dst.w as usize + (x0 - dst.x) as usize) * spp;
                let s = ((y - later.y) as usize * later.w as usize + (x0 - later.x) as usize) * spp;
                let n = (x1 - x0) as usize * spp;
                match (&mut dst.samples, &later.samples) {
                    (tiff::Samples::U8(a), tiff::Samples::U8(b)) => {
                        a[d..d + n].copy_from_slice(&b[s..s + n])
                    }
                    (tiff::Samples::U16(a), tiff::Samples::U16(b)) => {
                        a[d..d + n].copy_from_slice(&b[s..s + n])
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// The TIFF Orientation tag, from the header only.
fn tiff_orientation(path: &Path) -> image::metadata::Orientation {
    use image::ImageDecoder;
    image::ImageReader::open(path)
        .ok()
        .and_then(|r| r.with_guessed_format().ok())
        .and_then(|r| r.into_decoder().ok())
        .and_then(|mut d| d.orientation().ok())
        .unwrap_or(image::metadata::Orientation::NoTransforms)
}

/// A TIFF `tiffedit` cannot edit in place: decode and re-encode it whole (tags beyond the
/// image structure are lost, and the report says why).
fn fallback(
    job: &Job,
    cfg: &Config,
    models: &Models,
    edits: Option<&Edits>,
    e: &mut FileEntry,
    why: &str,
) -> Result<(), FileError> {
    use FileErrorKind::{Decode, Internal, Io, Review};
    let bytes = std::fs::read(&job.input)
        .context("cannot read the file")
        .kind(Io)?;
    e.input_sha256 = Some(crate::fsio::sha256_hex(&bytes));
    e.input_bytes = Some(bytes.len() as u64);
    let dec = decode::decode(&bytes, &job.input, &cfg.limits).classify(Decode)?;
    e.width = Some(dec.image.width());
    e.height = Some(dec.image.height());
    e.orientation = Some(decode::orientation_code(dec.orientation));
    let up = dec.upright();
    let found = detect_raster(&MemRaster(&up), cfg, models)
        .context("detection failed")
        .kind(Internal)?;
    drop(up);
    let mut img = dec.image.clone();
    let (mut regions, not_hidden) =
        plan_regions(img.width(), img.height(), &found, dec.orientation, cfg);
    if let Some(ed) = edits {
        let (r, s) = edit_regions(regions, ed, img.width(), img.height(), cfg).kind(Review)?;
        regions = r;
        e.suppressed = s;
    }
    apply_regions(&mut img, &regions, cfg);
    e.detections_not_hidden = not_hidden;
    if regions.is_empty() {
        e.status = Status::Clean;
        e.metadata_kept = dec.metadata.clone();
        e.regions = regions;
        copy_clean(job, e).classify(Io)?;
        e.output = Some(job.rel.to_string_lossy().into_owned());
        e.output_sha256 = Some(
            crate::fsio::sha256_file(&job.output)
                .context("cannot read the output back")
                .kind(Io)?,
        );
        e.output_bytes = Some(
            std::fs::metadata(&job.output)
                .context("cannot read the output back")
                .kind(Io)?
                .len(),
        );
        return Ok(());
    }
    let out = {
        let enc = encode::encode(&img, &dec, &bytes, &cfg.meta)
            .context("encoding failed")
            .classify(Decode)?;
        e.status = Status::Redacted;
        e.encoding = Some(Encoding::Reencode);
        e.fallback = Some(format!(
            "TIFF layout not editable in place ({why}); decoded and re-encoded, extra tags lost"
        ));
        e.metadata_kept = enc.metadata_kept;
        e.metadata_dropped = enc.metadata_dropped;
        enc.bytes
    };
    e.regions = regions;
    write_atomic(&job.output, &out, Some(&job.input)).kind(Io)?;
    e.output = Some(job.rel.to_string_lossy().into_owned());
    e.output_sha256 = Some(crate::fsio::sha256_hex(&out));
    e.output_bytes = Some(out.len() as u64);
    Ok(())
}

/// Detection on one TIFF without writing anything (`pixla check`): the same reading as
/// [`process`] (whole in memory up to `--max-megapixels`, else tile by tile) and the same
/// refusals (multi-page, over `--max-megapixels-tiled`). Returns the stored size, the
/// orientation and what was found (upright coordinates).
pub fn scan(
    path: &Path,
    cfg: &Config,
    models: &Models,
) -> anyhow::Result<(u32, u32, image::metadata::Orientation, Vec<Found>)> {
    decode::check_name(Format::Tiff, path)?;
    let info = tiff::inspect(path).context("cannot read the TIFF structure")?;
    let main = info.ifds.first().context("TIFF without an image")?;
    one_image(&info)?;
    if main.unsupported.is_some() {
        let bytes = std::fs::read(path).context("cannot read the file")?;
        let dec = decode::decode(&bytes, path, &cfg.limits)?;
        let found =
            detect_raster(&MemRaster(&dec.upright()), cfg, models).context("detection failed")?;
        return Ok((
            dec.image.width(),
            dec.image.height(),
            dec.orientation,
            found,
        ));
    }
    let (w, h) = (main.width, main.height);
    let mp = w as f64 * h as f64 / 1e6;
    if mp > cfg.limits.max_megapixels_tiled {
        bail!("image is {w}x{h} ({mp:.0} MP), over the limit of {:.0} MP for tile-by-tile processing (--max-megapixels-tiled)", cfg.limits.max_megapixels_tiled);
    }
    let orientation = tiff_orientation(path);
    let found = detect_tiff(path, &info, (w, h), orientation, cfg, models)?;
    Ok((w, h, orientation, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_pixelate_exactly_like_the_whole_region() {
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(300, 200, |x, y| {
            image::Rgb([(x * 7 + y) as u8, (x * y) as u8, (y * 3) as u8])
        }));
        let r = PixBox {
            x: 13,
            y: 7,
            w: 250,
            h: 180,
        };
        let block = 23;
        let mut whole = img.clone();
        redact::apply_block(&mut whole, r, Method::Pixelate, block);
        // small budgets force row bands and column groups
        for budget in [23 * 23 * 3, 50 * 250 * 3, 1 << 30] {
            let pieces = split(r, block, 3, budget);
            assert_eq!(
                pieces.iter().map(|p| p.w as u64 * p.h as u64).sum::<u64>(),
                250 * 180
            );
            let mut parts = img.clone();
            for p in &pieces {
                let mut win = parts.crop_imm(p.x, p.y, p.w, p.h);
                redact::apply_block(
                    &mut win,
                    PixBox {
                        x: 0,
                        y: 0,
                        w: p.w,
                        h: p.h,
                    },
                    Method::Pixelate,
                    block,
                );
                image::imageops::replace(&mut parts, &win, p.x as i64, p.y as i64);
            }
            assert!(
                parts == whole,
                "budget {budget}: {} pieces differ from the whole-region result",
                pieces.len()
            );
        }
    }
}

//! A TIFF redacted in place: every region cut into pieces on the full image and every
//! overview ([`split`]), each piece read from the file, hidden in the file's own sample type
//! and written back as a patch ([`tiff::rewrite`]), in passes of bounded memory; the output
//! is read back and must show every patch before it is renamed into place.

use crate::config::Config;
use crate::error::{FileError, FileErrorKind};
use crate::file::failure::{tagged, Classify};
use crate::formats::tiff::{self, RewriteStats, TiffInfo, Window};
use crate::fsio::walk::Job;
use crate::fsio::write_atomic_with;
use crate::geom::PixBox;
use crate::redact::{self, Method};
use crate::report::Region;
use anyhow::Context;
use image::DynamicImage;
use std::io::Write;
use std::path::Path;

/// Largest window read and redacted at once (a piece of a region), and largest sum of
/// patches held before they are written (one rewrite pass).
const PIECE_BYTES: u64 = 64 << 20;
const PASS_BYTES: u64 = 384 << 20;

/// One piece of a region on one IFD, with the method and the pixelation block scaled to
/// that IFD.
struct Piece {
    ifd: usize,
    rect: PixBox,
    method: Method,
    block: u32,
}

/// Hide `regions` (on IFD 0, `w` pixels wide) in the TIFF of `job`, writing its output;
/// returns what the rewrite changed.
pub fn redact_in_place(
    job: &Job,
    info: &TiffInfo,
    regions: &[Region],
    w: u32,
    cfg: &Config,
) -> Result<RewriteStats, FileError> {
    let pieces = pieces(info, regions, w, cfg)?;
    write_passes(job, passes(pieces))
}

/// The pieces of every region on the full image and every overview, in application order:
/// blur, pixelation, then fill (fill wins where they overlap). An overview that cannot be
/// edited fails the file: it would keep showing the region.
fn pieces(
    info: &TiffInfo,
    regions: &[Region],
    w: u32,
    cfg: &Config,
) -> Result<Vec<Piece>, FileError> {
    let mut plan: Vec<&Region> = regions.iter().collect();
    plan.sort_by_key(|r| match r.method {
        Method::Fill => 2,
        Method::Pixelate => 1,
        _ => 0,
    });
    let mut pieces = Vec::new();
    for p in plan {
        let rect = PixBox::from(p.bbox);
        let pblock = p
            .block
            .unwrap_or_else(|| redact::block_size(&rect, cfg.blocks));
        for ifd in info
            .ifds
            .iter()
            .filter(|i| i.index == 0 || (i.is_overview() && !i.is_mask()))
        {
            if let Some(why) = &ifd.unsupported {
                return Err(FileError::new(FileErrorKind::Unsupported, format!("overview IFD {} cannot be edited ({why}); it would keep showing the region", ifd.index)));
            }
            let r = if ifd.index == 0 {
                Some((rect.x, rect.y, rect.w, rect.h))
            } else {
                tiff::scale_rect(info, 0, ifd.index, rect.x, rect.y, rect.w, rect.h)
            };
            let Some((x, y, rw, rh)) = r else { continue };
            let block = ((pblock as u64 * ifd.width as u64).div_ceil(w as u64) as u32).max(1);
            let bpp = (ifd.samples_per_pixel as u64 * ifd.bits_per_sample as u64)
                .div_ceil(8)
                .max(1);
            for rect in split(PixBox { x, y, w: rw, h: rh }, block, bpp, PIECE_BYTES) {
                pieces.push(Piece {
                    ifd: ifd.index,
                    rect,
                    method: p.method,
                    block,
                });
            }
        }
    }
    Ok(pieces)
}

/// Patches are held in memory until written: the pieces in passes of at most
/// [`PASS_BYTES`], each pass a full copy of the previous one (one pass in practice).
fn passes(pieces: Vec<Piece>) -> Vec<Vec<Piece>> {
    let mut passes: Vec<Vec<Piece>> = vec![vec![]];
    let mut held = 0u64;
    for pc in pieces {
        let bytes = pc.rect.w as u64 * pc.rect.h as u64 * 8;
        if held + bytes > PASS_BYTES && passes.last().is_some_and(|p| !p.is_empty()) {
            passes.push(vec![]);
            held = 0;
        }
        held += bytes;
        if let Some(last) = passes.last_mut() {
            last.push(pc);
        }
    }
    passes
}

/// Write the passes, each from the previous one's result (the input for the first), the
/// last into the output.
fn write_passes(job: &Job, passes: Vec<Vec<Piece>>) -> Result<RewriteStats, FileError> {
    let mut current: Option<tempfile::NamedTempFile> = None;
    let mut stats = RewriteStats::default();
    let n = passes.len();
    for (k, pass) in passes.into_iter().enumerate() {
        let from = current
            .as_ref()
            .map(|t| t.path().to_path_buf())
            .unwrap_or_else(|| job.input.clone());
        let patches = patches(&from, &pass)?;
        let s = if k + 1 == n {
            write_output(job, &from, &patches)?
        } else {
            let (t, s) = write_temp(job, &from, &patches)?;
            current = Some(t);
            s
        };
        stats.chunks_rewritten += s.chunks_rewritten;
        if k == 0 {
            stats.unreferenced = s.unreferenced;
        }
    }
    Ok(stats)
}

/// The pass's pieces read from the file as it was before this pass, each hidden by its
/// method; where two regions overlap, the later one's patch wins and is hidden by its own
/// method (fill after pixelation, as in the plan); a later pass reads this pass's result.
fn patches(from: &Path, pass: &[Piece]) -> Result<Vec<(usize, Window)>, FileError> {
    let mut patches = Vec::with_capacity(pass.len());
    for p in pass {
        let r = p.rect;
        let mut img: DynamicImage = tiff::read_window(from, p.ifd, r.x, r.y, r.w, r.h)
            .and_then(|win| win.to_image())
            .classify(FileErrorKind::Decode)?;
        redact::apply_block(
            &mut img,
            PixBox {
                x: 0,
                y: 0,
                w: r.w,
                h: r.h,
            },
            p.method,
            p.block,
        );
        let win = Window::from_image(r.x, r.y, &img).classify(FileErrorKind::Internal)?;
        patches.push((p.ifd, win));
    }
    Ok(patches)
}

/// The last pass, into the output; the patches are read back from the temp file before it
/// is renamed into place.
fn write_output(
    job: &Job,
    from: &Path,
    patches: &[(usize, Window)],
) -> Result<RewriteStats, FileError> {
    write_atomic_with(&job.output, Some(&job.input), |f, tmp| {
        let s = tiff::rewrite(from, f, patches)?;
        f.flush().context("writing the output")?;
        tiff::verify(tmp, &expected(patches))
            .context("the rewritten TIFF does not read back as redacted")
            .map_err(|e| tagged(FileErrorKind::Internal, e))?;
        Ok(s)
    })
    .classify(FileErrorKind::Io)
}

/// A pass before the last, into a temp file beside the output.
fn write_temp(
    job: &Job,
    from: &Path,
    patches: &[(usize, Window)],
) -> Result<(tempfile::NamedTempFile, RewriteStats), FileError> {
    let dir = job.output.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).ok();
    let mut t = tempfile::Builder::new()
        .prefix(".pixla-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .context("cannot create a temp file")
        .kind(FileErrorKind::Io)?;
    let s = tiff::rewrite(from, t.as_file_mut(), patches).classify(FileErrorKind::Io)?;
    Ok((t, s))
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbImage;

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

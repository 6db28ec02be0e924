//! Whether a region the report says is hidden is hidden in the pixels on disk: each region
//! is cut into cells modelled as redact leaves them (pixelation blocks, a fill, a blur
//! plane) and the pixels are measured against that model ([`measure`], [`unhidden`]). Used
//! by `pixla check` and `pixla verify`; a report is never taken at its word.

use crate::formats::decode;
use crate::geom::PixBox;
use crate::redact::{self, Method};
use crate::report::Region;
use image::DynamicImage;
use std::path::Path;

/// The pixel test of a region the report says is hidden, on luma (8-bit levels). The region
/// is cut into cells, each modelled as redact leaves it: a pixelation block (anchored at the
/// region's corner, of the recorded `block` size) is flat, a filled region is one flat cell,
/// a blurred region is a plane over cells of an eighth of its short side (smooth at that
/// scale). `within` is the RMS deviation of the pixels from their cell's model, `between`
/// the RMS deviation of the model from the region's mean. A region is hidden when `within`
/// is at most [`FLAT_RMS`] (JPEG re-encoding noise), or, pixelated, when at most
/// [`FLAT_SHARE`] of its variance lies within the blocks; and when no tile of 8×8 px
/// deviates by more than [`TILE_RMS`] (detail put back into a part of it, a face say).
/// Only the pixels no later region overwrote are measured (fill is applied after
/// pixelation, pixelation after blur, in the report's order within a method, as redact
/// does). Measured on pixla's outputs of the shared fixtures (lossless JPEG: `within` 0 to
/// 1.2; re-encoded down to quality 50: at most 4.3 with a 0.03 share, worst tile 10.2) and
/// on the originals put in their place (`within` 4.6 and up with a 0.29 share or more;
/// share 0.088 and up, with `within` 20 or more).
pub const FLAT_RMS: f32 = 4.0;
/// See [`FLAT_RMS`].
pub const FLAT_SHARE: f32 = 0.05;
/// See [`FLAT_RMS`].
pub const TILE_RMS: f32 = 12.0;

/// What the pixel test measured for one region (luma, 8-bit levels; see [`FLAT_RMS`]).
#[derive(Debug, Clone, Copy)]
pub struct Pixels {
    pub method: Method,
    /// Pixels measured: the region's, less those a later region overwrote.
    pub pixels: usize,
    /// RMS deviation of the pixels from their cell's model.
    pub within: f32,
    /// RMS deviation of the cells' model from the region's mean.
    pub between: f32,
    /// `within` of the worst 8×8 px tile (of at least 16 measured pixels).
    pub worst: f32,
    /// The region lies outside the picture: it hides nothing.
    pub outside: bool,
}

impl Pixels {
    /// Hidden by the test of [`FLAT_RMS`]; a region whose every pixel a later region
    /// overwrote is hidden by that one (judged on its own).
    pub fn hidden(&self) -> bool {
        let (w, b) = (self.within as f64, self.between as f64);
        let flat = self.within <= FLAT_RMS
            || (self.method == Method::Pixelate && w * w <= FLAT_SHARE as f64 * (w * w + b * b));
        !self.outside && (self.pixels == 0 || (flat && self.worst <= TILE_RMS))
    }
}

fn priority(m: Method) -> u8 {
    match m {
        Method::Fill => 2,
        Method::Pixelate => 1,
        _ => 0,
    }
}

fn clip_box(b: [u32; 4], w: u32, h: u32) -> Option<PixBox> {
    let x1 = b[0].saturating_add(b[2]).min(w);
    let y1 = b[1].saturating_add(b[3]).min(h);
    (b[0] < x1 && b[1] < y1).then(|| PixBox {
        x: b[0],
        y: b[1],
        w: x1 - b[0],
        h: y1 - b[1],
    })
}

/// Measure every hiding region of `regions` (a report entry's, in its order) on a `width`×
/// `height` stored picture whose pixels `window` reads (a rectangle of stored pixels).
/// Returns, per region, `None` for a region that hides nothing (method `none`) and else what
/// was measured.
pub fn measure(
    regions: &[Region],
    width: u32,
    height: u32,
    mut window: impl FnMut(PixBox) -> anyhow::Result<DynamicImage>,
) -> anyhow::Result<Vec<Option<Pixels>>> {
    let order = application_order(regions);
    let mut out = vec![None; regions.len()];
    for (k, &i) in order.iter().enumerate() {
        let r = &regions[i];
        let Some(b) = clip_box(r.bbox, width, height) else {
            out[i] = Some(Pixels::outside(r.method));
            continue;
        };
        let later = overlapping(&order[k + 1..], regions, b, width, height);
        let patch = Patch::new(b, &window(b)?, &later);
        out[i] = Some(patch.measure(r));
    }
    Ok(out)
}

/// The indices of the hiding regions in the order redact applies them: by method (blur,
/// pixelate, fill), stable over the report's order.
fn application_order(regions: &[Region]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..regions.len())
        .filter(|&i| regions[i].method != Method::None)
        .collect();
    order.sort_by_key(|&i| priority(regions[i].method));
    order
}

/// The boxes of the regions at `later` (clipped to the picture) that overlap `b`.
fn overlapping(
    later: &[usize],
    regions: &[Region],
    b: PixBox,
    width: u32,
    height: u32,
) -> Vec<PixBox> {
    later
        .iter()
        .filter_map(|&j| clip_box(regions[j].bbox, width, height))
        .filter(|o| o.x < b.x + b.w && b.x < o.x + o.w && o.y < b.y + b.h && b.y < o.y + o.h)
        .collect()
}

impl Pixels {
    /// A region outside the picture: nothing measured, it hides nothing.
    fn outside(method: Method) -> Self {
        Pixels {
            method,
            pixels: 0,
            within: 0.0,
            between: 0.0,
            worst: 0.0,
            outside: true,
        }
    }
}

/// Residuals are also summed per tile of `TILE` x `TILE` px (anchored at the region's
/// corner): detail put back into a small part of a large region shows in its tile.
const TILE: u32 = 8;

/// One region's pixels as luma, and which of them it owns (no later region overwrote them).
struct Patch {
    b: PixBox,
    /// Luma (BT.601, 8-bit levels) by row: what shows a face, a body or a plate's text.
    luma: Vec<f32>,
    owned: Vec<bool>,
}

/// The model of one cell: the mean position and value of its owned pixels, and the
/// gradient of the plane through them (zero but for blur).
struct CellModel {
    mx: f64,
    my: f64,
    mv: f64,
    gx: f64,
    gy: f64,
}

/// The squared residuals summed so far: from the cells' models, of the models from the
/// region's mean, and per tile (sum, pixels).
struct Residuals {
    within: f64,
    between: f64,
    tiles: Vec<(f64, usize)>,
    /// Tiles per row.
    tw: usize,
}

impl Patch {
    /// The pixels `img` (the window of `b`), owned where no box of `later` covers them.
    fn new(b: PixBox, img: &DynamicImage, later: &[PixBox]) -> Self {
        let img = img.to_rgb32f();
        let luma: Vec<f32> = img
            .pixels()
            .map(|p| 255.0 * (0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]))
            .collect();
        let owned: Vec<bool> = (0..b.h)
            .flat_map(|y| (0..b.w).map(move |x| (x, y)))
            .map(|(x, y)| !later.iter().any(|o| o.contains(b.x + x, b.y + y)))
            .collect();
        Patch { b, luma, owned }
    }

    fn idx(&self, x: u32, y: u32) -> usize {
        y as usize * self.b.w as usize + x as usize
    }

    fn value(&self, x: u32, y: u32) -> f64 {
        self.luma[self.idx(x, y)] as f64
    }

    /// The owned pixels of the cell from (`cx`, `cy`) to (`x1`, `y1`), row by row.
    fn points(&self, cx: u32, cy: u32, x1: u32, y1: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        (cy..y1)
            .flat_map(move |y| (cx..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| self.owned[self.idx(x, y)])
    }

    /// The cells the region is measured in, and whether each is a plane: pixelation blocks
    /// anchored at the region's corner; the whole region for fill; for blur, cells of an
    /// eighth of the short side, each a plane (a blurred picture is smooth at that scale).
    fn cells(&self, r: &Region) -> (u32, bool) {
        let b = &self.b;
        match r.method {
            Method::Pixelate => (
                r.block.unwrap_or_else(|| redact::block_size(b, 4)).max(1),
                false,
            ),
            Method::Blur => ((b.w.min(b.h) / 8).max(4), true),
            _ => (b.w.max(b.h), false),
        }
    }

    /// The pixel test of region `r` on these pixels.
    fn measure(&self, r: &Region) -> Pixels {
        let (cell, plane) = self.cells(r);
        let count = self.owned.iter().filter(|o| **o).count();
        let grand = (0..self.owned.len())
            .filter(|&i| self.owned[i])
            .map(|i| self.luma[i] as f64)
            .sum::<f64>()
            / count.max(1) as f64;
        let mut res = Residuals::new(&self.b);
        for cy in (0..self.b.h).step_by(cell as usize) {
            for cx in (0..self.b.w).step_by(cell as usize) {
                let (x1, y1) = ((cx + cell).min(self.b.w), (cy + cell).min(self.b.h));
                let Some(m) = self.fit(cx, cy, x1, y1, plane) else {
                    continue;
                };
                for (x, y) in self.points(cx, cy, x1, y1) {
                    res.add(x, y, self.value(x, y), m.at(x, y), grand);
                }
            }
        }
        res.pixels(r.method, count)
    }

    /// The model of one cell (`None` when it owns no pixel): its mean, and for `plane` the
    /// least-squares plane through its pixels (centred).
    fn fit(&self, cx: u32, cy: u32, x1: u32, y1: u32, plane: bool) -> Option<CellModel> {
        let n = self.points(cx, cy, x1, y1).count() as f64;
        if n == 0.0 {
            return None;
        }
        let (mx, my, mv) = self
            .points(cx, cy, x1, y1)
            .fold((0.0, 0.0, 0.0), |a, (x, y)| {
                (
                    a.0 + x as f64 / n,
                    a.1 + y as f64 / n,
                    a.2 + self.value(x, y) / n,
                )
            });
        let mut m = CellModel {
            mx,
            my,
            mv,
            gx: 0.0,
            gy: 0.0,
        };
        if plane {
            (m.gx, m.gy) = self.gradient(&m, cx, cy, x1, y1);
        }
        Some(m)
    }

    /// The gradient of the least-squares plane through the cell's pixels around its mean
    /// `m` (zero when they are on a line).
    fn gradient(&self, m: &CellModel, cx: u32, cy: u32, x1: u32, y1: u32) -> (f64, f64) {
        let (mut sxx, mut sxy, mut syy, mut sxv, mut syv) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (x, y) in self.points(cx, cy, x1, y1) {
            let (dx, dy, dv) = (x as f64 - m.mx, y as f64 - m.my, self.value(x, y) - m.mv);
            sxx += dx * dx;
            sxy += dx * dy;
            syy += dy * dy;
            sxv += dx * dv;
            syv += dy * dv;
        }
        let det = sxx * syy - sxy * sxy;
        if det > 1e-9 {
            ((sxv * syy - syv * sxy) / det, (syv * sxx - sxv * sxy) / det)
        } else {
            (0.0, 0.0)
        }
    }
}

impl CellModel {
    /// The model's value at (`x`, `y`).
    fn at(&self, x: u32, y: u32) -> f64 {
        self.mv + self.gx * (x as f64 - self.mx) + self.gy * (y as f64 - self.my)
    }
}

impl Residuals {
    fn new(b: &PixBox) -> Self {
        let tw = b.w.div_ceil(TILE) as usize;
        Residuals {
            within: 0.0,
            between: 0.0,
            tiles: vec![(0f64, 0usize); tw * b.h.div_ceil(TILE) as usize],
            tw,
        }
    }

    /// The pixel at (`x`, `y`) of value `v`, whose cell's model there is `m`.
    fn add(&mut self, x: u32, y: u32, v: f64, m: f64, grand: f64) {
        let d = (v - m).powi(2);
        self.within += d;
        self.between += (m - grand).powi(2);
        let t = &mut self.tiles[(y / TILE) as usize * self.tw + (x / TILE) as usize];
        t.0 += d;
        t.1 += 1;
    }

    /// What was measured, over `count` owned pixels.
    fn pixels(&self, method: Method, count: usize) -> Pixels {
        let per = |v: f64| (v / count.max(1) as f64).sqrt() as f32;
        let worst = self
            .tiles
            .iter()
            .filter(|t| t.1 >= 16)
            .map(|t| (t.0 / t.1 as f64).sqrt())
            .fold(0.0, f64::max);
        Pixels {
            method,
            pixels: count,
            within: per(self.within),
            between: per(self.between),
            worst: worst as f32,
            outside: false,
        }
    }
}

/// The regions of `regions` the pixels at `path` do not hide, each with why (see
/// [`FLAT_RMS`]). A JPEG or PNG is decoded whole (within `limits`); a TIFF is read region by
/// region from the file.
pub fn unhidden(
    path: &Path,
    regions: &[Region],
    limits: &decode::Limits,
) -> anyhow::Result<Vec<(usize, String)>> {
    if regions.iter().all(|r| r.method == Method::None) {
        return Ok(vec![]);
    }
    // a regular file only (a FIFO would block the read)
    crate::fsio::open_regular(path)?;
    let measured = if crate::file::tiff::is_tiff(path)?
        && crate::formats::tiff::inspect(path)
            .ok()
            .and_then(|i| i.ifds.first().map(|m| m.unsupported.is_none()))
            .unwrap_or(false)
    {
        // window by window from the file, as redact writes a TIFF
        let mut rd = crate::formats::tiff::TiffReader::open(path)?;
        let main = rd.info().ifds[0].clone();
        measure(regions, main.width, main.height, |b| {
            rd.read_window(0, b.x, b.y, b.w, b.h)?.to_image()
        })?
    } else {
        let bytes = crate::fsio::read_regular(path)?;
        let dec = decode::decode(&bytes, path, limits)?;
        let img = &dec.image;
        measure(regions, img.width(), img.height(), |b| {
            Ok(img.crop_imm(b.x, b.y, b.w, b.h))
        })?
    };
    Ok(regions
        .iter()
        .zip(measured)
        .enumerate()
        .filter_map(|(i, (r, m))| {
            let m = m?;
            let [x, y, w, h] = r.bbox;
            let what = format!("region {} ({} {} at [{x},{y},{w},{h}])", i + 1, r.class.as_str(), r.method.as_str());
            if m.outside {
                return Some((i, format!("{what} lies outside the image: it hides nothing")));
            }
            if m.hidden() {
                return None;
            }
            let how = match r.method {
                Method::Pixelate => format!("not pixelated: its pixels vary by {:.1} levels (RMS) within its {} px blocks, {:.1} between them", m.within, r.block.unwrap_or(0), m.between),
                Method::Blur => format!("not blurred: its pixels vary by {:.1} levels (RMS) around a smooth surface", m.within),
                _ => format!("not a solid fill: its pixels vary by {:.1} levels (RMS)", m.within),
            };
            Some((i, format!("{what} is {how}, {:.1} in its worst 8x8 tile: its pixels show detail the report says is hidden", m.worst)))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Class;
    use image::{Rgb, RgbImage};

    fn region(method: Method, bbox: [u32; 4], block: Option<u32>) -> Region {
        Region {
            class: Class::Person,
            score: Some(0.9),
            bbox,
            detected: [0.0; 4],
            method,
            block,
            source: crate::report::Source::model("x"),
            note: None,
        }
    }

    /// Textured like a photo: every pixel differs from its neighbours.
    fn photo() -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(160, 120, |x, y| {
            let v = ((x * 37 + y * 91) % 97 + (x * y) % 61 + 40) as u8;
            Rgb([v, v.wrapping_add(30), v / 2])
        }))
    }

    fn judge(img: &DynamicImage, regions: &[Region]) -> Vec<bool> {
        measure(regions, img.width(), img.height(), |b| {
            Ok(img.crop_imm(b.x, b.y, b.w, b.h))
        })
        .unwrap()
        .into_iter()
        .map(|m| m.unwrap().hidden())
        .collect()
    }

    #[test]
    fn pixels_tell_hidden_regions_from_shown_ones() {
        let orig = photo();
        let p = PixBox {
            x: 10,
            y: 10,
            w: 60,
            h: 80,
        };
        let f = PixBox {
            x: 90,
            y: 20,
            w: 40,
            h: 30,
        };
        let regions = [
            region(Method::Pixelate, p.xywh(), Some(15)),
            region(Method::Fill, f.xywh(), None),
        ];
        // the original under the report's boxes: nothing hidden
        assert_eq!(judge(&orig, &regions), [false, false]);
        // redacted as redact does: both hidden
        let mut red = orig.clone();
        redact::apply_block(&mut red, p, Method::Pixelate, 15);
        redact::apply_block(&mut red, f, Method::Fill, 4);
        assert_eq!(judge(&red, &regions), [true, true]);
        // detail put back into one 16x16 corner of the pixelated region (a face, say)
        let mut part = red.clone();
        image::imageops::replace(
            &mut part,
            &orig.crop_imm(p.x, p.y, 16, 16),
            p.x as i64,
            p.y as i64,
        );
        assert_eq!(judge(&part, &regions), [false, true]);
        // a region outside the picture hides nothing
        assert_eq!(
            judge(&red, &[region(Method::Fill, [500, 500, 10, 10], None)]),
            [false]
        );
    }

    #[test]
    fn overlapping_regions_are_judged_on_the_pixels_they_own() {
        let orig = photo();
        // pixelation, then a fill over part of it, and a second pixelation over the rest
        let a = PixBox {
            x: 10,
            y: 10,
            w: 80,
            h: 80,
        };
        let b = PixBox {
            x: 50,
            y: 30,
            w: 60,
            h: 40,
        };
        let c = PixBox {
            x: 20,
            y: 60,
            w: 50,
            h: 50,
        };
        let regions = [
            region(Method::Fill, b.xywh(), None),
            region(Method::Pixelate, a.xywh(), Some(20)),
            region(Method::Pixelate, c.xywh(), Some(13)),
        ];
        let mut red = orig.clone();
        // as apply_regions orders them: pixelation in the report's order, then fill
        redact::apply_block(&mut red, a, Method::Pixelate, 20);
        redact::apply_block(&mut red, c, Method::Pixelate, 13);
        redact::apply_block(&mut red, b, Method::Fill, 4);
        assert_eq!(judge(&red, &regions), [true, true, true]);
        // a region wholly under a later one is judged by that one
        let inner = [
            region(Method::Pixelate, [60, 35, 20, 20], Some(5)),
            region(Method::Fill, b.xywh(), None),
        ];
        assert_eq!(judge(&red, &inner), [true, true]);
    }

    #[test]
    fn blur_is_smooth_and_the_original_is_not() {
        let orig = photo();
        let r = PixBox {
            x: 20,
            y: 20,
            w: 90,
            h: 70,
        };
        let regions = [region(Method::Blur, r.xywh(), None)];
        assert_eq!(judge(&orig, &regions), [false]);
        let mut red = orig.clone();
        redact::apply_block(&mut red, r, Method::Blur, 4);
        assert_eq!(judge(&red, &regions), [true]);
    }
}

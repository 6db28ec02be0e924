//! The pictures of the review page: each output checked against the report's sha256,
//! decoded, and written upright as a display image and a thumbnail (JPEG, no metadata),
//! with the map from display pixels back to stored pixels.

use crate::error::SetupError;
use crate::formats::decode::{self, Limits};
use crate::report::FileEntry;
use image::ImageEncoder;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// What rendering one output found and made: its stored size and EXIF orientation, the
/// display and thumbnail sizes, and the display→stored map.
pub(super) struct Rendered {
    pub w: u32,
    pub h: u32,
    pub o: u8,
    pub dw: u32,
    pub dh: u32,
    pub tw: u32,
    pub th: u32,
    pub m: [f64; 6],
}

/// The long sides of the pictures, in px: display images and thumbnails (smaller images are
/// not enlarged).
#[derive(Clone, Copy)]
pub(super) struct Sizes {
    pub display: u32,
    pub thumb: u32,
}

/// The affine map from display pixels (upright, scaled to `dw`×`dh`) to stored pixels.
pub fn display_to_stored(
    o: image::metadata::Orientation,
    w: u32,
    h: u32,
    dw: u32,
    dh: u32,
) -> [f64; 6] {
    let (uw, uh) = match o {
        image::metadata::Orientation::Rotate90
        | image::metadata::Orientation::Rotate270
        | image::metadata::Orientation::Rotate90FlipH
        | image::metadata::Orientation::Rotate270FlipH => (h, w),
        _ => (w, h),
    };
    let (kx, ky) = (uw as f32 / dw.max(1) as f32, uh as f32 / dh.max(1) as f32);
    let p0 = decode::point_to_stored(0.0, 0.0, o, w, h);
    let px = decode::point_to_stored(kx, 0.0, o, w, h);
    let py = decode::point_to_stored(0.0, ky, o, w, h);
    [
        (px.0 - p0.0) as f64,
        (py.0 - p0.0) as f64,
        p0.0 as f64,
        (px.1 - p0.1) as f64,
        (py.1 - p0.1) as f64,
        p0.1 as f64,
    ]
}

fn fit(w: u32, h: u32, max: u32) -> (u32, u32) {
    if w.max(h) <= max {
        return (w, h);
    }
    let s = max as f64 / w.max(h) as f64;
    (
        ((w as f64 * s).round() as u32).max(1),
        ((h as f64 * s).round() as u32).max(1),
    )
}

fn write_jpeg(img: &image::RgbImage, quality: u8, path: &Path) -> anyhow::Result<()> {
    let mut b = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut b, quality).write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    )?;
    crate::fsio::write_atomic(path, &b, None)
}

/// Render one output: check its sha256 against the report, decode it, write the display
/// image and the thumbnail (upright, no metadata).
fn render(
    out_root: &Path,
    e: &FileEntry,
    view: &Path,
    thumb: &Path,
    sizes: Sizes,
) -> anyhow::Result<Rendered> {
    use anyhow::Context;
    let rel = e.output.as_deref().context("no output")?;
    // a regular file of the delivery, not through a link, as `verify` reads it
    let path = crate::fsio::inside::inside(
        out_root,
        Path::new(rel),
        crate::fsio::inside::Leaf::File,
        "the delivery folder",
    )
    .map_err(|r| anyhow::anyhow!("output {rel}: {}", r.detail))?;
    let bytes = std::fs::read(&path)
        .with_context(|| format!("cannot read the output {}", path.display()))?;
    let sha = crate::fsio::sha256_hex(&bytes);
    if e.output_sha256.as_deref() != Some(sha.as_str()) {
        anyhow::bail!("the output on disk (sha256 {sha}) is not the one the report lists: not shown; re-run or restore it");
    }
    let dec =
        decode::decode(&bytes, &path, &Limits::default()).context("cannot decode the output")?;
    let (w, h) = (dec.image.width(), dec.image.height());
    let up = dec.upright_rgb();
    drop(dec.image);
    let (dw, dh) = fit(up.width(), up.height(), sizes.display);
    let disp = if (dw, dh) == up.dimensions() {
        up
    } else {
        image::imageops::thumbnail(&up, dw, dh)
    };
    let (tw, th) = fit(dw, dh, sizes.thumb);
    let small = image::imageops::thumbnail(&disp, tw, th);
    write_jpeg(&disp, 85, view)?;
    write_jpeg(&small, 80, thumb)?;
    Ok(Rendered {
        w,
        h,
        o: crate::formats::decode::orientation_code(dec.orientation),
        dw,
        dh,
        tw,
        th,
        m: display_to_stored(dec.orientation, w, h, dw, dh),
    })
}

/// Render every shown file that has an output (`None` for one without), on `threads`
/// threads, into its `(display, thumbnail)` paths of `pics`; a panic is that file's error.
pub(super) fn render_all(
    shown: &[&FileEntry],
    pics: &[(PathBuf, PathBuf)],
    out_root: &Path,
    sizes: Sizes,
    threads: usize,
) -> Result<Vec<Option<anyhow::Result<Rendered>>>, SetupError> {
    let pool = crate::find::loaded::pool(threads)?;
    Ok(pool.install(|| {
        shown
            .par_iter()
            .enumerate()
            .map(|(i, e)| {
                e.output.as_ref()?;
                let (v, t) = &pics[i];
                Some(
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        render(out_root, e, v, t, sizes)
                    }))
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("internal error while rendering"))),
                )
            })
            .collect()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::metadata::Orientation;

    /// The page's display→stored map agrees with the pipeline's own upright→stored mapping
    /// for all eight orientations, scaled.
    #[test]
    fn display_map_matches_box_to_stored() {
        let (w, h) = (400u32, 300u32);
        for o in [
            Orientation::NoTransforms,
            Orientation::FlipHorizontal,
            Orientation::Rotate180,
            Orientation::FlipVertical,
            Orientation::Rotate90FlipH,
            Orientation::Rotate90,
            Orientation::Rotate270FlipH,
            Orientation::Rotate270,
        ] {
            let rot = matches!(
                o,
                Orientation::Rotate90
                    | Orientation::Rotate270
                    | Orientation::Rotate90FlipH
                    | Orientation::Rotate270FlipH
            );
            let (uw, uh) = if rot { (h, w) } else { (w, h) };
            let (dw, dh) = (uw / 2, uh / 2);
            let m = display_to_stored(o, w, h, dw, dh);
            let (x, y) = (30.0f64, 50.0f64);
            let s = (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]);
            let want = decode::point_to_stored(60.0, 100.0, o, w, h);
            assert!(
                (s.0 - want.0 as f64).abs() < 1e-3 && (s.1 - want.1 as f64).abs() < 1e-3,
                "{o:?}: {s:?} vs {want:?}"
            );
        }
    }
}

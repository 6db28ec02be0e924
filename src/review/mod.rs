//! The review page: `pixla review REPORT` writes a static, self-contained bundle (one HTML
//! file with its script, style and data inline, plus JPEG thumbnails and display images)
//! that opens from disk in any browser, with no server and no network (its
//! Content-Security-Policy forbids any fetch). Every picture in it is rendered from a
//! REDACTED output, checked against the report's sha256 first; originals are never read,
//! and the rendered JPEGs carry no metadata (no EXIF, no GPS, no embedded previews), so the
//! bundle leaks nothing the outputs do not show.
//!
//! Pictures are upright (EXIF orientation applied). The page gets, per file, the affine map
//! from display pixels to stored pixels, so the boxes it shows and the boxes it exports are
//! in the stored pixels the report and the sidecar use.

pub mod sidecar;

use crate::error::SetupError;
use crate::formats::decode::{self, Limits};
use crate::report::{self, FileEntry, Status};
use image::ImageEncoder;
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};

const TEMPLATE: &str = include_str!("page.html");
const DATA_MARK: &str = "/*PIXLA_DATA*/";
/// A file in the bundle folder that says pixla made it (so it may be regenerated).
const MARKER: &str = ".pixla-review";

#[derive(Debug, Clone)]
pub struct ReviewOptions {
    /// Bundle folder (default: `review/` beside the report).
    pub dir: Option<PathBuf>,
    /// Root the report's output paths are relative to (default: the report's folder).
    pub outputs: Option<PathBuf>,
    /// Thumbnail long side in px.
    pub thumb: u32,
    /// Display image long side in px (smaller images are not enlarged).
    pub display: u32,
    pub threads: usize,
}

impl Default for ReviewOptions {
    fn default() -> Self {
        ReviewOptions {
            dir: None,
            outputs: None,
            thumb: 256,
            display: 2048,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        }
    }
}

#[derive(Debug)]
pub struct ReviewOutcome {
    pub dir: PathBuf,
    pub index: PathBuf,
    /// Files shown (every report entry but `skipped` ones).
    pub files: usize,
    /// Of those, rendered from their output.
    pub rendered: usize,
    /// Outputs that could not be shown (missing, changed since the report, unreadable).
    pub problems: Vec<(String, String)>,
}

/// One file as the page sees it.
#[derive(Serialize)]
struct PageFile<'a> {
    input: &'a str,
    output: Option<&'a str>,
    status: Status,
    error: Option<String>,
    sha: Option<&'a str>,
    regions: &'a [report::Region],
    suppressed: &'a [report::Suppressed],
    reviewed_by: Option<&'a str>,
    /// Stored size and EXIF orientation of the output.
    w: u32,
    h: u32,
    o: u8,
    /// Display image and thumbnail (paths relative to index.html) and sizes.
    view: Option<String>,
    thumb: Option<String>,
    dw: u32,
    dh: u32,
    tw: u32,
    th: u32,
    /// display (x, y) → stored: (m0·x + m1·y + m2, m3·x + m4·y + m5)
    m: [f64; 6],
}

#[derive(Serialize)]
struct PageData<'a> {
    schema: &'static str,
    sidecar_schema: &'static str,
    report: String,
    report_sha256: String,
    tool: String,
    run: &'a report::Run,
    summary: &'a report::Summary,
    skipped: usize,
    files: Vec<PageFile<'a>>,
}

struct Rendered {
    w: u32,
    h: u32,
    o: u8,
    dw: u32,
    dh: u32,
    tw: u32,
    th: u32,
    m: [f64; 6],
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
    opts: &ReviewOptions,
) -> anyhow::Result<Rendered> {
    use anyhow::Context;
    let rel = e.output.as_deref().context("no output")?;
    // a regular file of the delivery, not through a link, as `verify` reads it
    let path = crate::fsio::walk::inside(
        out_root,
        Path::new(rel),
        crate::fsio::walk::Leaf::File,
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
    let (dw, dh) = fit(up.width(), up.height(), opts.display);
    let disp = if (dw, dh) == up.dimensions() {
        up
    } else {
        image::imageops::thumbnail(&up, dw, dh)
    };
    let (tw, th) = fit(dw, dh, opts.thumb);
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

/// Write the review bundle for the report at `report_path`.
pub fn build(report_path: &Path, opts: &ReviewOptions) -> Result<ReviewOutcome, SetupError> {
    let (rep, sha) = report::read(report_path).map_err(SetupError::Report)?;
    let parent = report::folder(report_path);
    let out_root = opts.outputs.clone().unwrap_or_else(|| parent.clone());
    // every path the bundle writes or removes goes through walk::inside first, so a refusal
    // touches nothing: no link below the bundle folder (the folder itself may be one only
    // when named with -o), or a marker in a folder outside would have it emptied
    let (base, sub, what) = match &opts.dir {
        Some(d) => (d.clone(), PathBuf::new(), "the review folder"),
        None => (
            parent.clone(),
            PathBuf::from("review"),
            "the report's folder",
        ),
    };
    let dir = base.join(&sub);
    let refuse = |r: crate::fsio::walk::PathRefused| {
        SetupError::UnsafePaths(format!("cannot write the review bundle in {}: {}; nothing removed or written\n  fix: remove the link, or choose another folder with -o", dir.display(), r.detail))
    };
    let place = |rel: &str| {
        crate::fsio::walk::inside(
            &base,
            &sub.join(rel),
            crate::fsio::walk::Leaf::Replace,
            what,
        )
        .map_err(refuse)
    };
    let shown: Vec<&FileEntry> = rep
        .files
        .iter()
        .filter(|f| f.status != Status::Skipped)
        .collect();
    let (marker, index, img) = (place(MARKER)?, place("index.html")?, place("img")?);
    let (v_dir, t_dir) = (place("img/v")?, place("img/t")?);
    let pics = (0..shown.len())
        .map(|i| {
            Ok((
                place(&format!("img/v/{i:05}.jpg"))?,
                place(&format!("img/t/{i:05}.jpg"))?,
            ))
        })
        .collect::<Result<Vec<_>, SetupError>>()?;
    if dir.exists() {
        let mut entries = std::fs::read_dir(&dir).map_err(|e| SetupError::Io {
            action: "read",
            path: dir.clone(),
            reason: e.to_string(),
        })?;
        if entries.next().is_some() {
            // pixla's marker is a regular file; a link is not one
            match crate::fsio::walk::inside(
                &base,
                &sub.join(MARKER),
                crate::fsio::walk::Leaf::File,
                what,
            ) {
                Ok(_) => {}
                Err(r) if r.kind == crate::fsio::walk::Refusal::Missing => {
                    return Err(SetupError::UnsafePaths(format!(
                    "{} exists and was not made by `pixla review`: choose another folder with -o",
                    dir.display()
                )))
                }
                Err(r) => return Err(refuse(r)),
            }
        }
        // a bundle of an earlier review: its pictures go, so none of another report lingers
        let _ = std::fs::remove_dir_all(&img);
    }
    for d in [&v_dir, &t_dir] {
        std::fs::create_dir_all(d).map_err(|e| SetupError::Io {
            action: "create",
            path: d.to_path_buf(),
            reason: e.to_string(),
        })?;
    }
    crate::fsio::write_atomic(
        &marker,
        b"made by pixla review; the folder is rewritten on the next run\n",
        None,
    )
    .map_err(|e| SetupError::Io {
        action: "write",
        path: marker.clone(),
        reason: format!("{e:#}"),
    })?;

    let pool = crate::find::loaded::pool(opts.threads)?;
    let rendered: Vec<Option<anyhow::Result<Rendered>>> = pool.install(|| {
        shown
            .par_iter()
            .enumerate()
            .map(|(i, e)| {
                e.output.as_ref()?;
                let (v, t) = &pics[i];
                Some(
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        render(&out_root, e, v, t, opts)
                    }))
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("internal error while rendering"))),
                )
            })
            .collect()
    });
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for (i, (e, r)) in shown.iter().zip(rendered).enumerate() {
        let mut pf = PageFile {
            input: &e.input,
            output: e.output.as_deref(),
            status: e.status,
            error: e.error.clone(),
            sha: e.output_sha256.as_deref(),
            regions: &e.regions,
            suppressed: &e.suppressed,
            reviewed_by: e.reviewed_by.as_deref(),
            w: e.width.unwrap_or(0),
            h: e.height.unwrap_or(0),
            o: e.orientation.unwrap_or(1),
            view: None,
            thumb: None,
            dw: 0,
            dh: 0,
            tw: 0,
            th: 0,
            m: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        };
        match r {
            None => {}
            Some(Ok(r)) => {
                pf.view = Some(format!("img/v/{i:05}.jpg"));
                pf.thumb = Some(format!("img/t/{i:05}.jpg"));
                (pf.w, pf.h, pf.o, pf.dw, pf.dh, pf.tw, pf.th, pf.m) =
                    (r.w, r.h, r.o, r.dw, r.dh, r.tw, r.th, r.m);
            }
            Some(Err(err)) => {
                let msg = format!("{err:#}");
                problems.push((e.input.clone(), msg.clone()));
                // shown with the failed files: nothing to look at, a reason instead
                pf.status = Status::Failed;
                pf.error = Some(msg);
            }
        }
        files.push(pf);
    }
    let data = PageData {
        schema: "pixla-review/1",
        sidecar_schema: crate::review::sidecar::SCHEMA,
        report: report_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        report_sha256: sha,
        tool: format!("pixla {}", rep.tool.version),
        run: &rep.run,
        summary: &rep.summary,
        skipped: rep.files.len() - shown.len(),
        files,
    };
    // JSON inside <script>: no `<` may appear, or `</script>` in a file name would end it
    let json = serde_json::to_string(&data)
        .map_err(|e| SetupError::Internal(e.to_string()))?
        .replace('<', "\\u003c");
    let html = TEMPLATE.replacen(DATA_MARK, &json, 1);
    crate::fsio::write_atomic(&index, html.as_bytes(), None).map_err(|e| SetupError::Io {
        action: "write",
        path: index.clone(),
        reason: format!("{e:#}"),
    })?;
    let n = data.files.len();
    Ok(ReviewOutcome {
        dir,
        index,
        files: n,
        rendered: n - problems.len() - data.files.iter().filter(|f| f.output.is_none()).count(),
        problems,
    })
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

    #[test]
    fn page_data_cannot_close_its_script_tag() {
        assert!(TEMPLATE.contains(DATA_MARK));
        let j = serde_json::to_string(
            &serde_json::json!({"input": "</script><script>alert(1)</script>.jpg"}),
        )
        .unwrap()
        .replace('<', "\\u003c");
        assert!(!j.contains("</"));
        let back: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(back["input"], "</script><script>alert(1)</script>.jpg");
    }
}

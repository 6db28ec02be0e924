//! Evaluation: run the same detection pipeline as `redact` (tiling, pyramid, whole pass,
//! merge, plates in vehicles, margins) on labelled images and score it against ground truth
//! in COCO JSON or YOLO txt format.
//!
//! Definitions (also in `pixla eval --help`):
//! - a ground-truth (GT) box is *found* when a detection of its class has IoU >= 0.5 with it
//!   (greedy one-to-one matching, highest score first);
//! - a GT box is *hit* when >= 50 % of its pixels lie inside the hidden regions;
//! - *precision* = detections matched to a GT box of their class / detections (a detection on
//!   an object nobody labelled counts as false; detections of a class the labels do not cover
//!   at all — COCO: not among its categories; YOLO: not in the file's `# labelled: plate`
//!   line, else not in the names — are listed but not counted);
//! - *coverage* = mean over GT boxes of the fraction of the box's pixels inside the union of
//!   the hidden regions (of any class that is hidden: a person under a plate fill is hidden);
//! - *area redacted* = hidden pixels / image pixels;
//! - size bucket = the GT box's short side (a detection's own short side when unmatched):
//!   `<16`, `16-32`, `32-96`, `>96` px.
//!
//! Labels are in stored pixels (as the file holds them, before EXIF orientation).

pub mod labels;
pub mod score;

use crate::batch::provenance::model_entries;
use crate::config::Config;
use crate::detect::Class;
use crate::error::SetupError;
use crate::eval::labels::{parse_label_classes, read_coco, read_names, read_yolo_file, GtBox};
use crate::eval::score::{
    score_image, summarise, ClassSummary, Det, ImageResult, Mask, Stats, BUCKETS,
};
use crate::file::plan::plan_regions;
use crate::find::loaded::Models;
use crate::find::passes::detect_image;
use crate::find::Found;
use crate::formats::decode;
use crate::redact::Method;
use crate::report::ModelEntry;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const SCHEMA: &str = "pixla-eval/1";
/// `pixla eval --json`.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub schema: &'static str,
    pub tool: String,
    pub config: Config,
    pub models: Vec<ModelEntry>,
    pub labels: String,
    pub images: Vec<ImageResult>,
    /// Per class present in the labels or the detections.
    pub summary: BTreeMap<Class, ClassSummary>,
    /// Hidden pixels / image pixels over all evaluated images.
    pub area_redacted: f64,
    /// Labelled images not found, label classes ignored, and the like.
    pub warnings: Vec<String>,
    /// Images that could not be evaluated (decoding or detection failed).
    pub failed: usize,
    pub seconds: f64,
    pub images_per_second: f64,
}

/// Where the labels are.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// A COCO `.json` file, or a folder of YOLO `.txt` files.
    pub labels: PathBuf,
    /// YOLO class names (`0=person,1=car`); default `LABELS/classes.txt`.
    pub label_classes: Option<String>,
}

/// An image to evaluate and its GT boxes (`None`: YOLO, read once the size is known).
struct Item {
    key: String,
    path: PathBuf,
    gt: Option<Vec<GtBox>>,
    labelled: BTreeSet<Class>,
}

fn images_under(root: &Path) -> Vec<(String, PathBuf)> {
    if root.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return vec![(name, root.to_path_buf())];
    }
    let mut v: Vec<(String, PathBuf)> = walkdir::WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file() && crate::fsio::walk::is_image_name(e.path()))
        .map(|e| {
            let rel = e.path().strip_prefix(root).unwrap_or(e.path());
            (
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/"),
                e.path().to_path_buf(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Find the image a COCO `file_name` names: the same relative path under IMAGES, else the
/// same base name, else the one file named `<prefix>_<file_name>` or `<prefix>-<file_name>`
/// (a fixture renamed when copied); else `None`.
fn find_image<'a>(name: &str, all: &'a [(String, PathBuf)]) -> Option<&'a (String, PathBuf)> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let bn = |k: &str| k.rsplit('/').next().unwrap_or(k).to_string();
    if let Some(x) = all.iter().find(|(k, _)| k == name) {
        return Some(x);
    }
    let same: Vec<_> = all.iter().filter(|(k, _)| bn(k) == base).collect();
    if same.len() == 1 {
        return Some(same[0]);
    }
    let pre: Vec<_> = all
        .iter()
        .filter(|(k, _)| {
            bn(k).ends_with(&format!("_{base}")) || bn(k).ends_with(&format!("-{base}"))
        })
        .collect();
    (pre.len() == 1).then(|| pre[0])
}

/// The labels' format, as the evaluation uses it.
enum Format {
    /// A COCO file: each item carries its boxes.
    Coco,
    /// A folder of YOLO files, read per image once its size is known, with the class names.
    Yolo(BTreeMap<usize, String>),
}

/// The labelled images to evaluate, and what reading the labels found.
struct Labelled {
    format: Format,
    items: Vec<Item>,
    warnings: Vec<String>,
    /// Label class names that map to no pixla class, with their boxes.
    ignored: BTreeMap<String, usize>,
}

/// Evaluate `cfg`'s pipeline on the images under `images` against `opts.labels`.
/// Set-up problems (unreadable or malformed labels, no image to evaluate, models) are a
/// [`SetupError`]; an image that fails to decode is an entry with its error.
pub fn run(images: &Path, opts: &EvalOptions, cfg: &Config) -> Result<EvalReport, SetupError> {
    let t0 = Instant::now();
    if !images.exists() {
        return Err(SetupError::Usage(format!(
            "{}: no such file or folder",
            images.display()
        )));
    }
    let all = images_under(images);
    let l = load_labels(images, opts, &all)?;
    if l.items.is_empty() {
        return Err(SetupError::Labels(format!(
            "no labelled image to evaluate under {} ({})",
            images.display(),
            l.warnings.join("; ")
        )));
    }
    let (pool, models) = Models::load_with_pool(cfg)?;
    let ignored_m = std::sync::Mutex::new(l.ignored);
    let results: Vec<Result<ImageResult, String>> = pool.install(|| {
        l.items
            .par_iter()
            .map(|it| evaluate(it, &l.format, &opts.labels, &ignored_m, cfg, &models))
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.push(r.map_err(SetupError::Usage)?);
    }
    let mut warnings = l.warnings;
    for (n, c) in ignored_m.into_inner().unwrap_or_default() {
        warnings.push(format!("label class `{n}` ({c} boxes) maps to no pixla class (person, vehicle, plate, face); ignored"));
    }
    let seconds = t0.elapsed().as_secs_f64();
    let n = out.len();
    Ok(EvalReport {
        schema: SCHEMA,
        tool: format!("pixla {}", crate::VERSION),
        config: cfg.clone(),
        models: model_entries(&models),
        labels: opts
            .labels
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        failed: out.iter().filter(|i| i.error.is_some()).count(),
        summary: summarise(&out, cfg),
        area_redacted: area_redacted(&out),
        images: out,
        warnings,
        seconds: (seconds * 100.0).round() / 100.0,
        images_per_second: if seconds > 0.0 {
            (n as f64 / seconds * 1000.0).round() / 1000.0
        } else {
            0.0
        },
    })
}

/// The labelled images under `images` (all of them: `all`) by `opts.labels`: a COCO file or
/// a folder of YOLO files.
fn load_labels(
    images: &Path,
    opts: &EvalOptions,
    all: &[(String, PathBuf)],
) -> Result<Labelled, SetupError> {
    if opts.labels.is_file() {
        coco_items(images, &opts.labels, all)
    } else if opts.labels.is_dir() {
        let names = yolo_names(opts)?;
        let (items, warnings) = yolo_items(&opts.labels, &names, all);
        Ok(Labelled {
            format: Format::Yolo(names),
            items,
            warnings,
            ignored: BTreeMap::new(),
        })
    } else {
        Err(SetupError::Usage(format!(
            "labels {}: no such file or folder (a COCO .json file or a folder of YOLO .txt files)",
            opts.labels.display()
        )))
    }
}

/// The images the COCO file `labels` lists, found under `images`, with their boxes.
fn coco_items(
    images: &Path,
    labels: &Path,
    all: &[(String, PathBuf)],
) -> Result<Labelled, SetupError> {
    let l = read_coco(labels).map_err(SetupError::Labels)?;
    let single = images.is_file() && l.images.len() == 1;
    let (mut items, mut warnings) = (Vec::new(), Vec::new());
    for (name, gt) in l.images {
        let hit = if single {
            all.first()
        } else {
            find_image(&name, all)
        };
        match hit {
            Some((key, path)) => items.push(Item {
                key: key.clone(),
                path: path.clone(),
                gt: Some(gt),
                labelled: l.labelled.clone(),
            }),
            None => warnings.push(format!(
                "labelled image `{name}` not found under {}; not evaluated",
                images.display()
            )),
        }
    }
    Ok(Labelled {
        format: Format::Coco,
        items,
        warnings,
        ignored: l.ignored,
    })
}

/// The YOLO class names: `--label-classes`, else the folder's `classes.txt`.
fn yolo_names(opts: &EvalOptions) -> Result<BTreeMap<usize, String>, SetupError> {
    if let Some(s) = &opts.label_classes {
        return parse_label_classes(s)
            .map_err(|e| SetupError::Usage(format!("--label-classes: {e}")));
    }
    let f = opts.labels.join("classes.txt");
    if !f.is_file() {
        return Err(SetupError::Labels(format!("YOLO labels in {} need class names: a classes.txt there, or --label-classes 0=person,1=car", opts.labels.display())));
    }
    read_names(&f).map_err(SetupError::Labels)
}

/// The images of `all` that have a YOLO file in `labels` (see [`yolo_file`]), and a warning
/// for each that has none.
fn yolo_items(
    labels: &Path,
    names: &BTreeMap<usize, String>,
    all: &[(String, PathBuf)],
) -> (Vec<Item>, Vec<String>) {
    let labelled: BTreeSet<Class> = names
        .values()
        .filter_map(|n| Class::from_label(n))
        .collect();
    let (mut items, mut warnings) = (Vec::new(), Vec::new());
    for (key, path) in all {
        if yolo_file(labels, key).is_some() {
            items.push(Item {
                key: key.clone(),
                path: path.clone(),
                gt: None,
                labelled: labelled.clone(),
            });
        } else {
            let [txt, flat] = yolo_candidates(labels, key);
            warnings.push(format!(
                "{key}: no label file {} (or {}); not evaluated",
                txt.display(),
                flat.display()
            ));
        }
    }
    (items, warnings)
}

/// Where the YOLO file of the image `key` may be: `LABELS/<relative path, its extension
/// replaced>.txt`, or `LABELS/<file stem>.txt`. Only the last extension goes, so
/// `a.b.jpg` is labelled by `a.b.txt`.
fn yolo_candidates(labels: &Path, key: &str) -> [PathBuf; 2] {
    let key = Path::new(key);
    let stem = key.file_stem().unwrap_or_default().to_string_lossy();
    let txt = format!("{stem}.txt");
    [labels.join(key.with_file_name(&txt)), labels.join(txt)]
}

/// The YOLO file of the image `key`: the first of [`yolo_candidates`] that exists.
fn yolo_file(labels: &Path, key: &str) -> Option<PathBuf> {
    yolo_candidates(labels, key)
        .into_iter()
        .find(|p| p.is_file())
}

/// One item, with its YOLO file when the labels are YOLO.
fn evaluate(
    it: &Item,
    format: &Format,
    labels: &Path,
    ignored: &std::sync::Mutex<BTreeMap<String, usize>>,
    cfg: &Config,
    models: &Models,
) -> Result<ImageResult, String> {
    let no_names = BTreeMap::new();
    let (yolo, names) = match format {
        Format::Coco => (None, &no_names),
        Format::Yolo(names) => {
            // Listed because it existed; if it went since, reading the first candidate fails.
            let [txt, _] = yolo_candidates(labels, &it.key);
            (Some(yolo_file(labels, &it.key).unwrap_or(txt)), names)
        }
    };
    eval_image(it, yolo.as_deref(), names, ignored, cfg, models)
}

/// Hidden pixels / image pixels over the images evaluated, to 1/10000.
fn area_redacted(out: &[ImageResult]) -> f64 {
    let (mut hid, mut px) = (0f64, 0f64);
    for i in out {
        if let (Some(a), Some(w), Some(h)) = (i.area_redacted, i.width, i.height) {
            hid += a * w as f64 * h as f64;
            px += w as f64 * h as f64;
        }
    }
    if px > 0.0 {
        (hid / px * 10000.0).round() / 10000.0
    } else {
        0.0
    }
}

/// One image: decode, detect, plan the hidden regions as `redact` would, score. A label file
/// that cannot be read is `Err` (a set-up error); an image that cannot be decoded is an
/// entry with its error.
fn eval_image(
    it: &Item,
    yolo: Option<&Path>,
    names: &BTreeMap<usize, String>,
    ignored: &std::sync::Mutex<BTreeMap<String, usize>>,
    cfg: &Config,
    models: &Models,
) -> Result<ImageResult, String> {
    let t0 = Instant::now();
    let mut r = ImageResult {
        image: it.key.clone(),
        width: None,
        height: None,
        area_redacted: None,
        millis: 0,
        gt: vec![],
        detections: vec![],
        error: None,
    };
    let dec = match std::fs::read(&it.path)
        .map_err(anyhow::Error::from)
        .and_then(|b| decode::decode(&b, &it.path, &cfg.limits))
    {
        Ok(d) => d,
        Err(e) => {
            r.error = Some(format!("{e:#}"));
            return Ok(r);
        }
    };
    let (w, h) = (dec.image.width(), dec.image.height());
    let (gt, labelled) = ground_truth(it, yolo, w, h, names, ignored)?;
    let found = match detect_image(&dec.upright(), cfg, models) {
        Ok(f) => f,
        Err(e) => {
            r.error = Some(format!("detection failed: {e:#}"));
            return Ok(r);
        }
    };
    let (mask, dets) = hidden_and_found(&dec, &found, cfg);
    let (g, d) = score_image(&gt, &dets, &mask, &labelled);
    r.width = Some(w);
    r.height = Some(h);
    r.area_redacted = Some((mask.fraction() * 10000.0).round() / 10000.0);
    r.gt = g;
    r.detections = d;
    r.millis = t0.elapsed().as_millis() as u64;
    Ok(r)
}

/// The GT boxes of item `it` on its `w`×`h` image and the classes they cover: the item's
/// own (COCO), else read from its YOLO file, whose ignored classes are added to `ignored`.
fn ground_truth(
    it: &Item,
    yolo: Option<&Path>,
    w: u32,
    h: u32,
    names: &BTreeMap<usize, String>,
    ignored: &std::sync::Mutex<BTreeMap<String, usize>>,
) -> Result<(Vec<GtBox>, BTreeSet<Class>), String> {
    let mut labelled = it.labelled.clone();
    let gt = match (&it.gt, yolo) {
        (Some(g), _) => g.clone(),
        (None, Some(p)) => {
            let mut ig = BTreeMap::new();
            let (g, l) = read_yolo_file(p, w, h, names, &mut ig)?;
            if let Some(l) = l {
                labelled = l;
            }
            let mut m = ignored.lock().unwrap_or_else(|p| p.into_inner());
            for (k, v) in ig {
                *m.entry(k).or_default() += v;
            }
            g
        }
        (None, None) => vec![],
    };
    Ok((gt, labelled))
}

/// The mask of the regions `redact` would hide for `found` on `dec`, and the detections in
/// stored pixels.
fn hidden_and_found(dec: &decode::Decoded, found: &[Found], cfg: &Config) -> (Mask, Vec<Det>) {
    let (w, h) = (dec.image.width(), dec.image.height());
    let (regions, _) = plan_regions(w, h, found, dec.orientation, cfg);
    let hidden: Vec<[u32; 4]> = regions
        .iter()
        .filter(|r| r.method != Method::None)
        .map(|r| r.bbox)
        .collect();
    let mask = Mask::new(w, h, &hidden);
    let dets: Vec<Det> = found
        .iter()
        .map(|f| Det {
            class: f.det.class,
            score: f.det.score,
            bbox: decode::box_to_stored(f.det.bbox, dec.orientation, w, h),
        })
        .collect();
    (mask, dets)
}

/// The human-readable table.
pub fn table(r: &EvalReport) -> String {
    let f = |v: Option<f64>| v.map(|x| format!("{:.3}", x)).unwrap_or_else(|| "-".into());
    let mut t = String::new();
    t.push_str(&format!(
        "{:<8} {:<6} {:>5} {:>6} {:>5} {:>6} {:>7} {:>7} {:>9} {:>9}\n",
        "class", "size", "gt", "found", "hit", "dets", "recall", "hit%", "precision", "coverage"
    ));
    for (c, cs) in &r.summary {
        let mut row = |size: &str, s: &Stats| {
            t.push_str(&format!(
                "{:<8} {:<6} {:>5} {:>6} {:>5} {:>6} {:>7} {:>7} {:>9} {:>9}\n",
                c.as_str(),
                size,
                s.gt,
                s.found,
                s.hit,
                s.detections,
                f(s.recall),
                f(s.hit_rate),
                f(s.precision),
                f(s.coverage)
            ));
        };
        for b in BUCKETS {
            if let Some(s) = cs.buckets.get(b).filter(|s| s.gt + s.detections > 0) {
                row(b, s);
            }
        }
        row("all", &cs.all);
        if !cs.hidden {
            t.push_str(&format!("         ({} is not hidden with this configuration: coverage and hits are 0 by design; use --method {}=fill to hide it)\n", c.as_str(), c.as_str()));
        }
    }
    let n = r.images.len();
    t.push_str(&format!(
        "{} images ({} failed), area redacted {:.2} %, {:.1} s, {:.2} images/s\n",
        n,
        r.failed,
        r.area_redacted * 100.0,
        r.seconds,
        r.images_per_second
    ));
    t
}

#[cfg(test)]
mod tests {
    use super::yolo_file;
    use std::fs;

    #[test]
    fn a_yolo_file_loses_only_the_last_extension_and_may_sit_flat() {
        let d = tempfile::tempdir().unwrap();
        let labels = d.path();
        fs::create_dir(labels.join("sub")).unwrap();
        for f in ["a.b.txt", "sub/x.txt", "y.txt"] {
            fs::write(labels.join(f), "").unwrap();
        }
        assert_eq!(yolo_file(labels, "a.b.jpg"), Some(labels.join("a.b.txt")));
        assert_eq!(
            yolo_file(labels, "sub/x.jpg"),
            Some(labels.join("sub/x.txt"))
        );
        assert_eq!(yolo_file(labels, "sub/y.tif"), Some(labels.join("y.txt")));
        assert_eq!(yolo_file(labels, "a.jpg"), None);
    }
}

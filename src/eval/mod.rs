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

/// Evaluate `cfg`'s pipeline on the images under `images` against `opts.labels`.
/// Set-up problems (unreadable or malformed labels, no image to evaluate, models) are a
/// [`SetupError`]; an image that fails to decode is an entry with its error.
pub fn run(images: &Path, opts: &EvalOptions, cfg: &Config) -> Result<EvalReport, SetupError> {
    let t0 = Instant::now();
    let (usage, labels) = (SetupError::Usage, SetupError::Labels);
    if !images.exists() {
        return Err(usage(format!(
            "{}: no such file or folder",
            images.display()
        )));
    }
    let all = images_under(images);
    let mut warnings = Vec::new();
    let mut items = Vec::new();
    let mut ignored = BTreeMap::new();
    let mut names = BTreeMap::new();
    let is_coco = opts.labels.is_file();
    if is_coco {
        let l = read_coco(&opts.labels).map_err(labels)?;
        ignored = l.ignored;
        let labelled = l.labelled;
        let single = images.is_file() && l.images.len() == 1;
        for (name, gt) in l.images {
            let hit = if single {
                all.first()
            } else {
                find_image(&name, &all)
            };
            match hit {
                Some((key, path)) => items.push(Item {
                    key: key.clone(),
                    path: path.clone(),
                    gt: Some(gt),
                    labelled: labelled.clone(),
                }),
                None => warnings.push(format!(
                    "labelled image `{name}` not found under {}; not evaluated",
                    images.display()
                )),
            }
        }
    } else if opts.labels.is_dir() {
        names = match &opts.label_classes {
            Some(s) => {
                parse_label_classes(s).map_err(|e| usage(format!("--label-classes: {e}")))?
            }
            None => {
                let f = opts.labels.join("classes.txt");
                if !f.is_file() {
                    return Err(labels(format!("YOLO labels in {} need class names: a classes.txt there, or --label-classes 0=person,1=car", opts.labels.display())));
                }
                read_names(&f).map_err(labels)?
            }
        };
        let labelled: BTreeSet<Class> = names
            .values()
            .filter_map(|n| Class::from_label(n))
            .collect();
        for (key, path) in &all {
            let stem = Path::new(key).with_extension("");
            let txt = opts.labels.join(stem.with_extension("txt"));
            let flat = opts
                .labels
                .join(Path::new(key).file_stem().unwrap_or_default())
                .with_extension("txt");
            if txt.is_file() || flat.is_file() {
                items.push(Item {
                    key: key.clone(),
                    path: path.clone(),
                    gt: None,
                    labelled: labelled.clone(),
                });
            } else {
                warnings.push(format!(
                    "{key}: no label file {} (or {}); not evaluated",
                    txt.display(),
                    flat.display()
                ));
            }
        }
    } else {
        return Err(usage(format!(
            "labels {}: no such file or folder (a COCO .json file or a folder of YOLO .txt files)",
            opts.labels.display()
        )));
    }
    if items.is_empty() {
        return Err(labels(format!(
            "no labelled image to evaluate under {} ({})",
            images.display(),
            warnings.join("; ")
        )));
    }
    let (pool, models) = Models::load_with_pool(cfg)?;
    let ignored_m = std::sync::Mutex::new(ignored);
    let results: Vec<Result<ImageResult, String>> = pool.install(|| {
        items
            .par_iter()
            .map(|it| {
                let yolo = (!is_coco).then(|| {
                    let k = Path::new(&it.key);
                    let txt = opts.labels.join(k.with_extension("txt"));
                    if txt.is_file() {
                        txt
                    } else {
                        opts.labels
                            .join(k.file_stem().unwrap_or_default())
                            .with_extension("txt")
                    }
                });
                eval_image(it, yolo.as_deref(), &names, &ignored_m, cfg, &models)
            })
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.push(r.map_err(usage)?);
    }
    for (n, c) in ignored_m.into_inner().unwrap_or_default() {
        warnings.push(format!("label class `{n}` ({c} boxes) maps to no pixla class (person, vehicle, plate, face); ignored"));
    }
    let summary = summarise(&out, cfg);
    let (mut hid, mut px) = (0f64, 0f64);
    for i in &out {
        if let (Some(a), Some(w), Some(h)) = (i.area_redacted, i.width, i.height) {
            hid += a * w as f64 * h as f64;
            px += w as f64 * h as f64;
        }
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
        images: out,
        summary,
        area_redacted: if px > 0.0 {
            (hid / px * 10000.0).round() / 10000.0
        } else {
            0.0
        },
        warnings,
        seconds: (seconds * 100.0).round() / 100.0,
        images_per_second: if seconds > 0.0 {
            (n as f64 / seconds * 1000.0).round() / 1000.0
        } else {
            0.0
        },
    })
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
    let found = match detect_image(&dec.upright(), cfg, models) {
        Ok(f) => f,
        Err(e) => {
            r.error = Some(format!("detection failed: {e:#}"));
            return Ok(r);
        }
    };
    let (regions, _) = plan_regions(w, h, &found, dec.orientation, cfg);
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
    let (g, d) = score_image(&gt, &dets, &mask, &labelled);
    r.width = Some(w);
    r.height = Some(h);
    r.area_redacted = Some((mask.fraction() * 10000.0).round() / 10000.0);
    r.gt = g;
    r.detections = d;
    r.millis = t0.elapsed().as_millis() as u64;
    Ok(r)
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

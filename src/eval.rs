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

use crate::decode;
use crate::detect::Class;
use crate::geom::BoxF;
use crate::pipeline::{self, Config, Models};
use crate::redact::Method;
use crate::report::ModelEntry;
use crate::SetupError;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const SCHEMA: &str = "pixla-eval/1";
/// IoU for a detection to count as finding a GT box.
pub const MATCH_IOU: f32 = 0.5;
/// Fraction of a GT box that must be hidden for a hit.
pub const HIT_COVERAGE: f64 = 0.5;
pub const BUCKETS: [&str; 4] = ["<16", "16-32", "32-96", ">96"];

/// The size bucket of a box by its short side.
pub fn bucket(b: &BoxF) -> &'static str {
    let s = b.w().min(b.h());
    if s < 16.0 {
        BUCKETS[0]
    } else if s < 32.0 {
        BUCKETS[1]
    } else if s <= 96.0 {
        BUCKETS[2]
    } else {
        BUCKETS[3]
    }
}

/// One ground-truth box, in stored pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct GtBox {
    pub class: Class,
    pub bbox: BoxF,
}

/// Ground truth: per image key (a path relative to IMAGES, `/`-separated), its boxes.
#[derive(Debug, Default)]
pub struct Labels {
    pub images: BTreeMap<String, Vec<GtBox>>,
    /// Label class names that map to no pixla class (their boxes are ignored).
    pub ignored: BTreeMap<String, usize>,
    /// The pixla classes these labels cover (COCO: the categories): detections of other
    /// classes are not counted against precision.
    pub labelled: BTreeSet<Class>,
}

/// Read a COCO JSON file (`images[].file_name`, `categories[].name`, `annotations[].bbox` as
/// `[x, y, w, h]`). Every listed image is a key, also those without annotations.
pub fn read_coco(path: &Path) -> Result<Labels, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not valid JSON: {e}", path.display()))?;
    let bad = |what: &str| format!("{}: not a COCO file: {what}", path.display());
    let imgs = v["images"]
        .as_array()
        .ok_or_else(|| bad("no `images` array"))?;
    let cats = v["categories"]
        .as_array()
        .ok_or_else(|| bad("no `categories` array"))?;
    let anns = v["annotations"]
        .as_array()
        .ok_or_else(|| bad("no `annotations` array"))?;
    let mut names = BTreeMap::new();
    for c in cats {
        let id = c["id"]
            .as_i64()
            .ok_or_else(|| bad("a category without a numeric `id`"))?;
        let name = c["name"]
            .as_str()
            .ok_or_else(|| bad("a category without a `name`"))?;
        names.insert(id, name.to_string());
    }
    let mut l = Labels {
        labelled: names
            .values()
            .filter_map(|n| Class::from_label(n))
            .collect(),
        ..Default::default()
    };
    let mut files = BTreeMap::new();
    for i in imgs {
        let id = i["id"]
            .as_i64()
            .ok_or_else(|| bad("an image without a numeric `id`"))?;
        let f = i["file_name"]
            .as_str()
            .ok_or_else(|| bad("an image without a `file_name`"))?;
        files.insert(id, f.to_string());
        l.images.entry(f.to_string()).or_default();
    }
    for (k, a) in anns.iter().enumerate() {
        let img = a["image_id"]
            .as_i64()
            .and_then(|id| files.get(&id))
            .ok_or_else(|| bad(&format!("annotation {k}: `image_id` names no image")))?;
        let cat = a["category_id"]
            .as_i64()
            .and_then(|id| names.get(&id))
            .ok_or_else(|| bad(&format!("annotation {k}: `category_id` names no category")))?;
        let b: Vec<f64> = a["bbox"]
            .as_array()
            .map(|b| b.iter().filter_map(|x| x.as_f64()).collect())
            .unwrap_or_default();
        if b.len() != 4 || b[2] < 0.0 || b[3] < 0.0 {
            return Err(bad(&format!("annotation {k}: `bbox` is not [x, y, w, h]")));
        }
        match Class::from_label(cat) {
            Some(class) => l.images.entry(img.clone()).or_default().push(GtBox {
                class,
                bbox: BoxF::new(
                    b[0] as f32,
                    b[1] as f32,
                    (b[0] + b[2]) as f32,
                    (b[1] + b[3]) as f32,
                ),
            }),
            None => *l.ignored.entry(cat.clone()).or_default() += 1,
        }
    }
    Ok(l)
}

/// Parse `0=person,1=car` (YOLO class ids to label names).
pub fn parse_label_classes(s: &str) -> Result<BTreeMap<usize, String>, String> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| format!("`{p}`: expected ID=NAME"))?;
            let id = k
                .trim()
                .parse::<usize>()
                .map_err(|_| format!("`{k}` is not a class id"))?;
            Ok((id, v.trim().to_string()))
        })
        .collect()
}

/// A YOLO class names file: one name per line, the line number (from 0) is the id.
pub fn read_names(path: &Path) -> Result<BTreeMap<usize, String>, String> {
    let s = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, n)| (i, n.to_string()))
        .collect())
}

/// One YOLO label file (`cls cx cy w h`, normalised to the image size) for a `w`×`h` image;
/// and the classes a `# labelled: plate,person` comment line says the file covers (else all
/// classes of the names file).
pub fn read_yolo_file(
    path: &Path,
    w: u32,
    h: u32,
    names: &BTreeMap<usize, String>,
    ignored: &mut BTreeMap<String, usize>,
) -> Result<(Vec<GtBox>, Option<BTreeSet<Class>>), String> {
    let s = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    let mut labelled = None;
    for (n, line) in s.lines().enumerate() {
        let line = line.trim();
        if let Some(rest) = line
            .strip_prefix('#')
            .map(str::trim)
            .and_then(|r| r.strip_prefix("labelled:"))
        {
            let list = rest.split_whitespace().next().unwrap_or("");
            let set = list
                .split(',')
                .filter(|x| !x.is_empty())
                .map(|x| {
                    Class::from_label(x).ok_or_else(|| {
                        format!(
                            "{} line {}: `labelled: {list}`: `{x}` is no pixla class",
                            path.display(),
                            n + 1
                        )
                    })
                })
                .collect::<Result<BTreeSet<_>, _>>()?;
            labelled = Some(set);
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || {
            format!(
                "{} line {}: expected `class cx cy w h` (normalised 0..1), got `{line}`",
                path.display(),
                n + 1
            )
        };
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 5 {
            return Err(bad());
        }
        let id: usize = f[0].parse().map_err(|_| bad())?;
        let v: Vec<f32> = f[1..]
            .iter()
            .map(|x| x.parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        if v.iter()
            .any(|x| !x.is_finite() || !(-0.01..=1.01).contains(x))
        {
            return Err(bad());
        }
        let name = names.get(&id).ok_or_else(|| format!("{} line {}: class {id} has no name (give a classes.txt beside the labels, or --label-classes {id}=NAME)", path.display(), n + 1))?;
        let (cx, cy, bw, bh) = (
            v[0] * w as f32,
            v[1] * h as f32,
            v[2] * w as f32,
            v[3] * h as f32,
        );
        match Class::from_label(name) {
            Some(class) => out.push(GtBox {
                class,
                bbox: BoxF::new(cx - bw / 2.0, cy - bh / 2.0, cx + bw / 2.0, cy + bh / 2.0),
            }),
            None => *ignored.entry(name.clone()).or_default() += 1,
        }
    }
    Ok((out, labelled))
}

/// A scored detection (stored pixels, no margin).
#[derive(Debug, Clone)]
pub struct Det {
    pub class: Class,
    pub score: f32,
    pub bbox: BoxF,
}

/// A bit mask of the hidden pixels of one image.
pub struct Mask {
    w: u32,
    h: u32,
    bits: Vec<bool>,
}

impl Mask {
    /// The union of `hidden` boxes (whole pixels `[x, y, w, h]`) in a `w`×`h` image.
    pub fn new(w: u32, h: u32, hidden: &[[u32; 4]]) -> Mask {
        let mut bits = vec![false; w as usize * h as usize];
        for r in hidden {
            for y in r[1]..(r[1] + r[3]).min(h) {
                let row = y as usize * w as usize;
                for x in r[0]..(r[0] + r[2]).min(w) {
                    bits[row + x as usize] = true;
                }
            }
        }
        Mask { w, h, bits }
    }
    /// Fraction of the pixels (by their centres) of `b` that are hidden; pixels outside the
    /// image count as not hidden.
    pub fn coverage(&self, b: &BoxF) -> f64 {
        let (x0, y0) = ((b.x1 - 0.5).ceil() as i64, (b.y1 - 0.5).ceil() as i64);
        let (x1, y1) = ((b.x2 - 0.5).ceil() as i64, (b.y2 - 0.5).ceil() as i64);
        let (mut hidden, mut total) = (0u64, 0u64);
        for y in y0..y1 {
            for x in x0..x1 {
                total += 1;
                if x >= 0
                    && y >= 0
                    && (x as u32) < self.w
                    && (y as u32) < self.h
                    && self.bits[y as usize * self.w as usize + x as usize]
                {
                    hidden += 1;
                }
            }
        }
        if total == 0 {
            return 0.0;
        }
        hidden as f64 / total as f64
    }
    /// Hidden pixels / all pixels.
    pub fn fraction(&self) -> f64 {
        self.bits.iter().filter(|b| **b).count() as f64 / self.bits.len().max(1) as f64
    }
}

/// The result for one GT box.
#[derive(Debug, Clone, Serialize)]
pub struct GtResult {
    pub class: Class,
    /// `[x, y, w, h]`, stored pixels.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    pub bucket: &'static str,
    /// Best IoU of a matched detection of its class (0 when none matched).
    pub iou: f32,
    pub found: bool,
    pub coverage: f64,
    pub hit: bool,
}

/// The result for one detection.
#[derive(Debug, Clone, Serialize)]
pub struct DetResult {
    pub class: Class,
    pub score: f32,
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    pub bucket: &'static str,
    /// Matched to a GT box of its class (IoU >= 0.5).
    pub matched: bool,
    /// Its class is one the image's labels cover; if not, it does not count against
    /// precision.
    pub labelled: bool,
}

fn xywh(b: &BoxF) -> [f32; 4] {
    let r = |v: f32| (v * 10.0).round() / 10.0;
    [r(b.x1), r(b.y1), r(b.w()), r(b.h())]
}

/// Match detections to GT boxes (per class, greedy by score, one to one, IoU >= 0.5) and
/// measure coverage with the hidden-pixel mask.
/// Detections of classes outside `labelled` are listed but not counted for precision.
pub fn score_image(
    gt: &[GtBox],
    dets: &[Det],
    mask: &Mask,
    labelled: &BTreeSet<Class>,
) -> (Vec<GtResult>, Vec<DetResult>) {
    let mut order: Vec<usize> = (0..dets.len()).collect();
    order.sort_by(|&a, &b| dets[b].score.total_cmp(&dets[a].score));
    let mut gt_iou = vec![0f32; gt.len()];
    let mut gt_taken = vec![false; gt.len()];
    let mut det_gt: Vec<Option<usize>> = vec![None; dets.len()];
    for &d in &order {
        let best = gt
            .iter()
            .enumerate()
            .filter(|(g, b)| !gt_taken[*g] && b.class == dets[d].class)
            .map(|(g, b)| (g, b.bbox.iou(&dets[d].bbox)))
            .filter(|(_, iou)| *iou >= MATCH_IOU)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((g, iou)) = best {
            gt_taken[g] = true;
            gt_iou[g] = iou;
            det_gt[d] = Some(g);
        }
    }
    let gres = gt
        .iter()
        .enumerate()
        .map(|(g, b)| {
            let c = mask.coverage(&b.bbox);
            GtResult {
                class: b.class,
                bbox: xywh(&b.bbox),
                bucket: bucket(&b.bbox),
                iou: (gt_iou[g] * 1000.0).round() / 1000.0,
                found: gt_taken[g],
                coverage: (c * 10000.0).round() / 10000.0,
                hit: c >= HIT_COVERAGE,
            }
        })
        .collect();
    let dres = dets
        .iter()
        .enumerate()
        .map(|(d, x)| DetResult {
            class: x.class,
            score: (x.score * 1000.0).round() / 1000.0,
            bbox: xywh(&x.bbox),
            bucket: det_gt[d]
                .map(|g| bucket(&gt[g].bbox))
                .unwrap_or_else(|| bucket(&x.bbox)),
            matched: det_gt[d].is_some(),
            labelled: labelled.contains(&x.class),
        })
        .collect();
    (gres, dres)
}

/// Counts and rates for one class (or one class and size bucket).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Stats {
    /// GT boxes.
    pub gt: usize,
    /// GT boxes found (IoU >= 0.5 with a detection of their class).
    pub found: usize,
    /// GT boxes at least half hidden.
    pub hit: usize,
    /// Detections.
    pub detections: usize,
    /// Detections matched to a GT box.
    pub matched: usize,
    /// found / gt (null without GT boxes).
    pub recall: Option<f64>,
    /// hit / gt.
    pub hit_rate: Option<f64>,
    /// matched / detections (null without detections).
    pub precision: Option<f64>,
    /// Mean hidden fraction of the GT boxes.
    pub coverage: Option<f64>,
    #[serde(skip)]
    coverage_sum: f64,
}

impl Stats {
    fn add_gt(&mut self, g: &GtResult) {
        self.gt += 1;
        self.found += g.found as usize;
        self.hit += g.hit as usize;
        self.coverage_sum += g.coverage;
    }
    fn add_det(&mut self, d: &DetResult) {
        if !d.labelled {
            return;
        }
        self.detections += 1;
        self.matched += d.matched as usize;
    }
    fn finish(&mut self) {
        let r = |a: f64, b: usize| (b > 0).then(|| ((a / b as f64) * 10000.0).round() / 10000.0);
        self.recall = r(self.found as f64, self.gt);
        self.hit_rate = r(self.hit as f64, self.gt);
        self.precision = r(self.matched as f64, self.detections);
        self.coverage = r(self.coverage_sum, self.gt);
    }
}

/// Per class: totals and per size bucket.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClassSummary {
    #[serde(flatten)]
    pub all: Stats,
    /// Whether this class is hidden with the configuration's method (vehicles are not, by
    /// default: their coverage is then 0 by design).
    pub hidden: bool,
    pub buckets: BTreeMap<&'static str, Stats>,
}

/// One image of the evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct ImageResult {
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_redacted: Option<f64>,
    pub millis: u64,
    pub gt: Vec<GtResult>,
    pub detections: Vec<DetResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

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
        .filter(|e| e.file_type().is_file() && crate::walk::is_image_name(e.path()))
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
    let usage = SetupError::Usage;
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
        let l = read_coco(&opts.labels).map_err(usage)?;
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
                    return Err(usage(format!("YOLO labels in {} need class names: a classes.txt there, or --label-classes 0=person,1=car", opts.labels.display())));
                }
                read_names(&f).map_err(usage)?
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
        return Err(usage(format!(
            "no labelled image to evaluate under {} ({})",
            images.display(),
            warnings.join("; ")
        )));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads.max(1))
        .build()
        .map_err(|e| SetupError::Other(e.to_string()))?;
    let models = pool.install(|| Models::load(cfg))?;
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
        models: pipeline::model_entries(&models),
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
    let found = match pipeline::detect_image(&dec.upright(), cfg, models) {
        Ok(f) => f,
        Err(e) => {
            r.error = Some(format!("detection failed: {e:#}"));
            return Ok(r);
        }
    };
    let (regions, _) = pipeline::plan_regions(w, h, &found, dec.orientation, cfg);
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

/// Per class and size bucket, over all images.
pub fn summarise(images: &[ImageResult], cfg: &Config) -> BTreeMap<Class, ClassSummary> {
    let mut s: BTreeMap<Class, ClassSummary> = BTreeMap::new();
    let new = |c: Class| ClassSummary {
        hidden: cfg.method(c) != Method::None,
        buckets: BUCKETS.iter().map(|b| (*b, Stats::default())).collect(),
        ..Default::default()
    };
    for i in images {
        for g in &i.gt {
            let cs = s.entry(g.class).or_insert_with(|| new(g.class));
            cs.all.add_gt(g);
            cs.buckets.entry(g.bucket).or_default().add_gt(g);
        }
        for d in i.detections.iter().filter(|d| d.labelled) {
            let cs = s.entry(d.class).or_insert_with(|| new(d.class));
            cs.all.add_det(d);
            cs.buckets.entry(d.bucket).or_default().add_det(d);
        }
    }
    for cs in s.values_mut() {
        cs.all.finish();
        for b in cs.buckets.values_mut() {
            b.finish();
        }
    }
    s
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
    use super::*;

    fn b(x: f32, y: f32, w: f32, h: f32) -> BoxF {
        BoxF::new(x, y, x + w, y + h)
    }

    #[test]
    fn buckets_by_short_side() {
        assert_eq!(bucket(&b(0.0, 0.0, 15.9, 200.0)), "<16");
        assert_eq!(bucket(&b(0.0, 0.0, 16.0, 20.0)), "16-32");
        assert_eq!(bucket(&b(0.0, 0.0, 40.0, 32.0)), "32-96");
        assert_eq!(bucket(&b(0.0, 0.0, 96.0, 96.0)), "32-96");
        assert_eq!(bucket(&b(0.0, 0.0, 97.0, 100.0)), ">96");
    }

    #[test]
    fn coverage_counts_overlapping_hidden_boxes_once() {
        // two hidden boxes overlapping on 10x10 px cover 10x20 + 10x20 - 10x10 = 300 px of a
        // 20x20 GT box: 300/400
        let m = Mask::new(100, 100, &[[10, 10, 10, 20], [15, 10, 10, 20]]);
        let gt = b(10.0, 10.0, 20.0, 20.0);
        assert!(
            (m.coverage(&gt) - 300.0 / 400.0).abs() < 1e-9,
            "{}",
            m.coverage(&gt)
        );
        assert!((m.fraction() - 300.0 / 10000.0).abs() < 1e-9);
        // a box half outside the image: the outside half is not hidden
        let m = Mask::new(10, 10, &[[0, 0, 10, 10]]);
        assert!((m.coverage(&b(5.0, 0.0, 10.0, 10.0)) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn matching_is_one_to_one_by_class_and_iou() {
        let gt = vec![
            GtBox {
                class: Class::Person,
                bbox: b(0.0, 0.0, 10.0, 10.0),
            },
            GtBox {
                class: Class::Person,
                bbox: b(50.0, 50.0, 40.0, 40.0),
            },
            GtBox {
                class: Class::Vehicle,
                bbox: b(200.0, 200.0, 100.0, 50.0),
            },
        ];
        let dets = vec![
            // IoU 0.81 with GT 0: found
            Det {
                class: Class::Person,
                score: 0.9,
                bbox: b(1.0, 1.0, 9.0, 9.0),
            },
            // a duplicate of GT 0 at a lower score: unmatched (one to one)
            Det {
                class: Class::Person,
                score: 0.5,
                bbox: b(0.0, 0.0, 10.0, 10.0),
            },
            // IoU 0.25 with GT 1: not found
            Det {
                class: Class::Person,
                score: 0.8,
                bbox: b(50.0, 50.0, 20.0, 20.0),
            },
            // right place, wrong class
            Det {
                class: Class::Person,
                score: 0.7,
                bbox: b(200.0, 200.0, 100.0, 50.0),
            },
        ];
        // hidden: GT 1 fully; GT 0 not at all
        let m = Mask::new(400, 400, &[[50, 50, 40, 40]]);
        let (g, d) = score_image(
            &gt,
            &dets,
            &m,
            &BTreeSet::from([Class::Person, Class::Vehicle]),
        );
        assert_eq!(
            g.iter().map(|x| x.found).collect::<Vec<_>>(),
            [true, false, false]
        );
        assert_eq!(
            g.iter().map(|x| x.hit).collect::<Vec<_>>(),
            [false, true, false]
        );
        assert!((g[0].iou - 0.81).abs() < 1e-3);
        assert_eq!(
            d.iter().map(|x| x.matched).collect::<Vec<_>>(),
            [true, false, false, false]
        );
        assert_eq!(g[0].bucket, "<16");
        assert_eq!(g[1].bucket, "32-96");
        let img = ImageResult {
            image: "a".into(),
            width: Some(400),
            height: Some(400),
            area_redacted: Some(m.fraction()),
            millis: 0,
            gt: g,
            detections: d,
            error: None,
        };
        let s = summarise(&[img], &Config::default());
        let p = &s[&Class::Person];
        assert_eq!(
            (
                p.all.gt,
                p.all.found,
                p.all.hit,
                p.all.detections,
                p.all.matched
            ),
            (2, 1, 1, 4, 1)
        );
        assert_eq!(p.all.recall, Some(0.5));
        assert_eq!(p.all.precision, Some(0.25));
        assert_eq!(p.all.coverage, Some(0.5));
        assert_eq!(p.buckets["<16"].gt, 1);
        assert_eq!(
            p.buckets["<16"].detections, 2,
            "matched det and the unmatched 10 px duplicate"
        );
        let v = &s[&Class::Vehicle];
        assert_eq!(
            (v.all.gt, v.all.found, v.all.detections, v.all.precision),
            (1, 0, 0, None)
        );
        assert!(!v.hidden, "vehicles are not hidden by default");
    }

    #[test]
    fn yolo_and_labels() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.txt");
        std::fs::write(&p, "0 0.5 0.5 0.2 0.4\n3 0.1 0.1 0.1 0.1\n").unwrap();
        let names = parse_label_classes("0=pedestrian,3=tree").unwrap();
        let mut ig = BTreeMap::new();
        let (g, l) = read_yolo_file(&p, 100, 50, &names, &mut ig).unwrap();
        assert_eq!(
            g,
            vec![GtBox {
                class: Class::Person,
                bbox: BoxF::new(40.0, 15.0, 60.0, 35.0)
            }]
        );
        assert_eq!(l, None);
        std::fs::write(&p, "# labelled: plate,people\n").unwrap();
        assert_eq!(
            read_yolo_file(&p, 100, 50, &names, &mut ig).unwrap(),
            (vec![], Some(BTreeSet::from([Class::Person, Class::Plate])))
        );
        assert_eq!(ig["tree"], 1);
        std::fs::write(&p, "0 0.5 0.5 0.2\n").unwrap();
        assert!(read_yolo_file(&p, 100, 50, &names, &mut ig)
            .unwrap_err()
            .contains("line 1"));
        std::fs::write(&p, "7 0.5 0.5 0.2 0.2\n").unwrap();
        assert!(read_yolo_file(&p, 100, 50, &names, &mut ig)
            .unwrap_err()
            .contains("class 7 has no name"));
    }
}

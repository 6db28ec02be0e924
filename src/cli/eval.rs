//! `pixla eval`: score the redact pipeline against ground-truth labels.

use crate::cli::detect_args::DetectArgs;
use crate::cli::print_json;
use clap::Args;
use pixla::SetupError;
use std::path::PathBuf;
use std::process::ExitCode;

pub const EVAL_HELP: &str = "Definitions: a labelled box is FOUND when a detection of its class has IoU >= 0.5 with it (one to one, highest score first); it is HIT when >= 50 % of its pixels are hidden. PRECISION = detections matched to a labelled box of their class / detections (a detection of an object nobody labelled counts as false; detections of a class the labels do not cover at all are not counted: COCO: not among its categories; YOLO: not in the label file's `# labelled: plate,person` line, else not in the class names). COVERAGE = mean over labelled boxes of the fraction of the box's pixels inside the hidden regions (of any hidden class, margins included). AREA REDACTED = hidden pixels / image pixels. Size buckets by the box's short side: <16, 16-32, 32-96, >96 px. Vehicles are not hidden by default: their coverage is 0 by design unless --method vehicle=... . Label class names map to pixla classes: person/human/pedestrian/people, car/truck/bus/van/motorcycle/vehicle/jeep, plate/numberplate/license_plate, face; others are ignored with a warning. Labels are in stored pixels. Exit codes: 0 = evaluated; 1 = some images could not be decoded; 2 = usage or set-up error (unreadable or malformed labels, no labelled image found).";

#[derive(Args)]
pub struct EvalArgs {
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

pub fn run(a: EvalArgs) -> Result<ExitCode, SetupError> {
    let cfg = a.detect.config()?;
    let r = pixla::evaluate(
        &a.images,
        &pixla::EvalOptions {
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
        print!("{}", pixla::eval_table(&r));
    }
    Ok(ExitCode::from(if r.failed > 0 { 1 } else { 0 }))
}

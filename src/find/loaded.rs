//! The loaded detectors, once per process, as the configuration picks them: the person and
//! vehicle models and the plate model. Every load checks the model's sha256.

use crate::config::{Config, ObjectModels};
use crate::detect::registry::ModelSpec;
use crate::detect::{aerial, nanodet::NanoDet, ppocr::PpOcrDet, yolo::Yolo, Class, Detector};
use crate::error::SetupError;
use crate::find::plates::WEAK_PLATE;

/// The person and vehicle detectors: the tile model and, beside it, the overview model.
type ObjectDetectors = (Box<dyn Detector>, Option<Box<dyn Detector>>);

/// The loaded detectors, once per process; every load checks the model's sha256.
pub struct Models {
    /// Persons and vehicles on full-resolution tiles (and the pyramid levels).
    pub objects: Box<dyn Detector>,
    /// Persons and vehicles on the downscaled passes, when another model than `objects`
    /// does them (NanoDet beside pixla-aerial).
    pub overview: Option<Box<dyn Detector>>,
    pub plates: Option<Box<dyn Detector>>,
}

/// The thread pool of a command: `threads` rayon workers (at least one).
pub fn pool(threads: usize) -> Result<rayon::ThreadPool, SetupError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| SetupError::Internal(e.to_string()))
}

impl Models {
    /// The set-up of every command that detects (redact, `--regions`, check, eval): the
    /// thread pool of `cfg.threads` workers and the models loaded inside it, one session per
    /// worker. Run the work with `pool.install`.
    pub fn load_with_pool(cfg: &Config) -> Result<(rayon::ThreadPool, Models), SetupError> {
        let pool = pool(cfg.threads)?;
        let models = pool.install(|| Models::load(cfg))?;
        Ok((pool, models))
    }

    pub fn load(cfg: &Config) -> Result<Models, SetupError> {
        crate::detect::onnx::init()?;
        let n = cfg.threads.max(1);
        // the two models load side by side
        let (objects, plates) = rayon::join(|| object_detectors(cfg, n), || plate_detector(cfg, n));
        let (objects, overview) = objects?;
        Ok(Models {
            objects,
            overview,
            plates: plates?,
        })
    }

    /// The detector of the downscaled passes.
    pub fn overview(&self) -> &dyn Detector {
        self.overview.as_deref().unwrap_or(self.objects.as_ref())
    }

    pub fn specs(&self) -> Vec<&'static ModelSpec> {
        let mut v = vec![self.objects.spec()];
        if let Some(o) = &self.overview {
            v.push(o.spec());
        }
        if let Some(p) = &self.plates {
            v.push(p.spec());
        }
        v
    }
}

/// The person and vehicle detectors `cfg` picks, `n` sessions each: the user's model, or
/// pixla-aerial with NanoDet beside it, or NanoDet alone.
fn object_detectors(cfg: &Config, n: usize) -> Result<ObjectDetectors, SetupError> {
    let dir = &cfg.models_dir;
    let (pt, vt) = (cfg.threshold(Class::Person), cfg.threshold(Class::Vehicle));
    Ok(match (&cfg.model, cfg.detector) {
        (Some(m), _) => (
            Box::new(Yolo::user(
                &m.path,
                &m.format,
                &m.classes,
                m.size,
                Class::ALL.iter().map(|c| (*c, cfg.threshold(*c))).collect(),
                n,
            )?),
            None,
        ),
        (None, ObjectModels::Aerial) => (
            Box::new(aerial::load(dir, n, pt, vt)?),
            Some(Box::new(NanoDet::load(dir, n, pt, vt)?)),
        ),
        (None, ObjectModels::NanoDet) => (Box::new(NanoDet::load(dir, n, pt, vt)?), None),
    })
}

/// The plate detector `cfg` picks, `n` sessions, or none.
fn plate_detector(cfg: &Config, n: usize) -> Result<Option<Box<dyn Detector>>, SetupError> {
    let dir = &cfg.models_dir;
    let threshold = cfg.threshold(Class::Plate);
    Ok(match cfg.plate_model.as_str() {
        "none" => None,
        // loaded at half the threshold: its weaker candidates stand in for a plate band
        // where no plate reaches the threshold (add_plate_bands)
        "pixla-plate" => Some(Box::new(crate::detect::plate::load(
            dir,
            n,
            WEAK_PLATE * threshold,
        )?)),
        "ppocrv4-det" => Some(Box::new(PpOcrDet::load(dir, n, threshold)?)),
        "platedet" => Some(Box::new(Yolo::platedet(dir, n, threshold)?)),
        other => {
            return Err(SetupError::Usage(format!(
                "unknown plate model `{other}` (pixla-plate, ppocrv4-det, platedet, none)"
            )))
        }
    })
}

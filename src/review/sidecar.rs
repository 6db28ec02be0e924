//! The regions sidecar (`pixla-regions/1`): a reviewer's corrections to a batch, written by
//! the review page (`pixla review`), by hand or by another tool, and applied by
//! `pixla redact --regions`. Per file (its path relative to the input root, as in the
//! report): regions to hide that the detectors missed (`add`) and detected regions to leave
//! visible (`suppress`, matched to a region of the re-run by its hidden box). Boxes are
//! `[x, y, w, h]` in the stored pixels of the file (EXIF orientation not applied), the
//! coordinates of the report's `box`. Documented in [`crate::guide::regions`]; JSON Schema in
//! `fixtures/schema/pixla-regions-1.schema.json`.
//!
//! ```
//! let s = pixla::internal_tests::sidecar::parse(br#"{"schema":"pixla-regions/1","reviewer":"K. Berg",
//!   "files":{"flight/DJI_0001.JPG":{"add":[{"class":"person","box":[10,20,30,40]}],
//!   "suppress":[{"box":[100,100,50,80]}]}}}"#).unwrap();
//! assert_eq!(s.files["flight/DJI_0001.JPG"].add[0].bbox, [10, 20, 30, 40]);
//! ```

use crate::detect::Class;
use crate::redact::Method;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SCHEMA: &str = "pixla-regions/1";

/// Unknown fields are refused everywhere, so a misspelt key in a hand-written sidecar
/// (`supress`) is an error rather than a correction silently ignored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    pub schema: String,
    /// Who made these decisions; `redact --reviewer` may supply it when this is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<String>,
    /// RFC 3339 time the sidecar was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// File name and sha256 of the report the review was made from (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_sha256: Option<String>,
    /// Edits per file, keyed by the path relative to the input root (the report's `input`).
    pub files: BTreeMap<String, FileEdits>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct FileEdits {
    /// The sha256 of the output the reviewer saw; when given, it must still be the output
    /// the report lists, or the file is not touched (its review is stale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_sha256: Option<String>,
    #[serde(default)]
    pub add: Vec<AddRegion>,
    #[serde(default)]
    pub suppress: Vec<SuppressRegion>,
}

/// A region the detectors missed. Hidden exactly as drawn (no margin: a reviewer's box is
/// deliberate), with `method`, else the class's method, and `pixelate` where that is `none`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AddRegion {
    pub class: Class,
    #[serde(rename = "box")]
    pub bbox: [u32; 4],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A detected region to leave visible: `box` is the region's hidden box as the report gives
/// it; it matches the re-run's region with IoU >= [`SUPPRESS_IOU`]. The other fields are
/// informational (what the reviewer saw).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SuppressRegion {
    #[serde(rename = "box")]
    pub bbox: [u32; 4],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<Class>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A suppress box and a region of the re-run are the same region at this IoU or above.
pub const SUPPRESS_IOU: f32 = 0.9;

/// Parse and check a sidecar: schema, boxes with a size, no `none` method, and keys that
/// are relative paths inside the input root.
pub fn parse(bytes: &[u8]) -> Result<Sidecar, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    match v.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => return Err(format!("schema `{other}` is not {SCHEMA}")),
        None => return Err(format!("no `schema` field (expected \"{SCHEMA}\")")),
    }
    let s: Sidecar =
        serde_json::from_value(v).map_err(|e| format!("not a valid {SCHEMA} sidecar: {e}"))?;
    for (rel, f) in &s.files {
        if !crate::fsio::inside::is_plain_relative(rel) {
            return Err(format!(
                "`{rel}`: file keys are paths relative to the input root (no leading /, no `..`)"
            ));
        }
        for a in &f.add {
            if a.bbox[2] == 0 || a.bbox[3] == 0 {
                return Err(format!("`{rel}`: added box {:?} has no area", a.bbox));
            }
            if a.method == Some(Method::None) {
                return Err(format!("`{rel}`: an added region must be hidden (method pixelate, fill or blur, not none)"));
            }
        }
        for r in &f.suppress {
            if r.bbox[2] == 0 || r.bbox[3] == 0 {
                return Err(format!("`{rel}`: suppress box {:?} has no area", r.bbox));
            }
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_typos_wrong_schema_and_escaping_paths() {
        let ok = br#"{"schema":"pixla-regions/1","files":{"a/b.jpg":{"add":[{"class":"plate","box":[1,2,3,4],"method":"fill"}]}}}"#;
        assert!(parse(ok).is_ok());
        let typo = br#"{"schema":"pixla-regions/1","files":{"a.jpg":{"supress":[]}}}"#;
        assert!(parse(typo).unwrap_err().contains("supress"));
        assert!(parse(br#"{"schema":"pixla-regions/2","files":{}}"#)
            .unwrap_err()
            .contains("pixla-regions/2"));
        for bad in ["/etc/x.jpg", "../x.jpg", "a/../../x.jpg", "./x.jpg"] {
            let j = format!(r#"{{"schema":"pixla-regions/1","files":{{"{bad}":{{}}}}}}"#);
            assert!(parse(j.as_bytes()).is_err(), "{bad}");
        }
        assert!(parse(br#"{"schema":"pixla-regions/1","files":{"a.jpg":{"add":[{"class":"cat","box":[1,2,3,4]}]}}}"#).is_err());
        assert!(parse(br#"{"schema":"pixla-regions/1","files":{"a.jpg":{"add":[{"class":"person","box":[1,2,0,4]}]}}}"#).is_err());
        assert!(parse(br#"{"schema":"pixla-regions/1","files":{"a.jpg":{"add":[{"class":"person","box":[-1,2,3,4]}]}}}"#).is_err());
    }

    #[test]
    fn json_schema_file_names_this_version() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/schema/pixla-regions-1.schema.json");
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        assert_eq!(v["properties"]["schema"]["const"], SCHEMA);
        // every field the parser knows is in the schema, and the other way round
        let props =
            |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            props(&v["properties"]),
            [
                "created",
                "files",
                "report",
                "report_sha256",
                "reviewer",
                "schema"
            ]
        );
        assert_eq!(
            props(&v["$defs"]["file"]["properties"]),
            ["add", "output_sha256", "suppress"]
        );
        assert_eq!(
            props(&v["$defs"]["add"]["properties"]),
            ["box", "class", "method", "note"]
        );
        assert_eq!(
            props(&v["$defs"]["suppress"]["properties"]),
            ["box", "class", "note", "score", "source"]
        );
    }
}

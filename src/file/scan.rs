//! Detection on one file without writing anything, for `pixla check`: the same decoding and
//! detection as a redaction run, with the boxes mapped to stored pixels.

use crate::config::Config;
use crate::find::loaded::Models;
use crate::find::passes::detect_image;
use crate::find::Found;
use crate::formats::decode;
use std::path::Path;

/// What the detectors find in one file, read only (`pixla check`): nothing is written.
#[derive(Debug, Clone)]
pub struct Scan {
    pub sha256: String,
    pub bytes: u64,
    /// Stored size (EXIF orientation not applied).
    pub width: u32,
    pub height: u32,
    /// Each detection with its box mapped to stored pixels, before any margin.
    pub found: Vec<Found>,
}

/// Decode and detect one file exactly as [`process`](super::process) does, without writing anything. An
/// error means the file could not be examined (to a gate: a failure, never a pass).
pub fn scan_file(path: &Path, cfg: &Config, models: &Models) -> anyhow::Result<Scan> {
    use anyhow::Context;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> anyhow::Result<Scan> {
        let (sha256, bytes, (w, h, orientation, found)) = if crate::file::tiff::is_tiff(path)? {
            let sha = crate::fsio::sha256_file(path).context("cannot read the file")?;
            let len = std::fs::metadata(path)
                .context("cannot read the file")?
                .len();
            (sha, len, crate::file::tiff::scan(path, cfg, models)?)
        } else {
            let bytes = std::fs::read(path).context("cannot read the file")?;
            let dec = decode::decode(&bytes, path, &cfg.limits)?;
            let found = detect_image(&dec.upright(), cfg, models).context("detection failed")?;
            (
                crate::fsio::sha256_hex(&bytes),
                bytes.len() as u64,
                (
                    dec.image.width(),
                    dec.image.height(),
                    dec.orientation,
                    found,
                ),
            )
        };
        let found = found
            .into_iter()
            .map(|mut f| {
                f.det.bbox = decode::box_to_stored(f.det.bbox, orientation, w, h);
                f
            })
            .collect();
        Ok(Scan {
            sha256,
            bytes,
            width: w,
            height: h,
            found,
        })
    }))
    .unwrap_or_else(|_| {
        Err(anyhow::anyhow!(
            "internal error while examining this file (please report it)"
        ))
    })
}

//! A reviewer's corrections to one file ([`Edits`]): regions to add, detections to leave
//! visible, and those of earlier reviews. [`edit_regions`] applies them to the planned
//! regions, and fails the file rather than carry out an edit inexactly.

use crate::config::Config;
use crate::detect::Class;
use crate::geom::BoxF;
use crate::redact::{self, Method};
use crate::report::{FileEntry, Region, Source, Suppressed};

/// A reviewer's corrections to one file, as `redact --regions` applies them: the sidecar's
/// and those of earlier reviews recorded in the report (so a second review round never
/// undoes the first).
#[derive(Debug, Clone, Default)]
pub struct Edits {
    /// Regions to hide as drawn, in stored pixels, with their source (`manual:<reviewer>`).
    pub add: Vec<ManualRegion>,
    /// Regions of earlier reviews, hidden again unless a suppress box now matches them.
    pub earlier: Vec<ManualRegion>,
    /// Hidden boxes of regions to leave visible, each with `manual:<reviewer>`.
    pub suppress: Vec<([u32; 4], Source)>,
    /// Manual regions an earlier review dropped: kept in the `suppressed` list as history.
    pub history: Vec<Suppressed>,
}

impl Edits {
    /// The corrections recorded in a report entry by earlier reviews.
    pub fn earlier(e: &FileEntry) -> Edits {
        let mut ed = Edits::default();
        for r in e.regions.iter().filter(|r| r.source.is_manual()) {
            ed.earlier.push(ManualRegion {
                class: r.class,
                bbox: r.bbox,
                method: Some(r.method),
                note: r.note.clone(),
                source: r.source.clone(),
            });
        }
        for s in &e.suppressed {
            if s.region.source.is_manual() {
                ed.history.push(s.clone());
            } else {
                ed.suppress.push((s.region.bbox, s.suppressed_by.clone()));
            }
        }
        ed
    }
}

#[derive(Debug, Clone)]
pub struct ManualRegion {
    pub class: Class,
    pub bbox: [u32; 4],
    pub method: Option<Method>,
    pub note: Option<String>,
    pub source: Source,
}

impl ManualRegion {
    fn to_region(&self, w: u32, h: u32, cfg: &Config) -> anyhow::Result<Region> {
        let [x, y, bw, bh] = self.bbox;
        let b = BoxF::new(
            x as f32,
            y as f32,
            x as f32 + bw as f32,
            y as f32 + bh as f32,
        );
        let px = b.to_pixels(w, h).ok_or_else(|| {
            anyhow::anyhow!(
                "manual box {:?} lies outside the image ({w}x{h} stored pixels)",
                self.bbox
            )
        })?;
        let method = match self.method.unwrap_or(cfg.method(self.class)) {
            Method::None => Method::Pixelate,
            m => m,
        };
        Ok(Region {
            class: self.class,
            score: None,
            bbox: px.xywh(),
            detected: [px.x as f32, px.y as f32, px.w as f32, px.h as f32],
            method,
            block: (method == Method::Pixelate).then(|| redact::block_size(&px, cfg.blocks)),
            source: self.source.clone(),
            note: self.note.clone(),
        })
    }
}

fn pix_iou(a: &[u32; 4], b: &[u32; 4]) -> f32 {
    let f = |r: &[u32; 4]| {
        BoxF::new(
            r[0] as f32,
            r[1] as f32,
            r[0] as f32 + r[2] as f32,
            r[1] as f32 + r[3] as f32,
        )
    };
    f(a).iou(&f(b))
}

/// Apply `edits` to the planned model regions: every suppress box must match a model region
/// or an earlier manual one (IoU >= [`crate::review::sidecar::SUPPRESS_IOU`]), which is then left
/// visible and listed; earlier and new manual regions are added. An edit that cannot be
/// carried out exactly is an error for the file (fail closed).
pub fn edit_regions(
    model: Vec<Region>,
    edits: &Edits,
    w: u32,
    h: u32,
    cfg: &Config,
) -> anyhow::Result<(Vec<Region>, Vec<Suppressed>)> {
    let mut candidates: Vec<Region> = model;
    for m in &edits.earlier {
        candidates.push(m.to_region(w, h, cfg)?);
    }
    let mut suppressed = Vec::new();
    let mut gone = vec![false; candidates.len()];
    for (b, by) in &edits.suppress {
        let mut hit = false;
        for (i, r) in candidates.iter().enumerate() {
            if pix_iou(&r.bbox, b) >= crate::review::sidecar::SUPPRESS_IOU {
                hit = true;
                if !gone[i] {
                    gone[i] = true;
                    suppressed.push(Suppressed {
                        region: r.clone(),
                        suppressed_by: by.clone(),
                    });
                }
            }
        }
        if !hit {
            anyhow::bail!(
                "suppress box {b:?} matches no region of this run (IoU >= {}): the sidecar was made with other settings or for another file; nothing was changed",
                crate::review::sidecar::SUPPRESS_IOU
            );
        }
    }
    suppressed.extend(edits.history.iter().cloned());
    let mut regions: Vec<Region> = candidates
        .into_iter()
        .zip(gone)
        .filter(|(_, g)| !g)
        .map(|(r, _)| r)
        .collect();
    for m in &edits.add {
        regions.push(m.to_region(w, h, cfg)?);
    }
    regions.sort_by(|a, b| (a.class, a.bbox, &a.source).cmp(&(b.class, b.bbox, &b.source)));
    Ok((regions, suppressed))
}

//! An IFD's entries turned into its [`Layout`]: image and chunk geometry, the offset and
//! byte-count arrays, and why the IFD cannot be edited, if it cannot.

use super::ifd::Entry;
use super::info::{Chunking, IfdInfo};
use super::layout::{ArrayLoc, Layout};
use super::parse::Parsed;
use super::tags::*;
use super::{MAX_CHUNKS, MAX_CHUNK_BYTES};
use anyhow::{anyhow, ensure, Result};

impl Parsed {
    pub(super) fn build(&mut self, index: usize, offset: u64, entries: &[Entry]) -> Result<()> {
        let get = |t: u16| entries.iter().find(|e| e.tag == t).cloned();
        let one = |p: &mut Parsed, t: u16, default: Option<u64>| -> Result<u64> {
            match get(t) {
                Some(e) => {
                    let v = p.uints(&e)?;
                    v.first()
                        .copied()
                        .ok_or_else(|| anyhow!("tag {t} has no value"))
                }
                None => default.ok_or_else(|| anyhow!("required tag {t} is missing")),
            }
        };
        let width = one(self, T_WIDTH, None)?;
        let height = one(self, T_HEIGHT, None)?;
        ensure!(
            width > 0 && height > 0 && width <= u32::MAX as u64 && height <= u32::MAX as u64,
            "image size {width}x{height}"
        );
        let (width, height) = (width as u32, height as u32);
        let spp = one(self, T_SPP, Some(1))?;
        ensure!(
            (1..=u16::MAX as u64).contains(&spp),
            "SamplesPerPixel {spp}"
        );
        let spp = spp as u16;
        let compression = one(self, T_COMPRESSION, Some(1))? as u16;
        let photometric = match get(T_PHOTOMETRIC) {
            Some(e) => self.uints(&e)?.first().copied().unwrap_or(u16::MAX as u64) as u16,
            None => u16::MAX,
        };
        let planar = one(self, T_PLANAR, Some(1))? as u16;
        let predictor = one(self, T_PREDICTOR, Some(1))? as u16;
        let fill_order = one(self, T_FILL_ORDER, Some(1))?;
        let subfile_type = one(self, T_NEW_SUBFILE_TYPE, Some(0))? as u32;
        let per_sample = |p: &mut Parsed, t: u16, d: u64| -> Result<Vec<u64>> {
            Ok(match get(t) {
                Some(e) => p.uints(&e)?,
                None => vec![d],
            })
        };
        let bits = per_sample(self, T_BITS, 1)?;
        let formats = per_sample(self, T_SAMPLE_FORMAT, 1)?;
        ensure!(
            !bits.is_empty() && !formats.is_empty(),
            "empty BitsPerSample or SampleFormat"
        );
        let extra_samples = match get(T_EXTRA_SAMPLES) {
            Some(e) => self.uints(&e)?.into_iter().map(|v| v as u16).collect(),
            None => Vec::new(),
        };
        let tiled = get(T_TILE_WIDTH).is_some() || get(T_TILE_LENGTH).is_some();
        let (cw, ch, chunking, t_off, t_cnt) = if tiled {
            let (w, h) = (
                one(self, T_TILE_WIDTH, None)?,
                one(self, T_TILE_LENGTH, None)?,
            );
            ensure!(
                w > 0 && h > 0 && w <= u32::MAX as u64 && h <= u32::MAX as u64,
                "tile size {w}x{h}"
            );
            (
                w as u32,
                h as u32,
                Chunking::Tiles {
                    w: w as u32,
                    h: h as u32,
                },
                T_TILE_OFFSETS,
                T_TILE_BYTE_COUNTS,
            )
        } else {
            let rps = one(self, T_ROWS_PER_STRIP, Some(u32::MAX as u64))?;
            ensure!(rps > 0, "RowsPerStrip 0");
            let rps = rps.min(height as u64) as u32;
            (
                width,
                rps,
                Chunking::Strips {
                    rows_per_strip: rps,
                },
                T_STRIP_OFFSETS,
                T_STRIP_BYTE_COUNTS,
            )
        };
        let across = (width as u64).div_ceil(cw as u64);
        let down = (height as u64).div_ceil(ch as u64);
        let planes = if planar == 2 { spp as u64 } else { 1 };
        let expected = across
            .checked_mul(down)
            .and_then(|v| v.checked_mul(planes))
            .ok_or_else(|| anyhow!("chunk count overflows"))?;
        ensure!(
            expected <= MAX_CHUNKS,
            "{expected} chunks (at most {MAX_CHUNKS})"
        );

        let eo = get(t_off).ok_or_else(|| {
            anyhow!(
                "no {} tag",
                if tiled { "TileOffsets" } else { "StripOffsets" }
            )
        })?;
        let ec = get(t_cnt).ok_or_else(|| {
            anyhow!(
                "no {} tag",
                if tiled {
                    "TileByteCounts"
                } else {
                    "StripByteCounts"
                }
            )
        })?;
        for e in [&eo, &ec] {
            ensure!(
                matches!(e.typ, 3 | 4 | 16),
                "tag {} has field type {} (SHORT, LONG or LONG8 expected)",
                e.tag,
                e.typ
            );
        }
        let offsets = self.uints(&eo)?;
        let counts = self.uints(&ec)?;
        ensure!(
            offsets.len() == counts.len(),
            "{} chunk offsets but {} byte counts",
            offsets.len(),
            counts.len()
        );
        ensure!(
            offsets.len() as u64 == expected,
            "{} chunks recorded, {expected} expected for {width}x{height} in {cw}x{ch} chunks",
            offsets.len()
        );
        for (i, (&o, &c)) in offsets.iter().zip(&counts).enumerate() {
            if o == 0 && c == 0 {
                continue;
            }
            let end = o
                .checked_add(c)
                .ok_or_else(|| anyhow!("chunk {i}: offset overflows"))?;
            ensure!(
                end <= self.src.len,
                "chunk {i}: {c} bytes at offset {o} run past the end of the file ({} bytes)",
                self.src.len
            );
        }

        // Editability.
        let mut why: Vec<String> = Vec::new();
        let bps = bits[0];
        if !(bits.len() == 1 || bits.len() == spp as usize) {
            why.push(format!(
                "{} BitsPerSample values for {spp} samples",
                bits.len()
            ));
        }
        if bits.iter().any(|&b| b != bps) {
            why.push(format!("mixed bits per sample {bits:?}"));
        } else if bps != 8 && bps != 16 {
            why.push(format!("{bps}-bit samples (8 and 16 are supported)"));
        }
        if formats.iter().any(|&f| f != 1) {
            why.push(format!("SampleFormat {formats:?} (unsigned integer only)"));
        }
        if !(1..=4).contains(&spp) {
            why.push(format!("{spp} samples per pixel (1 to 4 supported)"));
        }
        match photometric {
            1 => {}
            2 if spp >= 3 => {}
            u16::MAX => why.push("no PhotometricInterpretation".into()),
            p => why.push(format!(
                "PhotometricInterpretation {p} with {spp} samples (BlackIsZero or RGB supported)"
            )),
        }
        if !matches!(compression, 1 | 5 | 8 | 32946 | 32773) {
            why.push(format!(
                "compression {compression} (none, LZW, Deflate and PackBits supported)"
            ));
        }
        if !matches!(predictor, 1 | 2) {
            why.push(format!("predictor {predictor}"));
        }
        if !matches!(planar, 1 | 2) {
            why.push(format!("PlanarConfiguration {planar}"));
        }
        if fill_order != 1 {
            why.push(format!("FillOrder {fill_order}"));
        }
        let spc = if planar == 2 { 1 } else { spp as u64 };
        let chunk_bytes = cw as u64 * ch as u64 * spc * bps.max(1).div_ceil(8);
        if chunk_bytes > MAX_CHUNK_BYTES {
            why.push(format!(
                "one chunk decodes to {chunk_bytes} bytes (at most {MAX_CHUNK_BYTES})"
            ));
        }
        let fill = match get(T_GDAL_NODATA) {
            Some(e) if e.typ == 2 => {
                let mut b = vec![0u8; e.len.unwrap_or(0).min(64) as usize];
                if e.inline {
                    let k = b.len();
                    b.copy_from_slice(&e.field[..k]);
                } else {
                    self.read(e.value_pos, &mut b)?;
                }
                let s = String::from_utf8_lossy(&b)
                    .trim_matches(|c: char| c == '\0' || c.is_whitespace())
                    .to_string();
                s.parse::<f64>()
                    .ok()
                    .filter(|v| {
                        v.fract() == 0.0
                            && *v >= 0.0
                            && *v <= if bps == 8 { 255.0 } else { 65535.0 }
                    })
                    .map_or(0, |v| v as u16)
            }
            _ => 0,
        };
        let info = IfdInfo {
            index,
            offset,
            width,
            height,
            bits_per_sample: bps as u16,
            samples_per_pixel: spp,
            sample_format: formats[0] as u16,
            photometric,
            planar,
            compression,
            predictor,
            chunking,
            subfile_type,
            extra_samples,
            chunk_count: offsets.len(),
            sub_ifds: get(T_SUB_IFDS).map_or(0, |e| e.count as usize),
            unsupported: if why.is_empty() {
                None
            } else {
                Some(why.join("; "))
            },
        };
        let loc = |e: &Entry| ArrayLoc {
            typ: e.typ,
            pos: e.value_pos,
        };
        let lay = Layout {
            info,
            off_arr: loc(&eo),
            cnt_arr: loc(&ec),
            offsets,
            counts,
            cw,
            ch,
            across: across as u32,
            down: down as u32,
            bps: bps as u16,
            fill,
            le: self.src.le,
        };
        self.ifds.push(lay);
        Ok(())
    }
}

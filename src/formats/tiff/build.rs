//! An IFD's entries turned into its [`Layout`]: image and chunk geometry, the offset and
//! byte-count arrays, and why the IFD cannot be edited, if it cannot.
//!
//! [`Parsed::build`] runs the steps in a fixed order, so a file with several problems always
//! reports the same one first: the image fields ([`Fields`]), the chunk grid ([`Grid`]), the
//! offset and byte-count arrays ([`Arrays`]), then what keeps the IFD from being edited
//! (`unsupported`, never an error) and the nodata fill.

use super::ifd::Entry;
use super::info::{Chunking, IfdInfo};
use super::layout::{ArrayLoc, Layout};
use super::parse::Parsed;
use super::tags::*;
use super::{MAX_CHUNKS, MAX_CHUNK_BYTES};
use crate::error::FileErrorKind;
use crate::formats::refused;
use anyhow::{anyhow, ensure, Result};

/// The entries of one IFD, looked up by tag.
struct Tags<'a>(&'a [Entry]);

impl Tags<'_> {
    fn get(&self, t: u16) -> Option<Entry> {
        self.0.iter().find(|e| e.tag == t).cloned()
    }
}

/// The image fields of an IFD, read and checked.
struct Fields {
    width: u32,
    height: u32,
    spp: u16,
    compression: u16,
    /// `u16::MAX` when the tag is missing.
    photometric: u16,
    planar: u16,
    predictor: u16,
    fill_order: u64,
    subfile_type: u32,
    /// BitsPerSample and SampleFormat, one value or one per sample (never empty).
    bits: Vec<u64>,
    formats: Vec<u64>,
    extra_samples: Vec<u16>,
}

/// How the image is cut into chunks.
struct Grid {
    tiled: bool,
    chunking: Chunking,
    /// Chunk size in pixels (strips: image width × rows per strip).
    cw: u32,
    ch: u32,
    across: u64,
    down: u64,
    /// Number of chunks, all planes.
    expected: u64,
}

/// The chunk offset and byte-count arrays: their entries and their values.
struct Arrays {
    eo: Entry,
    ec: Entry,
    offsets: Vec<u64>,
    counts: Vec<u64>,
}

impl Parsed {
    pub(super) fn build(&mut self, index: usize, offset: u64, entries: &[Entry]) -> Result<()> {
        let tags = Tags(entries);
        let f = self.fields(&tags)?;
        let g = self.grid(&tags, &f)?;
        let a = self.arrays(&tags, &f, &g)?;
        let bps = f.bits[0];
        let why = unsupported(&f, &g);
        let fill = self.nodata_fill(&tags, bps)?;
        let info = IfdInfo {
            index,
            offset,
            width: f.width,
            height: f.height,
            bits_per_sample: bps as u16,
            samples_per_pixel: f.spp,
            sample_format: f.formats[0] as u16,
            photometric: f.photometric,
            planar: f.planar,
            compression: f.compression,
            predictor: f.predictor,
            chunking: g.chunking,
            subfile_type: f.subfile_type,
            extra_samples: f.extra_samples,
            chunk_count: a.offsets.len(),
            sub_ifds: tags.get(T_SUB_IFDS).map_or(0, |e| e.count as usize),
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
            off_arr: loc(&a.eo),
            cnt_arr: loc(&a.ec),
            offsets: a.offsets,
            counts: a.counts,
            cw: g.cw,
            ch: g.ch,
            across: g.across as u32,
            down: g.down as u32,
            bps: bps as u16,
            fill,
            le: self.src.le,
        };
        self.ifds.push(lay);
        Ok(())
    }

    /// The first value of tag `t`, or `default` when the tag is missing (`None`: required).
    fn one(&mut self, tags: &Tags, t: u16, default: Option<u64>) -> Result<u64> {
        match tags.get(t) {
            Some(e) => {
                let v = self.uints(&e)?;
                v.first()
                    .copied()
                    .ok_or_else(|| anyhow!("tag {t} has no value"))
            }
            None => default.ok_or_else(|| anyhow!("required tag {t} is missing")),
        }
    }

    /// Every value of tag `t`, or `[d]` when the tag is missing.
    fn per_sample(&mut self, tags: &Tags, t: u16, d: u64) -> Result<Vec<u64>> {
        Ok(match tags.get(t) {
            Some(e) => self.uints(&e)?,
            None => vec![d],
        })
    }

    /// Step 1: the image fields, with the image size and samples per pixel checked.
    fn fields(&mut self, tags: &Tags) -> Result<Fields> {
        let width = self.one(tags, T_WIDTH, None)?;
        let height = self.one(tags, T_HEIGHT, None)?;
        ensure!(
            width > 0 && height > 0 && width <= u32::MAX as u64 && height <= u32::MAX as u64,
            "image size {width}x{height}"
        );
        let spp = self.one(tags, T_SPP, Some(1))?;
        ensure!(
            (1..=u16::MAX as u64).contains(&spp),
            "SamplesPerPixel {spp}"
        );
        let compression = self.one(tags, T_COMPRESSION, Some(1))? as u16;
        let photometric = match tags.get(T_PHOTOMETRIC) {
            Some(e) => self.uints(&e)?.first().copied().unwrap_or(u16::MAX as u64) as u16,
            None => u16::MAX,
        };
        let planar = self.one(tags, T_PLANAR, Some(1))? as u16;
        let predictor = self.one(tags, T_PREDICTOR, Some(1))? as u16;
        let fill_order = self.one(tags, T_FILL_ORDER, Some(1))?;
        let subfile_type = self.one(tags, T_NEW_SUBFILE_TYPE, Some(0))? as u32;
        let bits = self.per_sample(tags, T_BITS, 1)?;
        let formats = self.per_sample(tags, T_SAMPLE_FORMAT, 1)?;
        ensure!(
            !bits.is_empty() && !formats.is_empty(),
            "empty BitsPerSample or SampleFormat"
        );
        let extra_samples = match tags.get(T_EXTRA_SAMPLES) {
            Some(e) => self.uints(&e)?.into_iter().map(|v| v as u16).collect(),
            None => Vec::new(),
        };
        Ok(Fields {
            width: width as u32,
            height: height as u32,
            spp: spp as u16,
            compression,
            photometric,
            planar,
            predictor,
            fill_order,
            subfile_type,
            bits,
            formats,
            extra_samples,
        })
    }

    /// Step 2: tiles or strips, their size, and how many there are (at most [`MAX_CHUNKS`]).
    fn grid(&mut self, tags: &Tags, f: &Fields) -> Result<Grid> {
        let tiled = tags.get(T_TILE_WIDTH).is_some() || tags.get(T_TILE_LENGTH).is_some();
        let (cw, ch, chunking) = if tiled {
            let (w, h) = (
                self.one(tags, T_TILE_WIDTH, None)?,
                self.one(tags, T_TILE_LENGTH, None)?,
            );
            ensure!(
                w > 0 && h > 0 && w <= u32::MAX as u64 && h <= u32::MAX as u64,
                "tile size {w}x{h}"
            );
            let (w, h) = (w as u32, h as u32);
            (w, h, Chunking::Tiles { w, h })
        } else {
            let rps = self.one(tags, T_ROWS_PER_STRIP, Some(u32::MAX as u64))?;
            ensure!(rps > 0, "RowsPerStrip 0");
            let rps = rps.min(f.height as u64) as u32;
            (
                f.width,
                rps,
                Chunking::Strips {
                    rows_per_strip: rps,
                },
            )
        };
        let across = (f.width as u64).div_ceil(cw as u64);
        let down = (f.height as u64).div_ceil(ch as u64);
        let planes = if f.planar == 2 { f.spp as u64 } else { 1 };
        let expected = across
            .checked_mul(down)
            .and_then(|v| v.checked_mul(planes))
            .ok_or_else(|| anyhow!("chunk count overflows"))?;
        if expected > MAX_CHUNKS {
            return Err(refused(
                FileErrorKind::Limit,
                format!("{expected} chunks (at most {MAX_CHUNKS})"),
            ));
        }
        Ok(Grid {
            tiled,
            chunking,
            cw,
            ch,
            across,
            down,
            expected,
        })
    }

    /// Step 3: the offset and byte-count arrays: present, of an integer type, one value per
    /// chunk each, and every non-sparse chunk inside the file.
    fn arrays(&mut self, tags: &Tags, f: &Fields, g: &Grid) -> Result<Arrays> {
        let (t_off, t_cnt, names) = if g.tiled {
            (
                T_TILE_OFFSETS,
                T_TILE_BYTE_COUNTS,
                ["TileOffsets", "TileByteCounts"],
            )
        } else {
            (
                T_STRIP_OFFSETS,
                T_STRIP_BYTE_COUNTS,
                ["StripOffsets", "StripByteCounts"],
            )
        };
        let eo = tags
            .get(t_off)
            .ok_or_else(|| anyhow!("no {} tag", names[0]))?;
        let ec = tags
            .get(t_cnt)
            .ok_or_else(|| anyhow!("no {} tag", names[1]))?;
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
            offsets.len() as u64 == g.expected,
            "{} chunks recorded, {} expected for {}x{} in {}x{} chunks",
            offsets.len(),
            g.expected,
            f.width,
            f.height,
            g.cw,
            g.ch
        );
        self.check_chunk_ends(&offsets, &counts)?;
        Ok(Arrays {
            eo,
            ec,
            offsets,
            counts,
        })
    }

    /// Every chunk but a sparse one (offset 0, byte count 0) ends inside the file.
    fn check_chunk_ends(&self, offsets: &[u64], counts: &[u64]) -> Result<()> {
        for (i, (&o, &c)) in offsets.iter().zip(counts).enumerate() {
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
        Ok(())
    }

    /// Step 5: the sample value of a sparse chunk: GDAL_NODATA when it is an integer the
    /// samples can hold, else 0.
    fn nodata_fill(&mut self, tags: &Tags, bps: u64) -> Result<u16> {
        let Some(e) = tags.get(T_GDAL_NODATA).filter(|e| e.typ == 2) else {
            return Ok(0);
        };
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
        Ok(s.parse::<f64>()
            .ok()
            .filter(|v| {
                v.fract() == 0.0 && *v >= 0.0 && *v <= if bps == 8 { 255.0 } else { 65535.0 }
            })
            .map_or(0, |v| v as u16))
    }
}

/// Step 4: why the IFD cannot be edited (empty when it can).
fn unsupported(f: &Fields, g: &Grid) -> Vec<String> {
    let mut why = sample_problems(f);
    match f.photometric {
        1 => {}
        2 if f.spp >= 3 => {}
        u16::MAX => why.push("no PhotometricInterpretation".into()),
        p => why.push(format!(
            "PhotometricInterpretation {p} with {} samples (BlackIsZero or RGB supported)",
            f.spp
        )),
    }
    let compression = f.compression;
    if !matches!(compression, 1 | 5 | 8 | 32946 | 32773) {
        why.push(format!(
            "compression {compression} (none, LZW, Deflate and PackBits supported)"
        ));
    }
    if !matches!(f.predictor, 1 | 2) {
        why.push(format!("predictor {}", f.predictor));
    }
    if !matches!(f.planar, 1 | 2) {
        why.push(format!("PlanarConfiguration {}", f.planar));
    }
    if f.fill_order != 1 {
        why.push(format!("FillOrder {}", f.fill_order));
    }
    let spc = if f.planar == 2 { 1 } else { f.spp as u64 };
    let chunk_bytes = g.cw as u64 * g.ch as u64 * spc * f.bits[0].max(1).div_ceil(8);
    if chunk_bytes > MAX_CHUNK_BYTES {
        why.push(format!(
            "one chunk decodes to {chunk_bytes} bytes (at most {MAX_CHUNK_BYTES})"
        ));
    }
    why
}

/// The sample problems of [`unsupported`]: bits, sample format, samples per pixel.
fn sample_problems(f: &Fields) -> Vec<String> {
    let mut why = Vec::new();
    let (bits, spp, bps) = (&f.bits, f.spp, f.bits[0]);
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
    if f.formats.iter().any(|&f| f != 1) {
        why.push(format!(
            "SampleFormat {:?} (unsigned integer only)",
            f.formats
        ));
    }
    if !(1..=4).contains(&spp) {
        why.push(format!("{spp} samples per pixel (1 to 4 supported)"));
    }
    why
}

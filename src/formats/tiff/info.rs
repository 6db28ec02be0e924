//! What [`inspect`](super::inspect) reports: the file and each IFD of its main chain, and
//! the mapping of a rectangle between IFDs ([`scale_rect`]).

/// How an IFD's pixels are cut into separately compressed chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    Strips { rows_per_strip: u32 },
    Tiles { w: u32, h: u32 },
}

/// One image file directory (full image, overview, mask or page).
#[derive(Debug, Clone, PartialEq)]
pub struct IfdInfo {
    pub index: usize,
    /// File offset of the IFD.
    pub offset: u64,
    pub width: u32,
    pub height: u32,
    pub bits_per_sample: u16,
    pub samples_per_pixel: u16,
    pub sample_format: u16,
    pub photometric: u16,
    pub planar: u16,
    pub compression: u16,
    pub predictor: u16,
    pub chunking: Chunking,
    /// NewSubfileType: bit 0 = reduced-resolution (overview), bit 1 = page, bit 2 = mask.
    pub subfile_type: u32,
    /// ExtraSamples (338): 1 = associated alpha, 2 = unassociated alpha, 0 = unspecified.
    pub extra_samples: Vec<u16>,
    /// Number of strips or tiles (all planes).
    pub chunk_count: usize,
    /// Images in SubIFDs (tag 330), which pixla does not read.
    pub sub_ifds: usize,
    /// Why this IFD cannot be edited; `None` when [`read_window`](super::read_window) and [`rewrite`](fn@super::rewrite) accept it.
    pub unsupported: Option<String>,
}

impl IfdInfo {
    /// Reduced-resolution version of another image (a GDAL internal overview).
    pub fn is_overview(&self) -> bool {
        self.subfile_type & 1 != 0
    }
    /// Transparency mask (GDAL internal mask).
    pub fn is_mask(&self) -> bool {
        self.subfile_type & 4 != 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TiffInfo {
    pub bigtiff: bool,
    pub little_endian: bool,
    pub file_len: u64,
    /// The file carries GDAL's COG ghost header with tile leaders/trailers.
    pub cog_ghost: bool,
    pub ifds: Vec<IfdInfo>,
}

/// Scale a rectangle of IFD `from` onto IFD `to` (e.g. full image → overview), rounding
/// outwards so the result covers every pixel the rectangle touches; clipped to `to`.
/// Returns `None` if it falls outside.
pub fn scale_rect(
    info: &TiffInfo,
    from: usize,
    to: usize,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
) -> Option<(u32, u32, u32, u32)> {
    let (a, b) = (info.ifds.get(from)?, info.ifds.get(to)?);
    let sx = |v: u64, up: bool| -> u64 {
        let n = v * b.width as u64;
        if up {
            n.div_ceil(a.width as u64)
        } else {
            n / a.width as u64
        }
    };
    let sy = |v: u64, up: bool| -> u64 {
        let n = v * b.height as u64;
        if up {
            n.div_ceil(a.height as u64)
        } else {
            n / a.height as u64
        }
    };
    let x0 = sx(x as u64, false).min(b.width as u64);
    let y0 = sy(y as u64, false).min(b.height as u64);
    let x1 = sx(x as u64 + w as u64, true).min(b.width as u64);
    let y1 = sy(y as u64 + h as u64, true).min(b.height as u64);
    (x1 > x0 && y1 > y0).then(|| (x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32))
}

//! TIFF / GeoTIFF surgery: change only the pixels under redactions, keep every other byte.
//!
//! Survey orthophotos are GeoTIFFs, often a gigapixel or more, tiled, with georeferencing,
//! GDAL metadata, nodata and internal overviews in their tags. Re-encoding them with a generic
//! image library loses the tags and needs the whole raster in memory. This module instead
//!
//! 1. [`inspect`]s the file: header and IFD chain only (classic TIFF and BigTIFF, `II` and
//!    `MM`), every offset and count checked against the file length, IFD loops refused;
//! 2. [`read_window`]s: decodes only the strips or tiles that intersect a window, one at a time;
//! 3. [`rewrite`](fn@rewrite)s: copies the source into the caller's (temporary) output file (byte for
//!    byte, except bytes no IFD references, which are zeroed or cut: [`copy_examined`]),
//!    then decodes each strip or tile that intersects a patch, writes the patch pixels over it,
//!    re-encodes it with the same compression and predictor, and puts it back: in its old slot
//!    if it fits (the rest of the slot zero-filled), else appended at the end of the file with
//!    the whole old slot zero-filled, so the unredacted pixels of a touched chunk survive
//!    nowhere. Only the touched elements of the StripOffsets/TileOffsets and
//!    StripByteCounts/TileByteCounts arrays change; every tag, GeoTIFF key, GDAL metadata,
//!    nodata, ICC, XMP and EXIF byte stays as it was.
//!
//! Memory is bounded by one decoded chunk (at most [`MAX_CHUNK_BYTES`]) plus the windows the
//! caller passes, plus the offset arrays (8 bytes per chunk), whatever the image size.
//!
//! Supported layouts (anything else is reported in [`IfdInfo::unsupported`] and refused by
//! [`read_window`] / [`rewrite`](fn@rewrite)):
//! - compression none (1), LZW (5, MSB-first as written by libtiff/GDAL), Deflate (8 and
//!   32946), PackBits (32773);
//! - predictor none (1) or horizontal differencing (2);
//! - 8- or 16-bit unsigned integer samples, 1 to 4 samples per pixel, photometric
//!   BlackIsZero (1) or RGB (2), PlanarConfiguration contiguous (1) or separate (2);
//! - strips or tiles, partial edge chunks, sparse chunks (offset 0 and byte count 0, read as
//!   the GDAL_NODATA value or 0);
//! - any number of IFDs in the main chain (GDAL internal overviews, masks, page chains);
//! - every strip or tile with bytes of its own: chunks that share bytes, or overlap the TIFF
//!   structure, are refused by [`inspect`] (so the work of reading a file is bounded by its
//!   size: at most one non-empty chunk per byte);
//! - GDAL's COG "ghost" layout: the 4-byte size leader and 4-byte trailer of each tile are
//!   kept consistent; if a tile has to be appended, the ghost's
//!   `KNOWN_INCOMPATIBLE_EDITION=NO` is switched to `YES` in place, as GDAL itself does.
//!
//! PackBits is the only codec written here by hand (a few lines, no maintained crate exposes
//! one); LZW is `weezl` (the `tiff` crate's own codec) and Deflate is `flate2`.
//!
//! One file per thing: the IFD reader shared with EXIF (`ifd`), the tag numbers (`tags`),
//! the parsed file and its IFD chain (`parse`), an IFD turned into chunk geometry (`build`,
//! `layout`), the public types (`info`, `window`), one chunk decoded and encoded (`chunk`)
//! with its compressions (`codec`), the copy of what the IFDs reference (`examined`),
//! reading windows (`reader`) and patching chunks (`rewrite`).

pub(crate) mod ifd;

mod build;
mod chunk;
mod codec;
mod examined;
mod info;
mod layout;
mod parse;
mod reader;
mod rewrite;
mod tags;
mod window;

pub use examined::{copy_examined, Trim};
pub use info::{scale_rect, Chunking, IfdInfo, TiffInfo};
pub use reader::{inspect, read_window, verify, TiffReader};
pub use rewrite::{rewrite, RewriteStats};
pub use window::{Samples, Window};

/// Largest decoded strip or tile this module will hold in memory.
pub const MAX_CHUNK_BYTES: u64 = 256 << 20;
/// Largest window [`read_window`] will allocate.
pub const MAX_WINDOW_BYTES: u64 = 4 << 30;
const MAX_IFDS: usize = 4096;
const MAX_ENTRIES: u64 = 65535;
const MAX_CHUNKS: u64 = 1 << 24;

//! JPEG internals: the source's quantisation tables ([`tables`]), its metadata segments
//! carried over around the redacted picture ([`meta`]), and the lossless path that rewrites
//! only the DCT blocks under a redaction ([`lossless`], with the 8×8 DCT of the blocks a fill
//! covers in part in `dct`).
//!
//! The metadata is one file per concern, under [`meta`] (the assembly and the public API): the
//! marker walk (`segments`), EXIF (`exif`), XMP (`xmp`), the MPF index (`mpf`), Photoshop
//! resources (`photoshop`), and the previews rendered from the redacted pixels (`previews`).

mod dct;
mod exif;
pub mod lossless;
pub mod meta;
mod mpf;
mod photoshop;
mod previews;
mod segments;
pub mod tables;
#[cfg(test)]
mod testdata;
mod xmp;

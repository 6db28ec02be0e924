//! Image formats: reading a file into stored pixels ([`decode`]), writing redacted pixels back
//! in the input's own format ([`encode`]), and the format internals that let pixla change only
//! what it hides: JPEG metadata and DCT-domain rewriting ([`jpeg`]), TIFF strip and tile
//! patching ([`tiff`]).

pub mod decode;
pub mod encode;
pub mod jpeg;
pub mod tiff;

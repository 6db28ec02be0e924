//! JPEG internals: the source's quantisation tables ([`tables`]), its metadata segments
//! carried over around the redacted picture ([`meta`]), and the lossless path that rewrites
//! only the DCT blocks under a redaction ([`lossless`]).

pub mod lossless;
pub mod meta;
pub mod tables;

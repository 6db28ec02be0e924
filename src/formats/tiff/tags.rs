//! TIFF tag numbers pixla reads (TIFF 6.0, GDAL, EXIF pointers).

pub(super) const T_NEW_SUBFILE_TYPE: u16 = 254;
pub(super) const T_WIDTH: u16 = 256;
pub(super) const T_HEIGHT: u16 = 257;
pub(super) const T_BITS: u16 = 258;
pub(super) const T_COMPRESSION: u16 = 259;
pub(super) const T_PHOTOMETRIC: u16 = 262;
pub(super) const T_FILL_ORDER: u16 = 266;
pub(super) const T_STRIP_OFFSETS: u16 = 273;
pub(super) const T_SPP: u16 = 277;
pub(super) const T_ROWS_PER_STRIP: u16 = 278;
pub(super) const T_STRIP_BYTE_COUNTS: u16 = 279;
pub(super) const T_PLANAR: u16 = 284;
pub(super) const T_PREDICTOR: u16 = 317;
pub(super) const T_TILE_WIDTH: u16 = 322;
pub(super) const T_TILE_LENGTH: u16 = 323;
pub(super) const T_TILE_OFFSETS: u16 = 324;
pub(super) const T_TILE_BYTE_COUNTS: u16 = 325;
pub(super) const T_EXTRA_SAMPLES: u16 = 338;
pub(super) const T_SAMPLE_FORMAT: u16 = 339;
pub(super) const T_GDAL_NODATA: u16 = 42113;
pub(super) const T_SUB_IFDS: u16 = 330;
pub(super) const T_EXIF_IFD: u16 = 34665;
pub(super) const T_GPS_IFD: u16 = 34853;
pub(super) const T_INTEROP_IFD: u16 = 40965;

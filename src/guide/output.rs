//! What a run writes: images format by format, clean copies, the report, exit codes.
//!
//! `pixla redact IN -o OUT` mirrors the input tree under OUT and writes one report for the batch,
//! `OUT/pixla-report.json` unless `--report` says otherwise. This page says exactly what reaches
//! OUT. The audit side of the report is in [`crate::guide::delivery`] (*The audit record*).
//!
//! # Images
//!
//! - For each image with something to hide: the redacted image, same format, same bit depth and
//!   colour type, and nothing else changed:
//!   - **JPEG, lossless path (default).** Only the DCT blocks under a redaction are rewritten, in
//!     the compressed domain (libjpeg's coefficient API, built from source by `mozjpeg-sys`).
//!     A fill is done to the pixel: blocks wholly inside it are set to black, and a block it
//!     covers in part is decoded, its covered samples set to black, and encoded again with the
//!     file's own quantisation table, so that the covered pixels decode as black (a chroma
//!     block that cannot be made neutral under the box within 2 levels is made neutral whole:
//!     grey, not tinted, beside the box). A pixelated box is widened to the MCU grid (8×8 or
//!     16×16/16×8 px) and every block of a cell (whole MCUs) gets the cell's mean DC and no AC
//!     energy; the report records the widened box and the MCU size. Every other block keeps
//!     its quantised coefficients bit for bit; quantisation tables, sampling factors, component
//!     ids, restart interval and baseline/progressive are kept; the Huffman tables are rebuilt
//!     (optimised, so the file usually gets a little smaller). Arithmetic-coded (SOF9/SOF10,
//!     decoded by libjpeg, built with its arithmetic decoder), 12-bit, CMYK files, a scan libjpeg
//!     finds corrupt, and `blur` take the re-encode path, and the report says why (`fallback`).
//!   - **JPEG, re-encode path.** Re-encoded at the quality estimated from the source's
//!     quantisation tables.
//!   - **JPEG metadata.** Every APPn segment (EXIF with GPS and orientation, XMP including DJI
//!     `drone-dji`, ICC, IPTC, MPF) and comment is copied byte for byte, except previews of the
//!     scene: the EXIF IFD1 thumbnail, the MPF images after the main image (DJI's 960-px
//!     preview) and a Photoshop thumbnail are re-rendered from the redacted pixels (the MPF
//!     index is recomputed), or removed with `--previews remove`; JFIF/JFXX thumbnails,
//!     FlashPix segments, image data in XMP and extended XMP are removed. exiftool reads the
//!     same tags from output and input except those previews (tested on DJI files).
//!   - **TIFF / GeoTIFF.** Rewritten in place (`src/formats/tiff/`): the file is copied byte for
//!     byte and only the strips or tiles that intersect a region are decoded, redacted,
//!     re-compressed with the same compression and predictor, and put back (in their old slot,
//!     or appended with the old slot zeroed, so the unredacted pixels survive nowhere). Every
//!     tag (GeoTIFF keys, GDAL metadata and nodata, ICC, XMP, EXIF) stays byte-equal; only the
//!     touched offsets/byte counts change. Internal overviews (`gdaladdo`) get the same regions,
//!     scaled. Strips and tiles, none/LZW/Deflate/PackBits, predictor 2, 8/16-bit, grey/RGB with
//!     or without alpha, classic TIFF and BigTIFF, both byte orders. A multi-page TIFF, or one
//!     with SubIFDs (tag 330), is refused (its other images would go unexamined), and so is one
//!     whose strips or tiles share bytes or overlap the TIFF structure (so the work is bounded by
//!     the file's size). Bytes that no IFD references (data appended after the image or hidden
//!     between its parts) never reach the output: they are zeroed, or cut at the end, and the
//!     report lists them. A layout that cannot be edited in place (JPEG-in-TIFF, 32-bit float
//!     RGB/RGBA) is decoded and re-encoded, in its own pixel type (float stays float; the
//!     detectors see it scaled to 8 bits), its extra tags lost, and the report says so; float
//!     grey and 64-bit float TIFFs fail (the decoder does not read them).
//!   - **Huge orthophotos.** A TIFF above `--max-megapixels` is never decoded whole: detection
//!     reads each tile's window from the file, the whole-image pass is built from 512-row bands
//!     (or from an internal overview), and regions are redacted in pieces of at most 64 MB.
//!   - PNG: lossless, colour/text/EXIF/XMP chunks copied (same preview and stripping rules);
//!     pixels outside the boxes are identical (tested).
//! - For each image with nothing to hide: a byte-for-byte copy (`"status": "clean"`, `"encoding":
//!   "copy"`) when the file holds nothing but the image the detectors examined. Otherwise only
//!   that image reaches OUT, with its metadata (`"encoding": "metadata-only"`: the JPEG scans, PNG
//!   image data and TIFF strips are kept byte for byte): what follows a JPEG's end-of-image or a
//!   PNG's IEND is dropped, a TIFF's unreferenced bytes are zeroed or cut, and previews (EXIF, MPF
//!   and Photoshop thumbnails, images in XMP), which no detector looked at and which may show
//!   another picture, are re-rendered from the examined pixels (or removed with `--previews
//!   remove`), as for a redacted image; `metadata_removed`/`metadata_regenerated` say what. With
//!   `--strip-gps` or `--strip-metadata` it is rewritten too (a PNG is then re-encoded
//!   losslessly, `"encoding": "lossless"`).
//! - Outputs are written to `.pixla-*.tmp` in the target folder, fsynced and renamed into place;
//!   inputs are only ever opened for reading.
//! - The report (`pixla-report/1`): tool and ONNX Runtime version, command line, operator, host,
//!   start/finish, configuration, each model's role, name, sha256, licence and execution
//!   provider, and per file: relative input/output path, sha256 and size of both, format, size,
//!   EXIF orientation, status (`redacted`, `clean`, `failed`, `skipped`), error and, for a failed
//!   file, its kind (`error_kind`: `decode` corrupt or truncated, `limit` over a size or work
//!   limit, `unsupported` a format or feature pixla does not redact, `io` a read, write or path
//!   refusal, `review` a reviewer's correction that cannot be applied, `internal` a detector
//!   failure or a bug; a script can branch on it, the words of `error` may change), regions (class,
//!   score, hidden box `[x,y,w,h]` in stored pixels, detector box before margin, method, block
//!   size, source model), metadata kept, removed (e.g. `gps (exif GPS IFD, 7 tags)`, `xmp
//!   drone-dji:AbsoluteAltitude`) and regenerated (e.g. `exif-thumbnail 160x120`, `mpf-image 2
//!   (960x540)`), metadata dropped (a format limit), encoding (`copy`, `metadata-only`,
//!   `lossless`, `reencode`) with the JPEG quality, the MCU size pixelated boxes were widened
//!   to (`mcu`), the DCT blocks or TIFF chunks rewritten (`blocks_changed`) and, when the lossless
//!   path was not taken, why (`fallback`), time taken. No pixels, no crops, no absolute input
//!   paths.
//!
//! # Exit codes
//!
//! `0` every image redacted or clean · `1` some files failed (each listed in the report with its
//! reason; no output is written for them) · `2` usage or set-up error (missing or tampered model,
//! no ONNX Runtime, output inside input, bad flag): nothing was processed, and the message says how
//! to fix it · `130` interrupted by SIGINT/SIGTERM: the report lists the files not done as
//! `pending`; continue with `--resume` (see [`crate::guide::resume`]).
//!
//! `check`, `verify`, `purge` and `eval` have their own, in [`crate::guide::delivery`],
//! [`crate::guide::eval`] and their `--help`.

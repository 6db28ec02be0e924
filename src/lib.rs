//! pixla: hide people and licence plates in drone and aerial photos.
//!
//! A batch runs one file at a time through named stages:
//!
//! ```text
//! walk ─▶ decode ─▶ find (tiles, whole image, pyramid ─▶ merge ─▶ plates in vehicles)
//!      ─▶ plan regions (+ a reviewer's corrections) ─▶ hide ─▶ encode ─▶ write ─▶ report
//! ```
//!
//! `batch::run_batch` strings them together for a batch; the `pixla` binary only parses
//! flags, calls the library, prints the result and maps the outcome to an exit code. How to use
//! pixla, one topic a page, is in [`guide`].
//!
//! # The API
//!
//! The modules are private. What a program driving pixla needs (the `pixla` binary is one) is
//! re-exported at the root, by stage: a batch ([`run_batch`], [`RunOptions`], [`Config`],
//! [`Observer`]), the report ([`Report`], [`FileEntry`], [`Status`], [`Source`]), the delivery
//! ([`check()`], [`verify()`], [`purge()`], [`evaluate`], [`build_review`]), the models
//! ([`registry`], [`install`]) and the set-up error ([`SetupError`]). The integration tests,
//! benches and fuzz targets reach the rest through one hidden module, `internal_tests`, which
//! is not part of the API.
//!
//! # Layout and layers
//!
//! One folder (or file) per concern under `src/`, a file per thing. From the bottom up:
//!
//! | layer | modules | what they hold |
//! |---|---|---|
//! | 0 | `geom`, `home`, `stats`, [`guide`] | boxes and orientation maths; pixla's home and pinned runtime; stage timings; the user guide |
//! | 1 | `error` | the set-up errors that stop a run |
//! | 2 | `fsio` | atomic writes, reads of regular files only, sha256, paths that stay inside a folder, and the walk over the inputs |
//! | 3 | `redact` | the hiding methods on pixels |
//! | 4 | `detect`, `formats` | the detectors, their registry, installer, runtime, tiling and merging; decoding, encoding and the JPEG and TIFF internals |
//! | 5 | `config` | the settings of a run |
//! | 6 | `find`, `report` | the detection passes over one picture; the report document |
//! | 7 | `review` | the review page and the reviewer's sidecar |
//! | 8 | `file` | one file end to end: region planning, corrections, the TIFF path, the read-only scan |
//! | 9 | `batch` | a batch, its journal, signals and progress observer, and the review re-run |
//! | 10 | `delivery`, `eval` | `check`, `verify` and `purge`; the evaluation against labels |
//! | 11 | `cli` (binary only) | the commands' flags and printing |
//!
//! **The layer rule:** a module may use (`use crate::…` or a `crate::` path in code) only
//! items of its own top-level module or of a lower layer; modules of one layer do not use each
//! other. So there is no import cycle between folders, and a change to a lower layer never
//! needs a higher one. Doc links may point anywhere. A unit test (`src/layers.rs`) scans
//! `src/**/*.rs` and fails on an import from a higher layer. Inside a folder, modules form no
//! cycle either: a folder's `mod.rs` declares its files and, where it holds code, is used by
//! them, not the other way round.
//!
//! # Design
//!
//! The library is the API (as in oxipng); `src/main.rs` only parses flags and dispatches to
//! `src/cli/`, which prints results and maps outcomes to exit codes; the library reports a
//! batch's progress through `batch::observer::Observer` and `cli/progress.rs` draws the bar,
//! apart from the work (as hyperfine does); `detect/registry.rs` is the model
//! registry and `detect/install.rs` the installer (as ocrs's `models.rs`). Where it differs from
//! `../shared/docs/design.md`, and why:
//!
//! - **Threads.** rayon runs images and, inside each, tiles and vehicle crops in parallel. Each
//!   model has one ONNX Runtime session per worker thread with one intra-op thread, chosen by the
//!   rayon worker index, so the two thread pools never oversubscribe the cores and sessions never
//!   wait on each other. One ORT environment per process.
//! - **Clean images are copied, not re-encoded.** Nothing to hide means nothing may change.
//! - **Fail closed, including where decoders are lenient.** JPEG decoders fill a truncated scan
//!   with grey and report success; pixla requires an end-of-image marker after the scan, so a cut
//!   file fails instead of being "redacted" with its bottom missing. The format is read from the
//!   content; a PNG named `.jpg` is an error, not a guess. Image size is checked from the header
//!   before any pixel buffer is allocated.
//! - **Detection runs upright, redaction on stored pixels.** EXIF orientation is applied to a
//!   copy for the detectors; boxes are mapped back through the orientation (all eight are tested),
//!   and the stored pixels and orientation tag are left as they were.
//! - **Merging.** Tiles, the whole-image pass and per-cell outputs are merged per class by greedy
//!   non-maximum merging on intersection-over-smaller (SAHI's GREEDYNMM, 0.5): a box cut by a tile
//!   edge is absorbed by the whole box from the neighbouring tile (the union is kept, so
//!   redaction only grows). Vehicle classes (car, motorcycle, bus, truck) are one class, because
//!   NanoDet labels the same jeep car and truck.
//! - **Plates are found in vehicles**, on crops upscaled up to 4×, not on every tile: cheaper,
//!   and it gates a text detector that would otherwise fire on road signs.
//! - **Irreversibility.** Persons: pixelated with ~4 blocks across the box's short side, after a
//!   15 % + 2 px margin. Plates: solid black (pixelated text can be matched back). Fill makes alpha
//!   opaque so nothing hides under transparency.
//! - **Sharding** is a stable FNV-1a hash of the relative path, so every machine of a job array
//!   agrees without coordination.
//! - **Change only what is hidden** (the design sketch re-encoded everything). JPEG: the
//!   DCT-domain path in `formats/jpeg/lossless.rs` uses libjpeg's own coefficient API
//!   (`jpeg_read_coefficients` / `jpeg_write_coefficients`), compiled from source by
//!   `mozjpeg-sys` without NASM, so a fresh machine needs nothing new; libjpeg errors unwind as
//!   Rust panics (the crate's `unwinding` feature) and are caught per file. Writing a Huffman
//!   codec ourselves would have been more code for the same result. The 8×8 DCT of the blocks a fill
//!   covers in part (`formats/jpeg/dct.rs`) is written here: the standard's two formulas over
//!   64 cosines. Pixelated boxes are widened to the MCU
//!   grid *before* a review's suppress boxes are matched, so a report's boxes always match the
//!   next run's. TIFF: `formats/tiff/rewrite.rs` patches strips/tiles inside a byte copy of the file (no
//!   crate writes arbitrary TIFF tags back), and `file/tiff/patch.rs` reads the rewritten file back
//!   before renaming it into place. Metadata: `formats/jpeg/meta.rs` assembles the output from the
//!   source's segments and re-renders previews from the redacted pixels.
//! - **Detection reads through a `Raster`** (`find::passes::detect_raster`): a picture in memory, or
//!   a TIFF read tile by tile, so a 1-gigapixel orthophoto is never decoded whole. On pictures
//!   much bigger than a tile, **pyramid passes** (tiles over copies downscaled by 4, 16, …) see
//!   objects between the tile scale and the whole-image scale: on the 1-gigapixel test picture
//!   (a street photo upscaled 50×) the tiles and the whole-image pass alone missed a 22,000 px
//!   tall person. They cost nothing on pictures under 4 tile edges (2,560 px), and about 7 % more
//!   tiles on a 20 MP frame.
//! - **One set of detection flags** (`DetectArgs` in `cli/detect_args.rs`) for `redact`, `check` and `eval`,
//!   and one library pipeline behind them (`find::passes::detect_raster` + `file::plan::plan_regions`):
//!   a gate or an evaluation can never drift from what a delivery was made with. The design
//!   sketch had separate options per command.
//! - **Delivery commands are library modules** (`delivery::check`, `delivery::verify`, `delivery::purge`,
//!   `eval`), each returning a result struct; `cli/` prints it and picks the exit code.
//!   The report's JSON Schema is a versioned file (`fixtures/schema/pixla-report-1.schema.json`)
//!   embedded in the binary, so `verify` needs no repository.
//! - **The journal is the crash record** (`batch::journal`): an append-only JSON-lines file in
//!   OUT, fsynced after each output's rename, so a SIGKILL at any moment leaves either a finished,
//!   journaled output or a temp file that `--resume` deletes. Signals (`batch::signals`,
//!   `signal-hook`) only set a flag that the workers read before starting a file.
//! - **User models behind the same trait** (`detect::Detector`): `--model` swaps the tile
//!   detector; the registry entry of a user model is made once per process (`Box::leak`), so
//!   `spec()` stays a plain `&'static` borrow for the built-in ones.
//! - **Stage counters** (`stats`): an atomic add per stage and tile, always on; `--timings`
//!   prints them, and `benches/sahi_compare.py` uses them to put pixla's wall time beside its pure
//!   inference time.
//!
//! # Written by hand rather than taken from a crate, and why
//!
//! The JPEG quality estimate (12 lines on
//! the DQT segment; no crate exposes it), the box blur and pixelation (generic over every pixel type
//! the `image` crate decodes, which imageproc's filters are not), PaddleOCR's DB post-processing
//! (on imageproc's connected components), the JPEG end-of-image check (no decoder reports
//! truncation), the TF.js converter (no light converter exists), the DCT-domain fill and
//! pixelation (on libjpeg's coefficient arrays; no crate offers them), the TIFF IFD parser and
//! chunk patcher and PackBits (no crate rewrites a TIFF while keeping its tags; LZW is `weezl`,
//! Deflate `flate2`), the EXIF/MPF offset surgery for previews and GPS (kamadak-exif reads, but
//! cannot edit in place; XMP is parsed with `roxmltree`), the review page's HTML/JS (one file,
//! no network), the COCO/YOLO label readers (short, on serde_json) and eval's matching and metrics,
//! a parser for Ultralytics' `names` metadata (a Python dict literal, not JSON; about 20 lines),
//! the exact area of a union of rectangles inside a box for `check`'s coverage (about 20 lines; a
//! polygon boolean-ops crate is a big dependency for axis-aligned boxes), the path cutting for the
//! report's command line and errors (rules specific to pixla), and the APNG and 4-component JPEG
//! checks (a few bytes of chunk/segment headers, read before decoding; `png` and `img-parts` do not
//! expose them). Taken from crates instead: `jsonschema` (schema validation), `signal-hook`
//! (signals), `fast_image_resize` (SIMD resizing), `cargo-fuzz`/`libfuzzer-sys` (fuzzing).

mod batch;
mod config;
mod delivery;
mod detect;
mod error;
mod eval;
mod file;
mod find;
mod formats;
mod fsio;
mod geom;
pub mod guide;
mod home;
#[cfg(test)]
mod layers;
mod redact;
mod report;
mod review;
mod stats;

// The API: the modules are private, and what a program driving pixla needs (the `pixla`
// binary is one) is re-exported here, by stage.

// A batch: settings, run, progress, a reviewer's corrections.
pub use batch::observer::Observer;
pub use batch::provenance::{host, operator};
pub use batch::regions::{run_regions, RegionsOptions};
pub use batch::signals::install as install_signal_handlers;
pub use batch::{run_batch, Outcome, RunOptions};
pub use config::{Config, JpegMode, ObjectModels, UserModel};
pub use detect::yolo::parse_class_map;
pub use detect::Class;
pub use formats::jpeg::meta::{MetaOptions, Previews};
pub use redact::Method;
// The report.
pub use report::{
    merge_shards, public_command, read as read_report, read_accuracy, Encoding, FileEntry, Region,
    Report, Run, ShardInput, Source, Status,
};
// The delivery: check, verify, purge; evaluation; the review page.
pub use delivery::check::{check, CheckResult};
pub use delivery::purge::{purge, PurgeOptions, PurgeResult};
pub use delivery::verify::{verify, VerifyOptions, VerifyResult};
pub use eval::{run as evaluate, table as eval_table, EvalOptions, EvalReport};
pub use review::{build as build_review, ReviewOptions, ReviewOutcome};
// Models: the registry, the installer, ONNX Runtime; errors; small file helpers.
pub use detect::onnx::locate as locate_runtime;
pub use detect::{install, registry};
pub use error::{FileErrorKind, SetupError};
pub use fsio::inside::resolve as resolve_path;
pub use fsio::write_atomic;
pub use home::ORT_VERSION;
pub use stats::snapshot as stage_timings;

/// Everything else, for pixla's own integration tests, benches and fuzz targets only: not
/// part of the API, and free to change.
#[doc(hidden)]
pub mod internal_tests {
    macro_rules! reexport {
        ($($m:ident),*) => { $(pub mod $m { pub use crate::$m::*; })* };
    }
    reexport!(
        batch, config, delivery, detect, error, eval, file, find, formats, fsio, geom, home,
        redact, report, review, stats
    );
    // Old module paths the tests were written against.
    pub use crate::delivery::verify;
    pub use crate::detect::{merge, onnx as runtime, tile};
    pub use crate::formats::jpeg::{lossless as jpeg_lossless, meta as jpegmeta};
    pub use crate::formats::{decode, encode, tiff as tiffedit};
    pub use crate::review::sidecar;
    /// The settings, detection and region planning.
    pub mod pipeline {
        pub use crate::config::Config;
        pub use crate::file::plan::redact_regions;
        pub use crate::file::process;
        pub use crate::find::loaded::Models;
        pub use crate::find::passes::detect_image;
        pub use crate::find::raster::{read_fit, MemRaster, Raster};
        pub use crate::find::{Found, FoundBy};
    }
    /// The model registry and pixla's home.
    pub mod models {
        pub use crate::detect::registry::*;
        pub use crate::fsio::sha256_file;
        pub use crate::home::home_dir;
    }
}

/// Version of this build, written into every report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

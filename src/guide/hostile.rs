//! Hostile input, paths and links: what pixla refuses, what it never follows, and the test corpus.
//!
//! - **Nothing is written or deleted outside OUT.** Before writing, pixla checks that the
//!   output's path has no symbolic link between OUT and the file (OUT itself may be one) and
//!   resolves inside the resolved OUT. A link in OUT (`OUT/sub -> /somewhere`), dangling or not,
//!   even one back into OUT, makes that file fail ("leads outside the output folder", or "not
//!   followed"); nothing is written there. The report, the journal and a review's re-run (its
//!   writes and its removal of an earlier output) follow the same rule; `verify` and `purge`
//!   read a delivery the same way (an output must be a regular file, never a link).
//! - **Symbolic links in IN:** a link to a file inside IN is read (never written); a link to a file
//!   outside IN is not followed (the file fails: a delivery holds only what is under IN); links to
//!   folders are not followed (so link loops cannot hang the walk); broken and self-referencing
//!   links fail with the reason. FIFOs, sockets and devices named like images fail ("not a regular
//!   file") and are never opened.
//! - **Models and ONNX Runtime:** a model file (in `--models-dir`, or `--model`) and the ONNX
//!   Runtime library must be regular files, links resolved, before they are opened or hashed: a
//!   FIFO, device or folder in their place is a set-up error (exit 2) with a `fix:` line, never a
//!   hang. An `ORT_DYLIB_PATH` that is set is the only library tried: when it is a folder, a
//!   device or missing, the run stops (exit 2) instead of quietly loading the installed runtime.
//! - **Unusual but valid images:** grey and CMYK JPEGs, and 16-bit, grey+alpha, RGBA and palette
//!   PNGs are redacted, or copied byte for byte when clean, keeping their pixel type, with two
//!   exceptions: a palette (or 1/2/4-bit) PNG that gets redacted is written as 8-bit RGB(A) (every
//!   untouched pixel is exact, but the pixelation averages are colours the palette lacks); a
//!   CMYK/YCCK JPEG with something to hide fails with a clear reason (the lossless DCT path does not
//!   take 4-component JPEGs yet, and re-encoding would turn it into RGB under its CMYK profile).
//!   Animated PNGs (APNG) are refused, like multi-page TIFFs: redacting the first frame would leave
//!   the others unexamined. GIF is not a format pixla redacts: a `.gif` is `skipped` (not copied to
//!   OUT); a GIF under an image extension fails.
//! - **Decompression bombs.** Every compressed stream pixla or a decoder inflates has a limit: a
//!   PNG's `iCCP`, `zTXt` and compressed `iTXt` chunks are inflated into nothing before decoding
//!   and the file fails when one inflates to more than 16 MB (a 2 MB PNG whose ICC profile
//!   inflates to 2 GB fails at once, in the memory of a plain file); TIFF strips and tiles
//!   (Deflate, LZW, PackBits) are inflated into a buffer of the chunk's own decoded size (at most
//!   256 MB), never more; pixel data is bounded by `--max-megapixels` from the header.
//! - **The corpus.** `tests/hostile.rs` generates 63 cases in one batch (no downloads) and checks
//!   each one's status, error text, that failed files have no output, the output's pixel type, that
//!   the rest of the batch was done (exit 1), that nothing was written outside OUT and no temp file
//!   or journal is left. The case → outcome table goes to `target/test-output/hostile.md`: zero-byte,
//!   JPEG cut in its metadata or its scan, truncated PNG and TIFF, wrong extensions, text named
//!   `.jpg`, headers claiming 65535×65535, 10⁶×10⁶ and 100000×100000, zero width, bad CRC,
//!   multi-page TIFF, APNG, animated GIF, CMYK with and without people, grey/16-bit/alpha/palette,
//!   data after a clean JPEG/PNG/TIFF and between a TIFF's parts (another JPEG, of people), a
//!   people thumbnail in a clean JPEG, a SubIFD, a two-page float TIFF, iCCP/zTXt/iTXt bombs,
//!   100,000 strips at one offset, strips inside the IFD, arithmetic JPEG, float TIFF,
//!   names with spaces, newlines and non-UTF-8 bytes, a folder named `x.jpg`, links in and out of IN,
//!   loops, dangling links, a FIFO, an unreadable file (run as uid 65534 with `setpriv`, since root
//!   reads mode 000), a file where an output folder must go, a read-only tmpfs and a full 64 KB tmpfs
//!   under OUT (`RLIMIT_FSIZE` where `mount` is not allowed), links out of OUT, a truncated and a
//!   wrong-sha256 model and a broken ONNX Runtime (those three are set-up errors: exit 2, nothing
//!   processed, the message says how to fix it).
//! - **Fuzzing.** A cargo-fuzz target for the decode-and-tile path lives in `tests/fuzz` (a separate
//!   crate with its own workspace, never built by `cargo test`): `decode::decode` (format sniffing,
//!   size limits, JPEG completeness and APNG checks, pixel decoding), `upright_rgb`, `tile::tiles`,
//!   a read of every tile, `overview` and `read_fit`.
//!
//!   ```sh
//!   cargo install cargo-fuzz
//!   python3 tests/fuzz/make_seeds.py tests/fuzz/corpus/decode_tile ../shared/fixtures/metadata/webodm_tiny_drone_image.jpg
//!   RUSTC_BOOTSTRAP=1 nice -n 19 cargo fuzz run --fuzz-dir tests/fuzz -s none decode_tile -- \
//!       -max_total_time=900 -rss_limit_mb=2048 -max_len=65536 -timeout=10
//!   ```
//!
//!   (the stable toolchain with `RUSTC_BOOTSTRAP=1`; `-s none` because it has no sanitizer
//!   runtimes). Measured: 25 minutes in two runs, 2.17 M executions at 1,300–1,600 exec/s on the
//!   shared 2-core machine, coverage 1,364 → 2,581 edges, peak RSS 68 MB, no crash, panic,
//!   out-of-memory or timeout.

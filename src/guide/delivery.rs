//! Delivery: the CI gate (`check`), `verify`, the audit record, and `purge` of the originals.
//!
//! The routine behind these commands: a CI job refuses a delivered set that still shows someone;
//! every change is logged with method, accuracy and who did it; the originals are handed back and
//! purged afterwards.
//!
//! ```sh
//! pixla redact raw/ -o delivered/ --operator "K. Berg" --accuracy eval-2026-05.json
//! pixla verify delivered/pixla-report.json                        # schema, output hashes, model hashes
//! pixla check delivered/ --report delivered/pixla-report.json     # the CI gate (writes nothing)
//! pixla purge delivered/pixla-report.json --input raw/            # dry run: what would be deleted
//! pixla purge delivered/pixla-report.json --input raw/ --yes      # delete the verified originals, log each step
//! ```
//!
//! # `pixla check IN... [--report R] [--json]`: the CI gate
//!
//! Runs redact's own detection (the same flags: `--tile`, `--threshold`, `--method`,
//! `--plate-model`, `--model`, …) on every image under IN and writes nothing. A **finding** is a
//! detection of a class whose method is not `none` (person, plate, face by default; vehicles are
//! not findings) that is not covered by an already-redacted region: covered = at least 50 % of the
//! detector's box (without margin) lies inside the union of the report's `regions[].box` for that
//! file whose pixels are hidden (below). A hidden box is the detector's box plus a 15 % margin, so a region the run hid covers its
//! detection entirely; a detection half outside shows at least half a person. A detection inside a
//! region a reviewer marked false (the report's `suppressed`) is accepted: the review decided.
//! Without `--report` there are no known regions and every detection is a finding (use it on
//! originals, or on a set redacted by another tool).
//!
//! With `--report`, IN is the report's output root: each image's path relative to IN is matched with
//! the report's `output`, and the set must be exactly the report's: every file's sha256 equals
//! `output_sha256` (`sha256-mismatch`), every listed output is present (`missing`), every image
//! under IN is in the report (`extra`; a `review/` page folder inside IN counts too, keep it
//! elsewhere), and no entry has status `failed` (the delivery is incomplete). An image that cannot be
//! decoded is `unreadable`. Non-image files (the report, logs) are ignored. Detection settings that
//! differ from the report's run are noted (`settings_differ`), not refused: a gate may be stricter.
//!
//! The report's boxes are not taken at their word: every region it says is hidden must be hidden in
//! the pixels on disk, else it is `region-not-hidden` and covers nothing (so an original copied
//! over its output, with the report's hashes edited to match, is refused twice: every region, and
//! the people it shows). On luma, each region is cut into cells as redact leaves them: blocks of the
//! recorded `block` size from the box's corner (pixelate), the whole box (fill), planes over cells
//! of an eighth of the short side (blur); the RMS deviation from the cell's model must be at most
//! 4 levels (JPEG re-encoding noise), or, pixelated, at most 5 % of the region's variance, and no
//! 8×8 tile may deviate by more than 12 (detail put back into part of a region). Only the pixels
//! no later region overwrote count (fill over pixelation over blur, in the report's order). On
//! pixla's outputs of the 21 fixtures (lossless JPEG, PNG, TIFF, re-encoded down to quality 50,
//! `--blocks 12`, blur) the deviation is at most 4.3 (worst tile 10.2); with the originals in their
//! place 4.6 and up, at 29 % of the variance or more. Blur is the weak case: a small region of an
//! already soft original (a 16×11 plate at quality 50) can pass as blurred.
//!
//! One line per finding or problem on stdout, a summary on stderr:
//!
//! ```text
//! sahi_terrain1.jpg: person 0.85 at [493,1030,168,201]
//! bad.jpg: failed: the report says this file failed: not a JPEG, PNG or TIFF image (unrecognised content)
//! pixla check: REFUSED (3 images: 1 findings, 0 unreadable, 0 sha256 mismatches, 0 missing, 0 extra, 1 failed in the report, 0 regions not hidden)
//! ```
//!
//! `--json` prints one document instead (boxes `[x, y, w, h]` in stored pixels):
//!
//! ```json
//! {
//!   "schema": "pixla-check/1", "passed": false,
//!   "report": "pixla-report.json", "report_sha256": "…",
//!   "classes": ["person", "plate", "face"], "covered_threshold": 0.5, "settings_differ": [],
//!   "summary": {"files": 3, "findings": 1, "covered": 0, "accepted_by_review": 0, "unreadable": 0,
//!               "sha256_mismatch": 0, "missing": 0, "extra": 0, "failed": 1, "regions_not_hidden": 0},
//!   "findings": [{"file": "a/DJI_0001.JPG", "class": "person", "score": 0.62, "box": [1510, 880, 22, 31],
//!                 "covered": 0.0, "source": "model:nanodet-m"}],
//!   "problems": [{"file": "bad.jpg", "kind": "failed", "detail": "the report says this file failed: …"}]
//! }
//! ```
//!
//! `kind`: `unreadable`, `sha256-mismatch`, `missing`, `extra`, `failed`, `region-not-hidden`.
//!
//! **Exit codes:** `0` pass · `1` refused (any finding, unreadable image, or with `--report` any
//! mismatch, missing, extra or failed file, or region not hidden) · `2` usage or set-up error:
//! nothing checked.
//!
//! **What the gate sees on real outputs** (the 21 fixtures redacted with the defaults, 46 persons
//! and 27 plates hidden, then checked; 14 s CPU): no pixelated person is detected again (1 person
//! finding, beside a hidden one in `nomeroff_example2`, score 0.35). The default plate detector,
//! pixla-plate, measured on the 6 plate close-ups (redacted with the defaults, then checked): it
//! fires beside 3 of pixla's own fills in `nomeroff_example2` (a black box on a bumper has a
//! plate's outline), and such a plate box touching a plate fill is taken as the fill's edge; two
//! weak false alarms at 0.51 remain (pavement in `nomeroff_10002_B8233XA`, a 17×4 box in
//! `nomeroff_example2`), so the gate refuses that set and says where. Plate bands and weak plates
//! (below the threshold) are fills, not findings. With the text detector (`--plate-model
//! ppocrv4-det`), the gate found 15 places beside the fills in 6 of the 7 close-ups. Drone frames
//! (`sahi_terrain1`, the DJI metadata frames) pass their own
//! outputs with the defaults. The gate stays fail-closed: a finding is shown to a person, never
//! silently dropped.
//!
//! GitHub Actions:
//!
//! ```yaml
//! # .github/workflows/delivery-gate.yml
//! name: delivery gate
//! on: [push]
//! jobs:
//!   gate:
//!     runs-on: ubuntu-latest
//!     steps:
//!       - uses: actions/checkout@v4            # the delivery: delivered/ with delivered/pixla-report.json
//!       - run: cargo install --locked --path tools/pixla    # or a prebuilt pixla
//!       - run: pixla models fetch
//!       - run: pixla verify delivered/pixla-report.json
//!       - run: pixla check delivered/ --report delivered/pixla-report.json --json > pixla-check.json
//!       - uses: actions/upload-artifact@v4
//!         if: always()
//!         with: { name: pixla-check, path: pixla-check.json }
//! ```
//!
//! GitLab CI:
//!
//! ```yaml
//! delivery-gate:
//!   script:
//!     - pixla models fetch
//!     - pixla verify delivered/pixla-report.json
//!     - pixla check delivered/ --report delivered/pixla-report.json --json > pixla-check.json
//!   artifacts:
//!     when: always
//!     paths: [pixla-check.json]
//! ```
//!
//! A non-zero exit fails the job; `pixla-check.json` says why.
//!
//! # `pixla verify REPORT [--outputs DIR] [--models-dir DIR] [--json]`
//!
//! 1. Validates the report against its JSON Schema, `fixtures/schema/pixla-report-1.schema.json`
//!    (draft 2020-12, embedded in the binary so `verify` works without the repository; validated
//!    with the `jsonschema` crate, default features off, so no network client is built in). Closed
//!    (`additionalProperties: false`) everywhere but `config`, which lists the detection settings
//!    and may gain new ones; statuses, classes, methods and encodings are enums; `redacted`/`clean`
//!    entries must have their output and hashes, `failed`/`skipped`/`pending` ones an `error` and
//!    no output. The tests validate real reports (plain, with failures, reviewed, sharded and
//!    merged, TIFF) against it, and broken ones against it too.
//! 2. Recomputes every output's sha256 and size (relative to the report's folder, or `--outputs`):
//!    `missing`, `sha256-mismatch`, `size-mismatch`. An output must be a regular file reached
//!    through real folders: a link, or a path through a linked folder, is `symbolic-link` (not
//!    followed); a folder, FIFO or device is `not-a-file`; a path that is not plain relative is
//!    `unsafe-path`. Every redacted output is decoded (no model is run) and each region the report
//!    says is hidden must be, by `check`'s pixel test: else `region-not-hidden`. This makes
//!    `verify` (and `purge`, which verifies first) about as slow as decoding the delivery.
//! 3. Compares each recorded model's sha256 with the installed file: `ok`, `mismatch`,
//!    `not-installed`, `unknown` (a model pixla does not know), and `pinned`: whether it is the
//!    sha256 pixla pins for that model.
//!
//! **Exit codes:** `0` all good (a model that is not installed is reported, not a failure) · `1` a
//! schema error, a missing, changed or linked output, a region not hidden in its pixels, or an installed model with another sha256 · `2` the
//! report cannot be read or is not JSON.
//!
//! # The audit record
//!
//! Besides what [`crate::guide::output`] lists: the operator (`--operator`, else `$PIXLA_OPERATOR`, else the OS
//! user), host, start and finish; per region class, score, detector box, hidden box, method, block
//! and source model (`model:<name>` or `manual:<reviewer>`). The margin is `config.margin` × box
//! size + `config.margin_px` per side (for a plate, at most a quarter of its detected box's shorter
//! side; twice `config.margin` for a weak plate), clipped, and for a pixelation on the lossless JPEG
//! path widened to the file's `mcu`, so it is derivable and not repeated per region; manual regions are hidden as drawn.
//! `redact --accuracy EVAL.json` records the measured accuracy of the configuration from a
//! `pixla eval --json` result (refused with exit 2 unless it has `"schema": "pixla-eval/1"` and a
//! `summary` object):
//!
//! ```json
//! "accuracy": {"file": "eval-2026-05.json", "sha256": "…", "schema": "pixla-eval/1",
//!              "summary": {"…": "the eval's summary object, verbatim"}}
//! ```
//!
//! **No personal data in the report.** No pixels, no crops; paths relative to the input and output
//! roots. The command line is recorded with the program as `pixla` and every absolute path (or path
//! with `..`), also in `--flag=VALUE`, cut to `…/<name>` (a home folder carries a user's name);
//! relative paths are kept as typed. `tool.onnxruntime` is the version and the library's file name
//! without its folder. Per-file errors have the absolute input and output roots cut out. Operator and
//! host stay: the routine asks who did it, and where. Tested: no absolute path of the input root
//! appears anywhere in the report.
//!
//! # `pixla purge REPORT --input ROOT [--yes] [--log FILE] [--outputs DIR] [--operator NAME]`
//!
//! Deletes the originals of a verified delivery (the routine's "hand the originals back, then purge"
//! step). ROOT is the input root the report's `input` paths are relative to. **A dry run by
//! default**: lists what would be deleted and why the others are kept, writes nothing. With `--yes`:
//!
//! - ROOT and the delivery folder (the report's folder, or `--outputs`) must be different trees:
//!   if, resolved, they are the same folder or one is inside the other, **nothing is deleted**
//!   (exit 2).
//! - First the delivery is verified as `verify` does: every output the report lists a regular
//!   file (not a link, not through a linked folder) with its recorded sha256. If one is not,
//!   **nothing is deleted**.
//! - Per file, the original is deleted only if its path is plain relative, resolves inside ROOT
//!   with no symbolic link on the way, it is not the same file as its output (device and inode:
//!   a hard link), and its sha256 is the report's `input_sha256`. Kept (refused): a file that
//!   failed or has no output (the original is the only copy), one changed since the run, one
//!   behind a symbolic link or outside ROOT, one that is its own output, one not found.
//! - Each deletion and each refusal is appended to the purge log (default `pixla-purge.log.jsonl`
//!   beside the report), one JSON line, **fsynced before the file is deleted**:
//!
//! ```json
//! {"schema":"pixla-purge/1","time":"2026-12-01T07:12:03.101Z","operator":"K. Berg","host":"vm","report":"pixla-report.json","report_sha256":"…","file":"a/DJI_0001.JPG","sha256":"…","action":"deleted","reason":"verified: output delivered, original unchanged"}
//! ```
//!
//! `action`: `deleted`, `refused`, or `delete-failed` (after a `deleted` line, when the removal
//! failed); `sha256`: the original as found (`null` when not read).
//!
//! **Exit codes:** `0` every listed original deleted (dry run: deletable) · `1` some refused (kept,
//! listed, and logged with `--yes`; a second purge finds the deleted ones "not found" and exits 1,
//! so a wrong `--input` can never look like success) · `2` usage error (unreadable report, ROOT not
//! a folder, ROOT and the delivery overlap, log not writable).

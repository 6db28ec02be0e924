//! Review what was hidden, and what was missed: the review page and applying its corrections.
//!
//! # The review page
//!
//! No detector finds everyone (see *What the defaults miss* in [`crate::guide::eval`]), so every
//! delivery should be looked at. `pixla review REPORT [-o DIR]` writes a static page for that:
//! `DIR/index.html` (default `review/` beside the report) with its script, style and data inline,
//! plus one thumbnail (256 px) and one display image (≤ 2048 px) per output under `DIR/img/`. It
//! opens from disk in any browser; no server, and its Content-Security-Policy forbids any network
//! request. Every picture is rendered from a **redacted output** after checking its sha256 against
//! the report (a changed or missing output is listed as failed, not shown); originals are never
//! read, and the rendered JPEGs carry no EXIF, GPS, XMP or embedded previews, so the bundle shows
//! nothing the outputs do not. Pictures are shown upright (EXIF orientation applied). The bundle is
//! written and emptied only through real folders: a symbolic link below `DIR` (or a default
//! `review/` that is one) is refused (exit 2) before anything is removed or written.
//!
//! - **Grid**: every file of the report, lazily loaded thumbnails, filters *has regions* / *no
//!   regions* / *failed* (failed files show their error instead of a picture) / *edited*.
//! - **Detail** (click a thumbnail): the image with each region outlined and labelled (class,
//!   score, source); regions left visible by an earlier review are shown dotted.
//!   <kbd>n</kbd>/<kbd>→</kbd> next, <kbd>p</kbd>/<kbd>←</kbd> previous, <kbd>d</kbd> draw
//!   (drag a box for a missed person or plate; the class is chosen in the toolbar), click a
//!   region (or <kbd>[</kbd>/<kbd>]</kbd>) and <kbd>f</kbd> to mark it false (again to undo;
//!   on a drawn box, <kbd>f</kbd> or <kbd>Delete</kbd> removes it), <kbd>Esc</kbd> back.
//! - **Export**: enter your name, then *Download sidecar* (`pixla-regions.json`) or *Copy* (a
//!   text box to copy from where the clipboard is not available). Edits are kept in the browser's
//!   local storage until then, so a reload loses nothing.
//!
//! # Applying the corrections
//!
//! Once the sidecar is exported, run `pixla redact IN -o OUT --regions pixla-regions.json` with the
//! same inputs and flags as the original run: only the files the sidecar names are processed again,
//! **from the originals**; detection runs as usual, detected regions matching a suppress box (IoU ≥
//! 0.9 with the region's hidden box) are left visible, and the drawn boxes are hidden exactly as
//! drawn (no margin: a reviewer's box is deliberate) with the class's method (`pixelate` where the
//! class's method is `none`, e.g. vehicles). The report at OUT is updated in place: untouched
//! entries and the original `run` record stay as they were, touched entries are replaced, and per
//! region `source` says `model:<name>` or `manual:<reviewer>`; left-visible regions are listed
//! under the file's `suppressed` with `suppressed_by`; the file gets `reviewed_by`; `reviews`
//! records each application (time, operator, host, command, reviewer, sidecar name and sha256,
//! files). Corrections accumulate: a second sidecar is applied on top of the first (earlier manual
//! regions are hidden again, earlier false regions stay visible, unless the new sidecar marks them
//! false).
//!
//! The sidecar's format is in [`crate::guide::regions`].
//!
//! Fail closed: the run is refused (exit 2, nothing touched) when the sidecar does not parse (unknown
//! fields included), names no reviewer and `--reviewer` is not given, was already applied, or
//! when the flags or models differ from the report's run. A file fails (exit 1) when its path is
//! not among the inputs, when its `output_sha256` is not the output the report lists (a stale
//! review), when a suppress box matches no region, or when a drawn box lies outside the image;
//! its earlier output is then **removed**, since it did not reflect the review, and the report
//! says so. A plain `redact` into an OUT whose report records reviewed files is refused: it would
//! overwrite the reviewed outputs without their corrections.

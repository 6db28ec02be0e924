//! The regions sidecar, `pixla-regions/1`: a reviewer's corrections as a file.
//!
//! A sidecar names, per file, the regions to add (a missed person or plate) and the regions to
//! leave visible (a false detection). [`crate::guide::review`] says how the review page writes one
//! and how `pixla redact --regions` applies it.
//!
//! Written by the review page, by hand or by another tool; JSON Schema in
//! `fixtures/schema/pixla-regions-1.schema.json`. Unknown fields are errors.
//!
//! ```json
//! {
//!   "schema": "pixla-regions/1",
//!   "reviewer": "K. Berg",
//!   "created": "2026-05-04T09:12:00Z",
//!   "report": "pixla-report.json",
//!   "report_sha256": "…",
//!   "files": {
//!     "flight-0412/DJI_0001.JPG": {
//!       "output_sha256": "…",
//!       "add": [{ "class": "person", "box": [1510, 880, 22, 31], "note": "under the tree" }],
//!       "suppress": [{ "box": [40, 12, 118, 60], "class": "plate", "score": 0.91, "source": "model:ppocrv4-det" }]
//!     }
//!   }
//! }
//! ```
//!
//! - `files` keys: the path relative to the input root, as the report's `input`.
//! - Boxes: `[x, y, w, h]` in the **stored pixels** of the file (EXIF orientation not applied),
//!   the coordinates of the report's `box`. The page converts from what it displays.
//! - `add`: `class` (`person`, `plate`, `face`, `vehicle`) and `box`; optional `method`
//!   (`pixelate`, `fill`, `blur`) and `note`.
//! - `suppress`: `box` = the hidden box of the region as the report gives it; `class`, `score`,
//!   `source`, `note` are informational.
//! - Optional: `reviewer` (else `--reviewer`), `created`, `report`, `report_sha256`, and per file
//!   `output_sha256` (when given it must still be the output the report lists).

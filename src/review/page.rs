//! The review page: one HTML file, the template with the report's data inline as JSON.

use super::render::Rendered;
use crate::error::{FileErrorKind, SetupError};
use crate::report::{self, FileEntry, Status};
use serde::Serialize;
use std::path::Path;

const TEMPLATE: &str = include_str!("page.html");
const DATA_MARK: &str = "/*PIXLA_DATA*/";

/// One file as the page sees it.
#[derive(Serialize)]
pub(super) struct PageFile<'a> {
    input: &'a str,
    pub(super) output: Option<&'a str>,
    status: Status,
    error: Option<String>,
    /// The report's kind of a failed file's error (`None` for an output that could not be
    /// shown: the file did not fail, its picture did).
    error_kind: Option<FileErrorKind>,
    sha: Option<&'a str>,
    regions: &'a [report::Region],
    suppressed: &'a [report::Suppressed],
    reviewed_by: Option<&'a str>,
    /// Stored size and EXIF orientation of the output.
    w: u32,
    h: u32,
    o: u8,
    /// Display image and thumbnail (paths relative to index.html) and sizes.
    view: Option<String>,
    thumb: Option<String>,
    dw: u32,
    dh: u32,
    tw: u32,
    th: u32,
    /// display (x, y) → stored: (m0·x + m1·y + m2, m3·x + m4·y + m5)
    m: [f64; 6],
}

#[derive(Serialize)]
pub(super) struct PageData<'a> {
    pub(super) schema: &'static str,
    pub(super) sidecar_schema: &'static str,
    pub(super) report: String,
    pub(super) report_sha256: String,
    pub(super) tool: String,
    pub(super) run: &'a report::Run,
    pub(super) summary: &'a report::Summary,
    pub(super) skipped: usize,
    pub(super) files: Vec<PageFile<'a>>,
}

/// The page's file of `e` (index `i` among the shown files), with what rendering its output
/// gave (`None`: it has none). A file whose output could not be shown is shown with the
/// failed files, its reason as its error, which is also returned.
pub(super) fn page_file<'a>(
    i: usize,
    e: &'a FileEntry,
    r: Option<anyhow::Result<Rendered>>,
) -> (PageFile<'a>, Option<String>) {
    let mut pf = PageFile {
        input: &e.input,
        output: e.output.as_deref(),
        status: e.status,
        error: e.error.clone(),
        error_kind: e.error_kind,
        sha: e.output_sha256.as_deref(),
        regions: &e.regions,
        suppressed: &e.suppressed,
        reviewed_by: e.reviewed_by.as_deref(),
        w: e.width.unwrap_or(0),
        h: e.height.unwrap_or(0),
        o: e.orientation.unwrap_or(1),
        view: None,
        thumb: None,
        dw: 0,
        dh: 0,
        tw: 0,
        th: 0,
        m: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    };
    match r {
        None => (pf, None),
        Some(Ok(r)) => {
            pf.view = Some(format!("img/v/{i:05}.jpg"));
            pf.thumb = Some(format!("img/t/{i:05}.jpg"));
            (pf.w, pf.h, pf.o, pf.dw, pf.dh, pf.tw, pf.th, pf.m) =
                (r.w, r.h, r.o, r.dw, r.dh, r.tw, r.th, r.m);
            (pf, None)
        }
        Some(Err(err)) => {
            let msg = format!("{err:#}");
            // shown with the failed files: nothing to look at, a reason instead
            pf.status = Status::Failed;
            pf.error = Some(msg.clone());
            (pf, Some(msg))
        }
    }
}

/// Write the page with `data` to `index`.
pub(super) fn write_page(data: &PageData, index: &Path) -> Result<(), SetupError> {
    // JSON inside <script>: no `<` may appear, or `</script>` in a file name would end it
    let json = serde_json::to_string(data)
        .map_err(|e| SetupError::Internal(e.to_string()))?
        .replace('<', "\\u003c");
    let html = TEMPLATE.replacen(DATA_MARK, &json, 1);
    crate::fsio::write_atomic(index, html.as_bytes(), None).map_err(|e| SetupError::Io {
        action: "write",
        path: index.to_path_buf(),
        reason: format!("{e:#}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_data_cannot_close_its_script_tag() {
        assert!(TEMPLATE.contains(DATA_MARK));
        let j = serde_json::to_string(
            &serde_json::json!({"input": "</script><script>alert(1)</script>.jpg"}),
        )
        .unwrap()
        .replace('<', "\\u003c");
        assert!(!j.contains("</"));
        let back: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(back["input"], "</script><script>alert(1)</script>.jpg");
    }
}

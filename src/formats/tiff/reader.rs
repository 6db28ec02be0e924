//! Reading windows of pixels: [`inspect`], [`read_window`], [`TiffReader`], and [`verify`],
//! which reads the patches back from a rewritten file.

use super::info::TiffInfo;
use super::layout::{blit_out, check_rect, editable};
use super::parse::Parsed;
use super::window::{Samples, Window};
use super::MAX_WINDOW_BYTES;
use anyhow::{ensure, Context, Result};
use std::path::Path;

/// Read the header and every IFD of the main chain. Allocates no pixel buffers.
pub fn inspect(path: &Path) -> Result<TiffInfo> {
    Ok(Parsed::open(path)?.info())
}

/// Decode the window (x, y, w, h) of IFD `ifd`, touching only the chunks that intersect it.
/// Opens and parses the file each call; use [`TiffReader`] to read many windows.
pub fn read_window(path: &Path, ifd: usize, x: u32, y: u32, w: u32, h: u32) -> Result<Window> {
    TiffReader::open(path)?.read_window(ifd, x, y, w, h)
}

/// An open, parsed TIFF for reading many windows (e.g. detection in bands) without parsing the
/// IFDs again each time. Holds the file handle and the offset arrays, no pixels.
pub struct TiffReader {
    p: Parsed,
}

impl TiffReader {
    pub fn open(path: &Path) -> Result<TiffReader> {
        Ok(TiffReader {
            p: Parsed::open(path)?,
        })
    }

    pub fn info(&self) -> TiffInfo {
        self.p.info()
    }

    /// See [`read_window`].
    pub fn read_window(&mut self, ifd: usize, x: u32, y: u32, w: u32, h: u32) -> Result<Window> {
        let p = &mut self.p;
        let lay = editable(&p.ifds, ifd)?;
        check_rect(lay, x, y, w, h)?;
        let spp = lay.info.samples_per_pixel;
        let n = (w as u64) * (h as u64) * spp as u64;
        ensure!(
            n * (lay.bps as u64 / 8) <= MAX_WINDOW_BYTES,
            "window {w}x{h} is larger than {MAX_WINDOW_BYTES} bytes"
        );
        let mut win = Window {
            x,
            y,
            w,
            h,
            spp,
            samples: if lay.bps == 8 {
                Samples::U8(vec![0; n as usize])
            } else {
                Samples::U16(vec![0; n as usize])
            },
        };
        for idx in lay.chunks_in(x, y, w, h) {
            let chunk = p.src.decode_chunk(lay, idx)?;
            blit_out(lay, idx, &chunk, &mut win)?;
        }
        Ok(win)
    }
}

/// Read every patch back from a rewritten file (the caller's temp file, before renaming it)
/// and check it holds exactly the patch pixels: a fail-closed self-check of [`rewrite`](fn@super::rewrite).
pub fn verify(path: &Path, patches: &[(usize, Window)]) -> Result<()> {
    let mut r = TiffReader::open(path)?;
    for (k, (ifd, win)) in patches.iter().enumerate() {
        let got = r
            .read_window(*ifd, win.x, win.y, win.w, win.h)
            .with_context(|| format!("reading back patch {k}"))?;
        ensure!(
            got.samples == win.samples,
            "patch {k} on IFD {ifd} did not read back as written"
        );
    }
    Ok(())
}

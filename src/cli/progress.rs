//! The progress bar of `pixla redact`, kept apart from the work: images done, regions found,
//! rate, time left. The library tells it how the batch goes ([`Observer`]); it draws on stderr
//! only when that is a terminal and `--quiet` was not given.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pixla::Observer;
use pixla::{FileEntry, Status};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub struct Progress {
    enabled: bool,
    bar: OnceLock<ProgressBar>,
    regions: AtomicU64,
    failed: AtomicU64,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        Progress {
            enabled: enabled && std::io::stderr().is_terminal(),
            bar: OnceLock::new(),
            regions: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }
}

impl Observer for Progress {
    fn started(&self, total: u64) {
        if !self.enabled {
            return;
        }
        let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} images  {per_sec}  eta {eta}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let _ = self.bar.set(b);
    }

    fn file_done(&self, e: &FileEntry) {
        let r = self
            .regions
            .fetch_add(e.regions.len() as u64, Ordering::Relaxed)
            + e.regions.len() as u64;
        let f = self.failed.load(Ordering::Relaxed) + (e.status == Status::Failed) as u64;
        if e.status == Status::Failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(b) = self.bar.get() {
            b.set_message(format!("{r} regions hidden, {f} failed"));
            b.inc(1);
        }
    }

    fn finished(&self) {
        if let Some(b) = self.bar.get() {
            b.finish();
        }
    }
}

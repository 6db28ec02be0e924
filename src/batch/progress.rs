//! The progress bar, kept apart from the work: images done, regions found, rate, time left.
//! Drawn on stderr only when it is a terminal and `--quiet` was not given.

use crate::report::{FileEntry, Status};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Progress {
    bar: Option<ProgressBar>,
    regions: AtomicU64,
    failed: AtomicU64,
}

impl Progress {
    pub fn new(total: u64, enabled: bool) -> Progress {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} images  {per_sec}  eta {eta}  {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        Progress {
            bar,
            regions: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    pub fn done(&self, e: &FileEntry) {
        let r = self
            .regions
            .fetch_add(e.regions.len() as u64, Ordering::Relaxed)
            + e.regions.len() as u64;
        let f = self.failed.load(Ordering::Relaxed) + (e.status == Status::Failed) as u64;
        if e.status == Status::Failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(b) = &self.bar {
            b.set_message(format!("{r} regions hidden, {f} failed"));
            b.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish();
        }
    }
}

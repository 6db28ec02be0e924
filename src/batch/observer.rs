//! What a batch says while it runs, through [`Observer`]: the library calls it, the caller
//! shows it (the `pixla` binary draws a progress bar on stderr). The library itself prints
//! nothing about progress.

use crate::report::FileEntry;

/// Told how a batch ([`crate::batch::run_batch`], [`crate::batch::regions::run_regions`])
/// goes. Called from the worker threads, so it must be `Sync`; every method defaults to
/// doing nothing.
pub trait Observer: Sync {
    /// The batch is about to do `total` files (for a resumed batch, those kept from the
    /// journal included).
    fn started(&self, total: u64) {
        let _ = total;
    }
    /// One file is done: processed, kept from the journal, or failed; `entry` is its
    /// report entry (its `status`, its regions).
    fn file_done(&self, entry: &FileEntry) {
        let _ = entry;
    }
    /// Every file is done (or the batch was interrupted); the report is written next.
    fn finished(&self) {}
}

/// The observer that ignores everything.
pub struct Silent;

impl Observer for Silent {}

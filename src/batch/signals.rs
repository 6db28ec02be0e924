//! Ctrl-C and SIGTERM (what Slurm and Kubernetes send): the first signal asks the batch to
//! stop — no new file is started, files in flight finish, the report of what was done is
//! written (not-done files `pending`), the journal is kept for `--resume`, exit 130. A second
//! signal exits at once with 130 (outputs are atomic renames, so nothing half-written is
//! left in place; a stray temp file is removed by `--resume`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Exit code of an interrupted batch (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

fn flag() -> &'static Arc<AtomicBool> {
    STOP.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Install the SIGINT and SIGTERM handlers for this process (once; later calls do nothing).
pub fn install() -> std::io::Result<()> {
    static DONE: OnceLock<()> = OnceLock::new();
    if DONE.get().is_some() {
        return Ok(());
    }
    let f = flag();
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // order matters: the conditional exit sees the flag as it was before this signal
        signal_hook::flag::register_conditional_shutdown(
            sig,
            EXIT_INTERRUPTED as i32,
            Arc::clone(f),
        )?;
        signal_hook::flag::register(sig, Arc::clone(f))?;
    }
    let _ = DONE.set(());
    Ok(())
}

/// Has a stop been asked for (a signal, or [`request_stop`])?
pub fn stop_requested() -> bool {
    flag().load(Ordering::SeqCst)
}

/// Ask the running batch to stop as if a signal had come (for embedding and tests).
pub fn request_stop() {
    flag().store(true, Ordering::SeqCst);
}

//! Where the time goes: process-wide counters per pipeline stage, summed over all worker
//! threads (so with `-j N` they add up to about N × wall time). Always on (an atomic add per
//! stage and tile costs nothing measurable); `pixla redact --timings` prints them, and the
//! SAHI comparison in `benches/` reads them to compare pixla's wall time with its pure
//! inference time.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A pipeline stage whose time is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Reading the file, hashing it, decoding, and the upright RGB copy for the detectors.
    Decode,
    /// Reading a tile's pixels, resizing to the model input, filling the input tensor.
    Preprocess,
    /// `Session::run` only: the ONNX Runtime inference itself.
    Inference,
    /// Decoding the model outputs into boxes (softmax, NMS).
    Postprocess,
    /// Merging boxes over tiles, planning regions, redacting the pixels.
    Redact,
    /// Encoding the output (lossless JPEG or re-encode, PNG, TIFF patching) and metadata.
    Encode,
    /// Hashing and writing the output (temp file, fsync, rename).
    Write,
}

const STAGES: [Stage; 7] = [
    Stage::Decode,
    Stage::Preprocess,
    Stage::Inference,
    Stage::Postprocess,
    Stage::Redact,
    Stage::Encode,
    Stage::Write,
];

impl Stage {
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Preprocess => "preprocess",
            Stage::Inference => "inference",
            Stage::Postprocess => "postprocess",
            Stage::Redact => "redact",
            Stage::Encode => "encode",
            Stage::Write => "write",
        }
    }
    fn index(&self) -> usize {
        STAGES.iter().position(|s| s == self).unwrap_or(0)
    }
}

static NANOS: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];
static CALLS: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];

/// Run `f`, adding its time to `stage`.
pub fn time<R>(stage: Stage, f: impl FnOnce() -> R) -> R {
    let t = Instant::now();
    let r = f();
    add(stage, t.elapsed().as_nanos() as u64);
    r
}

/// Add `nanos` to `stage` (one call).
pub fn add(stage: Stage, nanos: u64) {
    NANOS[stage.index()].fetch_add(nanos, Ordering::Relaxed);
    CALLS[stage.index()].fetch_add(1, Ordering::Relaxed);
}

/// One stage's total.
#[derive(Debug, Clone, Serialize)]
pub struct StageTotal {
    pub stage: &'static str,
    /// Seconds summed over all threads.
    pub seconds: f64,
    pub calls: u64,
}

/// The totals so far, in pipeline order.
pub fn snapshot() -> Vec<StageTotal> {
    STAGES
        .iter()
        .map(|s| StageTotal {
            stage: s.as_str(),
            seconds: NANOS[s.index()].load(Ordering::Relaxed) as f64 / 1e9,
            calls: CALLS[s.index()].load(Ordering::Relaxed),
        })
        .collect()
}

/// Reset every counter (for benches that run several batches in one process).
pub fn reset() {
    for i in 0..STAGES.len() {
        NANOS[i].store(0, Ordering::Relaxed);
        CALLS[i].store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_calls_and_time() {
        // other tests in this binary may count too: compare differences
        let before = snapshot().into_iter().find(|s| s.stage == "write").unwrap();
        time(Stage::Write, || {
            std::thread::sleep(std::time::Duration::from_millis(5))
        });
        let after = snapshot().into_iter().find(|s| s.stage == "write").unwrap();
        assert_eq!(after.calls - before.calls, 1);
        assert!(after.seconds - before.seconds >= 0.004);
    }
}

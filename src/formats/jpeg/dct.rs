//! The 8×8 DCT of JPEG (ITU-T T.81, A.3.3) in floating point, for the blocks a fill covers
//! only in part ([`fill_partial`]): the block is decoded to samples, the covered samples are
//! set to the fill's colour, and the block is encoded and quantised again with the file's own
//! table. Written here rather than taken from a crate: it is the standard's two formulas over
//! a table of 64 cosines, and a general DCT crate brings an FFT and other scalings for it.
//!
//! Blocks and samples are in natural (row-major) order, as libjpeg keeps them: coefficient
//! `v * 8 + u` is vertical frequency `v`, horizontal `u`; sample `y * 8 + x`, level-shifted
//! (pixel − 128).

use std::sync::LazyLock;

/// A block's 64 values (coefficients or samples) in natural order.
pub type Block = [f32; 64];

/// `C(u) / 2 · cos((2x + 1) u π / 16)`, indexed `[u][x]`: the orthonormal 8-point DCT-II,
/// computed once.
static BASIS: LazyLock<[[f32; 8]; 8]> = LazyLock::new(basis);

fn basis() -> [[f32; 8]; 8] {
    let mut b = [[0f32; 8]; 8];
    for (u, row) in b.iter_mut().enumerate() {
        let c = if u == 0 {
            std::f32::consts::FRAC_1_SQRT_2
        } else {
            1.0
        };
        for (x, v) in row.iter_mut().enumerate() {
            *v = c / 2.0 * ((2 * x + 1) as f32 * u as f32 * std::f32::consts::PI / 16.0).cos();
        }
    }
    b
}

/// One separable pass: `out[i][j] = Σ m[i][k] · t(a)[k][j]` over rows, then columns; with
/// `forward` the basis is applied as is (samples → coefficients), else transposed.
fn transform(a: &Block, forward: bool) -> Block {
    let b = &*BASIS;
    let m = |i: usize, k: usize| if forward { b[i][k] } else { b[k][i] };
    let mut rows = [0f32; 64];
    for y in 0..8 {
        for u in 0..8 {
            rows[y * 8 + u] = (0..8).map(|x| m(u, x) * a[y * 8 + x]).sum();
        }
    }
    let mut out = [0f32; 64];
    for v in 0..8 {
        for u in 0..8 {
            out[v * 8 + u] = (0..8).map(|y| m(v, y) * rows[y * 8 + u]).sum();
        }
    }
    out
}

/// Samples (level-shifted) → coefficients.
pub fn forward(samples: &Block) -> Block {
    transform(samples, true)
}

/// Coefficients → samples (level-shifted), unrounded and unclamped.
pub fn inverse(coefs: &Block) -> Block {
    transform(coefs, false)
}

fn dequantise(block: &[i16; 64], q: &[u16; 64]) -> Block {
    std::array::from_fn(|k| block[k] as f32 * q[k] as f32)
}

fn quantise(coefs: &Block, q: &[u16; 64]) -> [i16; 64] {
    std::array::from_fn(|k| {
        (coefs[k] / q[k].max(1) as f32)
            .round()
            .clamp(i16::MIN as f32, i16::MAX as f32) as i16
    })
}

/// What a fill leaves in the samples it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Luma black: level 0, −128 level-shifted. A decoder clamps at 0, so anything darker
    /// decodes as black too.
    Black,
    /// Chroma neutral (128, 0 level-shifted).
    Neutral,
}

impl Target {
    /// The level-shifted sample value.
    pub fn level(self) -> f32 {
        match self {
            Target::Black => -128.0,
            Target::Neutral => 0.0,
        }
    }
}

/// The most quantisation can move one sample: `Σ q[k] / 2 · |basis_k|` at the worst sample.
/// A covered sample asked for `−128 − bound` therefore decodes at or below −128 (black).
fn error_bound(q: &[u16; 64]) -> f32 {
    let b = &*BASIS;
    (0..64)
        .map(|s| {
            let (y, x) = (s / 8, s % 8);
            (0..64)
                .map(|k| q[k] as f32 / 2.0 * (b[k / 8][y] * b[k % 8][x]).abs())
                .sum::<f32>()
        })
        .fold(0f32, f32::max)
}

/// A covered luma sample is black when it decodes at or below this (it rounds to level 0;
/// libjpeg's integer IDCT may differ from this one by a level).
const BLACK_AT: f32 = -127.5;
/// A covered chroma sample further than this from neutral (levels) makes the whole block
/// neutral: coarse chroma tables cannot draw a sharp edge, and a tinted fill is not black.
const CHROMA_TOL: f32 = 2.0;

/// Set the samples of a quantised `block` where `covered` is true to `target`, keep the
/// others as near their old values as the quantisation table `q` allows, and store the
/// result quantised in `block`. The covered samples' old values play no part in the result,
/// so nothing of what they showed survives.
///
/// Black (luma): the covered samples are asked for black minus an overshoot, the smallest
/// of 0, ⅛, ¼, ½ and all of [`error_bound`] that leaves every covered sample black after
/// quantisation (the last always does). Neutral (chroma): asked for neutral; where
/// quantisation leaves a covered sample more than [`CHROMA_TOL`] off, the whole block is
/// made neutral.
pub fn fill_partial(block: &mut [i16; 64], q: &[u16; 64], covered: &[bool; 64], target: Target) {
    let old = inverse(&dequantise(block, q));
    let cov = || (0..64).filter(|&k| covered[k]);
    let encode = |level: f32| {
        let mut want = old;
        cov().for_each(|k| want[k] = level);
        let out = quantise(&forward(&want), q);
        (out, inverse(&dequantise(&out, q)))
    };
    *block = match target {
        Target::Black => {
            let e = error_bound(q);
            let mut out = [0; 64];
            for d in [0.0, e / 8.0, e / 4.0, e / 2.0, e] {
                let got;
                (out, got) = encode(target.level() - 1.0 - d);
                if cov().all(|k| got[k] <= BLACK_AT) {
                    break;
                }
            }
            out
        }
        Target::Neutral => {
            let (out, got) = encode(target.level());
            if cov().all(|k| got[k].abs() <= CHROMA_TOL) {
                out
            } else {
                [0; 64]
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_undoes_forward() {
        let s: Block = std::array::from_fn(|k| ((k * 37) % 255) as f32 - 128.0);
        let back = inverse(&forward(&s));
        assert!(s.iter().zip(back).all(|(a, b)| (a - b).abs() < 1e-3));
        // a flat block is all DC: 8 × the level
        let flat = forward(&[-128.0; 64]);
        assert!((flat[0] + 1024.0).abs() < 1e-3);
        assert!(flat[1..].iter().all(|c| c.abs() < 1e-3));
    }

    #[test]
    fn a_partial_fill_blacks_out_only_the_covered_samples() {
        // a textured block under a coarse table (about quality 50)
        let q: [u16; 64] = std::array::from_fn(|k| 10 + (k as u16 % 8 + k as u16 / 8) * 6);
        let s: Block = std::array::from_fn(|k| 60.0 + 40.0 * ((k % 8) as f32 * 0.9).sin());
        let mut block = quantise(&forward(&s), &q);
        let covered: [bool; 64] = std::array::from_fn(|k| k % 8 >= 3 && k / 8 >= 2);
        fill_partial(&mut block, &q, &covered, Target::Black);
        let got = inverse(&dequantise(&block, &q));
        let mut off = 0f32;
        for k in 0..64 {
            let pixel = (got[k] + 128.0).round().clamp(0.0, 255.0);
            if covered[k] {
                assert_eq!(pixel, 0.0, "covered sample {k} decodes to {pixel}");
            } else {
                off = off.max((got[k] - s[k]).abs());
            }
        }
        // the rest keeps its picture, coarsely quantised beside a hard edge
        assert!(off < 60.0, "uncovered samples moved by up to {off}");
        // chroma: neutral where covered, or the whole block neutral
        let mut block = quantise(&forward(&s), &q);
        fill_partial(&mut block, &q, &covered, Target::Neutral);
        let got = inverse(&dequantise(&block, &q));
        assert!((0..64)
            .filter(|&k| covered[k])
            .all(|k| got[k].abs() <= CHROMA_TOL));
    }
}

//! The compressions pixla rewrites: none, LZW, Deflate and PackBits.

use crate::error::FileErrorKind;
use crate::formats::refused;
use anyhow::{anyhow, bail, ensure, Context, Result};
use std::io::{Read, Write};

pub(super) fn decompress(compression: u16, comp: &[u8], nbytes: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; nbytes];
    match compression {
        1 => {
            ensure!(
                comp.len() >= nbytes,
                "uncompressed chunk has {} bytes, {nbytes} needed",
                comp.len()
            );
            out.copy_from_slice(&comp[..nbytes]);
        }
        5 => lzw_decode(comp, &mut out)?,
        8 | 32946 => {
            let mut z = flate2::read::ZlibDecoder::new(comp);
            z.read_exact(&mut out)
                .context("Deflate data is corrupt or short")?;
        }
        32773 => packbits_decode(comp, &mut out)?,
        c => {
            return Err(refused(
                FileErrorKind::Unsupported,
                format!("compression {c} is not supported"),
            ))
        }
    }
    Ok(out)
}

/// MSB-first LZW (libtiff's, GDAL's) into `out`, which it must fill.
fn lzw_decode(comp: &[u8], out: &mut [u8]) -> Result<()> {
    let nbytes = out.len();
    if comp.len() >= 2 && comp[0] == 0 && comp[1] & 1 == 1 {
        return Err(refused(
            FileErrorKind::Unsupported,
            "old-style (LSB-first) LZW is not supported",
        ));
    }
    let mut d = weezl::decode::Configuration::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
        .with_yield_on_full_buffer(true)
        .build();
    let (mut i, mut o) = (0, 0);
    while o < nbytes {
        let r = d.decode_bytes(&comp[i..], &mut out[o..]);
        i += r.consumed_in;
        o += r.consumed_out;
        match r.status {
            Ok(weezl::LzwStatus::Ok) if r.consumed_in + r.consumed_out > 0 => {}
            Ok(_) => break,
            Err(e) => bail!("LZW data is corrupt: {e}"),
        }
    }
    ensure!(o == nbytes, "LZW data ends after {o} of {nbytes} bytes");
    Ok(())
}

/// PackBits into `out`, which it must fill.
fn packbits_decode(comp: &[u8], out: &mut [u8]) -> Result<()> {
    let nbytes = out.len();
    let (mut i, mut o) = (0usize, 0usize);
    while o < nbytes {
        ensure!(
            i < comp.len(),
            "PackBits data ends after {o} of {nbytes} bytes"
        );
        let n = comp[i] as i8;
        i += 1;
        if n >= 0 {
            let k = n as usize + 1;
            ensure!(
                i + k <= comp.len() && o + k <= nbytes,
                "PackBits literal run overruns"
            );
            out[o..o + k].copy_from_slice(&comp[i..i + k]);
            i += k;
            o += k;
        } else if n != -128 {
            let k = (1 - n as isize) as usize;
            ensure!(
                i < comp.len() && o + k <= nbytes,
                "PackBits repeat run overruns"
            );
            out[o..o + k].fill(comp[i]);
            i += 1;
            o += k;
        }
    }
    Ok(())
}

pub(super) fn compress(compression: u16, raw: &[u8]) -> Result<Vec<u8>> {
    Ok(match compression {
        1 => raw.to_vec(),
        5 => weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .encode(raw)
            .map_err(|e| anyhow!("LZW: {e}"))?,
        8 | 32946 => {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            z.write_all(raw)?;
            z.finish()?
        }
        32773 => packbits(raw),
        c => {
            return Err(refused(
                FileErrorKind::Unsupported,
                format!("compression {c} is not supported"),
            ))
        }
    })
}

/// PackBits, written here: runs of 2+ equal bytes as repeats, the rest as literals (≤128).
pub(super) fn packbits(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 128 + 1);
    let mut i = 0;
    while i < raw.len() {
        let mut run = 1;
        while i + run < raw.len() && run < 128 && raw[i + run] == raw[i] {
            run += 1;
        }
        if run >= 2 {
            out.push((1i16 - run as i16) as i8 as u8);
            out.push(raw[i]);
            i += run;
        } else {
            let start = i;
            i += 1;
            while i < raw.len() && i - start < 128 && !(i + 1 < raw.len() && raw[i] == raw[i + 1]) {
                i += 1;
            }
            out.push((i - start - 1) as u8);
            out.extend_from_slice(&raw[start..i]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_round_trip() {
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![7],
            vec![1, 1],
            vec![1, 2, 3, 3, 3, 3, 4, 5, 5, 6],
            (0..1000u32).map(|i| (i * 7 % 13) as u8).collect(),
            vec![9; 1000],
            (0..1000u32)
                .map(|i| if i % 300 < 150 { 4 } else { (i % 251) as u8 })
                .collect(),
        ];
        for raw in cases {
            let enc = packbits(&raw);
            assert_eq!(decompress(32773, &enc, raw.len()).unwrap(), raw);
        }
    }

    #[test]
    fn codecs_round_trip_and_refuse_short_data() {
        let raw: Vec<u8> = (0..5000u32).map(|i| ((i / 10) % 256) as u8).collect();
        for c in [1u16, 5, 8, 32946, 32773] {
            let enc = compress(c, &raw).unwrap();
            assert_eq!(
                decompress(c, &enc, raw.len()).unwrap(),
                raw,
                "compression {c}"
            );
            let short = &enc[..enc.len() / 2];
            assert!(
                decompress(c, short, raw.len()).is_err(),
                "compression {c} accepted half its data"
            );
        }
    }
}

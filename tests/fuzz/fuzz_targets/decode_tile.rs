//! Fuzz target: the decode-and-tile path. Any bytes → `decode::decode` (format sniffing,
//! header limits, JPEG completeness check, pixel decoding) → `upright_rgb` → `tile::tiles`
//! → every tile read through `MemRaster` (what the detectors are fed) → `read_fit`. A panic,
//! an abort or an allocation over libFuzzer's `-rss_limit_mb` is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixla::internal_tests::decode::{decode, Limits};
use pixla::internal_tests::pipeline::{read_fit, MemRaster, Raster};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // small limits so that a header claiming a big picture is refused, not decoded for
    // seconds: the limit check itself is part of what is fuzzed
    let limits = Limits { max_megapixels: 4.0, max_megapixels_tiled: 16.0 };
    // the name's extension is checked against the content; try the unnamed and a named case
    let name = match data.first().copied().unwrap_or(0) % 3 {
        0 => Path::new("fuzz"),
        1 => Path::new("fuzz.jpg"),
        _ => Path::new("fuzz.png"),
    };
    let Ok(dec) = decode(data, name, &limits) else { return };
    let _ = pixla::internal_tests::decode::metadata_kinds(data, dec.format);
    let up = dec.upright_rgb();
    let (w, h) = up.dimensions();
    let raster = MemRaster(&up);
    for t in pixla::internal_tests::tile::tiles(w, h, 64, 0.2) {
        let crop = raster.read(t).expect("tile read");
        assert_eq!(crop.dimensions(), (t.w, t.h));
    }
    let _ = raster.overview((w / 4).max(1), (h / 4).max(1));
    let _ = read_fit(&raster, pixla::internal_tests::geom::PixBox { x: 0, y: 0, w, h }, 32);
});

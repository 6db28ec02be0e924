//! Decompression bombs: headers that claim absurd dimensions are refused per file, from the
//! header, before any pixel buffer is allocated; the rest of the batch goes on.

use crate::common::*;

/// A real JPEG whose frame header (SOF0) now claims 65535 x 65535.
fn jpeg_bomb() -> Vec<u8> {
    let mut b = std::fs::read(shared("plates/nomeroff_241458051.jpg")).unwrap();
    let sof = b.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    b[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    b
}

/// A PNG whose header (IHDR, with a correct CRC) claims 65535 x 65535.
fn png_bomb() -> Vec<u8> {
    let mut b = std::fs::read(shared("aerial-nadir/lacmus_01.png")).unwrap();
    b[16..24].copy_from_slice(&[0, 0, 0xFF, 0xFF, 0, 0, 0xFF, 0xFF]);
    let mut crc = flate2::Crc::new();
    crc.update(&b[12..29]);
    b[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    b
}

/// A classic TIFF claiming 200000 x 200000 (40 gigapixels) with one strip of 16 bytes.
fn tiff_bomb() -> Vec<u8> {
    let mut b = b"II*\0".to_vec();
    b.extend(8u32.to_le_bytes());
    let entries: [(u16, u16, u32); 8] = [
        (256, 4, 200_000),
        (257, 4, 200_000),
        (258, 3, 8),
        (259, 3, 1),
        (262, 3, 1),
        (273, 4, 122),
        (278, 4, 200_000),
        (279, 4, 16),
    ];
    b.extend((entries.len() as u16).to_le_bytes());
    for (tag, typ, v) in entries {
        b.extend(tag.to_le_bytes());
        b.extend(typ.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        if typ == 3 {
            b.extend((v as u16).to_le_bytes());
            b.extend([0, 0]);
        } else {
            b.extend(v.to_le_bytes());
        }
    }
    b.extend(0u32.to_le_bytes());
    assert_eq!(b.len(), 110);
    b.extend([0u8; 12 + 16]);
    b
}

#[test]
fn absurd_headers_are_refused_before_decoding_and_the_batch_goes_on() {
    let (_d, inp) = input_dir(&["plates/nomeroff_296023036.jpeg"]);
    std::fs::write(inp.join("bomb.jpg"), jpeg_bomb()).unwrap();
    std::fs::write(inp.join("bomb.png"), png_bomb()).unwrap();
    std::fs::write(inp.join("bomb.tif"), tiff_bomb()).unwrap();
    let (code, report, out) = redact(&inp, &[]);
    assert_eq!(code, 1);
    for name in ["bomb.jpg", "bomb.png", "bomb.tif"] {
        let e = file_entry(&report, name);
        assert_eq!(e["status"], "failed", "{e}");
        let err = e["error"].as_str().unwrap();
        assert!(err.contains("refused before decoding"), "{name}: {err}");
        assert_eq!(e["error_kind"], "limit", "{name}");
        assert!(!out.join(name).exists());
    }
    assert_eq!(
        file_entry(&report, "nomeroff_296023036.jpeg")["status"],
        "redacted"
    );
}

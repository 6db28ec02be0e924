//! Test data shared by the metadata modules' unit tests: small JPEGs, an EXIF TIFF with GPS
//! and a thumbnail, and a JPEG with an MPF index.

use image::RgbImage;

pub(super) fn le16(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}
pub(super) fn le32(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

/// A little-endian EXIF TIFF: IFD0 (Orientation, GPS pointer) → GPS IFD with a
/// latitude, IFD1 with a JPEG thumbnail at the end.
pub(super) fn sample_tiff(thumb: &[u8]) -> Vec<u8> {
    let mut d = b"II*\0".to_vec();
    d.extend(le32(8));
    // IFD0 at 8: 2 entries
    d.extend(le16(2));
    d.extend(le16(0x0112));
    d.extend(le16(3));
    d.extend(le32(1));
    d.extend(le32(6));
    d.extend(le16(0x8825));
    d.extend(le16(4));
    d.extend(le32(1));
    d.extend(le32(38)); // GPS IFD
    d.extend(le32(68)); // IFD1
    assert_eq!(d.len(), 38);
    // GPS IFD at 38: GPSLatitude (3 rationals at 56)
    d.extend(le16(1));
    d.extend(le16(0x0002));
    d.extend(le16(5));
    d.extend(le32(3));
    d.extend(le32(56));
    d.extend(le32(0));
    assert_eq!(d.len(), 56);
    for v in [59u32, 1, 19, 1, 4512, 100] {
        d.extend(le32(v));
    }
    assert_eq!(d.len(), 80);
    // IFD1 at 80 (patch the link)
    d[34..38].copy_from_slice(&le32(80));
    d.extend(le16(2));
    d.extend(le16(0x0201));
    d.extend(le16(4));
    d.extend(le32(1));
    d.extend(le32(110));
    d.extend(le16(0x0202));
    d.extend(le16(4));
    d.extend(le32(1));
    d.extend(le32(thumb.len() as u32));
    d.extend(le32(0));
    assert_eq!(d.len(), 110);
    d.extend(thumb);
    d
}

pub(super) fn small_jpeg(w: u32, h: u32, v: u8) -> Vec<u8> {
    let img = RgbImage::from_pixel(w, h, image::Rgb([v, v, v]));
    let mut b = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut b, 80)
        .encode_image(&img)
        .unwrap();
    b
}

pub(super) fn seg(m: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFF, m];
    v.extend(((body.len() + 2) as u16).to_be_bytes());
    v.extend(body);
    v
}

/// A JPEG with EXIF (GPS, thumbnail), an MPF index and one 32x24 MPF preview after it.
pub(super) fn mpf_file() -> Vec<u8> {
    let preview = small_jpeg(32, 24, 200);
    let mut mpf = b"MPF\0II*\0".to_vec();
    mpf.extend(le32(8));
    mpf.extend(le16(2));
    for (tag, typ, count, val) in [(0xB001u16, 4u16, 1u32, 2u32), (0xB002, 7, 32, 38)] {
        mpf.extend(le16(tag));
        mpf.extend(le16(typ));
        mpf.extend(le32(count));
        mpf.extend(le32(val));
    }
    mpf.extend(le32(0));
    assert_eq!(mpf.len(), 4 + 38);
    mpf.extend([0u8; 32]);
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend(sample_tiff(&small_jpeg(16, 12, 50)));
    let main = small_jpeg(64, 48, 50);
    let mut f = vec![0xFF, 0xD8];
    f.extend(seg(0xE1, &exif));
    let tiff_at = f.len() + 8;
    f.extend(seg(0xE2, &mpf));
    f.extend(&main[2..]);
    let main_len = f.len() as u32;
    let e = tiff_at + 38;
    f[e + 4..e + 8].copy_from_slice(&le32(main_len));
    f[e + 16 + 4..e + 16 + 8].copy_from_slice(&le32(preview.len() as u32));
    f[e + 16 + 8..e + 16 + 12].copy_from_slice(&le32(main_len - tiff_at as u32));
    f.extend(&preview);
    f
}

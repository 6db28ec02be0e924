//! Tiling: overlapping windows over the image (as SAHI slices), plus the whole-image pass.

use crate::geom::PixBox;

/// Windows of `size` px with `overlap` (a fraction of `size`) covering a `w x h` image. The
/// last row and column are aligned to the image edge, so every window is full size when the
/// image is at least that big. An image smaller than `size` is one window.
pub fn tiles(w: u32, h: u32, size: u32, overlap: f32) -> Vec<PixBox> {
    let size = size.max(32);
    let step = ((size as f32) * (1.0 - overlap.clamp(0.0, 0.9)))
        .round()
        .max(1.0) as u32;
    let starts = |len: u32| -> Vec<u32> {
        if len <= size {
            return vec![0];
        }
        let mut v: Vec<u32> = (0..)
            .map(|i| i * step)
            .take_while(|&s| s + size < len)
            .collect();
        v.push(len - size);
        v
    };
    let (xs, ys) = (starts(w), starts(h));
    ys.iter()
        .flat_map(|&y| {
            xs.iter().map(move |&x| PixBox {
                x,
                y,
                w: size.min(w),
                h: size.min(h),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_every_pixel_with_overlap() {
        for &(w, h) in &[
            (2048u32, 1365u32),
            (640, 640),
            (641, 639),
            (100, 50),
            (5472, 3648),
        ] {
            let t = tiles(w, h, 640, 0.2);
            let mut seen = vec![false; (w * h) as usize];
            for b in &t {
                assert!(b.x + b.w <= w && b.y + b.h <= h);
                for y in b.y..b.y + b.h {
                    for x in b.x..b.x + b.w {
                        seen[(y * w + x) as usize] = true;
                    }
                }
            }
            assert!(seen.iter().all(|&s| s), "{w}x{h} not covered");
        }
        // 2048 wide, step 512: 0, 512, 1024, then the edge-aligned 1408
        let xs: Vec<u32> = tiles(2048, 640, 640, 0.2).iter().map(|b| b.x).collect();
        assert_eq!(xs, vec![0, 512, 1024, 1408]);
    }
}

//! Boxes in pixel coordinates.

use serde::{Deserialize, Serialize};

/// An axis-aligned box, `x1,y1` inclusive, `x2,y2` exclusive, in floating-point pixels.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoxF {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BoxF {
    pub fn new(x1: f32, y1: f32, x2: f32, y2: f32) -> Self {
        BoxF { x1, y1, x2, y2 }
    }
    pub fn w(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }
    pub fn h(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }
    pub fn area(&self) -> f32 {
        self.w() * self.h()
    }
    pub fn intersection(&self, o: &BoxF) -> f32 {
        let w = (self.x2.min(o.x2) - self.x1.max(o.x1)).max(0.0);
        let h = (self.y2.min(o.y2) - self.y1.max(o.y1)).max(0.0);
        w * h
    }
    pub fn iou(&self, o: &BoxF) -> f32 {
        let i = self.intersection(o);
        let u = self.area() + o.area() - i;
        if u <= 0.0 {
            0.0
        } else {
            i / u
        }
    }
    /// Intersection over the smaller box's area (SAHI's "IOS"): 1.0 when one box lies
    /// inside the other, whatever their sizes.
    ///
    /// ```
    /// use pixla::internal_tests::geom::BoxF;
    /// let big = BoxF::new(0.0, 0.0, 100.0, 100.0);
    /// let small = BoxF::new(10.0, 10.0, 20.0, 30.0);
    /// assert_eq!(big.ios(&small), 1.0);
    /// assert!(big.iou(&small) < 0.05);
    /// ```
    pub fn ios(&self, o: &BoxF) -> f32 {
        let s = self.area().min(o.area());
        if s <= 0.0 {
            0.0
        } else {
            self.intersection(o) / s
        }
    }
    pub fn union(&self, o: &BoxF) -> BoxF {
        BoxF::new(
            self.x1.min(o.x1),
            self.y1.min(o.y1),
            self.x2.max(o.x2),
            self.y2.max(o.y2),
        )
    }
    pub fn translate(&self, dx: f32, dy: f32) -> BoxF {
        BoxF::new(self.x1 + dx, self.y1 + dy, self.x2 + dx, self.y2 + dy)
    }
    pub fn scale(&self, s: f32) -> BoxF {
        BoxF::new(self.x1 * s, self.y1 * s, self.x2 * s, self.y2 * s)
    }
    /// Grow each side by `frac` of the box's size on that axis, plus `min_px` pixels.
    pub fn pad(&self, frac: f32, min_px: f32) -> BoxF {
        let dx = self.w() * frac + min_px;
        let dy = self.h() * frac + min_px;
        BoxF::new(self.x1 - dx, self.y1 - dy, self.x2 + dx, self.y2 + dy)
    }
    /// Clip to `[0,w) x [0,h)` and round outwards to whole pixels.
    pub fn to_pixels(&self, w: u32, h: u32) -> Option<PixBox> {
        let x1 = self.x1.floor().max(0.0) as u32;
        let y1 = self.y1.floor().max(0.0) as u32;
        let x2 = (self.x2.ceil().max(0.0) as u32).min(w);
        let y2 = (self.y2.ceil().max(0.0) as u32).min(h);
        (x2 > x1 && y2 > y1).then_some(PixBox {
            x: x1,
            y: y1,
            w: x2 - x1,
            h: y2 - y1,
        })
    }
}

/// A whole-pixel rectangle inside an image: `x,y` top-left, `w,h` size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PixBox {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// From the report's `[x, y, w, h]`.
impl From<[u32; 4]> for PixBox {
    fn from([x, y, w, h]: [u32; 4]) -> PixBox {
        PixBox { x, y, w, h }
    }
}

impl PixBox {
    /// As the report writes it: `[x, y, w, h]`.
    pub fn xywh(&self) -> [u32; 4] {
        [self.x, self.y, self.w, self.h]
    }
    pub fn to_f(&self) -> BoxF {
        BoxF::new(
            self.x as f32,
            self.y as f32,
            (self.x + self.w) as f32,
            (self.y + self.h) as f32,
        )
    }
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x && y >= self.y && x < self.x + self.w && y < self.y + self.h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ios_and_iou() {
        let a = BoxF::new(0.0, 0.0, 10.0, 10.0);
        let b = BoxF::new(5.0, 5.0, 7.0, 7.0);
        assert_eq!(a.ios(&b), 1.0);
        assert!((a.iou(&b) - 0.04).abs() < 1e-6);
        assert_eq!(a.union(&b), a);
    }
    #[test]
    fn to_pixels_clips_and_rounds_out() {
        let b = BoxF::new(-3.2, 1.5, 9.1, 12.0);
        assert_eq!(
            b.to_pixels(8, 10),
            Some(PixBox {
                x: 0,
                y: 1,
                w: 8,
                h: 9
            })
        );
        assert_eq!(BoxF::new(20.0, 20.0, 30.0, 30.0).to_pixels(8, 10), None);
    }
}

//! Plane geometry in pixel coordinates: points, axis-aligned boxes and similarity transforms
//! (rotation, uniform scale, translation), the one set of each that faces, frames, crops and
//! the live loop measure and move by, and the quantile of such measurements.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    pub fn distance(self, other: Point) -> f32 {
        // Not `hypot`: pixel coordinates cannot overflow a square, and the masks measure
        // thousands of distances a frame.
        let (dx, dy) = (self.x - other.x, self.y - other.y);
        (dx * dx + dy * dy).sqrt()
    }

    /// Distance to the segment from `p` to `q` (to `p` when the segment is a point).
    pub fn distance_to_segment(self, p: Point, q: Point) -> f32 {
        let (dx, dy) = (q.x - p.x, q.y - p.y);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 {
            (((self.x - p.x) * dx + (self.y - p.y) * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.distance(Point::new(p.x + t * dx, p.y + t * dy))
    }
}

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        [self.x, self.y].serialize(serializer)
    }
}

/// An axis-aligned box `[left, top, right, bottom]` in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaceBox {
    pub left: f32,
    pub top: f32,
    pub right: f32,
    pub bottom: f32,
}

impl FaceBox {
    /// The tightest box around `points` (inverted, left > right, for none).
    pub fn around(points: &[Point]) -> FaceBox {
        points.iter().fold(
            FaceBox {
                left: f32::INFINITY,
                top: f32::INFINITY,
                right: f32::NEG_INFINITY,
                bottom: f32::NEG_INFINITY,
            },
            |b, p| FaceBox {
                left: b.left.min(p.x),
                top: b.top.min(p.y),
                right: b.right.max(p.x),
                bottom: b.bottom.max(p.y),
            },
        )
    }

    pub fn width(&self) -> f32 {
        self.right - self.left
    }

    pub fn height(&self) -> f32 {
        self.bottom - self.top
    }

    pub fn area(&self) -> f32 {
        self.width().max(0.0) * self.height().max(0.0)
    }

    pub fn center(&self) -> Point {
        Point::new(
            (self.left + self.right) / 2.0,
            (self.top + self.bottom) / 2.0,
        )
    }

    /// Intersection over union with another box (0 when they do not overlap).
    pub fn iou(&self, other: &FaceBox) -> f32 {
        let inter = FaceBox {
            left: self.left.max(other.left),
            top: self.top.max(other.top),
            right: self.right.min(other.right),
            bottom: self.bottom.min(other.bottom),
        };
        let inter_area = if inter.width() > 0.0 && inter.height() > 0.0 {
            inter.area()
        } else {
            0.0
        };
        let union = self.area() + other.area() - inter_area;
        if union > 0.0 {
            inter_area / union
        } else {
            0.0
        }
    }
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let [x, y] = <[f32; 2]>::deserialize(deserializer)?;
        Ok(Point::new(x, y))
    }
}

impl Serialize for FaceBox {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        [self.left, self.top, self.right, self.bottom].serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for FaceBox {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let [left, top, right, bottom] = <[f32; 4]>::deserialize(deserializer)?;
        Ok(FaceBox {
            left,
            top,
            right,
            bottom,
        })
    }
}

/// A similarity transform `p' = [a -b; b a] p + t`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Similarity {
    pub a: f32,
    pub b: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    pub const IDENTITY: Similarity = Similarity {
        a: 1.0,
        b: 0.0,
        tx: 0.0,
        ty: 0.0,
    };

    /// The least-squares similarity taking `src` onto `dst` (same length, at least 2 points
    /// that are not all equal); `None` when the points are degenerate.
    pub fn estimate(src: &[Point], dst: &[Point]) -> Option<Similarity> {
        if src.len() != dst.len() || src.len() < 2 {
            return None;
        }
        let n = src.len() as f64;
        let mean = |pts: &[Point]| {
            let (sx, sy) = pts.iter().fold((0.0, 0.0), |(sx, sy), p| {
                (sx + f64::from(p.x), sy + f64::from(p.y))
            });
            (sx / n, sy / n)
        };
        let (mx, my) = mean(src);
        let (nx, ny) = mean(dst);
        let (mut dot, mut cross, mut norm) = (0.0f64, 0.0f64, 0.0f64);
        for (p, q) in src.iter().zip(dst) {
            let (x, y) = (f64::from(p.x) - mx, f64::from(p.y) - my);
            let (u, v) = (f64::from(q.x) - nx, f64::from(q.y) - ny);
            dot += x * u + y * v;
            cross += x * v - y * u;
            norm += x * x + y * y;
        }
        if norm < 1e-12 {
            return None;
        }
        let (a, b) = (dot / norm, cross / norm);
        Some(Similarity {
            a: a as f32,
            b: b as f32,
            tx: (nx - (a * mx - b * my)) as f32,
            ty: (ny - (b * mx + a * my)) as f32,
        })
    }

    pub fn apply(&self, p: Point) -> Point {
        Point::new(
            self.a * p.x - self.b * p.y + self.tx,
            self.b * p.x + self.a * p.y + self.ty,
        )
    }

    /// `self ∘ first`: `first` applied, then `self`.
    pub fn after(&self, first: &Similarity) -> Similarity {
        Similarity {
            a: self.a * first.a - self.b * first.b,
            b: self.a * first.b + self.b * first.a,
            tx: self.a * first.tx - self.b * first.ty + self.tx,
            ty: self.b * first.tx + self.a * first.ty + self.ty,
        }
    }

    /// The exact inverse (a similarity is always invertible unless its scale is zero).
    pub fn inverse(&self) -> Similarity {
        let s = self.a * self.a + self.b * self.b;
        let (a, b) = (self.a / s, -self.b / s);
        Similarity {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        }
    }

    /// The uniform scale factor.
    pub fn scale(&self) -> f32 {
        self.a.hypot(self.b)
    }
}

/// The value `share` of the way up the sorted values (0 when there are none); 0.5 gives the
/// median (the upper one of an even count): the one quantile of measured positions, sizes,
/// poses and differences.
pub fn quantile(mut values: Vec<f32>, share: f32) -> f32 {
    values.sort_by(f32::total_cmp);
    let i = ((values.len() as f32 * share) as usize).min(values.len().saturating_sub(1));
    values.get(i).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_recovers_a_known_similarity() {
        let truth = Similarity {
            a: 0.8,
            b: 0.3,
            tx: 12.0,
            ty: -5.0,
        };
        let src: Vec<Point> = (0..10)
            .map(|i| Point::new(i as f32 * 7.0, (i * i) as f32))
            .collect();
        let dst: Vec<Point> = src.iter().map(|&p| truth.apply(p)).collect();
        let got = Similarity::estimate(&src, &dst).unwrap();
        assert!((got.a - truth.a).abs() < 1e-4 && (got.b - truth.b).abs() < 1e-4);
        assert!((got.tx - truth.tx).abs() < 1e-2 && (got.ty - truth.ty).abs() < 1e-2);
        let back = got.inverse().apply(got.apply(Point::new(3.0, 4.0)));
        assert!((back.x - 3.0).abs() < 1e-4 && (back.y - 4.0).abs() < 1e-4);
    }

    #[test]
    fn degenerate_points_give_none() {
        let same = vec![Point::new(1.0, 1.0); 5];
        assert!(Similarity::estimate(&same, &same).is_none());
    }
}

//! The face region: the convex hull of the landmarks, grown by a margin, as a pixel mask.
//! Evaluation measures the face inside it; the swap trainer weighs its loss by it and the
//! swap blend feathers it.

use super::landmarks::{parts, Landmarks};
use crate::geometry::Point;

/// The chin's landmark (the jaw line's middle point).
const CHIN: usize = 8;

/// How far above the brows [`FaceRegion::with_forehead`] reaches, as a share of the
/// brow-to-chin height (a forehead is about a third of the face).
pub const FOREHEAD: f32 = 0.25;

/// The convex hull of a face's landmarks.
#[derive(Debug, Clone)]
pub struct FaceRegion {
    hull: Vec<Point>,
}

impl FaceRegion {
    pub fn of(landmarks: &Landmarks) -> FaceRegion {
        FaceRegion::around(landmarks.points())
    }

    /// The hull of any set of points (an eye, the mouth).
    pub fn around(points: &[Point]) -> FaceRegion {
        FaceRegion {
            hull: convex_hull(points),
        }
    }

    /// The face with its forehead: the 68 points' hull, with the brows repeated
    /// [`FOREHEAD`] of the brow-to-chin height higher. The landmarks stop at the brows, but
    /// the forehead is as much a part of who someone is as the cheeks.
    pub fn with_forehead(landmarks: &Landmarks) -> FaceRegion {
        let p = landmarks.points();
        let brows = &p[parts::RIGHT_BROW.start..parts::LEFT_BROW.end];
        let n = brows.len() as f32;
        let (bx, by) = brows
            .iter()
            .fold((0.0, 0.0), |(x, y), b| (x + b.x, y + b.y));
        let chin = p[CHIN];
        let up = ((bx / n - chin.x) * FOREHEAD, (by / n - chin.y) * FOREHEAD);
        let raised = brows.iter().map(|b| Point::new(b.x + up.0, b.y + up.1));
        FaceRegion::around(&p.iter().copied().chain(raised).collect::<Vec<_>>())
    }

    /// Row-major mask of a `width` × `height` image: pixels inside the hull or within `grow`
    /// pixels of it.
    pub fn mask(&self, width: u32, height: u32, grow: f32) -> Vec<bool> {
        (0..height)
            .flat_map(|y| (0..width).map(move |x| Point::new(x as f32, y as f32)))
            .map(|p| self.contains(p) || self.distance(p) <= grow)
            .collect()
    }

    /// How far `p` lies inside the hull: its distance to the nearest edge, negative outside.
    pub fn depth(&self, p: Point) -> f32 {
        let d = self.distance(p);
        match self.contains(p) {
            true => d,
            false => -d,
        }
    }

    /// Whether `p` lies inside the hull.
    pub fn contains(&self, p: Point) -> bool {
        // Hull is counter-clockwise: inside means left of (or on) every edge.
        self.edges().all(|(a, b)| cross(a, b, p) >= 0.0) && self.hull.len() >= 3
    }

    fn distance(&self, p: Point) -> f32 {
        self.edges()
            .map(|(a, b)| p.distance_to_segment(a, b))
            .fold(f32::INFINITY, f32::min)
    }

    fn edges(&self) -> impl Iterator<Item = (Point, Point)> + '_ {
        let n = self.hull.len();
        (0..n).map(move |i| (self.hull[i], self.hull[(i + 1) % n]))
    }
}

fn cross(o: Point, a: Point, b: Point) -> f32 {
    (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x)
}

/// Andrew's monotone chain; counter-clockwise in a y-down image means clockwise on screen,
/// which is consistent with `contains`.
fn convex_hull(points: &[Point]) -> Vec<Point> {
    let mut pts = points.to_vec();
    pts.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    let mut hull: Vec<Point> = Vec::with_capacity(pts.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        for &p in &pts {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
        if pass == 0 {
            pts.reverse();
        }
    }
    hull
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_covers_the_hull_and_its_margin() {
        // 68 points on a 20-px square's border and centre.
        let pts: Vec<Point> = (0..68)
            .map(|i| match i % 4 {
                0 => Point::new(10.0, 10.0),
                1 => Point::new(30.0, 10.0),
                2 => Point::new(30.0, 30.0),
                _ => Point::new(10.0, 30.0),
            })
            .collect();
        let region = FaceRegion::of(&Landmarks::from_slice(&pts).unwrap());
        let mask = region.mask(40, 40, 2.0);
        let at = |x: usize, y: usize| mask[y * 40 + x];
        assert!(at(20, 20) && at(10, 10) && at(30, 30));
        assert!(at(8, 20) && !at(7, 20), "grown by two pixels");
        assert!(at(9, 9) && !at(8, 8), "corners are rounded");
        // 8..=32 on both axes is 25 × 25, less 3 pixels beyond each rounded corner.
        assert_eq!(mask.iter().filter(|&&m| m).count(), 25 * 25 - 4 * 3);
    }
}

//! A face as a mesh of triangles: the 68 landmarks, a few points above the brows (the forehead
//! and hair move with the head) and fixed points on the picture's border (the background stays
//! put), joined by a Delaunay triangulation. Moving the points moves every pixel with its
//! triangle: the piecewise-affine warp face-swap tools use, cheap enough for every frame.

use super::landmarks::{parts, Landmarks, Point, LANDMARK_COUNT};
use crate::frame::Rgb8;

/// The chin's landmark (the jaw line's middle point).
const CHIN: usize = 8;
/// How far above each brow point a forehead point sits, as a share of the chin-to-brows
/// height: about where the hairline is.
const FOREHEAD_REACH: f32 = 0.45;
/// Brow points given a forehead point above them (outer ends and the middle of each brow).
const FOREHEAD_FROM: [usize; 6] = [17, 19, 21, 22, 24, 26];
/// Fixed points per side of the border (corners included).
const BORDER_PER_SIDE: usize = 4;
/// Every control point: landmarks, forehead, border.
pub const CONTROL_POINTS: usize = LANDMARK_COUNT + FOREHEAD_FROM.len() + 4 * (BORDER_PER_SIDE - 1);

/// The control points of a face in a `side` × `side` picture: its landmarks, its forehead and
/// the picture's border.
pub fn control_points(landmarks: &Landmarks, side: u32) -> [Point; CONTROL_POINTS] {
    let p = landmarks.points();
    let brows = &p[parts::RIGHT_BROW.start..parts::LEFT_BROW.end];
    let n = brows.len() as f32;
    let (bx, by) = brows
        .iter()
        .fold((0.0, 0.0), |(x, y), b| (x + b.x / n, y + b.y / n));
    let up = (
        (bx - p[CHIN].x) * FOREHEAD_REACH,
        (by - p[CHIN].y) * FOREHEAD_REACH,
    );
    let forehead = FOREHEAD_FROM.map(|i| Point::new(p[i].x + up.0, p[i].y + up.1));
    let s = side as f32;
    let steps = (BORDER_PER_SIDE - 1) as f32;
    let border = (0..4 * (BORDER_PER_SIDE - 1)).map(|i| {
        let (edge, k) = (
            i / (BORDER_PER_SIDE - 1),
            (i % (BORDER_PER_SIDE - 1)) as f32,
        );
        let t = s * k / steps;
        match edge {
            0 => Point::new(t, 0.0),
            1 => Point::new(s, t),
            2 => Point::new(s - t, s),
            _ => Point::new(0.0, s - t),
        }
    });
    let mut points = [Point::new(0.0, 0.0); CONTROL_POINTS];
    for (slot, point) in points
        .iter_mut()
        .zip(p.iter().copied().chain(forehead).chain(border))
    {
        *slot = point;
    }
    points
}

/// The triangles of a mesh, as indices into its control points.
#[derive(Debug, Clone, PartialEq)]
pub struct Mesh {
    triangles: Vec<[usize; 3]>,
}

impl Mesh {
    /// The Delaunay triangulation of `points` (Bowyer–Watson); a point that repeats an earlier
    /// one is left out.
    pub fn delaunay(points: &[Point]) -> Mesh {
        let (lo, hi) = points.iter().fold(
            (
                Point::new(f32::MAX, f32::MAX),
                Point::new(f32::MIN, f32::MIN),
            ),
            |(lo, hi), p| {
                (
                    Point::new(lo.x.min(p.x), lo.y.min(p.y)),
                    Point::new(hi.x.max(p.x), hi.y.max(p.y)),
                )
            },
        );
        let span = (hi.x - lo.x).max(hi.y - lo.y).max(1.0) as f64;
        let (cx, cy) = (f64::from(lo.x + hi.x) / 2.0, f64::from(lo.y + hi.y) / 2.0);
        // Work in f64 with a super-triangle far outside every point.
        let mut all: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (f64::from(p.x), f64::from(p.y)))
            .collect();
        let n = all.len();
        all.extend([
            (cx - 20.0 * span, cy - 10.0 * span),
            (cx + 20.0 * span, cy - 10.0 * span),
            (cx, cy + 20.0 * span),
        ]);
        let mut triangles: Vec<[usize; 3]> = vec![[n, n + 1, n + 2]];
        for i in 0..n {
            let repeated = all[..i]
                .iter()
                .any(|q| (q.0 - all[i].0).abs() < 1e-6 && (q.1 - all[i].1).abs() < 1e-6);
            if repeated {
                continue;
            }
            let (bad, good): (Vec<_>, Vec<_>) = triangles
                .into_iter()
                .partition(|t| in_circumcircle(&all, *t, all[i]));
            triangles = good;
            // The hole's boundary: the edges of exactly one bad triangle.
            let edges: Vec<[usize; 2]> = bad
                .iter()
                .flat_map(|t| [[t[0], t[1]], [t[1], t[2]], [t[2], t[0]]])
                .collect();
            for edge in &edges {
                let shared = edges
                    .iter()
                    .filter(|e| (e[0] == edge[1] && e[1] == edge[0]) || *e == edge)
                    .count();
                if shared == 1 {
                    triangles.push([edge[0], edge[1], i]);
                }
            }
        }
        triangles.retain(|t| t.iter().all(|&v| v < n));
        Mesh { triangles }
    }

    pub fn triangles(&self) -> &[[usize; 3]] {
        &self.triangles
    }

    /// Draws `source` into `out` with every triangle moved from its place among `from` to its
    /// place among `to` (both indexed like the mesh), sampling bilinearly. A pixel no moved
    /// triangle covers keeps the source's pixel there.
    pub fn warp(&self, source: &Rgb8, from: &[Point], to: &[Point], out: &mut Rgb8) {
        let (w, h) = out.dimensions();
        let mut covered = vec![false; (w * h) as usize];
        for t in &self.triangles {
            let dst = t.map(|i| to[i]);
            let src = t.map(|i| from[i]);
            let Some(inverse) = Barycentric::new(dst) else {
                continue;
            };
            let left = dst
                .iter()
                .map(|p| p.x)
                .fold(f32::MAX, f32::min)
                .floor()
                .max(0.0) as u32;
            let top = dst
                .iter()
                .map(|p| p.y)
                .fold(f32::MAX, f32::min)
                .floor()
                .max(0.0) as u32;
            let right = dst.iter().map(|p| p.x).fold(f32::MIN, f32::max).ceil();
            let bottom = dst.iter().map(|p| p.y).fold(f32::MIN, f32::max).ceil();
            let right = (right.max(0.0) as u32).min(w.saturating_sub(1));
            let bottom = (bottom.max(0.0) as u32).min(h.saturating_sub(1));
            for y in top..=bottom {
                for x in left..=right {
                    let Some([a, b, c]) = inverse.weights(x as f32, y as f32) else {
                        continue;
                    };
                    let sx = a * src[0].x + b * src[1].x + c * src[2].x;
                    let sy = a * src[0].y + b * src[1].y + c * src[2].y;
                    out.put_pixel(x, y, sample(source, sx, sy));
                    covered[(y * w + x) as usize] = true;
                }
            }
        }
        for (i, done) in covered.iter().enumerate() {
            if !done {
                let (x, y) = (i as u32 % w, i as u32 / w);
                out.put_pixel(x, y, sample(source, x as f32, y as f32));
            }
        }
    }
}

/// Whether `p` lies strictly inside the circle through triangle `t`'s corners.
fn in_circumcircle(points: &[(f64, f64)], t: [usize; 3], p: (f64, f64)) -> bool {
    let [a, b, c] = t.map(|i| points[i]);
    let (ax, ay) = (a.0 - p.0, a.1 - p.1);
    let (bx, by) = (b.0 - p.0, b.1 - p.1);
    let (cx, cy) = (c.0 - p.0, c.1 - p.1);
    let det = (ax * ax + ay * ay) * (bx * cy - cx * by) - (bx * bx + by * by) * (ax * cy - cx * ay)
        + (cx * cx + cy * cy) * (ax * by - bx * ay);
    let orientation = (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0);
    det * orientation.signum() > 0.0
}

/// Barycentric coordinates in one triangle.
struct Barycentric {
    corner: Point,
    /// The inverse of the matrix of the two edges from `corner`.
    inverse: [f32; 4],
}

impl Barycentric {
    /// `None` for a triangle without area.
    fn new([a, b, c]: [Point; 3]) -> Option<Barycentric> {
        let (e1, e2) = ((b.x - a.x, b.y - a.y), (c.x - a.x, c.y - a.y));
        let det = e1.0 * e2.1 - e2.0 * e1.1;
        if det.abs() < 1e-6 {
            return None;
        }
        Some(Barycentric {
            corner: a,
            inverse: [e2.1 / det, -e2.0 / det, -e1.1 / det, e1.0 / det],
        })
    }

    /// The weights of the three corners for (x, y), if it lies inside (a hair's breadth of
    /// slack so shared edges leave no gap).
    fn weights(&self, x: f32, y: f32) -> Option<[f32; 3]> {
        let (dx, dy) = (x - self.corner.x, y - self.corner.y);
        let m = self.inverse;
        let (b, c) = (m[0] * dx + m[1] * dy, m[2] * dx + m[3] * dy);
        let a = 1.0 - b - c;
        const SLACK: f32 = -1e-4;
        (a >= SLACK && b >= SLACK && c >= SLACK).then_some([a, b, c])
    }
}

/// Bilinear sample of `image` at (x, y), clamped to its edges.
fn sample(image: &Rgb8, x: f32, y: f32) -> image::Rgb<u8> {
    let (w, h) = image.dimensions();
    let at = Point::new(x.clamp(0.0, (w - 1) as f32), y.clamp(0.0, (h - 1) as f32));
    super::align::sample_bilinear(image, at).unwrap_or(image::Rgb([0, 0, 0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize, step: f32) -> Vec<Point> {
        (0..n * n)
            .map(|i| Point::new((i % n) as f32 * step, (i / n) as f32 * step))
            .collect()
    }

    #[test]
    fn a_grid_triangulates_into_two_triangles_per_cell() {
        let mesh = Mesh::delaunay(&grid(4, 10.0));
        assert_eq!(mesh.triangles().len(), 2 * 3 * 3);
    }

    #[test]
    fn warping_onto_the_same_points_changes_nothing() {
        let points = grid(5, 15.75);
        let mesh = Mesh::delaunay(&points);
        let source = Rgb8::from_fn(64, 64, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, 7]));
        let mut out = Rgb8::new(64, 64);
        mesh.warp(&source, &points, &points, &mut out);
        assert_eq!(out, source);
    }

    #[test]
    fn a_shifted_mesh_shifts_the_picture_inside_it() {
        let points = grid(5, 15.75);
        let mesh = Mesh::delaunay(&points);
        // The inner points move 3 px right; the border stays.
        let moved: Vec<Point> = points
            .iter()
            .map(
                |p| match p.x > 1.0 && p.x < 62.0 && p.y > 1.0 && p.y < 62.0 {
                    true => Point::new(p.x + 3.0, p.y),
                    false => *p,
                },
            )
            .collect();
        let source = Rgb8::from_fn(64, 64, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, 7]));
        let mut out = Rgb8::new(64, 64);
        mesh.warp(&source, &points, &moved, &mut out);
        // At the middle point (31.5 + 3), the source's middle shows.
        assert_eq!(out.get_pixel(35, 32)[0], source.get_pixel(32, 32)[0]);
    }
}

//! A face as a mesh of triangles: the 68 landmarks, a few points above the brows (the forehead
//! and hair move with the head) and fixed points on the picture's border (the background stays
//! put), joined by a Delaunay triangulation. Moving the points moves every pixel with its
//! triangle: the piecewise-affine warp face-swap tools use, cheap enough for every frame.

use super::landmarks::{parts, Landmarks, LANDMARK_COUNT};
use crate::frame::sample::Sampler;
use crate::frame::Rgb8;
use crate::geometry::{FaceBox, Point};

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
        let b = FaceBox::around(points);
        let (lo, hi) = (Point::new(b.left, b.top), Point::new(b.right, b.bottom));
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
    /// place among `to` (both indexed like the mesh), sampling by Catmull-Rom (the warp moves
    /// a real frame, whose detail a bilinear sample would soften). A pixel no moved
    /// triangle covers keeps the source's pixel there.
    ///
    /// Each triangle is filled row by row between its edges, each pixel taken from the source
    /// through the triangle's own affine map (two additions a pixel along a row).
    pub fn warp(&self, source: &Rgb8, from: &[Point], to: &[Point], out: &mut Rgb8) {
        let (w, h) = out.dimensions();
        self.warp_within(source, from, to, out, [0, 0, w, h]);
    }

    /// [`Self::warp`] for the pixels of `out` in the rectangle `[x0, y0, x1, y1)` only (the
    /// rest is left as it is): a part of a picture costs only its share.
    pub fn warp_within(
        &self,
        source: &Rgb8,
        from: &[Point],
        to: &[Point],
        out: &mut Rgb8,
        within: [u32; 4],
    ) {
        let (w, h) = out.dimensions();
        let [left_edge, top_edge] = [within[0].min(w), within[1].min(h)];
        let [right_edge, bottom_edge] = [within[2].min(w), within[3].min(h)];
        if left_edge >= right_edge || top_edge >= bottom_edge {
            return;
        }
        let span = (right_edge - left_edge) as usize;
        let mut covered = vec![false; span * (bottom_edge - top_edge) as usize];
        let at = |x: u32, y: u32| (y - top_edge) as usize * span + (x - left_edge) as usize;
        let sampler = Sampler::new(source);
        let pixels: &mut [u8] = out;
        for t in &self.triangles {
            let dst = t.map(|i| to[i]);
            let Some(map) = Affine::between(dst, t.map(|i| from[i])) else {
                continue;
            };
            let top = dst.iter().map(|p| p.y).fold(f32::MAX, f32::min);
            let bottom = dst.iter().map(|p| p.y).fold(f32::MIN, f32::max);
            let rows = (top - SLACK).ceil().max(top_edge as f32) as u32
                ..=((bottom + SLACK).floor().min((bottom_edge - 1) as f32)) as u32;
            for y in rows.filter(|&y| (y as f32) <= bottom + SLACK) {
                let Some((left, right)) = row_span(dst, y as f32) else {
                    continue;
                };
                let x0 = (left - SLACK).ceil().max(left_edge as f32) as u32;
                let x1 = (right + SLACK).floor().min((right_edge - 1) as f32);
                if x1 < x0 as f32 {
                    continue;
                }
                let (mut sx, mut sy) = map.apply(x0 as f32, y as f32);
                for x in x0..=x1 as u32 {
                    let i = (y * w + x) as usize;
                    pixels[3 * i..3 * i + 3].copy_from_slice(&sampler.cubic(sx, sy));
                    covered[at(x, y)] = true;
                    sx += map.m[0];
                    sy += map.m[2];
                }
            }
        }
        for y in top_edge..bottom_edge {
            for x in left_edge..right_edge {
                if !covered[at(x, y)] {
                    let i = (y * w + x) as usize;
                    let colour = sampler.clamped(x as f32, y as f32);
                    pixels[3 * i..3 * i + 3].copy_from_slice(&colour);
                }
            }
        }
    }
}

/// How far outside a triangle's edges a pixel centre may lie and still be drawn by it, so
/// rounding leaves no gap between neighbours.
const SLACK: f32 = 1e-3;

/// The columns row `y` crosses triangle `t` between, if it does.
fn row_span(t: [Point; 3], y: f32) -> Option<(f32, f32)> {
    let (mut lo, mut hi) = (f32::MAX, f32::MIN);
    for (a, b) in [(t[0], t[1]), (t[1], t[2]), (t[2], t[0])] {
        let (y0, y1) = (a.y.min(b.y), a.y.max(b.y));
        if y < y0 - SLACK || y > y1 + SLACK {
            continue;
        }
        let x = match (b.y - a.y).abs() < 1e-6 {
            true => {
                lo = lo.min(a.x.min(b.x));
                hi = hi.max(a.x.max(b.x));
                continue;
            }
            false => a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y),
        };
        lo = lo.min(x);
        hi = hi.max(x);
    }
    (lo <= hi).then_some((lo, hi))
}

/// The affine map taking one triangle onto another: (x, y) → (m0·x + m1·y + m4, m2·x + m3·y + m5).
struct Affine {
    m: [f32; 6],
}

impl Affine {
    /// The map taking triangle `from` onto `to`; `None` when `from` has no area.
    fn between(from: [Point; 3], to: [Point; 3]) -> Option<Affine> {
        let (e1, e2) = (
            (from[1].x - from[0].x, from[1].y - from[0].y),
            (from[2].x - from[0].x, from[2].y - from[0].y),
        );
        let det = e1.0 * e2.1 - e2.0 * e1.1;
        if det.abs() < 1e-6 {
            return None;
        }
        // (b, c) = inverse · (p − from[0]); to(p) = to[0] + b·(to[1] − to[0]) + c·(to[2] − to[0]).
        let inverse = [e2.1 / det, -e2.0 / det, -e1.1 / det, e1.0 / det];
        let (f1, f2) = (
            (to[1].x - to[0].x, to[1].y - to[0].y),
            (to[2].x - to[0].x, to[2].y - to[0].y),
        );
        let a = [
            f1.0 * inverse[0] + f2.0 * inverse[2],
            f1.0 * inverse[1] + f2.0 * inverse[3],
            f1.1 * inverse[0] + f2.1 * inverse[2],
            f1.1 * inverse[1] + f2.1 * inverse[3],
        ];
        let offset = (
            to[0].x - a[0] * from[0].x - a[1] * from[0].y,
            to[0].y - a[2] * from[0].x - a[3] * from[0].y,
        );
        Some(Affine {
            m: [a[0], a[1], a[2], a[3], offset.0, offset.1],
        })
    }

    fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        let m = self.m;
        (m[0] * x + m[1] * y + m[4], m[2] * x + m[3] * y + m[5])
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

    #[test]
    fn a_warp_within_a_rectangle_is_the_whole_warp_there_and_nothing_elsewhere() {
        let points = grid(5, 15.75);
        let mesh = Mesh::delaunay(&points);
        let moved: Vec<Point> = points
            .iter()
            .map(|p| Point::new(p.x + (p.y * 0.3).sin() * 2.0, p.y))
            .collect();
        let source = Rgb8::from_fn(64, 64, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, 7]));
        let mut whole = Rgb8::new(64, 64);
        mesh.warp(&source, &points, &moved, &mut whole);
        let mut part = Rgb8::from_pixel(64, 64, image::Rgb([1, 2, 3]));
        mesh.warp_within(&source, &points, &moved, &mut part, [10, 20, 40, 50]);
        for (x, y, pixel) in part.enumerate_pixels() {
            let inside = (10..40).contains(&x) && (20..50).contains(&y);
            let want = if inside {
                *whole.get_pixel(x, y)
            } else {
                image::Rgb([1, 2, 3])
            };
            assert_eq!(*pixel, want, "({x}, {y})");
        }
    }
}

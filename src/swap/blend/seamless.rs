//! The seamless (Poisson) correction: the generated face keeps its own gradients but meets the
//! frame where the mask ends. The correction is the harmonic function that equals
//! `original - generated` outside the mask; it is smooth, so it is solved on a coarse grid and
//! spread back bilinearly.

use super::mask::Mask;
use crate::frame::Rgb8;

/// The side of the grid the seamless correction is solved on, at most.
pub const SEAMLESS_GRID: usize = 64;

/// Solves Poisson's equation in the crop so `generated` keeps its own gradients but meets
/// `original` where `mask` ends, on a grid of at most [`SEAMLESS_GRID`] cells a side.
pub(super) fn make_seamless(mask: &Mask, generated: &mut Rgb8, original: &Rgb8) {
    let side = mask.side() as usize;
    let cell = side.div_ceil(SEAMLESS_GRID);
    let n = side.div_ceil(cell);
    // Each coarse cell: inside the mask (unknown) or outside it (fixed at the mean difference).
    let mut inside = vec![false; n * n];
    let mut correction = vec![[0f32; 3]; n * n];
    let mut counts = vec![0f32; n * n];
    for y in 0..side {
        for x in 0..side {
            let i = (y / cell) * n + x / cell;
            inside[i] |= mask.weights[y * side + x] > 0.0;
            let (o, g) = (
                original.get_pixel(x as u32, y as u32),
                generated.get_pixel(x as u32, y as u32),
            );
            for c in 0..3 {
                correction[i][c] += f32::from(o[c]) - f32::from(g[c]);
            }
            counts[i] += 1.0;
        }
    }
    for (value, count) in correction.iter_mut().zip(&counts) {
        *value = value.map(|v| v / count.max(1.0));
    }
    solve_laplace(&mut correction, &inside, n);
    add_correction(mask, generated, (&correction, n), cell);
}

/// Adds the coarse correction (`n` × `n` cells of `cell` pixels), interpolated bilinearly
/// between cell centres, to the generated face wherever the mask weighs it.
fn add_correction(
    mask: &Mask,
    generated: &mut Rgb8,
    (correction, n): (&[[f32; 3]], usize),
    cell: usize,
) {
    let side = mask.side() as usize;
    let at = |x: usize, y: usize| correction[y.min(n - 1) * n + x.min(n - 1)];
    for (i, p) in generated.pixels_mut().enumerate() {
        if mask.weights[i] <= 0.0 {
            continue;
        }
        let centre = |v: usize| ((v as f32 + 0.5) / cell as f32 - 0.5).max(0.0);
        let (gx, gy) = (centre(i % side), centre(i / side));
        let (x0, y0) = (gx as usize, gy as usize);
        let (fx, fy) = (gx - x0 as f32, gy - y0 as f32);
        for c in 0..3 {
            let top = at(x0, y0)[c] * (1.0 - fx) + at(x0 + 1, y0)[c] * fx;
            let bottom = at(x0, y0 + 1)[c] * (1.0 - fx) + at(x0 + 1, y0 + 1)[c] * fx;
            let v = f32::from(p[c]) + top * (1.0 - fy) + bottom * fy;
            p[c] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// Makes `values` harmonic where `inside` (Laplace's equation, the fixed cells outside as the
/// boundary) by successive over-relaxation, starting from the boundary's mean. Cells on the
/// grid's edge count as boundary even when inside, so the crop's border holds the frame.
fn solve_laplace(values: &mut [[f32; 3]], inside: &[bool], n: usize) {
    let interior = |i: usize| {
        let (x, y) = (i % n, i / n);
        inside[i] && x > 0 && x < n - 1 && y > 0 && y < n - 1
    };
    let boundary: Vec<usize> = (0..n * n).filter(|&i| !interior(i)).collect();
    let unknowns: Vec<usize> = (0..n * n).filter(|&i| interior(i)).collect();
    if unknowns.is_empty() || boundary.is_empty() {
        return;
    }
    let mut mean = [0f32; 3];
    for &i in &boundary {
        for c in 0..3 {
            mean[c] += values[i][c] / boundary.len() as f32;
        }
    }
    for &i in &unknowns {
        values[i] = mean;
    }
    // The optimal over-relaxation for a square grid of side n.
    let omega = 2.0 / (1.0 + (std::f32::consts::PI / n as f32).sin());
    for _ in 0..2 * n {
        for &i in &unknowns {
            let (l, r, u, d) = (values[i - 1], values[i + 1], values[i - n], values[i + n]);
            for c in 0..3 {
                let average = (l[c] + r[c] + u[c] + d[c]) / 4.0;
                values[i][c] += omega * (average - values[i][c]);
            }
        }
    }
}

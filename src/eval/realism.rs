//! How real a swapped face looks, beside whom it looks like: how sharp it is against the face
//! it replaced (the variance of the Laplacian of luma over the inner face, the usual focus
//! measure), and how much colour steps across the blend mask's edge (CIE76 ΔE between thin
//! bands just inside and just outside it, sector by sector around the face, so a forehead
//! paler than the hair above it and a chin darker than the neck below do not cancel out).

use crate::frame::Rgb8;
use crate::geometry::Point;
use crate::swap::lab::rgb_to_lab;

/// Sectors the mask's edge is cut into around the face's centre.
const SECTORS: usize = 16;
/// Pixels a band needs in a sector for that sector to count.
const MIN_BAND_PIXELS: usize = 8;
/// The mask's feathered edge: weights strictly between these.
const EDGE: (f32, f32) = (0.05, 0.95);

/// Variance of the 4-neighbour Laplacian of luma over the pixels `inside` selects (row-major,
/// the image's size); 0 when none does.
pub fn sharpness(image: &Rgb8, inside: &[bool]) -> f64 {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let luma: Vec<f64> = image
        .pixels()
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .collect();
    let (mut sum, mut sq, mut n) = (0.0, 0.0, 0usize);
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let i = y * w + x;
            if !inside[i] {
                continue;
            }
            let l = luma[i - 1] + luma[i + 1] + luma[i - w] + luma[i + w] - 4.0 * luma[i];
            sum += l;
            sq += l * l;
            n += 1;
        }
    }
    if n == 0 {
        return 0.0;
    }
    let mean = sum / n as f64;
    sq / n as f64 - mean * mean
}

/// The two bands along a blend mask's edge, per sector around the face.
#[derive(Debug, Clone)]
pub struct Seam {
    /// Pixel indices just inside the edge, per sector.
    inside: Vec<Vec<usize>>,
    /// Pixel indices just outside it, per sector.
    outside: Vec<Vec<usize>>,
}

impl Seam {
    /// The bands of the mask `weight` (row-major, `width` × `height`, 0 to 1): pixels fully in
    /// (or fully out of) the mask within `band` pixels of its feathered edge, sorted into
    /// sectors by their angle around `center`.
    pub fn new(weight: &[f32], width: u32, height: u32, center: Point, band: f32) -> Seam {
        let (w, h) = (width as usize, height as usize);
        let edge: Vec<bool> = weight.iter().map(|&v| v > EDGE.0 && v < EDGE.1).collect();
        let near = dilate(&edge, w, h, band.round().max(1.0) as usize);
        let (mut inside, mut outside) = (vec![Vec::new(); SECTORS], vec![Vec::new(); SECTORS]);
        for (i, (&v, &close)) in weight.iter().zip(&near).enumerate() {
            if !close || (v > EDGE.0 && v < EDGE.1) {
                continue;
            }
            let (x, y) = ((i % w) as f32 - center.x, (i / w) as f32 - center.y);
            let turn = (y.atan2(x) / std::f32::consts::TAU).rem_euclid(1.0);
            let sector = ((turn * SECTORS as f32) as usize).min(SECTORS - 1);
            match v >= EDGE.1 {
                true => inside[sector].push(i),
                false => outside[sector].push(i),
            }
        }
        Seam { inside, outside }
    }

    /// The mean over sectors of the CIE76 colour difference between the mean colour just
    /// inside and just outside the edge, in `image`; `None` when no sector has both bands.
    pub fn delta_e(&self, image: &Rgb8) -> Option<f64> {
        let pixels = image.as_raw();
        let mean_lab = |indices: &[usize]| -> [f64; 3] {
            let mut sum = [0f64; 3];
            for &i in indices {
                let lab = rgb_to_lab([pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]]);
                for c in 0..3 {
                    sum[c] += f64::from(lab[c]);
                }
            }
            sum.map(|s| s / indices.len() as f64)
        };
        let steps: Vec<f64> = self
            .inside
            .iter()
            .zip(&self.outside)
            .filter(|(i, o)| i.len() >= MIN_BAND_PIXELS && o.len() >= MIN_BAND_PIXELS)
            .map(|(i, o)| {
                let (a, b) = (mean_lab(i), mean_lab(o));
                ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
            })
            .collect();
        (!steps.is_empty()).then(|| steps.iter().sum::<f64>() / steps.len() as f64)
    }
}

/// `mask` grown by `r` pixels in every direction (a square neighbourhood).
fn dilate(mask: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
    let grow = |get: &dyn Fn(usize, usize) -> bool, lines: usize, len: usize| -> Vec<Vec<bool>> {
        (0..lines)
            .map(|line| {
                // A running count of set cells in the window [k - r, k + r].
                let mut out = vec![false; len];
                let mut count = 0usize;
                for k in 0..len + r {
                    if k < len && get(line, k) {
                        count += 1;
                    }
                    if k > 2 * r && get(line, k - 2 * r - 1) {
                        count -= 1;
                    }
                    if k >= r {
                        out[k - r] = count > 0;
                    }
                }
                out
            })
            .collect()
    };
    let rows = grow(&|y, x| mask[y * w + x], h, w);
    let columns = grow(&|x, y| rows[y][x], w, h);
    (0..w * h).map(|i| columns[i % w][i / w]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dilation_grows_a_point_into_a_square() {
        let (w, h) = (7, 5);
        let mut mask = vec![false; w * h];
        mask[2 * w + 3] = true;
        let grown = dilate(&mask, w, h, 1);
        let set: Vec<(usize, usize)> = (0..w * h)
            .filter(|&i| grown[i])
            .map(|i| (i % w, i / w))
            .collect();
        assert_eq!(set.len(), 9);
        assert!(set
            .iter()
            .all(|&(x, y)| (2..=4).contains(&x) && (1..=3).contains(&y)));
    }
}

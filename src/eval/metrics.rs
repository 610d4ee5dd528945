//! Image quality figures between a generated and a real picture: L1, PSNR and SSIM, over the
//! whole picture or inside a mask.
//!
//! SSIM follows Wang et al. (2004) on luma: an 11×11 Gaussian window (σ 1.5), C1 = (0.01·255)²,
//! C2 = (0.03·255)², averaged over the pixels considered.

use serde::Serialize;

use crate::frame::Rgb8;

const SSIM_RADIUS: i32 = 5;
const SSIM_SIGMA: f32 = 1.5;
const C1: f32 = (0.01 * 255.0) * (0.01 * 255.0);
const C2: f32 = (0.03 * 255.0) * (0.03 * 255.0);

/// L1 (mean absolute difference in [0, 1]), PSNR (dB) and SSIM of one comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Quality {
    pub l1: f64,
    pub psnr: f64,
    pub ssim: f64,
}

/// Compares `a` with `b` (same size) over the pixels where `mask` is true (all when `None`).
pub fn quality(a: &Rgb8, b: &Rgb8, mask: Option<&[bool]>) -> Quality {
    let inside = |i: usize| mask.is_none_or(|m| m[i]);
    let (mut abs, mut sq, mut n) = (0f64, 0f64, 0u64);
    for (i, (p, q)) in a.pixels().zip(b.pixels()).enumerate() {
        if !inside(i) {
            continue;
        }
        for c in 0..3 {
            let d = f64::from(p[c]) - f64::from(q[c]);
            abs += d.abs();
            sq += d * d;
        }
        n += 3;
    }
    let n = n.max(1) as f64;
    let mse = sq / n;
    let psnr = if mse > 0.0 {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    } else {
        100.0
    };
    let map = ssim_map(&luma(a), &luma(b), a.width() as usize, a.height() as usize);
    let (sum, count) = map
        .iter()
        .enumerate()
        .filter(|(i, _)| inside(*i))
        .fold((0f64, 0u64), |(s, c), (_, v)| (s + f64::from(*v), c + 1));
    Quality {
        l1: abs / n / 255.0,
        psnr,
        ssim: sum / count.max(1) as f64,
    }
}

/// Mean of several comparisons.
pub fn mean(items: &[Quality]) -> Quality {
    let n = items.len().max(1) as f64;
    let sum = items.iter().fold(Quality::default(), |acc, q| Quality {
        l1: acc.l1 + q.l1,
        psnr: acc.psnr + q.psnr,
        ssim: acc.ssim + q.ssim,
    });
    Quality {
        l1: sum.l1 / n,
        psnr: sum.psnr / n,
        ssim: sum.ssim / n,
    }
}

fn luma(image: &Rgb8) -> Vec<f32> {
    image
        .pixels()
        .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
        .collect()
}

/// Local SSIM at every pixel (the window is clipped at the borders).
fn ssim_map(x: &[f32], y: &[f32], w: usize, h: usize) -> Vec<f32> {
    let kernel: Vec<f32> = (-SSIM_RADIUS..=SSIM_RADIUS)
        .map(|d| (-(d * d) as f32 / (2.0 * SSIM_SIGMA * SSIM_SIGMA)).exp())
        .collect();
    let blur = |v: &[f32]| separable_blur(v, w, h, &kernel);
    let xy: Vec<f32> = x.iter().zip(y).map(|(a, b)| a * b).collect();
    let xx: Vec<f32> = x.iter().map(|a| a * a).collect();
    let yy: Vec<f32> = y.iter().map(|b| b * b).collect();
    let (mx, my, sxy, sxx, syy) = (blur(x), blur(y), blur(&xy), blur(&xx), blur(&yy));
    (0..w * h)
        .map(|i| {
            let (vx, vy, cov) = (
                sxx[i] - mx[i] * mx[i],
                syy[i] - my[i] * my[i],
                sxy[i] - mx[i] * my[i],
            );
            ((2.0 * mx[i] * my[i] + C1) * (2.0 * cov + C2))
                / ((mx[i] * mx[i] + my[i] * my[i] + C1) * (vx + vy + C2))
        })
        .collect()
}

/// Normalised Gaussian blur, horizontal then vertical; weights renormalised at the borders.
fn separable_blur(v: &[f32], w: usize, h: usize, kernel: &[f32]) -> Vec<f32> {
    let r = (kernel.len() / 2) as isize;
    let pass = |src: &[f32], horizontal: bool| -> Vec<f32> {
        let mut out = vec![0f32; w * h];
        for y in 0..h as isize {
            for x in 0..w as isize {
                let (mut s, mut wsum) = (0f32, 0f32);
                for (k, weight) in kernel.iter().enumerate() {
                    let d = k as isize - r;
                    let (sx, sy) = if horizontal { (x + d, y) } else { (x, y + d) };
                    if sx >= 0 && sy >= 0 && sx < w as isize && sy < h as isize {
                        s += weight * src[sy as usize * w + sx as usize];
                        wsum += weight;
                    }
                }
                out[y as usize * w + x as usize] = s / wsum;
            }
        }
        out
    };
    pass(&pass(v, true), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(offset: u8) -> Rgb8 {
        Rgb8::from_fn(32, 32, |x, y| {
            image::Rgb([(x * 4) as u8 + offset, (y * 4) as u8, 128])
        })
    }

    #[test]
    fn identical_pictures_are_perfect() {
        let q = quality(&ramp(0), &ramp(0), None);
        assert_eq!(q.l1, 0.0);
        assert_eq!(q.psnr, 100.0);
        assert!((q.ssim - 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_constant_shift_gives_the_expected_l1_and_psnr() {
        // Red channel off by 3 everywhere: L1 = 1/255, MSE = 3, PSNR = 10·log10(255²/3).
        let q = quality(&ramp(0), &ramp(3), None);
        assert!((q.l1 - 1.0 / 255.0).abs() < 1e-9);
        assert!((q.psnr - 10.0 * (255.0f64 * 255.0 / 3.0).log10()).abs() < 1e-9);
        assert!(q.ssim < 1.0 && q.ssim > 0.9);
    }

    #[test]
    fn mask_limits_the_comparison() {
        let a = ramp(0);
        let mut b = ramp(0);
        b.put_pixel(0, 0, image::Rgb([255, 255, 255]));
        let mut mask = vec![true; 32 * 32];
        mask[0] = false;
        assert_eq!(quality(&a, &b, Some(&mask)).l1, 0.0);
        assert!(quality(&a, &b, None).l1 > 0.0);
    }
}

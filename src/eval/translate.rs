//! `mimic eval translate` (DESIGN §3, §6): a translation model run over a domain A, measured
//! three ways. `cycle_l1`: how well the other direction (`NAME_b2a.onnx` beside
//! `NAME_a2b.onnx`) brings each output back. `domain_distance_before/after`: the Fréchet
//! distance from domain B of A's pictures and of their translations, on per-picture colour
//! statistics (mean and spread of L, a and b): a translation that works moves A toward B. With
//! faces, the share of outputs whose identity (dlib's descriptor) is nearer B's than A's.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::EvalError;
use crate::face::{Descriptor, FaceAnalyzer};
use crate::frame::Rgb8;
use crate::infer::Generator;
use crate::progress::progress;
use crate::swap::lab::rgb_to_lab;

/// The figures of one evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct TranslateReport {
    pub images: u64,
    /// Mean absolute difference (0–1 intensity) of A→B→A from A; `None` without B→A.
    pub cycle_l1: Option<f64>,
    pub domain_distance_before: f64,
    pub domain_distance_after: f64,
    /// For face domains (`--faces`): how identity moved.
    pub identity: Option<IdentityShift>,
}

/// Whether translated faces look like B's person rather than A's.
#[derive(Debug, Clone, Serialize)]
pub struct IdentityShift {
    /// Outputs in which a face was found.
    pub faces: u64,
    /// The share of those nearer B's mean descriptor than A's.
    pub closer_to_b: f64,
    /// The same share for A's own pictures, for reference (near 0 for two people).
    pub inputs_closer_to_b: f64,
}

/// Translates every picture of `a` with `a2b` (and back with `b2a` when given) and measures
/// against `b`; all pictures must be the model's size. `faces` adds the identity figure.
pub fn evaluate(
    a2b: &mut Generator,
    mut b2a: Option<&mut Generator>,
    a: &[Rgb8],
    b: &[Rgb8],
    faces: Option<&FaceAnalyzer>,
) -> Result<TranslateReport, EvalError> {
    let bar = progress(Some(a.len() as u64), "translating");
    let (mut outputs, mut cycle) = (Vec::with_capacity(a.len()), Vec::new());
    let mut back = Rgb8::new(0, 0);
    for picture in a {
        let mut out = Rgb8::new(0, 0);
        a2b.run(picture, &mut out)?;
        if let Some(b2a) = b2a.as_deref_mut() {
            b2a.run(&out, &mut back)?;
            cycle.push(mean_abs_diff(&back, picture));
        }
        outputs.push(out);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let target = colour_statistics(b);
    let identity = match faces {
        Some(analyzer) => Some(identity_shift(analyzer, a, b, &outputs)?),
        None => None,
    };
    Ok(TranslateReport {
        images: a.len() as u64,
        cycle_l1: (!cycle.is_empty()).then(|| cycle.iter().sum::<f64>() / cycle.len() as f64),
        domain_distance_before: frechet(&colour_statistics(a), &target),
        domain_distance_after: frechet(&colour_statistics(&outputs), &target),
        identity,
    })
}

fn mean_abs_diff(x: &Rgb8, y: &Rgb8) -> f64 {
    let sum: u64 = x
        .as_raw()
        .iter()
        .zip(y.as_raw())
        .map(|(p, q)| u64::from(p.abs_diff(*q)))
        .sum();
    sum as f64 / (x.as_raw().len().max(1) as f64 * 255.0)
}

/// Per picture: the mean and the spread of L, a and b.
const FEATURES: usize = 6;

fn colour_statistics(pictures: &[Rgb8]) -> Vec<[f64; FEATURES]> {
    pictures
        .iter()
        .map(|picture| {
            let (mut sum, mut sq) = ([0f64; 3], [0f64; 3]);
            for p in picture.pixels() {
                let lab = rgb_to_lab(p.0);
                for c in 0..3 {
                    sum[c] += f64::from(lab[c]);
                    sq[c] += f64::from(lab[c]) * f64::from(lab[c]);
                }
            }
            let n = f64::from(picture.width() * picture.height()).max(1.0);
            let mut features = [0f64; FEATURES];
            for c in 0..3 {
                let mean = sum[c] / n;
                features[c] = mean;
                features[3 + c] = (sq[c] / n - mean * mean).max(0.0).sqrt();
            }
            features
        })
        .collect()
}

/// The Fréchet distance between Gaussians fitted to two sets of feature vectors:
/// ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½).
pub fn frechet<const D: usize>(x: &[[f64; D]], y: &[[f64; D]]) -> f64 {
    let (mx, cx) = moments(x);
    let (my, cy) = moments(y);
    let mean_term: f64 = (0..D).map(|i| (mx[i] - my[i]).powi(2)).sum();
    let root_x = sqrt_psd(&cx);
    let inner = mul(&mul(&root_x, &cy), &root_x);
    let cross: f64 = eigenvalues(&inner).iter().map(|l| l.max(0.0).sqrt()).sum();
    let trace = |m: &[[f64; D]; D]| (0..D).map(|i| m[i][i]).sum::<f64>();
    (mean_term + trace(&cx) + trace(&cy) - 2.0 * cross).max(0.0)
}

type Matrix<const D: usize> = [[f64; D]; D];

fn moments<const D: usize>(x: &[[f64; D]]) -> ([f64; D], Matrix<D>) {
    let n = x.len().max(1) as f64;
    let mut mean = [0f64; D];
    for v in x {
        for i in 0..D {
            mean[i] += v[i] / n;
        }
    }
    let mut cov = [[0f64; D]; D];
    for v in x {
        for i in 0..D {
            for j in 0..D {
                cov[i][j] += (v[i] - mean[i]) * (v[j] - mean[j]) / (n - 1.0).max(1.0);
            }
        }
    }
    (mean, cov)
}

fn mul<const D: usize>(a: &Matrix<D>, b: &Matrix<D>) -> Matrix<D> {
    let mut out = [[0f64; D]; D];
    for i in 0..D {
        for j in 0..D {
            out[i][j] = (0..D).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

/// The square root of a symmetric positive semi-definite matrix, through its eigenvectors.
fn sqrt_psd<const D: usize>(m: &Matrix<D>) -> Matrix<D> {
    let (values, vectors) = jacobi(m);
    let mut out = [[0f64; D]; D];
    for i in 0..D {
        for j in 0..D {
            out[i][j] = (0..D)
                .map(|k| vectors[i][k] * values[k].max(0.0).sqrt() * vectors[j][k])
                .sum();
        }
    }
    out
}

fn eigenvalues<const D: usize>(m: &Matrix<D>) -> [f64; D] {
    jacobi(m).0
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations.
fn jacobi<const D: usize>(m: &Matrix<D>) -> ([f64; D], Matrix<D>) {
    let mut a = *m;
    let mut v = [[0f64; D]; D];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _ in 0..100 {
        let off: f64 = (0..D)
            .flat_map(|i| (0..D).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..D {
            for q in p + 1..D {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for row in a.iter_mut() {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (row_p, row_q) = (a[p], a[q]);
                for k in 0..D {
                    a[p][k] = c * row_p[k] - s * row_q[k];
                    a[q][k] = s * row_p[k] + c * row_q[k];
                }
                for row in v.iter_mut() {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
    (std::array::from_fn(|i| a[i][i]), v)
}

/// The mean descriptor of the faces found in `pictures` (the first face of each).
fn mean_identity(
    analyzer: &FaceAnalyzer,
    pictures: &[Rgb8],
) -> Result<Option<Descriptor>, EvalError> {
    let mut sum = vec![0f32; 128];
    let mut n = 0;
    for picture in pictures {
        if let Some((_, Some(d))) = analyzer.faces_with_descriptors(picture)?.into_iter().next() {
            sum.iter_mut().zip(d.values()).for_each(|(s, v)| *s += v);
            n += 1;
        }
    }
    Ok((n > 0)
        .then(|| sum.iter().map(|s| s / n as f32).collect::<Vec<_>>())
        .and_then(|v| Descriptor::from_slice(&v)))
}

fn identity_shift(
    analyzer: &FaceAnalyzer,
    a: &[Rgb8],
    b: &[Rgb8],
    outputs: &[Rgb8],
) -> Result<IdentityShift, EvalError> {
    let (Some(id_a), Some(id_b)) = (mean_identity(analyzer, a)?, mean_identity(analyzer, b)?)
    else {
        return Err(EvalError::NoFaces);
    };
    let share = |pictures: &[Rgb8]| -> Result<(u64, f64), EvalError> {
        let (mut faces, mut closer) = (0u64, 0u64);
        for picture in pictures {
            if let Some((_, Some(d))) = analyzer.faces_with_descriptors(picture)?.into_iter().next()
            {
                faces += 1;
                closer += u64::from(d.distance(&id_b) < d.distance(&id_a));
            }
        }
        Ok((faces, closer as f64 / faces.max(1) as f64))
    };
    let (faces, closer_to_b) = share(outputs)?;
    let (_, inputs_closer_to_b) = share(a)?;
    Ok(IdentityShift {
        faces,
        closer_to_b,
        inputs_closer_to_b,
    })
}

/// The other direction beside the model (`NAME_b2a.onnx` beside `NAME_a2b.onnx`, and the
/// reverse), when it is there.
pub fn back_model(model: &Path) -> Option<PathBuf> {
    let name = model.file_name()?.to_str()?;
    let back = match name.strip_suffix("_a2b.onnx") {
        Some(stem) => format!("{stem}_b2a.onnx"),
        None => format!("{}_a2b.onnx", name.strip_suffix("_b2a.onnx")?),
    };
    let back = model.with_file_name(back);
    back.is_file().then_some(back)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frechet_of_gaussians_matches_the_closed_form() {
        // Two point sets with known moments: identical sets are 0 apart; a shifted copy is
        // the squared shift apart; scaling the spread by k adds tr(Σ)(k − 1)².
        let x: Vec<[f64; 2]> = (0..200)
            .map(|i| {
                let t = i as f64 * 0.37;
                [t.sin() * 2.0, (t * 1.3).cos()]
            })
            .collect();
        assert!(frechet(&x, &x).abs() < 1e-9);
        let shifted: Vec<[f64; 2]> = x.iter().map(|v| [v[0] + 3.0, v[1] - 4.0]).collect();
        assert!((frechet(&x, &shifted) - 25.0).abs() < 1e-6);
        let (_, cov) = moments(&x);
        let scaled: Vec<[f64; 2]> = x.iter().map(|v| [v[0] * 3.0, v[1] * 3.0]).collect();
        let (mean, _) = moments(&x);
        let mean_shift = (mean[0] * 2.0).powi(2) + (mean[1] * 2.0).powi(2);
        let expected = mean_shift + (cov[0][0] + cov[1][1]) * 4.0;
        assert!(
            (frechet(&x, &scaled) - expected).abs() < 1e-6,
            "{} vs {expected}",
            frechet(&x, &scaled)
        );
    }
}

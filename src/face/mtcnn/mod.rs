//! MTCNN, the book's other face detector: a cascade of three small networks (P-Net over an
//! image pyramid, R-Net and O-Net on crops) that finds faces and their five points (eyes,
//! nose, mouth corners). The steps, thresholds and rounding follow facenet-pytorch's
//! `detect_face`, whose weights these are (`runtime/mtcnn/*.pt`, fetched by `setup.sh`), so
//! its boxes are the reference's; the networks run in ONNX Runtime ([`nets`]).

mod nets;
mod pickle;
pub mod weights;

use std::path::{Path, PathBuf};

use ndarray::Array4;

use crate::frame::Rgb8;
use crate::geometry::Point;
use nets::Net;

#[derive(Debug, thiserror::Error)]
pub enum MtcnnError {
    #[error("cannot read MTCNN's network '{}': {reason}; run ./setup.sh to fetch it again", path.display())]
    Weights { path: PathBuf, reason: String },
    #[error("MTCNN failed: {0}")]
    Run(String),
}

impl MtcnnError {
    fn weights(path: &Path, reason: String) -> MtcnnError {
        MtcnnError::Weights {
            path: path.to_path_buf(),
            reason,
        }
    }
}

/// One face MTCNN found: its box (x1, y1, x2, y2), how sure it is, and its five points
/// (left eye, right eye, nose, left and right mouth corners, as seen in the picture).
#[derive(Debug, Clone, PartialEq)]
pub struct MtcnnFace {
    pub bbox: [f32; 4],
    pub score: f32,
    pub points: [Point; 5],
}

/// How the cascade runs (facenet-pytorch's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MtcnnOptions {
    /// The smallest face looked for, in pixels.
    pub min_face: f32,
    /// Each pyramid level's scale over the one before.
    pub factor: f32,
    /// Each network's face probability to pass.
    pub thresholds: [f32; 3],
}

impl Default for MtcnnOptions {
    fn default() -> Self {
        Self {
            min_face: 20.0,
            factor: 0.709,
            thresholds: [0.6, 0.7, 0.7],
        }
    }
}

/// The three networks, read once.
pub struct Mtcnn {
    pnet: Net,
    rnet: Net,
    onet: Net,
    options: MtcnnOptions,
}

/// A candidate box: x1, y1, x2, y2, score, and the regression that moves it.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    b: [f32; 4],
    score: f32,
    reg: [f32; 4],
}

impl Mtcnn {
    /// Reads `pnet.pt`, `rnet.pt` and `onet.pt` from `dir`.
    pub fn open(dir: &Path, options: MtcnnOptions) -> Result<Mtcnn, MtcnnError> {
        Ok(Mtcnn {
            pnet: Net::pnet(&dir.join("pnet.pt"))?,
            rnet: Net::rnet(&dir.join("rnet.pt"))?,
            onet: Net::onet(&dir.join("onet.pt"))?,
            options,
        })
    }

    /// Every face in `image`, most certain first.
    pub fn detect(&self, image: &Rgb8) -> Result<Vec<MtcnnFace>, MtcnnError> {
        let picture = Planes::of(image);
        let proposed = self.propose(&picture)?;
        let refined = self.refine(&picture, proposed)?;
        let mut faces = self.judge(&picture, refined)?;
        faces.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(faces)
    }

    /// Stage 1: P-Net over the pyramid, NMS per level and across levels, boxes regressed and
    /// made square.
    fn propose(&self, picture: &Planes) -> Result<Vec<[f32; 4]>, MtcnnError> {
        let (h, w) = (picture.height as f32, picture.width as f32);
        let m = 12.0 / self.options.min_face;
        let mut minl = h.min(w) * m;
        let mut scale = m;
        let mut all = Vec::new();
        while minl >= 12.0 {
            let (sh, sw) = ((h * scale + 1.0) as usize, (w * scale + 1.0) as usize);
            let data = picture.resampled((0, picture.height, 0, picture.width), sh, sw);
            let input = batch(data, (1, sh, sw))?;
            let out = self.pnet.run(&input)?.0;
            let level = boxes_at(&out[0], &out[1], scale, self.options.thresholds[0])?;
            all.extend(nms(level, 0.5, Overlap::Union));
            scale *= self.options.factor;
            minl *= self.options.factor;
        }
        let kept = nms(all, 0.7, Overlap::Union);
        Ok(kept
            .into_iter()
            .map(|c| {
                let (rw, rh) = (c.b[2] - c.b[0], c.b[3] - c.b[1]);
                square([
                    c.b[0] + c.reg[0] * rw,
                    c.b[1] + c.reg[1] * rh,
                    c.b[2] + c.reg[2] * rw,
                    c.b[3] + c.reg[3] * rh,
                ])
            })
            .collect())
    }

    /// Stage 2: R-Net on 24×24 crops; those above its threshold, NMS, regressed, squared.
    fn refine(&self, picture: &Planes, boxes: Vec<[f32; 4]>) -> Result<Vec<[f32; 4]>, MtcnnError> {
        if boxes.is_empty() {
            return Ok(boxes);
        }
        let input = batch(picture.crops(&boxes, 24), (boxes.len(), 24, 24))?;
        let out = self.rnet.run(&input)?.0;
        let (reg, probs) = (rows(&out[0]), rows(&out[1]));
        let passed: Vec<Candidate> = boxes
            .iter()
            .zip(reg.iter().zip(&probs))
            .filter(|(_, (_, p))| p[1] > self.options.thresholds[1])
            .map(|(b, (r, p))| Candidate {
                b: *b,
                score: p[1],
                reg: [r[0], r[1], r[2], r[3]],
            })
            .collect();
        Ok(nms(passed, 0.7, Overlap::Union)
            .into_iter()
            .map(|c| square(regressed(c.b, c.reg)))
            .collect())
    }

    /// Stage 3: O-Net on 48×48 crops: the faces, their five points, regressed, NMS by the
    /// smaller box.
    fn judge(&self, picture: &Planes, boxes: Vec<[f32; 4]>) -> Result<Vec<MtcnnFace>, MtcnnError> {
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        let input = batch(picture.crops(&boxes, 48), (boxes.len(), 48, 48))?;
        let out = self.onet.run(&input)?.0;
        let (reg, points, probs) = (rows(&out[0]), rows(&out[1]), rows(&out[2]));
        let mut faces = Vec::new();
        let mut candidates = Vec::new();
        for (i, b) in boxes.iter().enumerate() {
            let score = probs[i][1];
            if score <= self.options.thresholds[2] {
                continue;
            }
            // The points are shares of the box the crop was cut from (before regression).
            let (bw, bh) = (b[2] - b[0] + 1.0, b[3] - b[1] + 1.0);
            let p = &points[i];
            let five = std::array::from_fn(|k| {
                Point::new(bw * p[k] + b[0] - 1.0, bh * p[k + 5] + b[1] - 1.0)
            });
            let r = &reg[i];
            candidates.push(Candidate {
                b: regressed(*b, [r[0], r[1], r[2], r[3]]),
                score,
                reg: [0.0; 4],
            });
            faces.push(five);
        }
        let kept = nms_indices(&candidates, 0.7, Overlap::Min);
        Ok(kept
            .into_iter()
            .map(|i| MtcnnFace {
                bbox: candidates[i].b,
                score: candidates[i].score,
                points: faces[i],
            })
            .collect())
    }
}

/// The picture as three float planes (CHW), the networks' layout.
struct Planes {
    data: Vec<f32>,
    width: usize,
    height: usize,
}

impl Planes {
    fn of(image: &Rgb8) -> Planes {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let mut data = vec![0f32; 3 * width * height];
        for (i, pixel) in image.pixels().enumerate() {
            for c in 0..3 {
                data[c * width * height + i] = f32::from(pixel[c]);
            }
        }
        Planes {
            data,
            width,
            height,
        }
    }

    /// Rows `y0..y1` and columns `x0..x1` resampled to `oh × ow` by area (each output pixel
    /// the mean of the input pixels it covers, as PyTorch's `interpolate(mode="area")`), then
    /// scaled to [−1, 1] as the networks were trained. Rows are summed first, then columns.
    fn resampled(
        &self,
        (y0, y1, x0, x1): (usize, usize, usize, usize),
        oh: usize,
        ow: usize,
    ) -> Vec<f32> {
        let (h, w) = (y1 - y0, x1 - x0);
        let spans = |n: usize, o: usize| -> Vec<(usize, usize)> {
            (0..o)
                .map(|i| (i * n / o, ((i + 1) * n).div_ceil(o)))
                .collect()
        };
        let (rows, cols) = (spans(h, oh), spans(w, ow));
        let plane = self.width * self.height;
        let mut across = vec![0f32; h * ow];
        let mut out = vec![0f32; 3 * oh * ow];
        for c in 0..3 {
            for y in 0..h {
                let row = &self.data[c * plane + (y0 + y) * self.width + x0..][..w];
                for (ox, &(xs, xe)) in cols.iter().enumerate() {
                    across[y * ow + ox] = row[xs..xe].iter().sum::<f32>();
                }
            }
            for (oy, &(ys, ye)) in rows.iter().enumerate() {
                let target = &mut out[c * oh * ow + oy * ow..][..ow];
                for y in ys..ye {
                    for (t, v) in target.iter_mut().zip(&across[y * ow..][..ow]) {
                        *t += v;
                    }
                }
                for (t, &(xs, xe)) in target.iter_mut().zip(&cols) {
                    let mean = *t / ((ye - ys) * (xe - xs)) as f32;
                    *t = (mean - 127.5) * 0.0078125;
                }
            }
        }
        out
    }

    /// Each box cut out (its integer part, clipped to the picture, as facenet-pytorch cuts
    /// it; at least a pixel, even for a box regressed off the picture) and resampled to
    /// `side × side`, one after the other.
    fn crops(&self, boxes: &[[f32; 4]], side: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(boxes.len() * 3 * side * side);
        let (w, h) = (self.width as i64, self.height as i64);
        for b in boxes {
            let [x, y, ex, ey] = b.map(|v| v.trunc() as i64);
            let (x, y) = (x.clamp(1, w), y.clamp(1, h));
            let (ex, ey) = (ex.clamp(x, w), ey.clamp(y, h));
            let [x, y, ex, ey] = [x, y, ex, ey].map(|v| v as usize);
            out.extend(self.resampled((y - 1, ey, x - 1, ex), side, side));
        }
        out
    }
}

/// Pictures (N of them, 3 planes of `h × w`) as the networks' input.
fn batch(data: Vec<f32>, (n, h, w): (usize, usize, usize)) -> Result<Array4<f32>, MtcnnError> {
    Array4::from_shape_vec((n, 3, h, w), data).map_err(|e| MtcnnError::Run(e.to_string()))
}

/// A network output's rows: one per crop.
fn rows((shape, values): &(Vec<usize>, Vec<f32>)) -> Vec<&[f32]> {
    let width = shape.iter().skip(1).product::<usize>().max(1);
    values.chunks(width).collect()
}

/// P-Net's windows above `threshold` at one pyramid level, as boxes in the picture.
fn boxes_at(
    (reg_shape, reg): &(Vec<usize>, Vec<f32>),
    (prob_shape, probs): &(Vec<usize>, Vec<f32>),
    scale: f32,
    threshold: f32,
) -> Result<Vec<Candidate>, MtcnnError> {
    let [_, _, h, w] = prob_shape[..] else {
        return Err(MtcnnError::Run(format!("P-Net gave {prob_shape:?}")));
    };
    if reg_shape[..] != [1, 4, h, w] {
        return Err(MtcnnError::Run(format!("P-Net gave {reg_shape:?}")));
    }
    let plane = h * w;
    let (stride, cell) = (2.0, 12.0);
    let mut found = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let p = probs[plane + y * w + x];
            if p < threshold {
                continue;
            }
            let (bx, by) = (x as f32, y as f32);
            found.push(Candidate {
                b: [
                    ((stride * bx + 1.0) / scale).floor(),
                    ((stride * by + 1.0) / scale).floor(),
                    ((stride * bx + cell) / scale).floor(),
                    ((stride * by + cell) / scale).floor(),
                ],
                score: p,
                reg: std::array::from_fn(|k| reg[k * plane + y * w + x]),
            });
        }
    }
    Ok(found)
}

/// The box moved by its regression, in shares of its size (counted inclusively).
fn regressed(b: [f32; 4], reg: [f32; 4]) -> [f32; 4] {
    let (w, h) = (b[2] - b[0] + 1.0, b[3] - b[1] + 1.0);
    [
        b[0] + reg[0] * w,
        b[1] + reg[1] * h,
        b[2] + reg[2] * w,
        b[3] + reg[3] * h,
    ]
}

/// The box made square about its centre, on its longer side.
fn square(b: [f32; 4]) -> [f32; 4] {
    let (w, h) = (b[2] - b[0], b[3] - b[1]);
    let l = w.max(h);
    let (x1, y1) = (b[0] + w * 0.5 - l * 0.5, b[1] + h * 0.5 - l * 0.5);
    [x1, y1, x1 + l, y1 + l]
}

/// How two boxes' overlap is measured.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Overlap {
    /// Intersection over union, areas as (x2 − x1)(y2 − y1) (torchvision's `nms`).
    Union,
    /// Intersection over the smaller box, areas counted inclusively (facenet's last NMS).
    Min,
}

/// Non-maximum suppression: the candidates kept, most certain first.
fn nms(candidates: Vec<Candidate>, threshold: f32, overlap: Overlap) -> Vec<Candidate> {
    nms_indices(&candidates, threshold, overlap)
        .into_iter()
        .map(|i| candidates[i])
        .collect()
}

fn nms_indices(candidates: &[Candidate], threshold: f32, overlap: Overlap) -> Vec<usize> {
    let one = if overlap == Overlap::Min { 1.0 } else { 0.0 };
    let area = |b: &[f32; 4]| (b[2] - b[0] + one) * (b[3] - b[1] + one);
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| candidates[b].score.total_cmp(&candidates[a].score));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        let a = &candidates[i].b;
        let suppressed = kept.iter().any(|&k| {
            let b = &candidates[k].b;
            let iw = (a[2].min(b[2]) - a[0].max(b[0]) + one).max(0.0);
            let ih = (a[3].min(b[3]) - a[1].max(b[1]) + one).max(0.0);
            let inter = iw * ih;
            let o = match overlap {
                Overlap::Union => inter / (area(a) + area(b) - inter),
                Overlap::Min => inter / area(a).min(area(b)),
            };
            o > threshold
        });
        if !suppressed {
            kept.push(i);
        }
    }
    kept
}

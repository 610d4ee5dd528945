//! The 68 landmarks steadied over time: the head's motion (a similarity of the first face's
//! landmarks) followed at constant velocity, the face's own shape steadied by One-Euro filters,
//! lightly on the points that speak and blink and strongly on the rest.

use super::filters::{ConstantVelocity, OneEuro};
use super::SmoothSettings;
use crate::face::{Landmarks, LANDMARK_COUNT};
use crate::geometry::{Point, Similarity};

/// The points that speak and blink (mouth, eyelids, chin): steadied lightly.
fn expressive(index: usize) -> bool {
    matches!(index, 5..=11 | 37 | 38 | 40 | 41 | 43 | 44 | 46 | 47 | 48..=67)
}

/// The 68 landmarks steadied over time (see [`super`]'s comment).
#[derive(Debug, Clone)]
pub struct LandmarkSmoother {
    /// The first face's landmarks, centred: what each frame's similarity is fitted from.
    template: Option<Vec<Point>>,
    position: ConstantVelocity,
    /// Log-scale and angle, in inter-ocular distances (so both move like points do).
    turn: ConstantVelocity,
    shape: Vec<[OneEuro; 2]>,
}

impl LandmarkSmoother {
    pub fn new(settings: SmoothSettings) -> LandmarkSmoother {
        let shape = (0..LANDMARK_COUNT)
            .map(|i| {
                let filter = OneEuro::new(match expressive(i) {
                    true => settings.expression,
                    false => settings.shape,
                });
                [filter, filter]
            })
            .collect();
        LandmarkSmoother {
            template: None,
            position: ConstantVelocity::new(settings.position),
            turn: ConstantVelocity::new(settings.turn),
            shape,
        }
    }

    /// The landmarks of the frame at `t` seconds, smoothed.
    pub fn smooth(&mut self, landmarks: &Landmarks, t: f64) -> Landmarks {
        let template = self.template.get_or_insert_with(|| centred(landmarks));
        let Some(head) = Similarity::estimate(template, landmarks.points()) else {
            return landmarks.clone();
        };
        let iod = landmarks.inter_ocular().max(1e-3);
        let [tx, ty] = self.position.filter([head.tx, head.ty], t);
        let [log_scale, angle] = self.turn.filter(
            [
                head.scale().max(1e-6).ln() * iod,
                head.b.atan2(head.a) * iod,
            ],
            t,
        );
        let (scale, angle) = ((log_scale / iod).exp(), angle / iod);
        let steady_head = Similarity {
            a: scale * angle.cos(),
            b: scale * angle.sin(),
            tx,
            ty,
        };
        // The shape: each point in the template's frame, less the template.
        let to_template = head.inverse();
        let template_iod = iod / head.scale().max(1e-6);
        let mut points = *landmarks.points();
        for ((p, base), [fx, fy]) in points.iter_mut().zip(template.iter()).zip(&mut self.shape) {
            let q = to_template.apply(*p);
            let dx = fx.filter(q.x - base.x, t, template_iod);
            let dy = fy.filter(q.y - base.y, t, template_iod);
            *p = steady_head.apply(Point::new(base.x + dx, base.y + dy));
        }
        Landmarks::new(points)
    }

    /// Forgets the past: the next face starts afresh (after the face was lost).
    pub fn reset(&mut self) {
        self.template = None;
        self.position.reset();
        self.turn.reset();
        for [fx, fy] in &mut self.shape {
            fx.reset();
            fy.reset();
        }
    }
}

fn centred(landmarks: &Landmarks) -> Vec<Point> {
    let points = landmarks.points();
    let n = points.len() as f32;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p.x, y + p.y));
    let (cx, cy) = (sx / n, sy / n);
    points
        .iter()
        .map(|p| Point::new(p.x - cx, p.y - cy))
        .collect()
}

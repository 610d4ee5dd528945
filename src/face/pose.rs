//! Head pose from 68 landmarks, roughly: how far the head is turned (yaw), nodded (pitch) and
//! tilted (roll), in degrees. There is no 3-D model behind it: yaw and pitch come from how far
//! the nose tip, which stands out of the face, sits off the middle of the face and how far
//! below the eyes it shows; only points that expressions barely move are used. That is enough
//! to tell a frontal face from one turning away, which is what calibration needs.

use serde::{Deserialize, Serialize};

use super::landmarks::Landmarks;
use super::TEMPLATE;
use crate::geometry::Point;

/// How far the nose tip stands out of the face, over half the face's width at the ears
/// (anthropometric means: about 90 mm and 70 mm).
const NOSE_DEPTH_OVER_HALF_WIDTH: f32 = 90.0 / 70.0;

/// How far the nose tip stands out in front of the eyes, over how far below them it is (about
/// 20 mm and 36 mm).
const NOSE_DEPTH_OVER_DROP: f32 = 20.0 / 36.0;

/// A head's orientation in degrees. Yaw is positive when the nose points to the picture's
/// right, pitch when it points down, roll when the eyes' line tilts clockwise on screen.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct HeadPose {
    #[serde(serialize_with = "tenths")]
    pub yaw: f32,
    #[serde(serialize_with = "tenths")]
    pub pitch: f32,
    #[serde(serialize_with = "tenths")]
    pub roll: f32,
}

/// Angles to a tenth of a degree: finer than the estimate is.
fn tenths<S: serde::Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((f64::from(*v) * 10.0).round() / 10.0)
}

impl HeadPose {
    /// The pose the landmarks show.
    pub fn of(landmarks: &Landmarks) -> HeadPose {
        let p = landmarks.points();
        let (left_eye, right_eye) = (mean(&p[36..42]), mean(&p[42..48]));
        let roll = (right_eye.y - left_eye.y).atan2(right_eye.x - left_eye.x);
        // Undo the roll about the eyes' midpoint so yaw and pitch read along the face's axes.
        let centre = mid(left_eye, right_eye);
        let (sin, cos) = (-roll).sin_cos();
        let upright = |q: Point| {
            let (x, y) = (q.x - centre.x, q.y - centre.y);
            Point::new(cos * x - sin * y, sin * x + cos * y)
        };
        let (jaw_left, jaw_right, nose) = (upright(p[0]), upright(p[16]), upright(p[30]));
        let half_width = (jaw_right.x - jaw_left.x).abs() / 2.0;
        let off_middle = nose.x - (jaw_left.x + jaw_right.x) / 2.0;
        let yaw = (off_middle / half_width.max(1e-6) / NOSE_DEPTH_OVER_HALF_WIDTH).atan();
        // Nodding moves the nose tip down past the eyes: a longer nose over the eyes' distance.
        let drop = nose.y / left_eye.distance(right_eye).max(1e-6);
        let pitch = ((drop / frontal_nose_drop() - 1.0) / NOSE_DEPTH_OVER_DROP).atan();
        HeadPose {
            yaw: yaw.to_degrees(),
            pitch: pitch.to_degrees(),
            roll: roll.to_degrees(),
        }
    }

    /// The largest of the three angles, in degrees.
    pub fn largest(&self) -> f32 {
        self.yaw.abs().max(self.pitch.abs()).max(self.roll.abs())
    }
}

/// How far the nose tip sits below the eyes' line, over the distance between the eyes, in the
/// mean frontal face (the template; it starts at landmark 17).
fn frontal_nose_drop() -> f32 {
    let at = |i: usize| Point::new(TEMPLATE[i - 17][0], TEMPLATE[i - 17][1]);
    let eye = |r: std::ops::Range<usize>| mean(&r.map(at).collect::<Vec<_>>());
    let (left, right) = (eye(36..42), eye(42..48));
    (at(30).y - mid(left, right).y) / left.distance(right)
}

fn mean(points: &[Point]) -> Point {
    let n = points.len() as f32;
    let (x, y) = points
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p.x, y + p.y));
    Point::new(x / n, y / n)
}

fn mid(a: Point, b: Point) -> Point {
    Point::new((a.x + b.x) / 2.0, (a.y + b.y) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The template with a symmetric jaw: a frontal face.
    fn frontal() -> Landmarks {
        let mut points = [Point::new(0.0, 0.0); 68];
        for (i, [x, y]) in TEMPLATE.iter().enumerate() {
            points[i + 17] = Point::new(*x * 100.0, *y * 100.0);
        }
        for (i, p) in points.iter_mut().take(17).enumerate() {
            let a = std::f32::consts::PI * i as f32 / 16.0;
            *p = Point::new(49.0 - 55.0 * a.cos(), 20.0 + 80.0 * a.sin());
        }
        Landmarks::new(points)
    }

    #[test]
    fn a_frontal_face_has_no_pose_and_a_tilt_is_roll_only() {
        let face = frontal();
        let pose = HeadPose::of(&face);
        assert!(pose.largest() < 1.0, "{pose:?}");
        let turn = 10f32.to_radians();
        let tilted = face.map(|p| {
            Point::new(
                turn.cos() * p.x - turn.sin() * p.y,
                turn.sin() * p.x + turn.cos() * p.y,
            )
        });
        let pose = HeadPose::of(&tilted);
        assert!((pose.roll - 10.0).abs() < 0.5, "{pose:?}");
        assert!(pose.yaw.abs() < 1.0 && pose.pitch.abs() < 1.0, "{pose:?}");
    }

    #[test]
    fn the_nose_off_the_middle_reads_as_yaw_and_below_as_pitch() {
        let face = frontal();
        let mut turned = *face.points();
        for p in &mut turned[27..36] {
            p.x += 15.0;
        }
        assert!(HeadPose::of(&Landmarks::new(turned)).yaw > 10.0);
        let mut nodded = *face.points();
        for p in &mut nodded[29..36] {
            p.y += 10.0;
        }
        assert!(HeadPose::of(&Landmarks::new(nodded)).pitch > 10.0);
    }
}

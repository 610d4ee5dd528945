//! Retargeting on real annotated faces (dlib's landmark set): a driver who only moves, turns
//! in the picture or comes closer gives the target's neutral face exactly; a driver who opens
//! their mouth opens the target's.

mod common;

use mimic::face::{Landmarks, Point, Similarity};
use mimic::retarget::{shape_of, Retarget, TargetNeutral};

/// Two different people's annotated faces.
fn two_faces() -> (Landmarks, Landmarks) {
    let images = common::read_dlib_xml("faces/dlib/testing_with_face_landmarks.xml");
    let mut faces = images
        .into_iter()
        .flat_map(|i| i.faces)
        .filter_map(|f| f.landmarks);
    (faces.next().unwrap(), faces.nth(3).unwrap())
}

fn max_distance(a: &Landmarks, b: &Landmarks) -> f32 {
    a.points()
        .iter()
        .zip(b.points())
        .map(|(p, q)| p.distance(*q))
        .fold(0.0, f32::max)
}

#[test]
fn a_driver_who_only_moves_gives_the_targets_neutral_exactly() {
    let (driver, target) = two_faces();
    let retarget = Retarget {
        driver: shape_of(&driver).unwrap(),
        target: TargetNeutral::from_frames(std::slice::from_ref(&target)).unwrap(),
        gain: 1.0,
    };
    for (scale, turn, shift) in [
        (1.0, 0.0, (0.0, 0.0)),
        (0.6, 15.0, (100.0, -40.0)),
        (1.7, -8.0, (-30.0, 55.0)),
    ] {
        let turn: f32 = turn * std::f32::consts::PI / 180.0;
        let moved = Similarity {
            a: scale * turn.cos(),
            b: scale * turn.sin(),
            tx: shift.0,
            ty: shift.1,
        };
        let out = retarget.apply(&driver.map(|p| moved.apply(p))).unwrap();
        let off = max_distance(&out, &target) / target.inter_ocular();
        assert!(
            off < 1e-4,
            "scale {scale}, turn {turn}: {off} inter-ocular distances off"
        );
    }
}

#[test]
fn a_driver_who_opens_their_mouth_opens_the_targets() {
    let (driver, target) = two_faces();
    let retarget = Retarget {
        driver: shape_of(&driver).unwrap(),
        target: TargetNeutral::from_frames(std::slice::from_ref(&target)).unwrap(),
        gain: 1.0,
    };
    // The lower lip and chin drop by a fifth of the driver's inter-ocular distance.
    let drop = 0.2 * driver.inter_ocular();
    let lower = [5, 6, 7, 8, 9, 10, 11, 55, 56, 57, 58, 59, 64, 65, 66, 67];
    let mut points = *driver.points();
    for &i in &lower {
        points[i] = Point::new(points[i].x, points[i].y + drop);
    }
    let out = retarget.apply(&Landmarks::new(points)).unwrap();
    let opened = |l: &Landmarks| l.points()[57].distance(l.points()[51]) / l.inter_ocular();
    let gain = opened(&out) - opened(&target);
    assert!(
        (gain - 0.2).abs() < 0.03,
        "the target's mouth opened by {gain}, the driver's by 0.2"
    );
    // The upper face stays where the target's is.
    let brow = out.points()[19].distance(target.points()[19]) / target.inter_ocular();
    assert!(brow < 1e-3, "brow moved by {brow}");
}

#[test]
fn a_target_neutral_round_trips_through_toml() {
    let (_, target) = two_faces();
    let neutral = TargetNeutral::from_frames(std::slice::from_ref(&target)).unwrap();
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Holder {
        neutral: TargetNeutral,
    }
    let text = toml::to_string(&Holder { neutral }).unwrap();
    let back: Holder = toml::from_str(&text).unwrap();
    assert_eq!(back.neutral, neutral);
}

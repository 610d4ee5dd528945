//! Retargeting on real annotated faces (dlib's landmark set): a driver who only moves, turns
//! in the picture or comes closer gives the target's neutral face exactly when the target never
//! moved, and moves it as far as the target moved when it did; a driver who opens their mouth
//! opens the target's.

mod common;

use mimic::face::Landmarks;
use mimic::geometry::{Point, Similarity};
use mimic::reenact::retarget::{
    shape_of, to_canonical, DriverNeutral, Follow, Retarget, TargetNeutral, STABLE,
};

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

/// The driver at rest in these landmarks.
fn at_rest(driver: &Landmarks) -> DriverNeutral {
    DriverNeutral {
        shape: shape_of(driver).unwrap(),
        rest: to_canonical(driver).unwrap(),
    }
}

/// The face turned by `degrees` about the middle of its stable points.
fn turned(face: &Landmarks, degrees: f32) -> Landmarks {
    let n = STABLE.len() as f32;
    let (cx, cy) = STABLE.iter().fold((0.0, 0.0), |(x, y), &i| {
        (x + face.points()[i].x / n, y + face.points()[i].y / n)
    });
    let (sin, cos) = degrees.to_radians().sin_cos();
    face.map(|p| {
        let (x, y) = (p.x - cx, p.y - cy);
        Point::new(cx + cos * x - sin * y, cy + sin * x + cos * y)
    })
}

#[test]
fn a_driver_who_only_moves_gives_the_neutral_of_a_target_that_never_moved() {
    let (driver, target) = two_faces();
    let retarget = Retarget {
        driver: at_rest(&driver),
        target: TargetNeutral::from_frames(std::slice::from_ref(&target)).unwrap(),
        gain: 1.0,
        follow: Follow::Target,
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

/// The face with its lower lip and chin dropped by `share` of its inter-ocular distance.
fn mouth_opened(face: &Landmarks, share: f32) -> Landmarks {
    let drop = share * face.inter_ocular();
    let lower = [5, 6, 7, 8, 9, 10, 11, 55, 56, 57, 58, 59, 64, 65, 66, 67];
    let mut points = *face.points();
    for &i in &lower {
        points[i] = Point::new(points[i].x, points[i].y + drop);
    }
    Landmarks::new(points)
}

/// How far the mouth is open, in inter-ocular distances.
fn opening(l: &Landmarks) -> f32 {
    l.points()[57].distance(l.points()[51]) / l.inter_ocular()
}

#[test]
fn a_driver_who_opens_their_mouth_opens_the_targets_as_far_as_it_opened_in_training() {
    let (driver, target) = two_faces();
    // The target opened its mouth by up to a tenth of its eye distance in training.
    let frames: Vec<Landmarks> = (0..10)
        .map(|i| mouth_opened(&target, if i < 7 { 0.0 } else { 0.1 }))
        .collect();
    let free = Retarget {
        driver: at_rest(&driver),
        target: TargetNeutral::from_frames(&frames).unwrap(),
        gain: 1.0,
        follow: Follow::Free,
    };
    let neutral = free.apply(&driver).unwrap();
    // The driver opens theirs by a fifth: all of it is carried when following freely…
    let out = free.apply(&mouth_opened(&driver, 0.2)).unwrap();
    let gain = opening(&out) - opening(&neutral);
    assert!(
        (gain - 0.2).abs() < 0.03,
        "the target's mouth opened by {gain}, the driver's by 0.2"
    );
    // … while the upper face stays where the target's is.
    let brow = out.points()[19].distance(neutral.points()[19]) / target.inter_ocular();
    assert!(brow < 1e-3, "brow moved by {brow}");
    // Held to the target's range, it opens as far as the target ever did; a smaller opening
    // is carried as it is.
    let held = Retarget {
        follow: Follow::Target,
        ..free
    };
    let out = held.apply(&mouth_opened(&driver, 0.2)).unwrap();
    let gain = opening(&out) - opening(&neutral);
    assert!((gain - 0.1).abs() < 0.02, "held at {gain}, not 0.1");
    let out = held.apply(&mouth_opened(&driver, 0.05)).unwrap();
    let gain = opening(&out) - opening(&neutral);
    assert!((gain - 0.05).abs() < 0.02, "0.05 carried as {gain}");
}

#[test]
fn head_motion_is_carried_as_far_as_the_target_moved_in_training() {
    let (driver, target) = two_faces();
    // The target turned up to 10 degrees either way in its training frames, in place.
    let frames: Vec<Landmarks> = [-10.0, -5.0, 0.0, 5.0, 10.0]
        .iter()
        .map(|&d| turned(&target, d))
        .collect();
    let neutral = TargetNeutral::from_frames(&frames).unwrap();
    assert!(
        (neutral.motion.angle[1] - 10.0).abs() < 0.5
            && (neutral.motion.angle[0] + 10.0).abs() < 0.5,
        "{:?}",
        neutral.motion
    );
    let retarget = Retarget {
        driver: at_rest(&driver),
        target: neutral,
        gain: 1.0,
        follow: Follow::Target,
    };
    // The driver turns (about a point off their face, so they also move across the picture,
    // which the target never did): 6 degrees is carried, 25 is held at 10.
    for (turn, expected) in [(6.0f32, 6.0), (25.0, 10.0), (-25.0, -10.0)] {
        let (sin, cos) = turn.to_radians().sin_cos();
        let moved = Similarity {
            a: cos,
            b: sin,
            tx: 40.0,
            ty: -10.0,
        };
        let now = driver.map(|p| moved.apply(p));
        let out = retarget.apply(&now).unwrap();
        let off = max_distance(&out, &turned(&target, expected)) / target.inter_ocular();
        assert!(off < 0.02, "turn {turn}: {off} inter-ocular distances off");
        // --follow free carries all of the turn; still none of it.
        let free = Retarget {
            follow: Follow::Free,
            ..retarget
        };
        let out = free.apply(&now).unwrap();
        let relative = to_canonical(&target)
            .unwrap()
            .after(&to_canonical(&out).unwrap().inverse());
        let angle = relative.b.atan2(relative.a).to_degrees();
        assert!(
            (angle - turn).abs() < 0.1,
            "free: turned {angle}, not {turn}"
        );
        let still = Retarget {
            follow: Follow::Still,
            ..retarget
        };
        let off = max_distance(&still.apply(&now).unwrap(), &target) / target.inter_ocular();
        assert!(
            off < 0.02,
            "off: {off} inter-ocular distances from the target"
        );
    }
}

#[test]
fn a_target_neutral_round_trips_through_toml() {
    let (_, target) = two_faces();
    let neutral = TargetNeutral::from_frames(std::slice::from_ref(&target)).unwrap();
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Holder {
        neutral: TargetNeutral,
    }
    // Shapes are written to five decimals: what is read back writes the same text again.
    let text = toml::to_string(&Holder { neutral }).unwrap();
    let back: Holder = toml::from_str(&text).unwrap();
    assert_eq!(toml::to_string(&back).unwrap(), text);
    let moved = neutral
        .shape
        .0
        .iter()
        .zip(back.neutral.shape.0.iter())
        .map(|(p, q)| p.distance(*q))
        .fold(0.0, f32::max);
    assert!(moved <= 1e-5, "{moved}");
    assert_eq!(
        (
            back.neutral.placement,
            back.neutral.motion,
            back.neutral.framing
        ),
        (neutral.placement, neutral.motion, neutral.framing)
    );
}

//! `mimic calibrate` on real clips and photos: a still, frontal face makes a profile that reads
//! back as it was written and drives retargeting; no face, several faces, a head turning
//! away, a face that moves, and files that are not profiles are refused with a sentence and
//! leave nothing behind.

mod common;

use std::path::{Path, PathBuf};

use common::live::LiveRun;
use common::{arg, mimic, mimic_json, refusal, scratch, testdata};
use mimic::reenact::calibrate::{Profile, ProfileError, MAX_NOD, MAX_TURN};

/// `calibrate --input INPUT --out OUT` and then `more`.
fn calibrate<'a>(input: &'a Path, out: &'a Path, more: &[&'a str]) -> Vec<&'a str> {
    let args = ["calibrate", "--input", arg(input), "--out", arg(out)];
    [&args[..], more].concat()
}

/// A folder that plays `photo` as a video of `frames` frames.
fn still_video(name: &str, photo: &str, frames: usize) -> PathBuf {
    let dir = scratch(name);
    let source = testdata(photo);
    let ext = source.extension().unwrap().to_str().unwrap().to_string();
    for i in 0..frames {
        std::os::unix::fs::symlink(&source, dir.join(format!("{i:03}.{ext}"))).unwrap();
    }
    dir
}

/// Runs `mimic calibrate` on `input` (extra flags after), expecting a refusal that says
/// `expected`, and no profile left behind.
fn refused(input: &Path, extra: &[&str], expected: &str) {
    let out = scratch("calibrate-refused").join("p.toml");
    let run = mimic(&calibrate(input, &out, extra));
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{input:?}: {err}");
    assert!(err.contains(expected), "{input:?}: {err}");
    assert!(!out.exists(), "a refused calibration wrote {out:?}");
}

#[test]
fn a_still_frontal_face_makes_a_profile_that_reads_back_as_written() {
    let dir = scratch("calibrate-d9");
    let path = dir.join("calibration").join("d9.toml");
    let d9 = testdata("video/d9.mp4");
    let report = mimic_json(&calibrate(&d9, &path, &[]));
    // Two seconds at 30 fps, every frame with d9's face.
    assert_eq!(report["frames"], 60);
    let profile = Profile::load(&path).unwrap();
    assert_eq!(profile.frames, 60);
    assert!(profile.pose.yaw.abs() <= MAX_TURN && profile.pose.pitch.abs() <= MAX_NOD);
    assert!(profile.spread < 0.03, "d9 sits still: {}", profile.spread);
    assert_eq!((profile.camera.width, profile.camera.height), (512, 480));
    assert!(profile.created.starts_with("20") && profile.created.ends_with('Z'));
    // Human-readable: one landmark a line.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.lines().filter(|l| l.starts_with("    [")).count() == 68);
    // What is written reads back the same, and writes the same text again.
    let again = dir.join("again.toml");
    profile.save(&again).unwrap();
    assert_eq!(Profile::load(&again).unwrap(), profile);
    assert_eq!(std::fs::read_to_string(&again).unwrap(), text);
    // An existing profile is kept unless --force.
    let run = mimic(&calibrate(&d9, &path, &[]));
    assert!(refusal(&run).contains("--force"));
}

/// Under Xvfb the guide shows: the oval to sit in (white), the landmarks in green while the
/// face is frontal, and a profile is written at the end.
#[test]
fn the_window_shows_the_guide_under_xvfb() {
    let dir = scratch("calibrate-window");
    let (shot, out) = (dir.join("screen.png"), dir.join("p.toml"));
    let count = |screen: &image::RgbImage, colour: [u8; 3]| {
        screen.pixels().filter(|p| p.0 == colour).count()
    };
    // Green landmarks, and the white oval and countdown, in one screenshot while it runs.
    let d9 = testdata("video/d9.mp4");
    common::window::screen_when(
        &calibrate(&d9, &out, &["--realtime", "--countdown", "2"]),
        |screen| count(screen, [64, 230, 64]) > 200 && count(screen, [255, 255, 255]) > 200,
        &shot,
    );
    assert!(Profile::load(&out).is_ok());
}

#[test]
fn no_face_several_faces_and_a_face_that_turns_or_moves_are_refused() {
    refused(
        &still_video("calibrate-dogs", "faces/dlib/dogs.jpg", 12),
        &[],
        "saw a face in 0 of 12 frames",
    );
    refused(
        &still_video("calibrate-two", "faces/misc/two_people.jpg", 12),
        &[],
        "several faces were in view in 12 of 12 frames",
    );
    // Katie Hill nods and turns in her first two seconds, and looks aside from 1.4 s on.
    let kh = testdata("video/WDA_KatieHill_000.mp4");
    refused(&kh, &[], "the head turned during calibration");
    refused(&kh, &["--from", "1.4"], "the face was turned away");
    // d3 pulls faces from the start.
    refused(
        &testdata("video/d3.mp4"),
        &[],
        "moved or changed expression",
    );
    refused(
        &testdata("video/d9.mp4"),
        &["--from", "60"],
        "the video ended before calibration began",
    );
}

#[test]
fn files_that_are_not_profiles_are_refused_with_what_to_do() {
    let dir = scratch("calibrate-files");
    let good = dir.join("good.toml");
    let d9 = testdata("video/d9.mp4");
    mimic_json(&calibrate(&d9, &good, &["--seconds", "0.5"]));
    let text = std::fs::read_to_string(&good).unwrap();
    let parse = |t: &str| Profile::parse(t, Path::new("p.toml"));
    assert!(parse(&text).is_ok());
    let card =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo.toml"))
            .unwrap();
    assert!(matches!(parse(&card), Err(ProfileError::ModelCard { .. })));
    assert!(matches!(
        parse("name = \"x\""),
        Err(ProfileError::NotProfile { .. })
    ));
    assert!(matches!(
        parse(&text.replace("version = 1", "version = 7")),
        Err(ProfileError::Version { found: 7, .. })
    ));
    assert!(matches!(
        parse(&text.replace("ibug-68", "mediapipe-478")),
        Err(ProfileError::Landmarks { .. })
    ));
    let cut: String = text
        .lines()
        .filter(|l| {
            !l.starts_with("[pose]")
                && !l.starts_with("yaw")
                && !l.starts_with("pitch")
                && !l.starts_with("roll")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let Err(ProfileError::Incomplete { reason, .. }) = parse(&cut) else {
        panic!("a profile without its pose was taken");
    };
    assert!(reason.contains("pose"), "{reason}");
    // Points in another frame (pixels, say) are not a canonical neutral.
    let scaled = text.replace("    [0.", "    [3.");
    assert!(matches!(
        parse(&scaled),
        Err(ProfileError::NotCanonical { .. })
    ));

    // The command line says the same: a model card given as a profile.
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo.onnx");
    let run = LiveRun::new(&demo, &d9)
        .headless()
        .max_frames(2)
        .flag("--calibration", arg(&demo.with_extension("toml")))
        .run();
    let err = refusal(&run);
    assert!(
        err.contains("is a model card, not a calibration profile"),
        "{err}"
    );
}

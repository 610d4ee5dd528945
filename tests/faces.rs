//! `mimic extract faces`: the identity filter keeps one person's faces from photos and videos,
//! aligned to the mean face with the transform that maps them back, and refuses bad references.

mod common;

use std::path::PathBuf;

use common::{arg, mimic, mimic_json, scratch, testdata};
use mimic::data::faceset::FaceSet;
use mimic::face::{DetectOptions, FaceAnalyzer};

fn misc(name: &str) -> PathBuf {
    testdata(&format!("faces/misc/{name}"))
}

#[test]
fn the_identity_filter_keeps_obama_and_rejects_biden() {
    let out = scratch("faces-obama");
    let inputs = [
        "obama.jpg",
        "obama_small.jpg",
        "obama_partial_face.jpg",
        "biden.jpg",
    ]
    .map(misc);
    let reference = misc("obama.jpg");
    let mut args = vec!["extract", "faces"];
    args.extend(inputs.iter().map(|p| arg(p)));
    args.extend([
        "--reference",
        arg(&reference),
        "--size",
        "128",
        "--out",
        arg(&out),
    ]);
    let summary = mimic_json(&args);
    assert_eq!(summary["frames"], 4);
    assert_eq!(summary["kept"], 3, "{summary}");
    assert_eq!(summary["rejected"], 1, "{summary}");

    let set = FaceSet::open(&out).unwrap();
    assert_eq!(set.manifest.size, 128);
    assert!(set.entries.iter().all(|e| !e.source.ends_with("biden.jpg")));
    // The partial face runs off its photo's edge: padded with black, not refused.
    let partial = set
        .entries
        .iter()
        .find(|e| e.source.ends_with("obama_partial_face.jpg"))
        .expect("the partial face is kept");
    assert!(set
        .load(partial)
        .unwrap()
        .pixels()
        .any(|p| p.0 == [0, 0, 0]));

    // Each entry's transform takes the face's landmarks in its photo onto its crop landmarks.
    let analyzer = FaceAnalyzer::new(DetectOptions::default()).unwrap();
    for entry in &set.entries {
        let image = set.load(entry).unwrap();
        assert_eq!(image.dimensions(), (128, 128));
        assert!(entry.distance.unwrap() <= 0.6);
        let photo = mimic::frame::read_image(&entry.source).unwrap();
        let face = analyzer.faces(&photo).unwrap().remove(0);
        let moved = face.landmarks.map(|p| entry.to_crop.apply(p));
        let error = moved
            .points()
            .iter()
            .zip(&entry.landmarks)
            .map(|(a, b)| (a.x - b.x).hypot(a.y - b.y))
            .fold(0.0f32, f32::max);
        assert!(error < 0.01, "{}: off by {error} px", entry.file);
    }
}

#[test]
fn without_a_reference_a_frame_with_several_faces_is_skipped() {
    let out = scratch("faces-no-reference");
    let (one, two) = (misc("biden.jpg"), misc("obama_and_biden.jpg"));
    let summary = mimic_json(&["extract", "faces", arg(&one), arg(&two), "--out", arg(&out)]);
    assert_eq!(summary["kept"], 1);
    assert_eq!(summary["frames_with_several_faces"], 1);

    let only_two = mimic(&["extract", "faces", arg(&two), "--out", arg(&out)]);
    assert_eq!(only_two.status.code(), Some(2));
    let err = String::from_utf8_lossy(&only_two.stderr);
    assert!(
        err.contains("no face to keep") && err.contains("1 had several"),
        "{err}"
    );
}

/// A reference photo of someone the video never shows keeps nothing, and says so rather than
/// writing an empty face set.
#[test]
fn a_reference_of_someone_else_keeps_nothing_and_says_so() {
    let out = scratch("faces-stranger").join("set");
    let run = mimic(&[
        "extract",
        "faces",
        arg(&testdata("video/WDA_KatieHill_000.mp4")),
        "--every",
        "40",
        "--reference",
        arg(&misc("obama.jpg")),
        "--out",
        arg(&out),
    ]);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("no face to keep") && err.contains("5 faces did not match the reference"),
        "{err}"
    );
    assert!(FaceSet::open(&out).is_err(), "no face set was written");
}

#[test]
fn a_reference_must_show_exactly_one_face() {
    let out = scratch("faces-bad-reference");
    let input = misc("obama.jpg");
    for (reference, says) in [
        (testdata("faces/dlib/dogs.jpg"), "shows no face"),
        (misc("obama_and_biden.jpg"), "faces: give a photo"),
    ] {
        let run = mimic(&[
            "extract",
            "faces",
            arg(&input),
            "--reference",
            arg(&reference),
            "--out",
            arg(&out),
        ]);
        assert_eq!(run.status.code(), Some(2));
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains(says), "{err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn faces_come_from_every_nth_frame_of_a_video() {
    let out = scratch("faces-video");
    let video = testdata("video/WDA_KatieHill_000.mp4");
    let summary = mimic_json(&[
        "extract",
        "faces",
        arg(&video),
        "--every",
        "25",
        "--size",
        "64",
        "--out",
        arg(&out),
    ]);
    assert_eq!(summary["frames"], 8, "200 frames, every 25th");
    assert_eq!(summary["kept"], 8);
    let set = FaceSet::open(&out).unwrap();
    let indices: Vec<u64> = set.entries.iter().map(|e| e.index).collect();
    assert_eq!(indices, vec![0, 25, 50, 75, 100, 125, 150, 175]);
    assert!(set.entries.iter().all(|e| e.distance.is_none()));
}

/// A video read frame by frame is analysed in full every fourth frame (detection and the
/// identity check) and the kept face followed between: the landmarks followed stay within
/// NME 0.02 of detecting on each frame, the summary says how many frames were analysed in full
/// and how fast the extraction went.
#[test]
fn a_video_is_analysed_in_full_every_fourth_frame_and_followed_between() {
    let out = scratch("faces-followed");
    let video = testdata("video/WDA_KatieHill_000.mp4");
    let reference = scratch("faces-followed-reference").join("kh.png");
    let first = mimic::video::VideoReader::open(&video)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    mimic::frame::save_png(&first.image, &reference).unwrap();
    let summary = mimic_json(&[
        "extract",
        "faces",
        arg(&video),
        "--reference",
        arg(&reference),
        "--frames",
        "0..40",
        "--size",
        "64",
        "--out",
        arg(&out),
    ]);
    assert_eq!(summary["frames"], 40);
    assert_eq!(summary["kept"], 40, "{summary}");
    assert_eq!(summary["full_analyses"], 10, "{summary}");
    assert!(summary["fps"].as_f64().unwrap() > 0.0);
    let set = FaceSet::open(&out).unwrap();
    let analyzer = FaceAnalyzer::new(DetectOptions::default()).unwrap();
    for (entry, frame) in set
        .entries
        .iter()
        .zip(mimic::video::VideoReader::open(&video).unwrap())
    {
        let frame = frame.unwrap();
        assert_eq!(entry.index, frame.index);
        assert!(
            entry.distance.is_some(),
            "followed faces keep their identity"
        );
        let back = entry.to_crop.inverse();
        let followed = mimic::face::Landmarks::from_slice(
            &entry
                .landmarks
                .iter()
                .map(|&p| back.apply(p))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let detected = analyzer.faces(&frame.image).unwrap().remove(0);
        let nme = followed.nme(&detected.landmarks);
        assert!(nme <= 0.02, "frame {}: NME {nme}", entry.index);
    }
}

/// A cut from the reference person to someone else between two full analyses (Katie Hill's
/// first 10 frames, then Alexandria Ocasio-Cortez's): the face after the cut is analysed in
/// full, not followed into the set under the last identity check.
#[test]
fn after_a_cut_the_face_is_checked_again_not_followed() {
    let dir = scratch("faces-cut");
    let clip = dir.join("cut.mp4");
    let mut writer = None;
    let mut first = None;
    for name in [
        "video/WDA_KatieHill_000.mp4",
        "video/WDA_AlexandriaOcasioCortez_000.mp4",
    ] {
        for frame in mimic::video::VideoReader::open(&testdata(name))
            .unwrap()
            .take(10)
        {
            let image = frame.unwrap().image;
            let writer = writer.get_or_insert_with(|| {
                let options = mimic::video::WriterOptions::new(image.width(), image.height(), 25.0);
                mimic::video::VideoWriter::create(&clip, options).unwrap()
            });
            writer.write(&image).unwrap();
            first.get_or_insert(image);
        }
    }
    writer.unwrap().finish().unwrap();
    let reference = dir.join("kh.png");
    mimic::frame::save_png(&first.unwrap(), &reference).unwrap();
    let summary = mimic_json(&[
        "extract",
        "faces",
        arg(&clip),
        "--reference",
        arg(&reference),
        "--size",
        "64",
        "--out",
        arg(&dir.join("set")),
    ]);
    assert_eq!(summary["frames"], 20);
    assert_eq!(summary["kept"], 10, "only Katie Hill's frames: {summary}");
    assert_eq!(summary["rejected"], 10, "{summary}");
}

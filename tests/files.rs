//! The user's files (issue 30): an output the user named is refused when it is there unless
//! `--force`, before any work; one they did not name takes a free name; snapshots say they are
//! synthetic; a face set cannot make mimic read outside it; a "video" that is a playlist cannot
//! make FFmpeg open other files or addresses; a live output is never another program's pipe.

mod common;

use std::path::{Path, PathBuf};

use common::{arg, mimic, refusal, scratch, testdata};
use mimic::capture::SourceInfo;
use mimic::output::compose::{Composer, View, SYNTHETIC_TAG};
use mimic::output::{Control, SinkOptions, Sinks};

fn demo_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/demo.onnx")
}

/// Writes `bytes` to a file in `dir` and returns its path.
fn existing(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn named_outputs_that_are_there_are_refused_untouched_unless_forced() {
    let dir = scratch("files-refused");
    let d0 = testdata("video/d0.mp4");
    let photo = testdata("faces/dlib/Tom_Cruise_avp_2014_4.jpg");
    let annotated = existing(&dir, "annotated.png", b"mine");
    // Quantising writes beside the model by default: a copy, with an INT8 copy already there.
    let model = common::copy_model(&demo_model(), &dir.join("model"));
    let beside = existing(&dir.join("model"), "demo.int8.onnx", b"mine");
    let int8 = existing(&dir, "elsewhere.int8.onnx", b"mine");
    let preview = existing(&dir, "preview.png", b"mine");
    let output = existing(&dir, "stream.ts", b"mine");
    let cases: Vec<Vec<&str>> = vec![
        vec!["detect", arg(&photo), "--annotate", arg(&annotated)],
        vec!["quantize", arg(&model), "--calibration", arg(&d0)],
        vec![
            "quantize",
            arg(&model),
            "--calibration",
            arg(&d0),
            "--out",
            arg(&int8),
        ],
        vec![
            "eval",
            "reenact",
            "--model",
            arg(&model),
            "--video",
            arg(&d0),
            "--preview",
            arg(&preview),
        ],
        vec![
            "live",
            "--model",
            arg(&model),
            "--input",
            arg(&d0),
            "--headless",
            "--output",
            arg(&output),
        ],
    ];
    for case in &cases {
        let err = refusal(&mimic(case));
        assert!(
            err.contains("already exists") && err.contains("--force"),
            "{case:?}: {err}"
        );
    }
    for path in [&annotated, &beside, &int8, &preview, &output] {
        assert_eq!(
            std::fs::read(path).unwrap(),
            b"mine",
            "{} untouched",
            path.display()
        );
    }
    let forced = mimic(&[&cases[0][..], &["--force"]].concat());
    assert!(forced.status.success());
    assert_ne!(
        std::fs::read(&annotated).unwrap(),
        b"mine",
        "replaced with --force"
    );
}

#[test]
fn a_training_run_refuses_a_model_that_is_there_before_it_starts() {
    let dir = scratch("files-train");
    // Two folders of pictures paired by name (the smallest thing pix2pix trains on).
    let (a, b) = (dir.join("a"), dir.join("b"));
    for folder in [&a, &b] {
        std::fs::create_dir_all(folder).unwrap();
        // A domain needs ten pictures.
        for n in 0..10 {
            let photo = testdata("faces/dlib/Tom_Cruise_avp_2014_4.jpg");
            std::fs::copy(photo, folder.join(format!("{n}.jpg"))).unwrap();
        }
    }
    let model = existing(&dir, "model.onnx", b"mine");
    let started = std::time::Instant::now();
    let out = mimic(&[
        "train",
        "pix2pix",
        "--pairs",
        arg(&a),
        arg(&b),
        "--out",
        arg(&model),
        "--steps",
        "2",
    ]);
    let err = refusal(&out);
    assert!(
        err.contains("already exists") && err.contains("--resume"),
        "{err}"
    );
    assert!(started.elapsed().as_secs() < 30, "refused before training");
    assert_eq!(std::fs::read(&model).unwrap(), b"mine");
}

#[test]
fn outputs_nobody_named_take_a_free_name_and_snapshots_say_they_are_synthetic() {
    let dir = scratch("files-snapshots");
    let composer = Composer::new(View::Output, 64, true);
    let info = SourceInfo {
        width: 64,
        height: 64,
        fps: 25.0,
    };
    let options = SinkOptions {
        folder: dir.clone(),
        ..SinkOptions::default()
    };
    let mut sinks = Sinks::open(options, &composer, info, None, &mut |_| {}).unwrap();
    let picture = image::RgbImage::from_pixel(64, 64, image::Rgb([9, 99, 199]));
    for _ in 0..2 {
        let said = sinks.act(Control::Snapshot, 7, &picture).unwrap();
        assert!(said.is_some_and(|s| s.starts_with("saved ")));
    }
    let first = dir.join("mimic-frame-000007.png");
    let second = dir.join("mimic-frame-000007-2.png");
    for path in [&first, &second] {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let reader = decoder.read_info().unwrap();
        let text = &reader.info().uncompressed_latin1_text;
        assert!(
            text.iter()
                .any(|c| c.keyword == "Comment" && c.text == SYNTHETIC_TAG),
            "{}: {text:?}",
            path.display()
        );
        assert_eq!(image::open(path).unwrap().to_rgb8(), picture);
    }
}

#[test]
fn the_demo_never_replaces_its_last_video() {
    let dir = scratch("files-demo");
    for _ in 0..2 {
        let out = mimic(&["demo", "--headless", "--out", arg(&dir), "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(dir.join("demo.mp4").is_file() && dir.join("demo-2.mp4").is_file());
}

#[test]
fn a_face_set_naming_a_file_outside_it_is_refused() {
    let dir = scratch("files-faceset");
    std::fs::write(
        dir.join("faceset.toml"),
        "size = 64\npadding = 0.2\nthreshold = 0.6\ninputs = []\nframes = 1\nkept = 1\nrejected = 0\nframes_without_face = 0\nframes_with_several_faces = 0\n",
    )
    .unwrap();
    let landmarks: Vec<[f32; 2]> = (0..68).map(|i| [i as f32, i as f32]).collect();
    for name in ["../../secret.png", "/etc/hostname", "a/b.png", ".."] {
        let entry = serde_json::json!([{
            "file": name, "source": "x.mp4", "index": 0, "t": 0.0,
            "landmarks": landmarks,
            "to_crop": {"a": 1.0, "b": 0.0, "tx": 0.0, "ty": 0.0}, "distance": null
        }]);
        std::fs::write(dir.join("faces.json"), entry.to_string()).unwrap();
        let error = mimic::data::faceset::FaceSet::open(&dir)
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a plain file name"), "{name}: {error}");
    }
}

#[test]
fn a_playlist_posing_as_a_video_is_not_followed() {
    let dir = scratch("files-playlist");
    // An HLS playlist and an FFmpeg concat list, each naming a real video beside it: FFmpeg
    // plays d0 through the concat list whatever the file is called (mimic 0.1 tracked its 78
    // frames under the name clip.mp4).
    std::fs::copy(testdata("video/d0.mp4"), dir.join("d0.mp4")).unwrap();
    let hls = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:3.0,\nd0.mp4\n#EXT-X-ENDLIST\n";
    let concat = "ffconcat version 1.0\nfile 'd0.mp4'\n";
    for (name, text) in [("clip.m3u8", hls), ("clip.mp4", concat)] {
        let playlist = existing(&dir, name, text.as_bytes());
        let err = refusal(&mimic(&["track", arg(&playlist), "--json"]));
        assert!(err.contains(name) && err.contains("not a video"), "{err}");
    }
    // A real video and a picture still open.
    for input in [
        testdata("video/d0.mp4"),
        testdata("faces/dlib/Tom_Cruise_avp_2014_4.jpg"),
    ] {
        assert!(
            mimic::video::VideoReader::open(&input).is_ok(),
            "{}",
            input.display()
        );
    }
}

#[test]
fn a_live_output_is_never_another_programs_pipe() {
    let d0 = testdata("video/d0.mp4");
    let out = mimic(&[
        "live",
        "--model",
        arg(&demo_model()),
        "--input",
        arg(&d0),
        "--headless",
        "--output",
        "pipe:1",
    ]);
    let err = refusal(&out);
    assert!(
        err.contains("pipe:1") && err.contains("another program"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing was written to stdout");
}

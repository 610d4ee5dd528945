//! The `mimic` binary as a user meets it: summaries, JSON, and one clear sentence with a
//! non-zero exit for every kind of bad input.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{mimic, testdata};

fn mimic_env(args: &[&str], key: &str, value: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mimic"))
        .args(args)
        .env(key, value)
        .output()
        .expect("mimic runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Bad input: exit status 2, a sentence on stderr, never a panic.
fn assert_refused(out: &Output, says: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains(says), "stderr should mention '{says}': {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn detect_prints_three_faces_with_68_points() {
    let image = testdata("faces/dlib/2008_002506.jpg");
    let out = mimic(&["detect", path_str(&image), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &json["images"][0];
    assert_eq!(first["width"], 500);
    assert_eq!(first["height"], 375);
    let faces = first["faces"].as_array().unwrap();
    assert_eq!(faces.len(), 3);
    for face in faces {
        assert_eq!(face["box"].as_array().unwrap().len(), 4);
        let landmarks = face["landmarks"].as_array().unwrap();
        assert_eq!(landmarks.len(), 68);
        assert_eq!(landmarks[0].as_array().unwrap().len(), 2);
    }
}

#[test]
fn detect_annotates_and_summarises() {
    let dir = tempfile::tempdir().unwrap();
    let out_png = dir.path().join("annotated.png");
    let image = testdata("faces/misc/obama.jpg");
    let out = mimic(&["detect", path_str(&image), "--annotate", path_str(&out_png)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("1 face with 68 landmarks in 1 image"));
    let original = image::open(&image).unwrap().to_rgb8();
    let annotated = image::open(&out_png).unwrap().to_rgb8();
    assert_eq!(original.dimensions(), annotated.dimensions());
    let changed = original
        .pixels()
        .zip(annotated.pixels())
        .filter(|(a, b)| a != b)
        .count();
    assert!(changed > 500, "only {changed} pixels were drawn on");
}

#[test]
fn no_face_exits_1_with_a_sentence() {
    let out = mimic(&[
        "detect",
        path_str(&testdata("faces/dlib/dogs.jpg")),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no face found in"),
        "{}",
        stderr(&out)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["images"][0]["faces"].as_array().unwrap().len(), 0);
}

#[test]
fn missing_and_undecodable_images_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert_refused(
        &mimic(&["detect", "/no/such/photo.jpg"]),
        "cannot read image '/no/such/photo.jpg'",
    );
    let text = dir.path().join("notes.jpg");
    std::fs::write(&text, "not a picture").unwrap();
    assert_refused(&mimic(&["detect", path_str(&text)]), "cannot decode image");
    let truncated = dir.path().join("truncated.jpg");
    let bytes = std::fs::read(testdata("faces/misc/obama.jpg")).unwrap();
    std::fs::write(&truncated, &bytes[..200]).unwrap();
    assert_refused(
        &mimic(&["detect", path_str(&truncated)]),
        "cannot decode image",
    );
}

/// A PNG whose header claims `width` × `height` (no pixel data follows).
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32(&ihdr).to_be_bytes());
    png
}

#[test]
fn zero_size_and_huge_images_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.png");
    std::fs::write(&empty, png_header_only(0, 0)).unwrap();
    assert_refused(&mimic(&["detect", path_str(&empty)]), "cannot decode image");
    let huge = dir.path().join("huge.png");
    std::fs::write(&huge, png_header_only(100_000, 100_000)).unwrap();
    assert_refused(&mimic(&["detect", path_str(&huge)]), "cannot decode image");
}

#[test]
fn unwritable_annotation_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out_png = dir.path().join("no-such-folder/out.png");
    let image = testdata("faces/misc/obama.jpg");
    assert_refused(
        &mimic(&["detect", path_str(&image), "--annotate", path_str(&out_png)]),
        "cannot write",
    );
    assert!(!out_png.exists());
    assert!(!dir.path().join("no-such-folder").exists());
}

#[test]
fn damaged_dlib_models_are_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("dlib")).unwrap();
    std::fs::write(
        dir.path()
            .join("dlib/shape_predictor_68_face_landmarks.dat"),
        b"garbage",
    )
    .unwrap();
    let image = testdata("faces/misc/obama.jpg");
    let out = mimic_env(
        &["detect", path_str(&image)],
        "MIMIC_RUNTIME_DIR",
        dir.path(),
    );
    assert_refused(&out, "damaged");
    assert!(stderr(&out).contains("setup.sh"));

    let empty = tempfile::tempdir().unwrap();
    let out = mimic_env(
        &["detect", path_str(&image)],
        "MIMIC_RUNTIME_DIR",
        empty.path(),
    );
    assert_refused(&out, "is missing at");
}

/// Without MTCNN's networks (dlib's models there), a video cannot be followed with the default
/// detector: `track` says which file is missing and how to get it back, and `doctor` names it.
#[test]
fn missing_mtcnn_networks_are_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        mimic::install::runtime_dir().join("dlib"),
        dir.path().join("dlib"),
    )
    .unwrap();
    let video = testdata("video/d0.mp4");
    let out = mimic_env(
        &["track", path_str(&video)],
        "MIMIC_RUNTIME_DIR",
        dir.path(),
    );
    assert_refused(&out, "pnet.pt");
    assert!(stderr(&out).contains("setup.sh"), "{}", stderr(&out));

    let out = mimic_env(&["doctor", "--json"], "MIMIC_RUNTIME_DIR", dir.path());
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "mtcnn")
        .unwrap();
    assert_eq!(check["status"], "missing", "{check}");
}

#[test]
fn doctor_is_green_here_and_names_a_missing_runtime() {
    let out = mimic(&["doctor", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
    let names: Vec<&str> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "onnxruntime",
            "dlib models",
            "mtcnn",
            "ffmpeg",
            "display",
            "cameras",
            "virtual camera",
            "cuda",
            "int8"
        ]
    );
    // No v4l2loopback here: a note that says how to load it, never a failure.
    let virtual_camera = &json["checks"][6];
    assert!(
        virtual_camera["status"] == "ok"
            || virtual_camera["fix"]
                .as_str()
                .is_some_and(|f| f.contains("modprobe v4l2loopback")),
        "{virtual_camera}"
    );
    // This CPU has AVX-512 VNNI; a CPU without it gets a note, never a failure.
    let int8 = &json["checks"][8];
    assert!(int8["status"] == "ok" || int8["status"] == "note", "{int8}");

    let out = mimic_env(
        &["doctor", "--json"],
        "ORT_DYLIB_PATH",
        Path::new("/no/libonnxruntime.so"),
    );
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["checks"][0]["status"], "missing");
    assert!(json["checks"][0]["fix"]
        .as_str()
        .unwrap()
        .contains("setup.sh"));
}

/// The demo plays the bundled model, driven by the bundled portrait, into a marked and tagged
/// recording: every frame has a face, and the generated panel follows the driver's head.
#[test]
fn demo_plays_the_bundled_model_into_a_recording() {
    let dir = tempfile::tempdir().unwrap();
    let out = mimic(&[
        "demo",
        "--out",
        path_str(dir.path()),
        "--headless",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["frames"], 150);
    assert_eq!(json["frames_with_face"], 150, "{json}");
    let mut reader = mimic::video::VideoReader::open(&dir.path().join("demo.mp4")).unwrap();
    assert!(reader
        .metadata()
        .iter()
        .any(|(k, v)| k == "comment" && v == mimic::output::compose::SYNTHETIC_TAG));
    assert_eq!((reader.info().width, reader.info().height), (768, 256));
    let mut generated = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        generated.push(image::imageops::crop_imm(&frame.image, 256, 0, 256, 256).to_image());
    }
    assert_eq!(generated.len(), 150);
    // The generated panel is a picture (not black), and it moves as the driver's head does.
    let mean = |img: &image::RgbImage| {
        img.as_raw().iter().map(|&v| f64::from(v)).sum::<f64>() / img.as_raw().len() as f64
    };
    assert!(generated.iter().all(|g| mean(g) > 40.0));
    let change = |a: &image::RgbImage, b: &image::RgbImage| {
        a.as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs())
            .sum::<f64>()
            / a.as_raw().len() as f64
    };
    let moved = change(&generated[0], &generated[40]);
    assert!(
        moved > 3.0,
        "the generated face moved by {moved:.2} grey levels"
    );
}

/// `devices` lists the virtual cameras beside the cameras; where there is none (here), the
/// text says how to make one.
#[test]
fn devices_lists_virtual_cameras_or_how_to_make_one() {
    let out = mimic(&["devices", "--json"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outputs = json["outputs"].as_array().expect("an outputs list");
    let loaded = json["loopback_loaded"].as_bool().expect("loopback_loaded");
    for output in outputs {
        assert!(output["path"].as_str().unwrap().starts_with("/dev/video"));
    }
    if outputs.is_empty() {
        let text = mimic(&["devices"]);
        let said = String::from_utf8_lossy(&text.stdout);
        assert!(said.contains("modprobe v4l2loopback"), "{said}");
    }
    assert!(loaded || outputs.iter().all(|o| o["loopback"] == false));
}

/// MTCNN on awkward pictures made from a real photo: a 24-pixel face, a picture 10 000 pixels
/// wide, grey and RGBA copies. Each gets a clear result (a face, or exit status 1 for none),
/// never a panic.
#[test]
fn mtcnn_takes_awkward_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let photo = image::open(testdata("faces/misc/astronaut.png")).unwrap();
    let cases = [
        (
            "tiny.png",
            photo.resize_exact(24, 24, image::imageops::FilterType::Triangle),
            1,
        ),
        (
            "wide.png",
            photo.resize_exact(10_000, 200, image::imageops::FilterType::Triangle),
            1,
        ),
        (
            "grey.png",
            image::DynamicImage::ImageLuma8(photo.to_luma8()),
            0,
        ),
        (
            "rgba.png",
            image::DynamicImage::ImageRgba8(photo.to_rgba8()),
            0,
        ),
    ];
    for (name, picture, status) in cases {
        let path = dir.path().join(name);
        picture.save(&path).unwrap();
        let out = mimic(&["detect", "--detector", "mtcnn", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(status), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
}

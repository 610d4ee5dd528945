//! The face-swap autoencoder trained for real on face sets of the two SadTalker clips: a short
//! run lowers the validation error, both directions export and pass the parity check, and
//! mismatched inputs are refused with a sentence.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::live::LiveRun;
use common::{arg, decoded, mimic, mimic_json, refusal, scratch, testdata};
use mimic::infer::{ModelCard, ModelKind};

/// `extract faces` from the testdata clip `video/VIDEO` into `out`, with `more` flags: its
/// report.
fn extract_faces(video: &str, out: &Path, more: &[&str]) -> serde_json::Value {
    let video = testdata(&format!("video/{video}"));
    let args = [
        &["extract", "faces", arg(&video)][..],
        more,
        &["--out", arg(out)],
    ];
    mimic_json(&args.concat())
}

/// `train swap --a A --b B --out OUT` and then `more`.
fn train_swap<'a>(a: &'a Path, b: &'a Path, out: &'a Path, more: &[&'a str]) -> Vec<&'a str> {
    let args = [
        "train",
        "swap",
        "--a",
        arg(a),
        "--b",
        arg(b),
        "--out",
        arg(out),
    ];
    [&args[..], more].concat()
}

/// Face sets of A and B (every 4th frame, 88 px), made once for this file.
fn face_sets() -> &'static (PathBuf, PathBuf) {
    static SETS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    SETS.get_or_init(|| {
        let dir = scratch("swap-sets");
        let extract = |video: &str, name: &str| {
            let out = dir.join(name);
            // The tiny preset's 64-pixel crop is tighter than a set's (padding 0.1 against
            // 0.2): 86 pixels or more keep it from being enlarged.
            let json = extract_faces(video, &out, &["--every", "4", "--size", "88"]);
            assert!(json["kept"].as_u64().unwrap() >= 45, "{json}");
            out
        };
        (
            extract("WDA_AlexandriaOcasioCortez_000.mp4", "a"),
            extract("WDA_KatieHill_000.mp4", "b"),
        )
    })
}

/// A short real training run (the 64-pixel preset, 60 steps, `.dfm` too), made once for this
/// file: its report and NAME.
fn trained() -> &'static (serde_json::Value, PathBuf) {
    static RUN: OnceLock<(serde_json::Value, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let (a, b) = face_sets();
        let out = scratch("swap-train").join("ab");
        // The 64-pixel network with the absolute error: the quickest to train here.
        let more = [
            "--preset",
            "tiny",
            "--loss",
            "l1",
            "--steps",
            "60",
            "--preview-every",
            "30",
            "--format",
            "dfm",
        ];
        let json = mimic_json(&train_swap(a, b, &out, &more));
        (json, out)
    })
}

/// The A→B model of [`trained`].
fn trained_a2b() -> PathBuf {
    trained().1.with_file_name("ab_a2b.onnx")
}

#[test]
fn a_short_run_lowers_the_validation_error_and_exports_both_directions() {
    let (a, b) = face_sets();
    let (json, out) = trained();
    let (start, end) = (
        json["validation_mae_start"].as_f64().unwrap(),
        json["validation_mae"].as_f64().unwrap(),
    );
    eprintln!("validation MAE {start:.4} → {end:.4}");
    assert!(end < start * 0.7, "validation MAE {start} → {end}");
    assert!(json["parity_max_abs_diff"].as_f64().unwrap() <= 1e-4);
    for (name, from, to) in [("ab_a2b.onnx", a, b), ("ab_b2a.onnx", b, a)] {
        let model = out.with_file_name(name);
        let card = ModelCard::read_beside(&model).unwrap().expect("a card");
        assert_eq!(card.kind, ModelKind::Swap);
        assert_eq!(card.input.size, 64);
        assert_eq!(card.input.range, [0.0, 1.0]);
        assert!(card.alignment.is_some());
        let training = card.training.unwrap();
        assert_eq!(training["source_faces"].as_str(), from.to_str());
        assert_eq!(training["target_faces"].as_str(), to.to_str());
    }
    let grid = image::open(out.with_extension("train").join("preview_000060.png")).unwrap();
    assert_eq!(grid.width(), 6 * 64, "A, A→A, A→B, B, B→B, B→A");
    refuse_in_reenact_mode(&trained_a2b());
}

/// A swap model given to reenact mode, and a reenactment model (the bundled demo model) given
/// to swap mode, are refused with a sentence.
fn refuse_in_reenact_mode(swap_model: &Path) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo.onnx");
    for (model, mode, says) in [
        (
            swap_model,
            "reenact",
            "is a Swap model, not a Reenact model",
        ),
        (
            demo.as_path(),
            "swap",
            "is a Reenact model, not a Swap model",
        ),
    ] {
        let run = LiveRun::new(model, &testdata("video/d0.mp4"))
            .mode(mode)
            .headless()
            .run();
        let err = refusal(&run);
        assert!(err.contains(says), "{err}");
    }
}

/// A model whose card names another crop than the model's size (a 64-pixel model with a
/// 128-pixel card) is refused with a sentence before any frame.
#[test]
fn a_card_for_another_crop_size_is_refused() {
    let model = scratch("swap-card-size").join("ab_a2b.onnx");
    std::fs::copy(trained_a2b(), &model).unwrap();
    let mut card = ModelCard::read_beside(&trained_a2b()).unwrap().unwrap();
    card.alignment.as_mut().unwrap().size = 128;
    card.detail = None;
    card.write_beside(&model).unwrap();
    let run = LiveRun::new(&model, &testdata("video/d0.mp4"))
        .headless()
        .max_frames(3)
        .run();
    let err = refusal(&run);
    assert!(
        err.contains("aligned crop is 128×128") && err.contains("takes 64×64 faces"),
        "{err}"
    );
}

/// `live` on A's clip with the A→B model: every frame converted, the face replaced and the
/// rest of the frame left as it was.
#[test]
fn a_swapped_recording_keeps_every_frame_and_the_background() {
    let recording = scratch("swap-live").join("swapped.mp4");
    let video = testdata("video/WDA_AlexandriaOcasioCortez_000.mp4");
    let json = LiveRun::new(&trained_a2b(), &video)
        .headless()
        .record(&recording)
        .report();
    assert_eq!(json["frames"], 200);
    assert!(json["frames_with_face"].as_u64().unwrap() >= 195, "{json}");
    let mut reader = mimic::video::VideoReader::open(&recording).unwrap();
    // Live (256) | swapped frame (256) | generated face (256).
    assert_eq!((reader.info().width, reader.info().height), (768, 256));
    let mut frames = 0;
    while let Some(frame) = reader.next_frame().unwrap() {
        frames += 1;
        let difference = |x0: u32, y0: u32, side: u32| {
            let mut sum = 0u64;
            for y in y0..y0 + side {
                for x in x0..x0 + side {
                    let (l, s) = (
                        frame.image.get_pixel(x, y),
                        frame.image.get_pixel(x + 256, y),
                    );
                    sum += (0..3).map(|c| u64::from(l[c].abs_diff(s[c]))).sum::<u64>();
                }
            }
            sum as f64 / f64::from(side * side * 3)
        };
        // The top-left corner (background) is the live frame's; the face is not.
        assert!(
            difference(0, 0, 40) < 4.0,
            "frame {frames}: background changed"
        );
        assert!(
            difference(108, 120, 40) > 4.0,
            "frame {frames}: face unchanged"
        );
    }
    assert_eq!(frames, 200);
}

/// `eval swap` judges the (barely trained) model's output faces: every DESIGN §6 figure is
/// there and in range, the expression with and without the mouth mask too. A 60-step model
/// still looks like A, so it cannot pass as B.
#[test]
fn eval_swap_reports_identity_and_expression() {
    let preview = scratch("swap-eval").join("preview.png");
    let json = mimic_json(&[
        "eval",
        "swap",
        "--model",
        arg(&trained_a2b()),
        "--video",
        arg(&testdata("video/WDA_AlexandriaOcasioCortez_000.mp4")),
        "--frames",
        "100..",
        "--target-ref",
        arg(&testdata("video/WDA_KatieHill_000.mp4")),
        "--preview",
        arg(&preview),
    ]);
    let frames = json["frames"].as_u64().unwrap();
    assert!((90..=100).contains(&frames), "{json}");
    // Four frames' faces, input beside swapped, and the swap changed them.
    let grid = image::open(&preview).unwrap().to_rgb8();
    assert_eq!(grid.dimensions(), (2 * 192, 4 * 192));
    let input = image::imageops::crop_imm(&grid, 0, 0, 192, 192).to_image();
    let swapped = image::imageops::crop_imm(&grid, 192, 0, 192, 192).to_image();
    assert!(
        input != swapped,
        "the preview's swapped face is the input's"
    );
    let success = json["id_success"].as_f64().unwrap();
    assert!((0.0..=0.2).contains(&success), "{json}");
    let distance = json["id_distance_mean"].as_f64().unwrap();
    assert!(distance > 0.6 && distance < 1.5, "{json}");
    let nme = json["expression_nme"].as_f64().unwrap();
    assert!(nme > 0.0 && nme < 0.2, "{json}");
    // The same frames pasted with the driver's own mouth kept: the expression follows the
    // driver's more closely (measured 0.027 against 0.037 on these frames); without, as
    // pasted by default.
    let (with, without) = (
        json["expression_nme_mouth_mask"].as_f64().unwrap(),
        json["expression_nme_no_mouth_mask"].as_f64().unwrap(),
    );
    assert!(with > 0.0 && with < 0.9 * without, "{json}");
    if json["mouth_mask_frames"].as_u64() == Some(frames) {
        assert_eq!(without, nme, "{json}");
    }
    // A 40-step 64 px face pasted into a 512 px frame is far softer than the face it covers.
    let sharpness = json["sharpness_ratio"].as_f64().unwrap();
    assert!(sharpness > 0.0 && sharpness < 0.5, "{json}");
    assert!(json["seam_delta_e"].as_f64().unwrap().is_finite(), "{json}");
}

/// The realism measures on a real frame (A's first): the frame against itself is exactly as
/// sharp and shows no seam; a blurred copy is much softer; a patch of another colour blended in
/// under a feathered face mask makes a large seam.
#[test]
fn sharpness_and_seam_measure_what_they_say() {
    use mimic::eval::realism::{sharpness, Seam};
    use mimic::face::{parts, FaceRegion};
    use mimic::geometry::Point;

    let (frame, landmarks) = first_face_of_a();
    let (w, h) = frame.dimensions();
    let inner = FaceRegion::around(&landmarks.points()[parts::JAW.end..]).mask(w, h, 0.0);
    let own = sharpness(&frame, &inner);
    assert!(own > 0.0);
    assert_eq!(sharpness(&frame, &inner) / own, 1.0);
    let blurred = image::imageops::blur(&frame, 2.0);
    let ratio = sharpness(&blurred, &inner) / own;
    assert!(
        ratio < 0.3,
        "a blurred face keeps {ratio:.2} of its sharpness"
    );

    let face = FaceRegion::with_forehead(&landmarks);
    let feather = 8.0;
    let weight: Vec<f32> = (0..w * h)
        .map(|i| {
            let p = Point::new((i % w) as f32, (i / w) as f32);
            (face.depth(p) / feather).clamp(0.0, 1.0)
        })
        .collect();
    let center = landmarks.points()[30];
    let seam = Seam::new(&weight, w, h, center, 8.0);
    let before = seam.delta_e(&frame).unwrap();
    assert_eq!(
        seam.delta_e(&frame).unwrap() - before,
        0.0,
        "no blend, no seam"
    );
    let mut pasted = frame.clone();
    for (i, pixel) in pasted.pixels_mut().enumerate() {
        let m = weight[i];
        for (c, value) in [90.0, 160.0, 220.0].iter().enumerate() {
            pixel[c] = (m * value + (1.0 - m) * f32::from(pixel[c])).round() as u8;
        }
    }
    let step = seam.delta_e(&pasted).unwrap() - before;
    assert!(
        step > 15.0,
        "a blue face pasted in makes a seam of only {step:.1}"
    );
}

#[test]
fn face_sets_of_different_sizes_are_refused() {
    let (a, _) = face_sets();
    let other = scratch("swap-other-size").join("b");
    let more = ["--every", "20", "--size", "96"];
    extract_faces("WDA_KatieHill_000.mp4", &other, &more);
    let out = scratch("swap-refused").join("ab");
    let err = refusal(&mimic(&train_swap(a, &other, &out, &["--steps", "1"])));
    assert!(
        err.contains("cut differently") && err.contains("96×96"),
        "{err}"
    );
}

/// The `.dfm` export (DeepFaceLive's signature: NHWC, BGR, three outputs) swaps A's clip
/// exactly as the ONNX model does; without its card it still runs, as a swap at DeepFaceLive's
/// default coverage.
#[test]
fn the_dfm_export_runs_live_like_the_onnx_model() {
    let (json, out) = trained();
    let dfm = out.with_file_name("ab.dfm");
    assert_eq!(json["dfm"].as_str(), dfm.to_str());
    let card = ModelCard::read_beside(&dfm).unwrap().expect("a card");
    assert_eq!(card.input.layout, mimic::infer::Layout::Nhwc);
    let swap_frames = |model: &Path, name: &str| {
        let recording = scratch("swap-dfm").join(name);
        let json = LiveRun::new(model, &testdata("video/WDA_AlexandriaOcasioCortez_000.mp4"))
            .headless()
            .view("output")
            .max_frames(20)
            .record(&recording)
            .report();
        assert_eq!(json["frames_with_face"], 20, "{json}");
        decoded(&recording)
    };
    let mean_diff = |a: &[mimic::frame::Rgb8], b: &[mimic::frame::Rgb8]| {
        let (mut sum, mut n) = (0u64, 0u64);
        for (x, y) in a.iter().zip(b) {
            for (p, q) in x.as_raw().iter().zip(y.as_raw()) {
                sum += u64::from(p.abs_diff(*q));
                n += 1;
            }
        }
        sum as f64 / n.max(1) as f64
    };
    let onnx = swap_frames(&trained_a2b(), "onnx.mp4");
    let with_card = swap_frames(&dfm, "dfm.mp4");
    assert_eq!(onnx.len(), with_card.len());
    let same = mean_diff(&onnx, &with_card);
    assert!(
        same < 0.5,
        "the .dfm differs from the ONNX model by {same} per channel"
    );
    // Without the card: another crop (DeepFaceLive's coverage), still a swap.
    let bare = scratch("swap-dfm-bare").join("bare.dfm");
    std::fs::copy(&dfm, &bare).unwrap();
    let without = swap_frames(&bare, "bare.mp4");
    assert!(
        mean_diff(&onnx, &without) > same,
        "the card-less crop is another crop"
    );
}

/// The loss weights of an annotated face, drawn in its own picture: eyes count most, the
/// cheeks and the forehead fully, the background barely.
#[test]
fn the_loss_looks_at_the_eyes_then_the_face_and_barely_at_the_rest() {
    use mimic::geometry::Point;
    use mimic::train::weight::{weight_map, BACKGROUND, FEATURES};
    let landmarks = common::read_pts("faces/lfpw/image_0010.pts");
    let map = weight_map(&landmarks, 1280, BACKGROUND);
    let w = |p: Point| f32::from(map.get_pixel(p.x as u32, p.y as u32)[0]) / 255.0 * FEATURES;
    let p = landmarks.points();
    let mid = |a: Point, b: Point| Point::new((a.x + b.x) / 2.0, (a.y + b.y) / 2.0);
    let eye = mid(p[37], p[41]);
    let cheek = mid(p[2], p[31]);
    let above_brow = Point::new(p[19].x, p[19].y - 0.1 * (p[8].y - p[19].y));
    assert!((w(eye) - FEATURES).abs() < 0.05, "eye {}", w(eye));
    assert!((w(cheek) - 1.0).abs() < 0.05, "cheek {}", w(cheek));
    assert!(
        (w(above_brow) - 1.0).abs() < 0.05,
        "forehead {}",
        w(above_brow)
    );
    assert!((w(Point::new(2.0, 2.0)) - BACKGROUND).abs() < 0.02);
}

/// The colour match measures skin only: on A's real face, a generated face that equals the
/// original except for eyes and mouth painted green (teeth and eye whites in the extreme) keeps
/// its skin tone, where statistics over the whole mask would have pulled it away.
#[test]
fn the_colour_match_is_measured_on_skin_only() {
    use mimic::face::{parts, FaceRegion};
    use mimic::geometry::Point;
    use mimic::swap::blend::{Blend, BlendOptions};

    let (original, in_crop) = face_of_a_in_crop();
    let features = [parts::RIGHT_EYE, parts::LEFT_EYE, parts::OUTER_LIP]
        .map(|range| FaceRegion::around(in_crop.part(range)));
    let mut generated = original.clone();
    for (x, y, pixel) in generated.enumerate_pixels_mut() {
        let p = Point::new(x as f32, y as f32);
        if features.iter().any(|f| f.depth(p) > -1.0) {
            *pixel = image::Rgb([0, 255, 0]);
        }
    }
    let mut blend = Blend::new(BlendOptions::default(), 128);
    blend.shape(&in_crop);
    blend.match_colors(&mut generated, &original);
    // A point on the cheek, between the eye's outer corner and the mouth's corner.
    let p = in_crop.points();
    let cheek = Point::new((p[36].x + p[48].x) / 2.0, (p[36].y + p[48].y) / 2.0);
    let (before, after) = (
        original.get_pixel(cheek.x as u32, cheek.y as u32).0,
        generated.get_pixel(cheek.x as u32, cheek.y as u32).0,
    );
    for c in 0..3 {
        let moved = (i32::from(before[c]) - i32::from(after[c])).abs();
        assert!(moved <= 4, "the cheek moved from {before:?} to {after:?}");
    }
}

/// The target's detail puts back, in the right places, what a blur took from a face of B:
/// B's face at frame 160, blurred, gets the fine detail of four other frames of B (keyframes)
/// moved onto its landmarks. Its sharpness comes back, and the detail added lines up with the
/// detail the blur removed (it would not, moved onto the wrong landmarks).
#[test]
fn the_targets_detail_puts_back_what_a_blur_took() {
    use mimic::eval::realism::sharpness;
    use mimic::face::reference::Reference;
    use mimic::face::{parts, FaceRegion};
    use mimic::geometry::Point;
    use mimic::swap::detail::Detail;

    let faces = faces_in_crop("video/WDA_KatieHill_000.mp4", &[0, 40, 80, 120, 160]);
    let (real, landmarks) = faces[4].clone();
    let keyframes = Reference::new(faces[..4].to_vec()).unwrap();
    let inner = FaceRegion::around(&landmarks.points()[parts::JAW.end..]).mask(128, 128, 0.0);
    let blurred = image::imageops::blur(&real, 3.0);
    let add = |onto: &mimic::face::Landmarks| {
        let mut detail = Detail::new(keyframes.clone(), [Point::new(0.0, 0.0); 68], 128);
        let mut face = blurred.clone();
        detail.add_to(&mut face, onto, &[1.0; 128 * 128]);
        face
    };
    let restored = add(&landmarks);
    let shifted = add(&landmarks.map(|p| Point::new(p.x + 3.0, p.y + 2.0)));
    let ratio = |face: &image::RgbImage| sharpness(face, &inner) / sharpness(&real, &inner);
    assert!(ratio(&blurred) < 0.1, "blurred: {}", ratio(&blurred));
    assert!(ratio(&restored) > 0.35, "restored: {}", ratio(&restored));
    // What was added against what the blur removed, in brightness, over the inner face.
    let agreement = |face: &image::RgbImage| {
        let luma = |p: &image::Rgb<u8>| p.0.iter().map(|&v| f64::from(v)).sum::<f64>();
        let pairs: Vec<(f64, f64)> = (face.pixels().zip(blurred.pixels()))
            .zip(real.pixels())
            .zip(&inner)
            .filter(|(_, &inside)| inside)
            .map(|(((f, b), r), _)| (luma(f) - luma(b), luma(r) - luma(b)))
            .collect();
        correlation(&pairs)
    };
    let (right, wrong) = (agreement(&restored), agreement(&shifted));
    assert!(
        right > 0.4 && wrong < right / 2.0,
        "{right} on its landmarks, {wrong} shifted"
    );
}

fn correlation(pairs: &[(f64, f64)]) -> f64 {
    let n = pairs.len() as f64;
    let (ma, mb) = pairs
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        ab += (x - ma) * (y - mb);
        aa += (x - ma).powi(2);
        bb += (y - mb).powi(2);
    }
    ab / (aa * bb).sqrt().max(1e-9)
}

/// A's first face aligned as the swap aligns it (128 px, padding 0.1), and its landmarks there.
fn face_of_a_in_crop() -> (image::RgbImage, mimic::face::Landmarks) {
    let (frame, landmarks) = first_face_of_a();
    in_crop(&frame, &landmarks)
}

/// The face of `landmarks` in `frame` aligned as the swap aligns it, and its landmarks there.
fn in_crop(
    frame: &image::RgbImage,
    landmarks: &mimic::face::Landmarks,
) -> (image::RgbImage, mimic::face::Landmarks) {
    let to_crop = mimic::face::AlignedCrop::new(128, 0.1)
        .transform(landmarks)
        .unwrap();
    let mut face = image::RgbImage::new(128, 128);
    to_crop.warp_into(frame, &mut face);
    (face, landmarks.map(|p| to_crop.apply(p)))
}

/// The faces of a testdata video at frames `wanted`, aligned as the swap aligns them.
fn faces_in_crop(video: &str, wanted: &[u64]) -> Vec<(image::RgbImage, mimic::face::Landmarks)> {
    use mimic::face::{DetectOptions, FaceAnalyzer};
    let analyzer = FaceAnalyzer::new(DetectOptions::default()).unwrap();
    let mut reader = mimic::video::VideoReader::open(&testdata(video)).unwrap();
    let mut faces = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        if wanted.contains(&frame.index) {
            let landmarks = analyzer.faces(&frame.image).unwrap().remove(0).landmarks;
            faces.push(in_crop(&frame.image, &landmarks));
        }
    }
    assert_eq!(faces.len(), wanted.len());
    faces
}

/// A's first frame and its face's landmarks.
fn first_face_of_a() -> (image::RgbImage, mimic::face::Landmarks) {
    use mimic::face::{DetectOptions, FaceAnalyzer};
    let video = testdata("video/WDA_AlexandriaOcasioCortez_000.mp4");
    let mut reader = mimic::video::VideoReader::open(&video).unwrap();
    let frame = reader.next_frame().unwrap().unwrap().image;
    let analyzer = FaceAnalyzer::new(DetectOptions::default()).unwrap();
    let landmarks = analyzer.faces(&frame).unwrap().remove(0).landmarks;
    (frame, landmarks)
}

/// The structural dissimilarity the swap trains with: none between A's face and itself, more
/// the more the face is blurred, and growing with the blur faster than the absolute error:
/// DSSIM sees the detail a blur takes away, where the error sees a face right on average.
#[test]
fn dssim_sees_what_a_blur_takes_away() {
    use candle_core::{Device, Tensor};
    use mimic::train::images::{batch_to_tensor, SIGMOID};
    use mimic::train::layers::{l1, weighted_dssim};

    let (face, _) = face_of_a_in_crop();
    let device = Device::Cpu;
    let tensor = |picture: &image::RgbImage| {
        batch_to_tensor(std::slice::from_ref(picture), SIGMOID, &device).unwrap()
    };
    let weight = Tensor::ones((1, 3, 128, 128), candle_core::DType::F32, &device).unwrap();
    let real = tensor(&face);
    let score = |picture: &image::RgbImage| {
        let made = tensor(picture);
        let dssim: f32 = weighted_dssim(&made, &real, &weight, 1.0)
            .unwrap()
            .to_scalar()
            .unwrap();
        let error: f32 = l1(&made, &real).unwrap().to_scalar().unwrap();
        (dssim, error)
    };
    let (itself, _) = score(&face);
    assert!(
        itself.abs() < 1e-5,
        "DSSIM of a face against itself {itself}"
    );
    let (soft, soft_error) = score(&image::imageops::blur(&face, 1.0));
    let (softer, softer_error) = score(&image::imageops::blur(&face, 2.0));
    eprintln!(
        "blur 1: DSSIM {soft:.4}, L1 {soft_error:.4}; blur 2: {softer:.4}, {softer_error:.4}"
    );
    assert!(soft > 0.02 && softer > soft * 1.3, "{soft} {softer}");
    assert!(
        softer / soft > 1.2 * (softer_error / soft_error),
        "DSSIM {soft} → {softer}, L1 {soft_error} → {softer_error}"
    );
}

/// The 128-pixel preset trains on face sets large enough for its crop and exports with
/// parity, with the target's keyframes for the detail beside each model; face sets cut
/// smaller are refused with a sentence.
#[test]
fn the_128_pixel_preset_trains_exports_and_refuses_small_sets() {
    let dir = scratch("swap-128");
    let extract = |video: &str, name: &str| {
        let out = dir.join(name);
        extract_faces(video, &out, &["--every", "10", "--size", "176"]);
        out
    };
    let (a, b) = (
        extract("WDA_AlexandriaOcasioCortez_000.mp4", "a"),
        extract("WDA_KatieHill_000.mp4", "b"),
    );
    let out = dir.join("ab");
    let train = |a: &Path, b: &Path| {
        let more = [
            "--preset",
            "tiny128",
            "--loss",
            "l1-dssim",
            "--steps",
            "4",
            "--preview-every",
            "4",
            "--json",
        ];
        mimic(&train_swap(a, b, &out, &more))
    };
    let run = train(&a, &b);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert!(
        json["parity_max_abs_diff"].as_f64().unwrap() <= 1e-4,
        "{json}"
    );
    let card = ModelCard::read_beside(&out.with_file_name("ab_a2b.onnx"))
        .unwrap()
        .expect("a card");
    assert_eq!(card.input.size, 128);
    assert_eq!(card.training.unwrap()["loss"].as_str(), Some("l1-dssim"));
    let grid = image::open(out.with_extension("train").join("preview_000004.png")).unwrap();
    assert_eq!(grid.width(), 6 * 128);
    let detail = card.detail.expect("the target's keyframes in the card");
    let strip = image::open(out.with_file_name(&detail.image)).unwrap();
    let keyframes = (strip.width() / 128) as usize;
    assert_eq!((strip.height(), strip.width() % 128), (128, 0));
    assert!((2..=16).contains(&keyframes), "{keyframes} keyframes");
    assert_eq!(detail.landmarks.len(), 68 * keyframes);
    assert_eq!(detail.drawn.len(), 68);
    // The live swap adds it: the same frames with and without the detail differ.
    let (a2b, clip) = (
        out.with_file_name("ab_a2b.onnx"),
        testdata("video/WDA_AlexandriaOcasioCortez_000.mp4"),
    );
    let swapped = |extra: &[&str]| {
        let record = dir.join(format!("live{}.mp4", extra.len()));
        LiveRun::new(&a2b, &clip)
            .headless()
            .view("output")
            .max_frames(3)
            .record(&record)
            .with(extra)
            .report();
        let mut reader = mimic::video::VideoReader::open(&record).unwrap();
        reader.next_frame().unwrap().unwrap().image
    };
    let (with, without) = (swapped(&[]), swapped(&["--no-detail"]));
    let changed = with
        .pixels()
        .zip(without.pixels())
        .filter(|(a, b)| a.0.iter().zip(b.0).any(|(x, y)| x.abs_diff(y) > 4))
        .count();
    assert!(changed > 2000, "the detail changed only {changed} pixels");

    let (small_a, small_b) = face_sets();
    let err = refusal(&train(small_a, small_b));
    assert!(err.contains("88×88") && err.contains("--size 171"), "{err}");
}

/// `extract faces --frames` takes only the frames asked for, so the end of a clip can be kept
/// out of training (and judged alone with `eval swap --frames`).
#[test]
fn extraction_takes_only_the_frames_asked_for() {
    let out = scratch("swap-frames").join("a");
    let more = ["--frames", "190..", "--size", "64"];
    let json = extract_faces("WDA_AlexandriaOcasioCortez_000.mp4", &out, &more);
    assert_eq!(json["frames"].as_u64(), Some(10), "{json}");
    let faces: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("faces.json")).unwrap()).unwrap();
    let indices: Vec<u64> = faces
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["index"].as_u64().unwrap())
        .collect();
    assert!(
        indices.len() >= 9 && indices.iter().all(|&i| (190..200).contains(&i)),
        "{indices:?}"
    );
}

/// The detail is added at the gain that gives back what moving a keyframe by a fraction of a
/// pixel takes from its fine detail: measured here on five faces of B, each moved onto its own
/// landmarks shifted by 16 sub-pixel offsets, what the warp keeps is `WARP_KEEPS`.
#[test]
fn the_detail_gain_gives_back_what_the_warp_takes() {
    use mimic::eval::realism::sharpness;
    use mimic::face::reference::{Pick, Reference};
    use mimic::face::{parts, FaceRegion};
    use mimic::geometry::Point;
    use mimic::swap::detail::WARP_KEEPS;

    let faces = faces_in_crop("video/WDA_KatieHill_000.mp4", &[0, 40, 80, 120, 160]);
    let mut kept = Vec::new();
    for (face, landmarks) in &faces {
        let keyframe = Reference::new(vec![(face.clone(), landmarks.clone())]).unwrap();
        let inner = FaceRegion::around(&landmarks.points()[parts::JAW.end..]).mask(128, 128, 0.0);
        let still = sharpness(face, &inner);
        let offsets = (0..16).map(|k| (k % 4, k / 4)).map(|(i, j)| {
            let step = |n: i32| n as f32 / 4.0 + 0.125;
            (step(i), step(j))
        });
        for (dx, dy) in offsets {
            let onto = landmarks.map(|p| Point::new(p.x + dx, p.y + dy));
            kept.push(sharpness(&keyframe.warped(Pick::only(0), &onto), &inner) / still);
        }
    }
    let mean = kept.iter().sum::<f64>() / kept.len() as f64;
    assert!(
        (mean - f64::from(WARP_KEEPS)).abs() < 0.03,
        "the warp keeps {mean:.3} of the detail, the gain assumes {WARP_KEEPS}"
    );
}

/// A's frames 20–59: a stretch of talking, the mouth opening and closing.
const TALKING: std::ops::Range<usize> = 20..60;

/// A's frames, decoded.
fn frames_of_a() -> Vec<image::RgbImage> {
    decoded(&testdata("video/WDA_AlexandriaOcasioCortez_000.mp4"))
}

/// The mouth mask in the live swap path (the `o` key turning it on halfway through A's
/// talking frames): off, it keeps nothing; on, every frame pixel where its weight is 1 is the
/// camera frame's own, exactly, where the same face pasted without it differs by far; its edge
/// is feathered; and it sits on the mouth the tracker found in that frame.
#[test]
fn the_mouth_mask_keeps_the_drivers_own_mouth() {
    use mimic::face::track::{FaceTracker, TrackOptions};
    use mimic::face::{parts, DetectOptions, DetectorKind, FaceAnalyzer};
    use mimic::geometry::Point;
    use mimic::infer::{DevicePreference, Generator};
    use mimic::output::Control;
    use mimic::pipeline::{Process, Swapper, Tracked};
    use mimic::swap::blend::BlendOptions;

    let generator =
        Generator::open(&trained_a2b(), DevicePreference::Cpu).expect("the trained model");
    let options = DetectOptions {
        detector: DetectorKind::Hog,
        ..DetectOptions::default()
    };
    let analyzer = FaceAnalyzer::new(options).unwrap();
    let mut tracker = FaceTracker::new(analyzer, TrackOptions::default()).unwrap();
    let mut swapper = Swapper::new(generator, BlendOptions::default(), None).unwrap();
    let frames = frames_of_a();
    let halfway = (TALKING.start + TALKING.end) / 2;
    let mut without = image::RgbImage::new(0, 0);
    let (mut fewest_kept, mut least_off) = (u32::MAX, f64::MAX);
    for (index, frame) in frames[..TALKING.end].iter().enumerate() {
        if index == halfway {
            let said = swapper.control(Control::ToggleMouth).expect("a swap key");
            assert!(said.contains("mouth true"), "{said}");
        }
        let found = Tracked::by(&mut tracker, frame);
        let landmarks = found.face(0).map(|f| f.landmarks.clone());
        assert!(swapper.process(frame, &found, index as f64 / 25.0).unwrap());
        if index < TALKING.start {
            continue;
        }
        let (w, h) = frame.dimensions();
        let weights: Vec<f32> = (0..w * h)
            .map(|i| swapper.mouth_weight(Point::new((i % w) as f32, (i / w) as f32)))
            .collect();
        if index < halfway {
            assert!(weights.iter().all(|&m| m == 0.0), "frame {index}: off");
            continue;
        }
        assert!(swapper.swap_again(frame, false, &mut without));
        let (swapped, _) = swapper.outputs();
        let (mut kept, mut feathered, mut differs) = (0u32, 0u32, 0u64);
        let mut centre = Point::new(0.0, 0.0);
        for (i, &m) in weights.iter().enumerate() {
            let (x, y) = (i as u32 % w, i as u32 / w);
            if m == 1.0 {
                kept += 1;
                centre = Point::new(centre.x + x as f32, centre.y + y as f32);
                assert_eq!(
                    swapped.get_pixel(x, y),
                    frame.get_pixel(x, y),
                    "frame {index}: ({x}, {y}) inside the mouth"
                );
                let (a, b) = (without.get_pixel(x, y), frame.get_pixel(x, y));
                differs += (0..3).map(|c| u64::from(a[c].abs_diff(b[c]))).sum::<u64>();
            } else if m > 0.0 {
                feathered += 1;
            }
        }
        // The mouth is some 95 pixels wide in A's 512-pixel frames.
        assert!(kept > 2000, "frame {index}: {kept} pixels kept");
        assert!(
            feathered > kept / 4,
            "frame {index}: {feathered} pixels feathered, {kept} kept"
        );
        let without_mask = differs as f64 / f64::from(3 * kept);
        (fewest_kept, least_off) = (fewest_kept.min(kept), least_off.min(without_mask));
        assert!(
            without_mask > 12.0,
            "frame {index}: without the mask the mouth is off by only {without_mask:.1}"
        );
        // It follows the face: its middle is the mouth's the tracker found (the steadied
        // landmarks lag a little).
        let inner = landmarks.expect("a face");
        let lips = inner.part(parts::OUTER_LIP);
        let n = lips.len() as f32;
        let mouth = lips.iter().fold(Point::new(0.0, 0.0), |c, p| {
            Point::new(c.x + p.x / n, c.y + p.y / n)
        });
        let middle = Point::new(centre.x / kept as f32, centre.y / kept as f32);
        let width = lips[0].distance(lips[6]);
        assert!(
            middle.distance(mouth) < 0.15 * width,
            "frame {index}: the mask's middle {middle:?}, the mouth's {mouth:?}"
        );
    }
    eprintln!(
        "mouth mask: at least {fewest_kept} pixels kept a frame; without it they were off by {least_off:.1} levels or more"
    );
}

/// The mean difference per channel between `a` and `b` over the pixels of A's outer lip
/// (landmarks 48–59, 2 pixels in from its edge) in `landmarks`.
fn off_in_the_mouth(
    a: &image::RgbImage,
    b: &image::RgbImage,
    landmarks: &mimic::face::Landmarks,
) -> f64 {
    use mimic::face::{parts, FaceRegion};
    use mimic::geometry::{FaceBox, Point};
    let lips = landmarks.part(parts::OUTER_LIP);
    let (hull, bounds) = (FaceRegion::around(lips), FaceBox::around(lips));
    let (mut sum, mut n) = (0u64, 0u64);
    for y in bounds.top as u32..=bounds.bottom as u32 {
        for x in bounds.left as u32..=bounds.right as u32 {
            if hull.depth(Point::new(x as f32, y as f32)) > 2.0 {
                let (p, q) = (a.get_pixel(x, y), b.get_pixel(x, y));
                sum += (0..3).map(|c| u64::from(p[c].abs_diff(q[c]))).sum::<u64>();
                n += 3;
            }
        }
    }
    sum as f64 / n.max(1) as f64
}

/// `live --mouth-mask` into a recording and an `--output`, and `bench --mouth-mask` into an
/// `--output`, on A's first 30 frames: in every picture the mouth (inside the outer lip, as
/// dlib finds it in the input frame) is the camera's, within the encoders' noise; the same
/// recording without the flag shows the model's mouth there instead.
#[test]
fn the_mouth_mask_reaches_recordings_outputs_and_bench() {
    use common::live::bench;
    use mimic::face::{DetectOptions, DetectorKind, FaceAnalyzer};

    let model = trained_a2b();
    let clip = testdata("video/WDA_AlexandriaOcasioCortez_000.mp4");
    let dir = scratch("swap-mouth");
    let frames = 30;
    let input = frames_of_a();
    let analyzer = FaceAnalyzer::new(DetectOptions {
        detector: DetectorKind::Hog,
        ..DetectOptions::default()
    })
    .unwrap();
    let mouths: Vec<_> = input[..frames]
        .iter()
        .map(|f| analyzer.faces(f).unwrap().remove(0).landmarks)
        .collect();
    // Each picture against the input frame it shows: the k-th, or a later one where the
    // output dropped some (the closest of those).
    let off = |pictures: &[image::RgbImage], dropped: u64| -> Vec<f64> {
        assert!(pictures.len() as u64 + dropped >= frames as u64);
        pictures
            .iter()
            .enumerate()
            .map(|(k, picture)| {
                (k..=(k + dropped as usize).min(frames - 1))
                    .map(|i| off_in_the_mouth(picture, &input[i], &mouths[i]))
                    .fold(f64::MAX, f64::min)
            })
            .collect()
    };
    let live = |name: &str, extra: &[&str]| {
        let (record, stream) = (
            dir.join(format!("{name}.mp4")),
            dir.join(format!("{name}.ts")),
        );
        let json = LiveRun::new(&model, &clip)
            .headless()
            .view("output")
            .max_frames(frames as u64)
            .record(&record)
            .flag("--output", arg(&stream))
            .with(extra)
            .report();
        let dropped = json["outputs"][0]["dropped"].as_u64().unwrap();
        (off(&decoded(&record), 0), off(&decoded(&stream), dropped))
    };
    let (recorded, streamed) = live("with", &["--mouth-mask"]);
    let (recorded_without, _) = live("without", &[]);
    let bench_stream = dir.join("bench.ts");
    let json = bench(
        &model,
        &clip,
        &[
            "--frames",
            &frames.to_string(),
            "--mouth-mask",
            "--output",
            arg(&bench_stream),
        ],
    );
    let dropped = json["outputs"][0]["dropped"].as_u64().unwrap_or(0);
    let benched = off(&decoded(&bench_stream), dropped);
    let mean = |offs: &[f64]| offs.iter().sum::<f64>() / offs.len().max(1) as f64;
    let worst = |offs: &[f64]| offs.iter().copied().fold(0.0, f64::max);
    let best = |offs: &[f64]| offs.iter().copied().fold(f64::MAX, f64::min);
    eprintln!(
        "off in the mouth, per channel: recorded {:.1} (mean {:.1}), streamed {:.1} ({:.1}), benched {:.1} ({:.1}) at worst; without the mask {:.1} at best (mean {:.1})",
        worst(&recorded),
        mean(&recorded),
        worst(&streamed),
        mean(&streamed),
        worst(&benched),
        mean(&benched),
        best(&recorded_without),
        mean(&recorded_without)
    );
    assert_eq!(recorded.len(), frames);
    for (what, offs) in [
        ("recorded", &recorded),
        ("streamed", &streamed),
        ("benched", &benched),
    ] {
        // The encoders (4:2:0 colour on red lips) leave some levels (measured: 5.1 in the
        // recording, 7.5 and 7.2 in the streams at worst; 4.4–6.0 on average).
        assert!(!offs.is_empty() && worst(offs) < 12.0, "{what}: {offs:?}");
    }
    // Measured: 48.9 at best, 61.6 on average.
    assert!(best(&recorded_without) > 30.0, "{recorded_without:?}");
}

/// The `o` key in the window under Xvfb, pressed with xdotool between two snapshots (`s`):
/// before it the snapshot's mouth is the model's, after it the camera frame's (a PNG, so
/// exactly but for the feather's reach).
#[test]
fn the_o_key_turns_the_mouth_mask_on_in_the_window() {
    use mimic::face::{DetectOptions, DetectorKind, FaceAnalyzer};

    let dir = scratch("swap-mouth-key");
    let clip = testdata("video/WDA_AlexandriaOcasioCortez_000.mp4");
    let live = LiveRun::new(&trained_a2b(), &clip)
        .realtime()
        .view("output")
        .json();
    common::window::press_keys(&live.args(), &["s", "o", "s", "q"], &dir);
    // mimic-frame-INDEX.png: the frame each shows.
    let mut saved: Vec<(usize, std::path::PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let stem = p.file_stem()?.to_str()?.strip_prefix("mimic-frame-")?;
            Some((stem.parse().ok()?, p))
        })
        .collect();
    saved.sort();
    assert_eq!(saved.len(), 2, "{saved:?}");
    let input = frames_of_a();
    let analyzer = FaceAnalyzer::new(DetectOptions {
        detector: DetectorKind::Hog,
        ..DetectOptions::default()
    })
    .unwrap();
    let off: Vec<f64> = saved
        .iter()
        .map(|(index, path)| {
            let shown = image::open(path).unwrap().to_rgb8();
            let mouth = analyzer.faces(&input[*index]).unwrap().remove(0).landmarks;
            off_in_the_mouth(&shown, &input[*index], &mouth)
        })
        .collect();
    eprintln!("off in the mouth: {off:?} (frames {saved:?})");
    assert!(off[0] > 30.0, "before o, the model's mouth: {off:?}");
    // Measured: 55–75 before (the frames vary), 0.0 after.
    assert!(off[1] < 3.0, "after o, the camera's: {off:?}");
}

/// The mean difference per channel between `a` and `b` over the middle of the left and of the
/// right half (where the faces of [`common::clips::two_people`] are).
fn off_in_each_half(a: &image::RgbImage, b: &image::RgbImage) -> [f64; 2] {
    let (w, h) = a.dimensions();
    [0, w / 2].map(|left| {
        let (mut sum, mut n) = (0u64, 0u64);
        for y in h / 4..3 * h / 4 {
            for x in left + w / 8..left + 3 * w / 8 {
                let (p, q) = (a.get_pixel(x, y), b.get_pixel(x, y));
                sum += (0..3).map(|c| u64::from(p[c].abs_diff(q[c]))).sum::<u64>();
                n += 3;
            }
        }
        sum as f64 / n as f64
    })
}

/// Issue 31, many faces: AOC | KH, who change places halfway. `--faces 2` swaps both, in the
/// recording and in the `--output` stream; `--map KH=MODEL` and `--swap-only KH` swap Katie
/// Hill alone, on whichever side she is, the other half left as it came (within the encoder's
/// noise), and so does bench's stream with `--map`; one face (the default) leaves one half as
/// it came. `bench --faces 4` on four people counts four faces a frame and each face's cost.
#[test]
fn every_face_or_each_mapped_person_is_swapped_in_recordings_outputs_and_bench() {
    use common::clips::{four_people, two_people, write, KH};
    use common::live::bench;

    let model = trained_a2b();
    let dir = scratch("swap-many");
    let frames = 24;
    let input = two_people(frames);
    let clip = dir.join("two.mp4");
    write(&input, &clip);
    let mapped = format!("{}={}", arg(&testdata(KH)), arg(&model));
    // Which halves of each picture were swapped. A stream may drop pictures: each is judged
    // against the input frame it shows (the k-th, or a later one, the closest).
    let judge = |name: &str, pictures: Vec<image::RgbImage>, dropped: usize| {
        assert_eq!(pictures.len() + dropped, frames, "{name}");
        let offs: Vec<[f64; 2]> = (0..pictures.len())
            .map(|k| {
                (k..=k + dropped).fold([f64::MAX; 2], |best, i| {
                    let off = off_in_each_half(&pictures[k], &input[i.min(frames - 1)]);
                    [best[0].min(off[0]), best[1].min(off[1])]
                })
            })
            .collect();
        eprintln!("{name}: off in each half {offs:.1?}");
        offs.iter()
            .map(|o| o.map(|off| off > 8.0))
            .collect::<Vec<_>>()
    };
    // Which halves each run swapped in each frame (recorded, streamed).
    let swapped_halves = |name: &str, extra: &[&str]| {
        let (record, stream) = (
            dir.join(format!("{name}.mp4")),
            dir.join(format!("{name}.ts")),
        );
        let json = LiveRun::new(&model, &clip)
            .headless()
            .view("output")
            .record(&record)
            .flag("--output", arg(&stream))
            .with(extra)
            .report();
        let dropped = json["outputs"][0]["dropped"].as_u64().unwrap() as usize;
        [(decoded(&record), 0), (decoded(&stream), dropped)]
            .map(|(pictures, dropped)| judge(name, pictures, dropped))
    };
    for pictures in swapped_halves("both", &["--faces", "2"]) {
        assert!(pictures.iter().all(|&halves| halves == [true, true]));
    }
    let kh = testdata(KH);
    for (name, person) in [
        ("kh", ["--map", &mapped]),
        ("only", ["--swap-only", arg(&kh)]),
    ] {
        let [recorded, streamed] = swapped_halves(name, &person);
        for (i, halves) in recorded.iter().enumerate() {
            let kh_right = i < frames / 2;
            assert_eq!(*halves, [!kh_right, kh_right], "{name}: frame {i}");
        }
        assert!(streamed
            .iter()
            .all(|h| h.iter().filter(|&&s| s).count() == 1));
    }
    for pictures in swapped_halves("one", &[]) {
        assert!(pictures
            .iter()
            .all(|h| h.iter().filter(|&&s| s).count() == 1));
    }
    let stream = dir.join("bench-kh.ts");
    let json = bench(&model, &clip, &["--map", &mapped, "--output", arg(&stream)]);
    let dropped = json["outputs"][0]["dropped"].as_u64().unwrap() as usize;
    let benched = judge("bench kh", decoded(&stream), dropped);
    assert_eq!(benched[0], [false, true], "KH on the right at first");
    assert!(benched
        .iter()
        .all(|h| h.iter().filter(|&&s| s).count() == 1));

    let grid = dir.join("four.mp4");
    write(&four_people(12, 256), &grid);
    for faces in [1, 4] {
        let json = bench(&model, &grid, &["--faces", &faces.to_string()]);
        assert_eq!(
            json["faces"]["per_frame"]["p50"],
            f64::from(faces),
            "{json}"
        );
        let each = json["faces"]["per_face_ms"]["p50"].as_f64().unwrap();
        assert!(each > 0.0, "{json}");
        eprintln!("{faces} faces: {each:.2} ms each");
    }
}

/// The window names each face: with `--map`, a box and the person's name on each swapped face
/// in the live panel (in the first label colour, around Katie Hill on her side of the frame);
/// the picture is marked as overlaid, so recordings compose their own without it. One face
/// of nobody in particular gets no label.
#[test]
fn the_window_names_each_mapped_face() {
    use common::clips::{frame, two_people, KH};
    use mimic::pipeline::{FaceMap, Session, SessionConfig};

    let model = trained_a2b();
    let frames = two_people(8);
    let labelled = |config: &SessionConfig| -> Vec<[usize; 2]> {
        let mut session = Session::open(config, false).unwrap();
        frames
            .iter()
            .enumerate()
            .map(|(i, image)| {
                let frame = frame(i, image.clone());
                let output = session.process(&frame);
                let canvas = output.picture.composite;
                // The live panel is as high as the composite and twice as wide, like the frame.
                let side = canvas.height();
                let gold = |x0: u32| {
                    (x0..x0 + side)
                        .flat_map(|x| (0..side).map(move |y| (x, y)))
                        .filter(|&(x, y)| canvas.get_pixel(x, y).0 == [255, 196, 0])
                        .count()
                };
                if gold(0) + gold(512) > 0 {
                    assert!(output.picture.overlaid);
                }
                [gold(0), gold(side)]
            })
            .collect()
    };
    let base = SessionConfig {
        model: model.clone(),
        ..SessionConfig::default()
    };
    let map = SessionConfig {
        map: vec![FaceMap {
            person: testdata(KH),
            model: model.clone(),
        }],
        ..base.clone()
    };
    for (i, [left, right]) in labelled(&map).into_iter().enumerate() {
        let kh_right = i < frames.len() / 2;
        let (hers, other) = if kh_right {
            (right, left)
        } else {
            (left, right)
        };
        assert!(hers > 200 && other == 0, "frame {i}: {left} | {right}");
    }
    assert!(labelled(&base).iter().all(|g| g == &[0, 0]));
}

/// With several faces the panel of the generated face shows each face's, side by side, each
/// framed in its label's colour (gold for the first face, cyan for the second), the two
/// people's different; with one face, that face's alone and unframed.
#[test]
fn the_generated_panel_shows_every_face_when_several_are_swapped() {
    use common::clips::{frame, two_people};
    use mimic::pipeline::{Session, SessionConfig};

    let base = SessionConfig {
        model: trained_a2b(),
        ..SessionConfig::default()
    };
    // The last frame's generated panel (the composite's last square), and how many of its
    // pixels are gold and cyan.
    let panel = |config: &SessionConfig| {
        let mut session = Session::open(config, false).unwrap();
        let mut last = None;
        for (i, image) in two_people(6).into_iter().enumerate() {
            let frame = frame(i, image);
            let output = session.process(&frame);
            let canvas = output.picture.composite;
            let side = canvas.height();
            last = Some(
                image::imageops::crop_imm(canvas, canvas.width() - side, 0, side, side).to_image(),
            );
        }
        let panel = last.unwrap();
        let count = |rgb: [u8; 3]| panel.pixels().filter(|p| p.0 == rgb).count();
        let framed = [count([255, 196, 0]), count([0, 200, 255])];
        (panel, framed)
    };
    let (one, framed) = panel(&base);
    assert_eq!(framed, [0, 0]);
    let (both, framed) = panel(&SessionConfig { faces: 2, ..base });
    assert!(framed.iter().all(|&n| n > 100), "{framed:?}");
    // The two tiles sit side by side in the middle rows: each shows a face, and not the same.
    let side = both.height();
    let tile = |x: u32| {
        image::imageops::crop_imm(
            &both,
            x + side / 16,
            side / 4 + side / 16,
            side / 2 - side / 8,
            side / 2 - side / 8,
        )
        .to_image()
    };
    let (left, right) = (tile(0), tile(side / 2));
    let mean = |t: &image::RgbImage| {
        t.as_raw().iter().map(|&v| f64::from(v)).sum::<f64>() / t.as_raw().len() as f64
    };
    assert!(mean(&left) > 40.0 && mean(&right) > 40.0);
    let apart = off_within(&left, &right, (0, 0, left.width(), left.height()));
    assert!(
        apart > 5.0,
        "the two generated faces are {apart:.1} levels apart"
    );
    assert_ne!(one.as_raw(), both.as_raw());
}

/// The mean difference per channel between `a` and `b` inside `(x, y, w, h)`.
fn off_within(a: &image::RgbImage, b: &image::RgbImage, (x, y, w, h): (u32, u32, u32, u32)) -> f64 {
    let (mut sum, mut n) = (0u64, 0u64);
    for py in y..y + h {
        for px in x..x + w {
            let (p, q) = (a.get_pixel(px, py), b.get_pixel(px, py));
            sum += (0..3).map(|c| u64::from(p[c].abs_diff(q[c]))).sum::<u64>();
            n += 3;
        }
    }
    sum as f64 / n.max(1) as f64
}

/// Issue 31, occlusion: a real object (the frisbee of testdata's photo of dogs) raised in
/// front of Katie Hill's mouth and chin, held there, then lowered. With `--occlusion` it stays
/// in front in the recording, the `--output` stream and bench's stream: its upper part (over
/// the mouth, where the swapped face would go) is the camera's within the encoders' noise;
/// without it, the swapped face covers it. Once it has gone, the swap is what it is without.
#[test]
fn occlusion_keeps_what_is_in_front_of_the_face_in_recordings_outputs_and_bench() {
    use common::clips::{occluded, occluder_at, write};
    use common::live::bench;

    let model = trained_a2b();
    let dir = scratch("swap-occlusion");
    let frames = 100;
    let input = occluded(frames);
    let clip = dir.join("occluded.mp4");
    write(&input, &clip);
    // Over the mouth: the object's upper part while it is held, below its very edge (the
    // fur there, feathered into the face).
    let held = 45..70;
    let band = |i: usize| occluder_at(i).map(|(x, y, w, _)| (x + 20, y + 15, w - 40, 50));
    // Each picture against the input frame it shows (a stream may drop some): the closest of
    // the k-th and the next `dropped`.
    let offs = |pictures: &[image::RgbImage], dropped: usize| -> Vec<f64> {
        assert!(pictures.len() + dropped >= frames);
        let at = |k: usize| k + dropped.min(frames - 1 - k.min(frames - 1));
        held.clone()
            .filter(|&k| k < pictures.len())
            .map(|k| {
                (k..=at(k))
                    .filter_map(|i| Some(off_within(&pictures[k], &input[i], band(i)?)))
                    .fold(f64::MAX, f64::min)
            })
            .collect()
    };
    let live = |name: &str, extra: &[&str]| {
        let (record, stream) = (
            dir.join(format!("{name}.mp4")),
            dir.join(format!("{name}.ts")),
        );
        let json = LiveRun::new(&model, &clip)
            .headless()
            .view("output")
            .record(&record)
            .flag("--output", arg(&stream))
            .with(extra)
            .report();
        let dropped = json["outputs"][0]["dropped"].as_u64().unwrap() as usize;
        let recorded = decoded(&record);
        let off = (offs(&recorded, 0), offs(&decoded(&stream), dropped));
        (off, recorded)
    };
    let ((recorded, streamed), with) = live("with", &["--occlusion"]);
    let ((without, _), plain) = live("without", &[]);
    let stream = dir.join("bench.ts");
    let json = bench(&model, &clip, &["--occlusion", "--output", arg(&stream)]);
    let dropped = json["outputs"][0]["dropped"].as_u64().unwrap_or(0) as usize;
    let benched = offs(&decoded(&stream), dropped);
    let worst = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let best = |v: &[f64]| v.iter().copied().fold(f64::MAX, f64::min);
    // Once it has gone (frames 92 on), the swapped face with and without, over the face.
    let face = (150, 150, 220, 250);
    let after: Vec<f64> = (92..frames)
        .map(|i| off_within(&with[i], &plain[i], face))
        .collect();
    eprintln!(
        "in front of the mouth, off per channel: recorded {:.1}, streamed {:.1}, benched {:.1} at worst; without occlusion {:.1} at best; after it went, with against without {:.1} at worst",
        worst(&recorded),
        worst(&streamed),
        worst(&benched),
        best(&without),
        worst(&after)
    );
    for (what, v) in [
        ("recorded", &recorded),
        ("streamed", &streamed),
        ("benched", &benched),
    ] {
        assert!(!v.is_empty() && worst(v) < 12.0, "{what}: {v:?}");
    }
    assert!(best(&without) > 25.0, "{without:?}");
    assert!(worst(&after) < 4.0, "{after:?}");
}

/// The `i` key's control in a running session: occlusion off until frame 5, then on; the
/// object held in front of the mouth is the camera's in the swapped frames (but for the
/// feather's reach), where without the key it is the swapped face's.
#[test]
fn the_occlusion_control_turns_it_on_in_a_running_session() {
    use common::clips::{frame, occluded, occluder_at};
    use mimic::output::Control;
    use mimic::pipeline::{Session, SessionConfig};

    let config = SessionConfig {
        model: trained_a2b(),
        ..SessionConfig::default()
    };
    let frames = occluded(70);
    let run = |press_at: Option<usize>| -> Vec<f64> {
        let mut session = Session::open(&config, false).unwrap();
        let mut offs = Vec::new();
        for (i, image) in frames.iter().enumerate() {
            if press_at == Some(i) {
                let said = session.control(Control::ToggleOcclusion).unwrap();
                assert!(said.contains("occlusion true"), "{said}");
            }
            let frame = frame(i, image.clone());
            let output = session.process(&frame);
            let swapped = output.picture.panels.generated.unwrap();
            if let Some((x, y, w, _)) = occluder_at(i).filter(|_| i >= 45) {
                offs.push(off_within(swapped, image, (x + 20, y + 15, w - 40, 50)));
            }
        }
        offs
    };
    let (pressed, not) = (run(Some(5)), run(None));
    eprintln!("occlusion key: {pressed:.1?} against {not:.1?}");
    // Measured: 1.4–10.0 (the feather reaches into the band here and there) against 35–53.
    assert!(pressed.iter().all(|&off| off < 12.0), "{pressed:?}");
    assert!(not.iter().all(|&off| off > 25.0), "{not:?}");
}

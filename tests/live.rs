//! The live loop run headless on a file: every frame reenacted, composed into three panels
//! with the visible mark, recorded with the metadata tag.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::live::{bench, LiveRun};
use common::models::{tiny_d0_model, train_reenact};
use common::{decoded, refusal, scratch, testdata};
use mimic::data::dataset::Dataset;
use mimic::train::pix2pix::{Arch, Options, Preset};
use mimic::video::VideoReader;

/// The book's U-Net exported untrained from tiny_d0_model's data, without its card: by itself
/// a style model. Made once for this file.
fn cardless_book_model() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = scratch("live-book");
        let trained = dir.join("book.onnx");
        let options = Options {
            arch: Some(Arch::Book),
            ..Options::new(Preset::Tiny, Some(0))
        };
        let data = Dataset::open(&tiny_d0_model().with_file_name("data")).unwrap();
        train_reenact(&data, &trained, &options);
        let model = dir.join("cardless.onnx");
        std::fs::copy(&trained, &model).unwrap();
        model
    })
}

/// `live` on d0 through the tiny model of d0, headless.
fn headless_d0() -> LiveRun {
    LiveRun::new(tiny_d0_model(), &testdata("video/d0.mp4")).headless()
}

/// The mark: bright letters on a dark box in the bottom-right corner of a 256-high frame.
fn has_mark(image: &image::RgbImage) -> bool {
    let right = image.width();
    let corner: Vec<u8> = (right - 66..right)
        .flat_map(|x| (238..254).map(move |y| (x, y)))
        .map(|(x, y)| image.get_pixel(x, y)[0])
        .collect();
    corner.iter().any(|&v| v > 200) && corner.iter().any(|&v| v < 50)
}

#[test]
fn headless_live_records_every_frame_with_panels_mark_and_tag() {
    let out = scratch("live").join("out.mp4");
    let report = headless_d0().record(&out).report();
    assert_eq!(report["frames"], 78);
    assert_eq!(report["frames_with_face"], 78);

    let mut reader = VideoReader::open(&out).unwrap();
    assert!(reader
        .metadata()
        .iter()
        .any(|(k, v)| k == "comment" && v == mimic::output::compose::SYNTHETIC_TAG));
    // d0 is 512×512: the live panel is 256×256 beside two 256×256 panels.
    assert_eq!((reader.info().width, reader.info().height), (768, 256));
    let mut frames = 0;
    while let Some(frame) = reader.next_frame().unwrap() {
        frames += 1;
        let image = frame.image;
        // The sketch panel is black with white lines; the generated panel is not black.
        let sketch_lit = (512..768)
            .flat_map(|x| (0..200).map(move |y| (x, y)))
            .filter(|&(x, y)| image.get_pixel(x, y)[0] > 128)
            .count();
        assert!(
            sketch_lit > 100,
            "frame {frames}: sketch panel has {sketch_lit} bright pixels"
        );
        assert!(has_mark(&image), "frame {frames}: no mark");
    }
    assert_eq!(frames, 78);
}

#[test]
fn the_recording_can_hold_the_generated_frame_alone() {
    let out = scratch("live-output-view").join("out.mp4");
    let report = headless_d0()
        .max_frames(12)
        .record(&out)
        .flag("--record-view", "output")
        .report();
    assert_eq!(report["frames"], 12);
    let mut reader = VideoReader::open(&out).unwrap();
    assert_eq!((reader.info().width, reader.info().height), (256, 256));
    let mut frames = 0;
    while let Some(frame) = reader.next_frame().unwrap() {
        frames += 1;
        assert!(has_mark(&frame.image), "frame {frames}: no mark");
    }
    assert_eq!(frames, 12);
}

/// Issue 15: tracking the next frame on its own thread while this one is generated gives
/// a file the same frames, bit for bit, as tracking and generating one after the other.
#[test]
fn the_pipelined_loop_records_what_the_serial_loop_records() {
    let dir = scratch("live-pipelined");
    let record = |name: &str, serial: bool| {
        let out = dir.join(name);
        let run = headless_d0().max_frames(40).record(&out);
        let run = if serial { run.with(&["--serial"]) } else { run };
        let report = run.report();
        assert_eq!(report["frames"], 40);
        decoded(&out)
    };
    let (pipelined, serial) = (record("pipelined.mp4", false), record("serial.mp4", true));
    assert_eq!(pipelined.len(), 40);
    assert_eq!(pipelined.len(), serial.len());
    for (i, (a, b)) in pipelined.iter().zip(&serial).enumerate() {
        assert!(a.as_raw() == b.as_raw(), "frame {i} differs");
    }
}

/// Under Xvfb the window opens and shows the composite: the screen, captured with
/// ImageMagick's `import` while the loop runs, holds the sketch panel's lines, the mark, and
/// the overlay's yellow figures.
#[test]
fn the_window_shows_the_composite_under_xvfb() {
    let model = tiny_d0_model();
    let shot = scratch("window").join("screen.png");
    let video = testdata("video/d3.mp4");
    let count = |screen: &image::RgbImage, f: &dyn Fn(&image::Rgb<u8>) -> bool| {
        screen.pixels().filter(|p| f(p)).count()
    };
    let photo = |p: &image::Rgb<u8>| p[0] > 60 && p[0] < 250 && p[1] > 40 && p[2] > 20;
    let yellow = |p: &image::Rgb<u8>| p.0 == [255, 255, 0];
    // Played at the clip's pace, so the window is up for seconds whatever the host's speed.
    let screen = common::window::screen_when(
        &LiveRun::new(model, &video).realtime().args(),
        |screen| count(screen, &photo) > 20_000 && count(screen, &yellow) > 50,
        &shot,
    );
    let count = |f: &dyn Fn(&image::Rgb<u8>) -> bool| screen.pixels().filter(|p| f(p)).count();
    let white = count(&|p| p.0.iter().all(|&c| c > 200));
    let mark_box = count(&|p| p.0 == [20, 20, 20]);
    assert!(
        white > 300,
        "sketch lines and mark letters: {white} white pixels"
    );
    assert!(mark_box > 300, "the mark's box: {mark_box} pixels");
}

/// The window's keys under Xvfb, pressed with xdotool: `s` saves the composite as a PNG in the
/// working folder, `v` switches to the generated frame alone, `q` quits before the video ends.
#[test]
fn the_window_keys_save_switch_views_and_quit() {
    let dir = scratch("window-keys");
    let live = LiveRun::new(tiny_d0_model(), &testdata("video/d3.mp4"))
        .realtime()
        .json();
    common::window::press_keys(&live.args(), &["s", "v", "s", "q"], &dir);
    let mut saved: Vec<(u32, u32)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .map(|p| image::image_dimensions(&p).unwrap())
        .collect();
    saved.sort();
    assert_eq!(saved, vec![(256, 256), (768, 256)], "panels, then output");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    let frames = report["frames"].as_u64().unwrap();
    assert!(frames < 300, "q quit after {frames} of d3's 354 frames");
}

/// `--realtime` plays the file like a camera on its own thread: every frame is either processed
/// or counted as dropped, and the recording fills dropped frames so it keeps every frame slot.
#[test]
fn realtime_input_drops_late_frames_and_the_recording_keeps_its_length() {
    let out = scratch("realtime").join("out.mp4");
    let report = headless_d0().realtime().record(&out).report();
    let (frames, dropped) = (
        report["frames"].as_u64().unwrap(),
        report["dropped"].as_u64().unwrap(),
    );
    assert_eq!(frames + dropped, 78, "{report}");
    let recorded = VideoReader::open(&out).unwrap().count();
    assert_eq!(
        recorded, 78,
        "the recording has a frame for every captured frame"
    );
}

/// A video cut short (a download that stopped): the frames before the cut are converted, the
/// run ends with a sentence, and the recording is kept, finished and playable, under a name
/// that says it is partial; nothing is left under the name a complete one would have.
#[test]
fn an_input_cut_short_keeps_what_was_recorded_under_a_partial_name() {
    let dir = scratch("live-cut-short");
    // A fragmented MP4 of d0 (mimic's own recording) cut at 60 % of its bytes.
    let whole = dir.join("whole.mp4");
    let made = headless_d0().record(&whole).run();
    assert!(made.status.success());
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).unwrap();

    let out = dir.join("out.mp4");
    let run = LiveRun::new(tiny_d0_model(), &cut)
        .headless()
        .record(&out)
        .run();
    let stderr = refusal(&run);
    let partial = dir.join("out.partial.mp4");
    assert!(stderr.contains("out.partial.mp4"), "{stderr}");
    assert!(
        !out.exists(),
        "a cut-short run left a file that looks complete"
    );
    let frames = frames_in(&partial);
    assert!((20..78).contains(&frames), "{frames} frames kept");
    assert!(
        stderr.contains(&format!("the {frames} frames recorded")),
        "{stderr}"
    );
}

/// The soak, short enough for CI: d0 five times through the whole path; resident memory does
/// not grow from the end of the second pass to the end of the last (the 30-minute soak is a
/// bench run, in the README).
#[test]
fn a_clip_played_five_times_keeps_memory_flat() {
    let d0 = testdata("video/d0.mp4");
    let report = bench(tiny_d0_model(), &d0, &["--loop", "5"]);
    assert_eq!(report["frames"], 5 * 78);
    assert_eq!(report["detector"], "mtcnn", "the default detector, named");
    let passes = report["passes"].as_array().unwrap();
    assert_eq!(passes.len(), 5);
    let rss = |i: usize| passes[i]["rss_mb"].as_f64().unwrap();
    assert!(rss(1) > 10.0, "resident memory read as {} MB", rss(1));
    assert!(
        rss(4) - rss(1) < 8.0,
        "resident memory grew from {} MB to {} MB",
        rss(1),
        rss(4)
    );
    assert_eq!(report["rss_mb"]["start"], passes[0]["rss_mb"]);
}

/// A generator without a card runs in the mode the user names, on defaults it says once on
/// stderr and in the window's overlay: the book's U-Net (card-less, so a style model by
/// itself) driven as a reenactment by d0, framed from the driver's first faces.
#[test]
fn a_cardless_generator_runs_in_the_mode_given() {
    let model = cardless_book_model();
    let (report, stderr) = LiveRun::new(model, &testdata("video/d0.mp4"))
        .mode("reenact")
        .headless()
        .max_frames(20)
        .report_and_stderr();
    assert!(
        stderr.contains("has no card: running it in reenact mode with defaults"),
        "{stderr}"
    );
    assert_eq!(report["frames"], 20);
    assert_eq!(report["frames_with_face"], 20);
}

/// Frames in a video file, decoded to the end.
fn frames_in(path: &Path) -> u64 {
    let mut reader = VideoReader::open(path).unwrap();
    let mut frames = 0;
    while reader.next_frame().unwrap().is_some() {
        frames += 1;
    }
    frames
}

/// `live` on d0 played as a camera that goes silent after 30 frames (the one test double:
/// there is no camera here), recording into `dir/out.mp4`, with `more` flags.
fn live_with_a_camera_lost(dir: &Path, more: &[&str]) -> std::process::Output {
    LiveRun::new(tiny_d0_model(), &testdata("video/d0.mp4"))
        .flag("--simulate-camera-loss", "30")
        .headless()
        .record(&dir.join("out.mp4"))
        .json()
        .with(more)
        .run()
}

/// A camera that stops delivering ends the run after a few seconds with one sentence; what
/// was recorded is finished and playable under its own name (a camera's recording is whole
/// up to the loss), a frame for each frame the camera delivered.
#[test]
fn a_camera_that_stops_delivering_ends_the_run_and_keeps_the_recording() {
    let dir = scratch("live-camera-lost");
    let run = live_with_a_camera_lost(&dir, &[]);
    let stderr = refusal(&run);
    assert!(
        stderr.contains("delivered no frame for 5 s") && stderr.contains("out.mp4"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["ended"], "camera lost", "{report}");
    assert_eq!(frames_in(&dir.join("out.mp4")), 30);
}

/// With --reconnect the run waits for the camera: the recording up to the loss is finished,
/// and when the camera is back the run goes on into a second file beside it.
#[test]
fn a_camera_that_comes_back_goes_on_into_a_second_recording() {
    let dir = scratch("live-camera-back");
    let run = live_with_a_camera_lost(&dir, &["--reconnect"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("the camera is back"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["reconnects"], 1, "{report}");
    assert_eq!(report["ended"], "input ended", "{report}");
    let second = dir.join("out-2.mp4");
    assert_eq!(
        report["recordings"],
        serde_json::json!([dir.join("out.mp4"), second]),
        "{report}"
    );
    assert_eq!(frames_in(&dir.join("out.mp4")), 30);
    // The camera came back from its first frame: every one of d0's 78 frames has a slot.
    assert_eq!(frames_in(&second), 78);
}

/// A disk that fills while recording, made by the kernel's limit on a file's size (`ulimit
/// -f`, with SIGXFSZ ignored so a write past it fails with EFBIG as one past a full disk fails
/// with ENOSPC): the run ends with a sentence, and the recording is kept under a name that says
/// it is partial, playable up to where writing stopped.
#[test]
fn a_recording_that_fills_its_disk_is_kept_under_a_partial_name() {
    let dir = scratch("live-disk-full");
    let out = dir.join("out.mp4");
    let run = Command::new("bash")
        .arg("-c")
        .arg(r#"trap "" XFSZ; ulimit -f 48; exec "$@""#)
        .arg("bash")
        .arg(env!("CARGO_BIN_EXE_mimic"))
        .args(headless_d0().record(&out).args())
        .output()
        .unwrap();
    let stderr = refusal(&run);
    assert!(
        stderr.contains("File too large") && stderr.contains("out.partial.mp4"),
        "{stderr}"
    );
    assert!(!out.exists(), "a file cut short looks complete");
    // Its last fragment is cut where the writing failed: the frames before it play.
    let mut reader = VideoReader::open(&dir.join("out.partial.mp4")).unwrap();
    let mut kept = 0;
    while let Ok(Some(_)) = reader.next_frame() {
        kept += 1;
    }
    assert!((1..78).contains(&kept), "{kept} frames kept");
}

/// d9 with 20 KB of random bytes written over its middle: the damaged packets are skipped
/// and said once, the run finishes, and every frame decoded is recorded.
#[test]
fn a_damaged_middle_is_skipped_and_said_once() {
    let dir = scratch("live-damaged");
    let mut bytes = std::fs::read(testdata("video/d9.mp4")).unwrap();
    let middle = bytes.len() / 2;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for byte in &mut bytes[middle..middle + 20_000] {
        // xorshift: the same "random" bytes every run.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    let damaged = dir.join("damaged.mp4");
    std::fs::write(&damaged, &bytes).unwrap();
    let out = dir.join("out.mp4");
    let (report, stderr) = LiveRun::new(tiny_d0_model(), &damaged)
        .headless()
        .record(&out)
        .report_and_stderr();
    assert_eq!(stderr.matches("damaged packet").count(), 1, "{stderr}");
    let frames = report["frames"].as_u64().unwrap();
    assert!((560..587).contains(&frames), "{frames} of 587 frames");
    assert_eq!(frames_in(&out), frames);
}

/// A 2×2 video (d0 scaled down, 10 frames; 1×1 cannot be encoded as H.264): frames without a
/// face, recorded at the panels' size.
#[test]
fn a_video_of_two_by_two_pixels_is_frames_without_a_face() {
    let dir = scratch("live-tiny-video");
    let tiny = dir.join("tiny.mp4");
    let mut writer =
        mimic::video::VideoWriter::create(&tiny, mimic::video::WriterOptions::new(2, 2, 25.0))
            .unwrap();
    for frame in VideoReader::open(&testdata("video/d0.mp4"))
        .unwrap()
        .take(10)
    {
        let image = frame.unwrap().image;
        writer
            .write(&image::imageops::resize(
                &image,
                2,
                2,
                image::imageops::FilterType::Triangle,
            ))
            .unwrap();
    }
    writer.finish().unwrap();
    let out = dir.join("out.mp4");
    let report = LiveRun::new(tiny_d0_model(), &tiny)
        .headless()
        .record(&out)
        .report();
    assert_eq!(report["frames"], 10, "{report}");
    assert_eq!(report["frames_with_face"], 0, "{report}");
    let reader = VideoReader::open(&out).unwrap();
    assert_eq!((reader.info().width, reader.info().height), (768, 256));
    assert_eq!(frames_in(&out), 10);
}

/// `--record` where no file can be made (a missing folder; a path through a file, which is
/// what a read-only folder is to root): one sentence, exit status 2, no file.
#[test]
fn a_recording_that_cannot_be_created_is_refused_before_any_frame() {
    let dir = scratch("live-unwritable");
    let file = dir.join("file.txt");
    std::fs::write(&file, "x").unwrap();
    for out in [dir.join("no/such/folder/out.mp4"), file.join("out.mp4")] {
        let run = headless_d0().record(&out).run();
        let stderr = refusal(&run);
        assert!(stderr.contains("cannot create video"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!out.exists());
    }
}

/// An earlier recording is never written over unless the user says so.
#[test]
fn an_existing_recording_is_kept_unless_forced() {
    let dir = scratch("live-existing");
    let out = dir.join("out.mp4");
    std::fs::write(&out, b"an earlier recording").unwrap();
    let live = headless_d0().max_frames(5).record(&out);
    let stderr = refusal(&live.run());
    assert!(stderr.contains("give --force"), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), b"an earlier recording");
    let forced = live.with(&["--force"]).run();
    assert!(forced.status.success());
    assert_eq!(frames_in(&out), 5);
}

/// SIGINT and SIGTERM while recording a camera-paced run: the frame at hand is finished, the
/// recording is finished and playable, the report says the run was stopped, exit status 0.
#[test]
fn sigint_and_sigterm_while_recording_keep_a_playable_recording() {
    let dir = scratch("live-signals");
    let d9 = testdata("video/d9.mp4");
    for signal in ["INT", "TERM"] {
        let out = dir.join(format!("{signal}.mp4"));
        let child = Command::new(env!("CARGO_BIN_EXE_mimic"))
            .args(
                LiveRun::new(tiny_d0_model(), &d9)
                    .realtime()
                    .headless()
                    .json()
                    .record(&out)
                    .args(),
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // d9 plays for 23 s: stop it a few seconds in, once frames are being recorded.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::fs::metadata(&out).map_or(0, |m| m.len()) < 100_000 {
            assert!(std::time::Instant::now() < deadline, "nothing recorded");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let killed = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let run = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{signal}: {stderr}");
        let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(report["ended"], "stopped", "{signal}: {report}");
        let frames = frames_in(&out);
        assert!((10..587).contains(&frames), "{signal}: {frames} frames");
    }
}

/// A style generator that fails, inside ONNX Runtime, on d12's three brightest frames
/// (1.6 in 100): y = −x gathered at index 0, or at index 1000 (out of bounds: the run fails)
/// when the input's mean is above `threshold` (the network's [−1, 1] values).
fn failing_model(dir: &Path, threshold: f32) -> PathBuf {
    use mimic::onnx::{Attr, Initializer, Node, TensorData};
    let constant = |name: &str, dims: Vec<i64>, data| Initializer {
        name: name.into(),
        dims,
        data,
    };
    let nodes = vec![
        Node::new("Neg", "neg", &["input"], &["negative"]),
        Node::new("ReduceMean", "mean", &["input"], &["mean"]).attr("keepdims", Attr::Int(0)),
        Node::new("Greater", "bright", &["mean", "threshold"], &["bright"]),
        Node::new("Cast", "flag", &["bright"], &["flag"]).attr("to", Attr::Int(7)),
        Node::new("Mul", "index", &["flag", "far"], &["index"]),
        Node::new("Unsqueeze", "indices", &["index", "axis0"], &["indices"]),
        Node::new("Gather", "pick", &["negative", "indices"], &["output"])
            .attr("axis", Attr::Int(0)),
    ];
    let initializers = vec![
        constant("threshold", vec![], TensorData::Float(vec![threshold])),
        constant("far", vec![], TensorData::Int64(vec![1000])),
        constant("axis0", vec![1], TensorData::Int64(vec![0])),
    ];
    let dims = vec![1, 3, 256, 256];
    common::onnx_model(dir, "fails-when-bright", dims, nodes, initializers)
}

/// A generator that fails on some frames (here 3 of d12's 183) does not end the run: each
/// failure is counted, said once, shown and recorded as the frame came, and every frame is
/// recorded.
#[test]
fn a_generator_that_fails_on_some_frames_leaves_every_frame_recorded() {
    let dir = scratch("live-failing-generator");
    let d12 = testdata("video/d12.mp4");
    // The threshold halfway between d12's third and fourth brightest frames, which stand
    // 0.009 apart: far more than the letterbox's resize moves a frame's mean.
    let mut reader = VideoReader::open(&d12).unwrap();
    let mut means = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        let sum: u64 = frame.image.as_raw().iter().map(|&v| u64::from(v)).sum();
        means.push(sum as f64 / frame.image.as_raw().len() as f64 / 127.5 - 1.0);
    }
    means.sort_by(|a, b| b.total_cmp(a));
    assert!(means[2] - means[3] > 0.005, "{:?}", &means[..5]);
    let model = failing_model(&dir, ((means[2] + means[3]) / 2.0) as f32);
    let out = dir.join("out.mp4");
    let (report, stderr) = LiveRun::new(&model, &d12)
        .mode("stylize")
        .headless()
        .record(&out)
        .report_and_stderr();
    assert_eq!(report["frames"], 183, "{report}");
    assert_eq!(report["failed_frames"], 3, "{report}");
    assert_eq!(
        stderr.matches("the run goes on").count(),
        1,
        "one failure kind, said once: {stderr}"
    );
    assert_eq!(frames_in(&out), 183);
}

/// No camera here: asking for one is a clear error, not a hang.
#[test]
fn a_missing_camera_is_a_clear_error() {
    let err = refusal(&LiveRun::camera(tiny_d0_model(), 7).headless().run());
    assert!(
        err.contains("cannot open camera 7") && err.contains("mimic devices"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bench_reports_every_field_of_the_contract() {
    let d0 = testdata("video/d0.mp4");
    let json = bench(tiny_d0_model(), &d0, &["--frames", "40", "--record"]);
    assert_eq!(json["frames"], 40);
    assert_eq!(json["frames_with_face"], 40);
    assert!(json["fps"].as_f64().unwrap() > 0.0);
    for q in ["p50", "p95", "p99"] {
        assert!(json["latency_ms"][q].as_f64().unwrap() > 0.0, "latency {q}");
    }
    for stage in [
        "decode",
        "landmarks",
        "sketch",
        "preprocess",
        "generator",
        "postprocess",
        "compose",
        "encode",
    ] {
        let s = &json["stages_ms"][stage];
        assert!(
            s["p50"].as_f64().unwrap() > 0.0
                && s["p95"].as_f64().unwrap() >= s["p50"].as_f64().unwrap(),
            "{stage}: {s}"
        );
    }
    assert!(json["stages_ms"]["generator"]["p50"].as_f64().unwrap() > 0.0);
    assert_eq!(json["device"], "CPU");
    assert_eq!(json["precision"], "float");
    assert_eq!(json["dropped"], 0);
}

/// A video played at its own pace, as a camera delivers it: the frames the loop could not keep
/// up with are dropped and counted, so every frame of the clip is accounted for.
#[test]
fn bench_in_real_time_counts_the_frames_it_dropped() {
    let d0 = testdata("video/d0.mp4");
    let json = bench(tiny_d0_model(), &d0, &["--realtime", "--serial"]);
    let (frames, dropped) = (
        json["frames"].as_u64().unwrap(),
        json["dropped"].as_u64().unwrap(),
    );
    assert_eq!(frames + dropped, 78, "{json}");
    assert!(frames > 0, "{json}");
}

/// Stylise mode on a frame that is not square (d9: 512×480): a model without a card runs on
/// the whole frame, letterboxed to its square input and scaled back; every frame is recorded
/// at the frame's size, changed by the model, and bench names the mode's own stages.
#[test]
fn stylize_mode_records_every_frame_at_the_frames_size() {
    let dir = scratch("live-stylize");
    // A one-input model without a card is a style model: the book's U-Net, untrained.
    let model = cardless_book_model();
    let out = dir.join("styled.mp4");
    let d9 = testdata("video/d9.mp4");
    let report = LiveRun::new(model, &d9)
        .headless()
        .max_frames(30)
        .view("output")
        .record(&out)
        .report();
    assert_eq!(report["frames"], 30);
    let mut styled = VideoReader::open(&out).unwrap();
    let mut source = VideoReader::open(&d9).unwrap();
    // The output view of a full-frame mode is the frame at its own size.
    assert_eq!((styled.info().width, styled.info().height), (512, 480));
    let mut frames = 0;
    while let Some(frame) = styled.next_frame().unwrap() {
        let original = source.next_frame().unwrap().unwrap().image;
        let differ = frame
            .image
            .pixels()
            .zip(original.pixels())
            .filter(|(a, b)| a.0.iter().zip(b.0).any(|(x, y)| x.abs_diff(y) > 40))
            .count();
        assert!(
            differ > 512 * 480 / 4,
            "frame {frames}: only {differ} pixels styled"
        );
        frames += 1;
    }
    assert_eq!(frames, 30);
    let json = bench(model, &d9, &["--frames", "20"]);
    let stages = &json["stages_ms"];
    assert!(
        stages["letterbox"]["p50"].as_f64().unwrap() > 0.0,
        "{stages}"
    );
    assert!(
        stages["scale_back"]["p50"].as_f64().unwrap() > 0.0,
        "{stages}"
    );
    assert!(
        stages.get("landmarks").is_none(),
        "no face is tracked: {stages}"
    );
}

/// A warp model without its card cannot be run as a style model: it needs the target's
/// reference picture, which only its card gives.
#[test]
fn a_warp_model_without_its_card_is_refused_with_what_to_do() {
    let dir = scratch("live-warp-cardless");
    let model = dir.join("warp.onnx");
    std::fs::copy(tiny_d0_model(), &model).unwrap();
    let out = LiveRun::new(&model, &testdata("video/d9.mp4"))
        .headless()
        .max_frames(2)
        .run();
    let err = refusal(&out);
    assert!(err.contains("it is a reenactment model"), "{err}");
}

/// Retargeting in the live loop: another person (d3, framed differently) drives d0's model,
/// and the sketch the model is given sits where d0's own neutral face sits in its training
/// frames, not where d3's face is; without retargeting it follows d3's framing instead. A
/// model whose card has no target neutral refuses `--retarget auto` with a sentence.
#[test]
fn retargeting_draws_the_driver_at_the_targets_framing() {
    let card = mimic::infer::ModelCard::read_beside(tiny_d0_model())
        .unwrap()
        .unwrap();
    let neutral = card
        .neutral
        .expect("pix2pix writes the target's neutral into the card");
    let target: Vec<(f32, f32)> = neutral
        .shape
        .0
        .iter()
        .map(|p| {
            let q = neutral.placement.apply(*p);
            (q.x, q.y)
        })
        .collect();
    let d3 = testdata("video/d3.mp4");
    let sketch_box = |retarget: &str| {
        let out = scratch(&format!("live-retarget-{retarget}")).join("out.mp4");
        LiveRun::new(tiny_d0_model(), &d3)
            .headless()
            .max_frames(30)
            .flag("--retarget", retarget)
            .record(&out)
            .report();
        let mut reader = VideoReader::open(&out).unwrap();
        let frame = (0..30)
            .filter_map(|_| reader.next_frame().unwrap())
            .last()
            .unwrap();
        // The sketch panel (256 px for the 128-px model): the box of its lines, in model
        // pixels, the mark in its bottom-right corner left out.
        let lit: Vec<(u32, u32)> = (512..768)
            .flat_map(|x| (0..256).map(move |y| (x, y)))
            .filter(|&(x, y)| !(x >= 696 && y >= 232))
            .filter(|&(x, y)| frame.image.get_pixel(x, y)[0] > 128)
            .map(|(x, y)| ((x - 512) / 2, y / 2))
            .collect();
        let min = |f: fn(&(u32, u32)) -> u32| lit.iter().map(f).min().unwrap() as f32;
        let max = |f: fn(&(u32, u32)) -> u32| lit.iter().map(f).max().unwrap() as f32;
        (min(|p| p.0), min(|p| p.1), max(|p| p.0), max(|p| p.1))
    };
    let fold = |f: fn(f32, f32) -> f32, pick: fn(&(f32, f32)) -> f32, start: f32| {
        target.iter().map(pick).fold(start, f)
    };
    let expected = (
        fold(f32::min, |p| p.0, f32::MAX),
        fold(f32::min, |p| p.1, f32::MAX),
        fold(f32::max, |p| p.0, f32::MIN),
        fold(f32::max, |p| p.1, f32::MIN),
    );
    let width = expected.2 - expected.0;
    let off = |b: (f32, f32, f32, f32)| {
        [
            b.0 - expected.0,
            b.1 - expected.1,
            b.2 - expected.2,
            b.3 - expected.3,
        ]
        .iter()
        .fold(0f32, |m, d| m.max(d.abs()))
            / width
    };
    let (auto, none) = (off(sketch_box("auto")), off(sketch_box("none")));
    eprintln!(
        "sketch box off the target's neutral by {auto:.3} (auto) and {none:.3} (none) of its width"
    );
    assert!(
        auto < 0.12,
        "retargeted sketch off by {auto} of the face's width"
    );
    assert!(
        none > auto,
        "d3's own framing should differ: {none} vs {auto}"
    );

    // A card written before retargeting: no [neutral].
    let old_model = common::copy_model(tiny_d0_model(), &scratch("live-no-neutral"));
    common::edit_card(&old_model, |card| {
        card.remove("neutral");
    });
    let run = LiveRun::new(&old_model, &d3)
        .headless()
        .max_frames(2)
        .flag("--retarget", "auto")
        .run();
    let err = refusal(&run);
    assert!(err.contains("has no target neutral in its card"), "{err}");
}

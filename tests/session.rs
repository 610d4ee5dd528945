//! The live loop as a library (issue 29): a session hands back one `FrameOutput` a frame,
//! acts on controls without knowing its mode, and `live::Live` runs source → session → sinks
//! with an observer seeing every frame, the loop `mimic live`, `bench` and `demo` all run.
//! The bundled demo model (models/demo.onnx) driven by d0.

mod common;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use common::{scratch, testdata};
use mimic::capture::{Source, SourceSpec};
use mimic::face::DetectorKind;
use mimic::live::{Bench, Live, LiveConfig, LoopTimes, Observer};
use mimic::output::compose::View;
use mimic::output::{Control, SinkOptions};
use mimic::pipeline::{FrameOutput, Session, SessionConfig};
use mimic::video::VideoReader;

fn demo_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/demo.onnx")
}

fn config() -> SessionConfig {
    SessionConfig {
        model: demo_model(),
        ..SessionConfig::default()
    }
}

/// The first `n` frames of d0.
fn d0_frames(n: usize) -> Vec<mimic::frame::Frame> {
    let mut reader = VideoReader::open(&testdata("video/d0.mp4")).unwrap();
    (0..n)
        .map(|_| reader.next_frame().unwrap().unwrap())
        .collect()
}

#[test]
fn a_session_hands_back_each_frame_whole() {
    let mut session = Session::open(&config(), false).unwrap();
    let mut faces = 0;
    for frame in d0_frames(12) {
        let size = session.composer().size_for(frame.width(), frame.height());
        let output = session.process(&frame);
        assert!(output.fault.is_none(), "{:?}", output.fault);
        assert_eq!(output.picture.index, frame.index);
        assert_eq!(output.picture.composite.dimensions(), size);
        assert_eq!(output.picture.view, View::Panels);
        if output.face {
            faces += 1;
            assert!(output.landmarks.is_some());
            assert!(output.picture.panels.generated.is_some());
            assert!(output.picture.panels.sketch.is_some());
            assert!(output.times.generator > std::time::Duration::ZERO);
        }
    }
    assert_eq!(faces, 12, "d0 shows its face in every frame");
}

#[test]
fn controls_reach_the_view_the_overlay_and_the_mode_without_asking_which() {
    let mut session = Session::open(&config(), false).unwrap();
    let frames = d0_frames(3);
    let panels = session.process(&frames[0]).picture.composite.dimensions();
    assert_eq!(session.control(Control::CycleView), None);
    let output = session.process(&frames[1]);
    assert_eq!(output.picture.view, View::Output);
    assert_ne!(output.picture.composite.dimensions(), panels);
    session.control(Control::CycleView);
    session.control(Control::ToggleLandmarks);
    assert!(session.process(&frames[2]).picture.overlaid);
    // Reenact mode retargets the demo model by default: `c` takes the neutral face again
    // and says so; a swap's key means nothing to it.
    assert!(session.control(Control::Recalibrate).is_some());
    assert_eq!(session.control(Control::CycleMask), None);
}

/// Counts what the loop hands its observer.
#[derive(Default)]
struct Seen {
    frames: u64,
    faces: u64,
    recorded: u64,
    indices: Vec<u64>,
}

impl Observer for Seen {
    fn frame(&mut self, output: &FrameOutput, times: &LoopTimes) {
        self.frames += 1;
        self.faces += u64::from(output.face);
        self.recorded += u64::from(times.record.is_some());
        self.indices.push(output.picture.index);
    }

    fn say(&mut self, message: &str) {
        panic!("nothing should need saying: {message}");
    }
}

#[test]
fn the_library_loop_runs_a_file_into_a_recording_frame_by_frame() {
    let out = scratch("session-loop").join("out.mp4");
    let source = Source::open(&SourceSpec::file(testdata("video/d0.mp4"))).unwrap();
    let config = LiveConfig {
        session: config(),
        sinks: SinkOptions {
            record: Some(out.clone()),
            ..SinkOptions::default()
        },
        max_frames: Some(30),
        ..LiveConfig::default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut seen = Seen::default();
    let live = Live::open(source, config, stop, &mut seen).unwrap();
    let report = live.run(&mut seen).unwrap();
    assert_eq!((report.frames, seen.frames), (30, 30));
    assert_eq!(seen.faces, report.frames_with_face);
    assert_eq!(seen.recorded, 30, "every frame handed to the recorder");
    assert_eq!(
        seen.indices,
        (0..30).collect::<Vec<_>>(),
        "in order, none dropped"
    );
    assert_eq!(report.recordings, std::slice::from_ref(&out));
    let mut reader = VideoReader::open(&out).unwrap();
    let mut frames = 0;
    while reader.next_frame().unwrap().is_some() {
        frames += 1;
    }
    assert_eq!(frames, 30);
}

#[test]
fn the_benchmark_observes_the_same_loop() {
    let source = Source::open(&SourceSpec::file(testdata("video/d0.mp4"))).unwrap();
    let config = LiveConfig {
        session: config(),
        max_frames: Some(20),
        background_detection: Some(true),
        ..LiveConfig::default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let live = Live::open(source, config, stop, &mut mimic::live::Stderr).unwrap();
    let mut bench = Bench::new(live.session(), DetectorKind::Mtcnn, None);
    let run = live.run(&mut bench).unwrap();
    let report = bench.report(run);
    assert_eq!(report.frames, 20);
    for stage in ["decode", "landmarks", "sketch", "generator", "compose"] {
        let spread = &report.stages_ms[stage];
        assert!(
            spread.p50 > 0.0 && spread.p95 >= spread.p50,
            "{stage}: {spread:?}"
        );
    }
    assert!(report.latency_ms.p50 > report.stages_ms["generator"].p50);
    assert!(
        !report.stages_ms.contains_key("encode"),
        "no recording asked for"
    );
}

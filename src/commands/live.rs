//! `mimic live`: a driving video through the reenactment path into a recording, and what
//! a run does when a frame fails, a camera goes away, or the run has to stop.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mimic::capture::SourceInfo;
use mimic::frame::Frame;
use mimic::output::compose::{self, View};
use mimic::output::stream::{LiveOutput, OutputReport};
use mimic::output::window::{self, Action, WindowThread};
use mimic::pipeline::{Processor, Session, Stages, Tracked};
use mimic::video::{continued_path, Recorder, WriterOptions};
use serde::Serialize;

use super::source::{Frames, Next};
use crate::cli::LiveArgs;

#[derive(Serialize)]
struct Report {
    frames: u64,
    frames_with_face: u64,
    detections: u64,
    fps: f64,
    device: String,
    record: Option<std::path::PathBuf>,
    /// Every recording finished in the run, in order (a camera that came back with
    /// `--reconnect` continues into a new file; `r` in the window starts one).
    recordings: Vec<PathBuf>,
    stopped_early: bool,
    /// How the run ended: "input ended", "max frames", "stopped" (Ctrl-C or SIGTERM), "quit"
    /// (the window), or "camera lost".
    ended: &'static str,
    /// Times a lost camera came back (`--reconnect`).
    reconnects: u64,
    /// Each live output (`--output`): what it sent and dropped, and its latency.
    outputs: Vec<OutputReport>,
    dropped: u64,
    /// Frames that failed to track or process and went on without the model's output.
    failed_frames: u64,
    /// With `--record`: how long the frames waited, in all, for the encoder to take them (it
    /// runs on its own thread; a large figure says the recording fell behind).
    record_waited_ms: Option<f64>,
}

/// Frames that failed and went on, counted by what failed; each kind is said once.
#[derive(Default)]
struct Faults {
    counts: std::collections::BTreeMap<&'static str, u64>,
}

impl Faults {
    fn note(&mut self, kind: &'static str, index: u64, error: &dyn std::fmt::Display) {
        let count = self.counts.entry(kind).or_default();
        if *count == 0 {
            eprintln!(
                "mimic: frame {index}: {error}; the frame is shown as it came and the run goes on (further {kind} failures are counted, not said)"
            );
        }
        *count += 1;
    }

    fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

/// The recording in progress, if any: where it goes and the frame slot it is at. Frames
/// dropped before a processed one (at the start too) are filled with it, so the recording keeps
/// the capture's rate and its sound stays in step.
struct Recording {
    writer: Recorder,
    next_slot: u64,
}

impl Recording {
    /// A new recording of the session's composites in `view` (default: the window's), with the
    /// synthetic-media tag and, when given, the sound of `audio`.
    fn start(
        path: &Path,
        session: &mut Session,
        view: Option<View>,
        info: SourceInfo,
        audio: Option<&Path>,
    ) -> anyhow::Result<Recording> {
        session.record_view(Some(view.unwrap_or(session.composer().view())));
        let (width, height) = session.recording_size_for(info.width, info.height);
        let options = WriterOptions {
            width,
            height,
            fps: info.fps,
            audio_from: audio.map(Path::to_path_buf),
            metadata: compose::synthetic_metadata(),
        };
        Ok(Recording {
            writer: Recorder::create(path, options)?,
            next_slot: 0,
        })
    }

    /// Writes the session's recording frame for source frame `index`.
    fn write(&mut self, session: &Session, index: u64) -> anyhow::Result<()> {
        let copies = (index + 1).saturating_sub(self.next_slot).max(1);
        for _ in 0..copies {
            self.writer.write(session.recording())?;
        }
        self.next_slot = self.next_slot.max(index + 1);
        Ok(())
    }

    /// Finishes the file.
    fn finish(self, session: &mut Session) -> anyhow::Result<Finished> {
        session.record_view(None);
        let path = self.writer.path().to_path_buf();
        let waited = self.writer.waited();
        let frames = self.writer.finish()?.frames;
        Ok(Finished {
            path,
            waited,
            frames,
        })
    }
}

/// A recording finished: where, how many frames, and how long they waited for the encoder.
struct Finished {
    path: PathBuf,
    waited: Duration,
    frames: u64,
}

/// Frames per second, smoothed over about a second.
#[derive(Default)]
struct FrameRate {
    last: Option<Instant>,
    fps: f64,
}

impl FrameRate {
    fn tick(&mut self) -> f64 {
        let now = Instant::now();
        if let Some(last) = self.last.replace(now) {
            let instant = 1.0 / (now - last).as_secs_f64().max(1e-6);
            self.fps = if self.fps == 0.0 {
                instant
            } else {
                0.9 * self.fps + 0.1 * instant
            };
        }
        self.fps
    }
}

/// What the window's keys act on.
struct Keys<'a> {
    session: &'a mut Session,
    recording: &'a mut Option<Recording>,
    finished: &'a mut Vec<Finished>,
    record_view: Option<View>,
    info: SourceInfo,
}

impl Keys<'_> {
    /// `m`, `k`, `p` and `d` in swap mode: the next mask or colour match, seamless or the
    /// target's detail on or off, said on stderr.
    fn adjust_blend(&mut self, action: Action) {
        let Processor::Swap(swapper) = self.session.processor_mut() else {
            return;
        };
        let mut options = swapper.blend_mut().options();
        match action {
            Action::CycleMask => options.mask = options.mask.next(),
            Action::ToggleSeamless => options.seamless = !options.seamless,
            Action::ToggleDetail => options.detail = !options.detail,
            _ => options.color = options.color.next(),
        }
        swapper.blend_mut().set_options(options);
        eprintln!(
            "mimic: mask {:?}, colour {:?}, seamless {}, detail {}",
            options.mask, options.color, options.seamless, options.detail
        );
    }

    /// Carries out one key's action during `frame`; `false` when the user quit.
    fn act(mut self, action: Action, frame: &Frame) -> anyhow::Result<bool> {
        match action {
            Action::Quit => return Ok(false),
            Action::CycleView => {
                let next = self.session.composer_mut().view().next();
                self.session.composer_mut().set_view(next);
            }
            Action::ToggleLandmarks => self.session.composer_mut().toggle_landmarks(),
            Action::CycleMask
            | Action::CycleColor
            | Action::ToggleSeamless
            | Action::ToggleDetail => self.adjust_blend(action),
            Action::Recalibrate => {
                if let Processor::Reenact(reenactor) = self.session.processor_mut() {
                    reenactor.recalibrate();
                    eprintln!("mimic: look at the camera with a neutral face: taking it from the next frames");
                }
            }
            Action::ToggleRecording => match self.recording.take() {
                Some(stopped) => {
                    let finished = stopped.finish(self.session)?;
                    eprintln!("mimic: recording saved to {}", finished.path.display());
                    self.finished.push(finished);
                }
                None => {
                    // A recording started mid-run has no sound: the source's would start from
                    // its beginning, out of step. An earlier run's recording is never replaced.
                    let path = PathBuf::from(format!("mimic-recording-{:06}.mp4", frame.index));
                    let path = match path.exists() {
                        true => continued_path(&path),
                        false => path,
                    };
                    let mut started =
                        Recording::start(&path, self.session, self.record_view, self.info, None)?;
                    started.next_slot = frame.index + 1;
                    *self.recording = Some(started);
                    eprintln!("mimic: recording to {}", path.display());
                }
            },
            Action::Save => {
                let path = PathBuf::from(format!("mimic-frame-{:06}.png", frame.index));
                mimic::frame::save_png(self.session.composite(), &path)?;
                eprintln!("mimic: saved {}", path.display());
            }
        }
        Ok(true)
    }
}

/// How a stretch of frames from one source ended.
enum Ending {
    InputEnded,
    MaxFrames,
    Stopped,
    Quit,
    /// The camera stopped delivering: why, in a sentence.
    CameraLost(String),
}

impl Ending {
    fn name(&self) -> &'static str {
        match self {
            Ending::InputEnded => "input ended",
            Ending::MaxFrames => "max frames",
            Ending::Stopped => "stopped",
            Ending::Quit => "quit",
            Ending::CameraLost(_) => "camera lost",
        }
    }
}

/// How often a lost camera is looked for again (`--reconnect`).
const RETRY: Duration = Duration::from_secs(1);

/// One run of the live loop: the session, where its pictures go, and what it has counted.
struct Run<'a> {
    args: &'a LiveArgs,
    session: Session,
    info: SourceInfo,
    recording: Option<Recording>,
    finished: Vec<Finished>,
    outputs: Vec<LiveOutput>,
    /// Outputs ended when a camera came back at another size.
    ended_outputs: Vec<OutputReport>,
    window: Option<WindowThread>,
    /// What the window's overlay says about the generator.
    shown_device: String,
    stop: Arc<AtomicBool>,
    faults: Faults,
    frames: u64,
    with_face: u64,
    reconnects: u64,
    frame_rate: FrameRate,
}

impl Run<'_> {
    /// Frames until the source ends or the run is stopped; with `--reconnect` a lost camera
    /// is waited for and the run goes on when it is back.
    fn play(&mut self, source: &mut Frames) -> anyhow::Result<Ending> {
        loop {
            match self.stretch(source)? {
                Ending::CameraLost(why) if self.args.reconnect => {
                    let broken = self.break_recording(&why)?;
                    if !self.wait_for_camera(source)? {
                        return Ok(Ending::Stopped);
                    }
                    self.resume(source, broken.as_deref())?;
                }
                ending => return Ok(ending),
            }
        }
    }

    /// The frames of one source, tracked a frame ahead of their processing.
    fn stretch(&mut self, source: &mut Frames) -> anyhow::Result<Ending> {
        let mut stages = Stages::new(self.session.take_tracker(), !self.args.session.serial)?;
        let ending = self.frames_through(&mut stages, source);
        self.session.restore_tracker(stages.finish());
        ending
    }

    fn frames_through(
        &mut self,
        stages: &mut Stages,
        source: &mut Frames,
    ) -> anyhow::Result<Ending> {
        let mut lost = None;
        if let Some(frame) = pull(source, &mut lost)? {
            stages.push(frame)?;
        }
        while let Some(tracked) = stages.pop() {
            let (frame, tracked) = tracked?;
            if let Some(fault) = &tracked.fault {
                self.faults.note("tracking", frame.index, fault);
            }
            if self.stop.load(Ordering::Relaxed) {
                return Ok(Ending::Stopped);
            }
            if self.args.max_frames.is_some_and(|m| self.frames >= m) {
                return Ok(Ending::MaxFrames);
            }
            // The next frame is tracked while this one is generated.
            let last = self.args.max_frames.is_some_and(|m| self.frames + 1 >= m);
            if !last {
                if let Some(next) = pull(source, &mut lost)? {
                    stages.push(next)?;
                }
            }
            let latency = self.process(&frame, &tracked)?;
            if !self.show(&frame, latency)? {
                return Ok(Ending::Quit);
            }
        }
        Ok(match lost {
            Some(why) => Ending::CameraLost(why),
            None if self.stop.load(Ordering::Relaxed) => Ending::Stopped,
            None => Ending::InputEnded,
        })
    }

    /// Processes, composes and records one frame; its latency. One frame that fails is a
    /// frame, not the end of the run: it is shown as it came.
    fn process(&mut self, frame: &Frame, tracked: &Tracked) -> anyhow::Result<Duration> {
        let (face, times) = match self.session.finish(frame, tracked) {
            Ok(done) => done,
            Err(error) => {
                self.faults.note("processing", frame.index, &error);
                self.session.show_unprocessed(frame);
                (false, Default::default())
            }
        };
        if let Some(recording) = &mut self.recording {
            recording.write(&self.session, frame.index)?;
        }
        for output in &mut self.outputs {
            output.send(self.session.streamed(), frame.t);
        }
        self.frames += 1;
        self.with_face += u64::from(face);
        Ok(times.latency)
    }

    /// Hands the composite to the window and acts on its keys; `false` when the user quit.
    fn show(&mut self, frame: &Frame, latency: Duration) -> anyhow::Result<bool> {
        let fps = self.frame_rate.tick();
        let Some(window) = &mut self.window else {
            return Ok(true);
        };
        let overlay = format!(
            "{fps:.0} FPS  {:.0} MS  {}",
            latency.as_secs_f64() * 1000.0,
            self.shown_device
        );
        for action in window.show(self.session.composite(), &overlay)? {
            let keys = Keys {
                session: &mut self.session,
                recording: &mut self.recording,
                finished: &mut self.finished,
                record_view: self.args.record_view,
                info: self.info,
            };
            if !keys.act(action, frame)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The camera was lost: says why, and finishes the recording so that it is safe whatever
    /// happens next. Returns the recording's path, to continue beside it.
    fn break_recording(&mut self, why: &str) -> anyhow::Result<Option<PathBuf>> {
        eprintln!("mimic: {why}");
        let broken = match self.recording.take() {
            Some(recording) => {
                let finished = recording.finish(&mut self.session)?;
                eprintln!(
                    "mimic: the recording {} is finished and playable ({} frames)",
                    finished.path.display(),
                    finished.frames
                );
                let path = finished.path.clone();
                self.finished.push(finished);
                Some(path)
            }
            None => None,
        };
        eprintln!("mimic: waiting for the camera to come back (--reconnect; q or Ctrl-C stops)");
        Ok(broken)
    }

    /// Looks for the lost camera every [`RETRY`], the window showing the last picture
    /// meanwhile; `false` when the user stopped first.
    fn wait_for_camera(&mut self, source: &mut Frames) -> anyhow::Result<bool> {
        let mut tried: Option<Instant> = None;
        // The last picture, darkened, so that a frozen frame does not pass for a live one.
        let mut last = self.session.composite().clone();
        last.pixels_mut().for_each(|p| p.0 = p.0.map(|v| v / 3));
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            if tried.is_none_or(|t| t.elapsed() >= RETRY) {
                tried = Some(Instant::now());
                if source.reopen() {
                    return Ok(true);
                }
            }
            if let Some(window) = &mut self.window {
                let overlay = "CAMERA LOST: WAITING FOR IT";
                if window.show(&last, overlay)?.contains(&Action::Quit) {
                    return Ok(false);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The camera is back: the face is looked for afresh, and a recording broken by the loss
    /// goes on in a new file beside it (without sound: a camera has none).
    fn resume(&mut self, source: &Frames, broken: Option<&Path>) -> anyhow::Result<()> {
        self.reconnects += 1;
        let before = self.info;
        self.info = source.info();
        self.session.restart();
        // A camera back at another size makes pictures of another size: the live outputs
        // start again at it (what they sent so far stays in the report).
        if (before.width, before.height) != (self.info.width, self.info.height) {
            let old = std::mem::take(&mut self.outputs);
            self.ended_outputs.extend(super::finish_outputs(old));
            self.outputs = super::open_outputs(
                &self.args.outputs,
                &mut self.session,
                (self.info.width, self.info.height),
                self.info.fps,
            )?;
        }
        let Some(broken) = broken else {
            eprintln!("mimic: the camera is back");
            return Ok(());
        };
        let path = continued_path(broken);
        let recording = Recording::start(
            &path,
            &mut self.session,
            self.args.record_view,
            self.info,
            None,
        )?;
        self.recording = Some(recording);
        eprintln!("mimic: the camera is back; recording to {}", path.display());
        Ok(())
    }

    /// Finishes the recording in progress after the run ended on `error`: kept, finished and
    /// playable, under a name that says the run did not complete. The error, with what was kept.
    fn keep_partial(&mut self, error: anyhow::Error) -> anyhow::Error {
        let Some(recording) = self.recording.take() else {
            return error;
        };
        self.session.record_view(None);
        let frames = self.frames;
        match recording.writer.finish_partial() {
            Ok((path, summary)) => anyhow::anyhow!(
                "{error:#}; the run stopped after {frames} frames, and the {} frames recorded are kept, finished and playable, in {}",
                summary.frames,
                path.display()
            ),
            Err(kept) => anyhow::anyhow!("{error:#}; the run stopped after {frames} frames ({kept})"),
        }
    }
}

/// The next frame; at the end of the source, or when its camera was lost (`lost` says why),
/// none.
fn pull(source: &mut Frames, lost: &mut Option<String>) -> anyhow::Result<Option<Frame>> {
    Ok(match source.next()? {
        Next::Frame(frame) => Some(frame),
        Next::End => None,
        Next::Lost(why) => {
            *lost = Some(why);
            None
        }
    })
}

pub fn run(args: LiveArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = args.record.as_ref().filter(|p| p.exists() && !args.force) {
        anyhow::bail!(
            "'{}' already exists: give --force to replace it, or another --record",
            path.display()
        );
    }
    let mut source = Frames::open(&args.source)?;
    // Live frames keep their pace with detection beside them; a file converted frame by frame
    // detects inside the frames, so the same file gives the same result every time.
    let live = matches!(source, Frames::Live(..));
    let mut session = super::session(&args.session, !args.no_mark, live)?;
    let generator = session.processor().generator();
    let device = generator.provider().to_string();
    // The window says when an INT8 copy runs (the report's `device` stays the provider).
    let shown_device = match generator.card() {
        Some(card) if card.quantization.is_some() => format!("{device} INT8"),
        Some(_) => device.clone(),
        // A model without a card runs on defaults: the window says so too.
        None => format!("{device}  NO CARD"),
    };
    let info = source.info();
    let outputs = super::open_outputs(
        &args.outputs,
        &mut session,
        (info.width, info.height),
        info.fps,
    )?;
    let recording = match &args.record {
        Some(path) => Some(Recording::start(
            path,
            &mut session,
            args.record_view,
            info,
            source.audio(),
        )?),
        None => None,
    };
    let window = if args.headless || !window::display_available() {
        None
    } else {
        let (width, height) = session.composer_mut().size_for(info.width, info.height);
        Some(WindowThread::open("mimic", width, height)?)
    };
    let stop = super::stop_flag()?;
    source.stop_when(&stop);
    let mut run = Run {
        args: &args,
        session,
        info,
        recording,
        finished: Vec::new(),
        outputs,
        ended_outputs: Vec::new(),
        window,
        shown_device,
        stop,
        faults: Faults::default(),
        frames: 0,
        with_face: 0,
        reconnects: 0,
        frame_rate: FrameRate::default(),
    };
    let started = Instant::now();
    let ending = match run.play(&mut source) {
        Ok(ending) => ending,
        Err(error) => return Err(run.keep_partial(error)),
    };
    if let Some(recording) = run.recording.take() {
        let finished = recording.finish(&mut run.session)?;
        run.finished.push(finished);
    }
    let tracker = run.session.tracker();
    let report = Report {
        frames: run.frames,
        frames_with_face: run.with_face,
        detections: tracker.map_or(0, |t| t.stats().detections),
        fps: run.frames as f64 / started.elapsed().as_secs_f64().max(1e-9),
        device,
        record: args.record.clone(),
        recordings: run.finished.iter().map(|f| f.path.clone()).collect(),
        stopped_early: matches!(ending, Ending::Stopped),
        ended: ending.name(),
        reconnects: run.reconnects,
        outputs: {
            let last = super::finish_outputs(std::mem::take(&mut run.outputs));
            std::mem::take(&mut run.ended_outputs)
                .into_iter()
                .chain(last)
                .collect()
        },
        dropped: source.dropped(),
        failed_frames: run.faults.total(),
        record_waited_ms: args.record.as_ref().map(|_| {
            run.finished
                .iter()
                .map(|f| f.waited.as_secs_f64() * 1000.0)
                .sum()
        }),
    };
    // A camera that is gone may not stop cleanly: the run's figures are reported either way.
    let finished_source = source.finish();
    if args.json.json {
        super::print_json(&report)?;
    } else {
        say(&report, tracker.is_some(), live, info.fps);
    }
    if let Ending::CameraLost(why) = ending {
        let kept = match report.recordings.as_slice() {
            [] => String::new(),
            paths => format!(
                ", and what was recorded is finished and playable in {}",
                list(paths)
            ),
        };
        eprintln!(
            "mimic: {why}; the run ended after {} frames{kept}",
            report.frames
        );
        return Ok(ExitCode::from(crate::EXIT_ERROR));
    }
    finished_source?;
    Ok(ExitCode::SUCCESS)
}

/// The run's summary for people.
fn say(report: &Report, faces: bool, live: bool, fps: f64) {
    let failed = match report.failed_frames {
        0 => String::new(),
        n => format!(" ({n} failed and shown as they came)"),
    };
    let faces = match faces {
        true => format!(" ({} with a face)", report.frames_with_face),
        false => String::new(),
    };
    let recorded = match report.recordings.as_slice() {
        [] => String::new(),
        paths => format!("; recorded {}", list(paths)),
    };
    let sent: String = report
        .outputs
        .iter()
        .map(|o| format!("; sent {} to {} ({} dropped)", o.sent, o.url, o.dropped))
        .collect();
    println!(
        "{} frames{faces}{failed} at {:.1} fps on the {}{recorded}{sent}",
        report.frames, report.fps, report.device
    );
    // A camera's frames held up for more than a frame's time in all: the encoder could not
    // keep up with the capture (a file converted flat out may wait for it: nothing is late).
    let behind = report
        .record_waited_ms
        .filter(|&ms| live && ms * fps > 1000.0);
    if let Some(ms) = behind {
        eprintln!(
            "mimic: the recording fell behind: frames waited {ms:.0} ms in all for the encoder"
        );
    }
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

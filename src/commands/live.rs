//! `mimic live`: a driving video through the reenactment path into a recording.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use mimic::capture::{LiveSource, SourceInfo};
use mimic::compose;
use mimic::files;
use mimic::frame::Frame;
use mimic::pipeline::Session;
use mimic::video::{VideoReader, VideoWriter, WriterOptions};
use mimic::window::{self, Action, LiveWindow};
use serde::Serialize;

use crate::cli::LiveArgs;

#[derive(Serialize)]
struct Report {
    frames: u64,
    frames_with_face: u64,
    detections: u64,
    fps: f64,
    device: String,
    record: Option<std::path::PathBuf>,
    stopped_early: bool,
    dropped: u64,
}

/// Where live frames come from: a file read frame by frame (nothing dropped), or a threaded
/// source (a camera, or a file at its own pace) whose late frames are dropped.
enum Frames {
    File(VideoReader, PathBuf),
    Live(LiveSource, Option<PathBuf>),
}

/// A threaded source that delivers nothing for this long has stopped.
const STALL: Duration = Duration::from_secs(5);

impl Frames {
    fn open(args: &LiveArgs) -> anyhow::Result<Frames> {
        Ok(match (&args.input, args.camera) {
            (Some(path), _) if args.realtime => {
                Frames::Live(LiveSource::paced_file(path)?, Some(path.clone()))
            }
            (Some(path), _) => Frames::File(VideoReader::open(path)?, path.clone()),
            (None, Some(index)) => {
                Frames::Live(LiveSource::camera(index, args.resolution, args.fps)?, None)
            }
            (None, None) => bail!("give --camera N or --input VIDEO"),
        })
    }

    fn info(&self) -> SourceInfo {
        match self {
            Frames::File(reader, _) => {
                let i = reader.info();
                SourceInfo {
                    width: i.width,
                    height: i.height,
                    fps: i.fps,
                }
            }
            Frames::Live(source, _) => source.info(),
        }
    }

    /// The file whose sound a recording should keep.
    fn audio(&self) -> Option<&Path> {
        match self {
            Frames::File(reader, path) => reader.info().has_audio.then_some(path.as_path()),
            Frames::Live(_, path) => path.as_deref(),
        }
    }

    fn next(&mut self) -> anyhow::Result<Option<Frame>> {
        match self {
            Frames::File(reader, _) => Ok(reader.next_frame()?),
            Frames::Live(source, _) => {
                let waited = Instant::now();
                loop {
                    if let Some(frame) = source.next_frame(Duration::from_millis(200)) {
                        return Ok(Some(frame));
                    }
                    if source.ended() {
                        return Ok(None);
                    }
                    if waited.elapsed() > STALL {
                        bail!(
                            "no frame arrived for {} s: the camera stopped delivering",
                            STALL.as_secs()
                        );
                    }
                }
            }
        }
    }

    fn dropped(&self) -> u64 {
        match self {
            Frames::File(..) => 0,
            Frames::Live(source, _) => source.dropped(),
        }
    }

    fn finish(self) -> anyhow::Result<()> {
        if let Frames::Live(source, _) = self {
            source.finish()?;
        }
        Ok(())
    }
}

/// A new recording of the session's composites, with the synthetic-media tag and, when given,
/// the sound of `audio`.
fn start_recording(
    path: &Path,
    session: &mut Session,
    info: SourceInfo,
    audio: Option<&Path>,
) -> anyhow::Result<VideoWriter> {
    let (width, height) = session.composer_mut().size_for(info.width, info.height);
    let options = WriterOptions {
        width,
        height,
        fps: info.fps,
        audio_from: audio.map(Path::to_path_buf),
        metadata: compose::synthetic_metadata(),
    };
    Ok(VideoWriter::create(path, options)?)
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

pub fn run(args: LiveArgs) -> anyhow::Result<ExitCode> {
    let mut source = Frames::open(&args)?;
    // Live frames keep their pace with detection beside them; a file converted frame by frame
    // detects inside the frames, so the same file gives the same result every time.
    let live = matches!(source, Frames::Live(..));
    let mut session = super::reenact_session(&args.session, !args.no_mark, live)?;
    let device = session.reenactor().generator().provider().to_string();
    let info = source.info();
    let mut recorder = match &args.record {
        Some(path) => Some(start_recording(path, &mut session, info, source.audio())?),
        None => None,
    };
    let mut window = if args.headless || !window::display_available() {
        None
    } else {
        let (width, height) = session.composer_mut().size_for(info.width, info.height);
        Some(LiveWindow::open("mimic", width, height)?)
    };
    let stop = super::stop_flag()?;
    let started = Instant::now();
    let (mut frames, mut with_face) = (0u64, 0u64);
    let mut frame_rate = FrameRate::default();
    // The next frame slot of the recording: frames dropped before a processed one (at the
    // start too) are filled with it, so the recording keeps the capture's rate and its sound
    // stays in step.
    let mut next_slot = 0u64;
    let result = (|| -> anyhow::Result<()> {
        while let Some(frame) = source.next()? {
            if stop.load(Ordering::Relaxed) || args.max_frames.is_some_and(|m| frames >= m) {
                break;
            }
            let (face, times) = session
                .step(&frame)
                .with_context(|| format!("frame {}", frame.index))?;
            if let Some(recorder) = &mut recorder {
                let copies = (frame.index + 1).saturating_sub(next_slot).max(1);
                for _ in 0..copies {
                    recorder.write(session.composite())?;
                }
            }
            next_slot = next_slot.max(frame.index + 1);
            frames += 1;
            with_face += u64::from(face);
            let fps = frame_rate.tick();
            if let Some(window) = &mut window {
                let overlay = format!(
                    "{fps:.0} FPS  {:.0} MS  {device}",
                    times.latency.as_secs_f64() * 1000.0
                );
                for action in window.show(session.composite(), &overlay)? {
                    match action {
                        Action::Quit => return Ok(()),
                        // The recording keeps the view it started with (its frame size is fixed).
                        Action::CycleView if recorder.is_none() => {
                            let next = session.composer_mut().view().next();
                            session.composer_mut().set_view(next);
                        }
                        Action::CycleView => {
                            eprintln!("mimic: the view stays as it is while recording")
                        }
                        Action::ToggleLandmarks => session.composer_mut().toggle_landmarks(),
                        Action::ToggleRecording => match recorder.take() {
                            Some(stopped) => {
                                let path = stopped.path().to_path_buf();
                                stopped.finish()?;
                                eprintln!("mimic: recording saved to {}", path.display());
                            }
                            None => {
                                // A recording started mid-run has no sound: the source's would
                                // start from its beginning, out of step.
                                let path = PathBuf::from(format!(
                                    "mimic-recording-{:06}.mp4",
                                    frame.index
                                ));
                                recorder = Some(start_recording(&path, &mut session, info, None)?);
                                eprintln!("mimic: recording to {}", path.display());
                            }
                        },
                        Action::Save => {
                            let path = std::path::PathBuf::from(format!(
                                "mimic-frame-{:06}.png",
                                frame.index
                            ));
                            files::save_png(session.composite(), &path)?;
                            eprintln!("mimic: saved {}", path.display());
                        }
                    }
                }
            }
        }
        Ok(())
    })();
    if let Err(error) = result {
        // A conversion that failed part-way must not leave a file that looks complete.
        if let Some(recorder) = recorder {
            recorder.discard();
        }
        return Err(error);
    }
    if let Some(recorder) = recorder {
        recorder.finish()?;
    }
    let report = Report {
        frames,
        frames_with_face: with_face,
        detections: session.reenactor().tracker().stats().detections,
        fps: frames as f64 / started.elapsed().as_secs_f64().max(1e-9),
        device,
        record: args.record.clone(),
        stopped_early: stop.load(Ordering::Relaxed),
        dropped: source.dropped(),
    };
    source.finish()?;
    if args.json.json {
        super::print_json(&report)?;
    } else {
        println!(
            "{} frames ({} with a face) at {:.1} fps on the {}{}",
            report.frames,
            report.frames_with_face,
            report.fps,
            report.device,
            report
                .record
                .as_ref()
                .map_or_else(String::new, |p| format!("; recorded {}", p.display()))
        );
    }
    Ok(ExitCode::SUCCESS)
}

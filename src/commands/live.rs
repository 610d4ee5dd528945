//! `mimic live`: a driving video through the reenactment path into a recording.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

use mimic::capture::SourceInfo;
use mimic::frame::Frame;
use mimic::output::compose::{self, View};
use mimic::output::window::{self, Action, WindowThread};
use mimic::pipeline::{Processor, Session, Stages};
use mimic::video::{Recorder, WriterOptions};
use serde::Serialize;

use super::source::Frames;
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

    /// Finishes the file; returns where it is and how long the frames waited for the encoder.
    fn finish(self, session: &mut Session) -> anyhow::Result<(PathBuf, std::time::Duration)> {
        session.record_view(None);
        let path = self.writer.path().to_path_buf();
        let waited = self.writer.waited();
        self.writer.finish()?;
        Ok((path, waited))
    }
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
                    let (path, _) = stopped.finish(self.session)?;
                    eprintln!("mimic: recording saved to {}", path.display());
                }
                None => {
                    // A recording started mid-run has no sound: the source's would start from
                    // its beginning, out of step.
                    let path = PathBuf::from(format!("mimic-recording-{:06}.mp4", frame.index));
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

pub fn run(args: LiveArgs) -> anyhow::Result<ExitCode> {
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
    let mut recording = match &args.record {
        Some(path) => Some(Recording::start(
            path,
            &mut session,
            args.record_view,
            info,
            source.audio(),
        )?),
        None => None,
    };
    let mut window = if args.headless || !window::display_available() {
        None
    } else {
        let (width, height) = session.composer_mut().size_for(info.width, info.height);
        Some(WindowThread::open("mimic", width, height)?)
    };
    let stop = super::stop_flag()?;
    let started = Instant::now();
    let (mut frames, mut with_face) = (0u64, 0u64);
    let mut frame_rate = FrameRate::default();
    let mut stages = Stages::new(session.take_tracker(), !args.session.serial)?;
    let mut faults = Faults::default();
    let result = (|| -> anyhow::Result<()> {
        if let Some(frame) = source.next()? {
            stages.push(frame)?;
        }
        while let Some(tracked) = stages.pop() {
            let (frame, tracked) = tracked?;
            if let Some(fault) = &tracked.fault {
                faults.note("tracking", frame.index, fault);
            }
            if stop.load(Ordering::Relaxed) || args.max_frames.is_some_and(|m| frames >= m) {
                break;
            }
            // The next frame is tracked while this one is generated.
            let last = args.max_frames.is_some_and(|m| frames + 1 >= m);
            if let Some(next) = (!last).then(|| source.next()).transpose()?.flatten() {
                stages.push(next)?;
            }
            // One frame that fails is a frame, not the end of the run.
            let (face, times) = match session.finish(&frame, &tracked) {
                Ok(done) => done,
                Err(error) => {
                    faults.note("processing", frame.index, &error);
                    session.show_unprocessed(&frame);
                    (false, Default::default())
                }
            };
            if let Some(recording) = &mut recording {
                recording.write(&session, frame.index)?;
            }
            frames += 1;
            with_face += u64::from(face);
            let fps = frame_rate.tick();
            let Some(window) = &mut window else {
                continue;
            };
            let overlay = format!(
                "{fps:.0} FPS  {:.0} MS  {shown_device}",
                times.latency.as_secs_f64() * 1000.0
            );
            for action in window.show(session.composite(), &overlay)? {
                let keys = Keys {
                    session: &mut session,
                    recording: &mut recording,
                    record_view: args.record_view,
                    info,
                };
                if !keys.act(action, &frame)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    })();
    session.restore_tracker(stages.finish());
    if let Err(error) = result {
        // What was recorded is kept, finished and playable, under a name that says the run
        // did not complete.
        let Some(recording) = recording else {
            return Err(error);
        };
        session.record_view(None);
        return Err(match recording.writer.finish_partial() {
            Ok((path, summary)) => anyhow::anyhow!(
                "{error:#}; the run stopped after {frames} frames, and the {} frames recorded are kept, finished and playable, in {}",
                summary.frames,
                path.display()
            ),
            Err(kept) => anyhow::anyhow!("{error:#}; the run stopped after {frames} frames ({kept})"),
        });
    }
    let waited = match recording {
        Some(recording) => Some(recording.finish(&mut session)?.1),
        None => None,
    };
    let tracker = session.tracker();
    let faces = tracker.map(|_| format!(" ({with_face} with a face)"));
    let report = Report {
        frames,
        frames_with_face: with_face,
        detections: tracker.map_or(0, |t| t.stats().detections),
        fps: frames as f64 / started.elapsed().as_secs_f64().max(1e-9),
        device,
        record: args.record.clone(),
        stopped_early: stop.load(Ordering::Relaxed),
        dropped: source.dropped(),
        failed_frames: faults.total(),
        record_waited_ms: waited.map(|w| w.as_secs_f64() * 1000.0),
    };
    source.finish()?;
    if args.json.json {
        super::print_json(&report)?;
    } else {
        let failed = match report.failed_frames {
            0 => String::new(),
            n => format!(" ({n} failed and shown as they came)"),
        };
        println!(
            "{} frames{}{failed} at {:.1} fps on the {}{}",
            report.frames,
            faces.unwrap_or_default(),
            report.fps,
            report.device,
            report
                .record
                .as_ref()
                .map_or_else(String::new, |p| format!("; recorded {}", p.display()))
        );
        // A camera's frames held up for more than a frame's time in all: the encoder could not
        // keep up with the capture (a file converted flat out may wait for it: nothing is late).
        let behind = report
            .record_waited_ms
            .filter(|&ms| live && ms * info.fps > 1000.0);
        if let Some(ms) = behind {
            eprintln!(
                "mimic: the recording fell behind: frames waited {ms:.0} ms in all for the encoder"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

//! The loop itself: a stretch of frames from one source, tracked a frame ahead of their
//! processing; a lost camera waited for and resumed; the report at the end; a recording kept
//! whole whatever stops the run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::report::Faults;
use super::{open_session, Ending, LiveConfig, LiveReport, LoopTimes, Observer};
use crate::capture::{CaptureError, Next, Source};
use crate::frame::Frame;
use crate::output::{Control, SinkError, Sinks};
use crate::pipeline::{PipelineError, Session, Stages, Tracked};

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The run failed part way: what failed, and what was kept of the recording.
    #[error("{error}; the run stopped after {frames} frames{kept}")]
    Stopped {
        error: Box<LiveError>,
        frames: u64,
        kept: String,
    },
}

/// How often a lost camera is looked for again.
const RETRY: Duration = Duration::from_secs(1);

/// One run of the live loop: its source, session and sinks, and what it has counted.
pub struct Live {
    config: LiveConfig,
    source: Source,
    session: Session,
    sinks: Sinks,
    /// What the window's overlay says after the figures.
    label: String,
    stop: Arc<AtomicBool>,
    faults: Faults,
    frames: u64,
    with_face: u64,
    reconnects: u64,
    frame_rate: FrameRate,
}

impl Live {
    /// Builds the loop for `source` (its session, then its sinks); `stop` ends it cleanly
    /// when raised (Ctrl-C). An existing recording is refused before anything is opened.
    pub fn open(
        mut source: Source,
        config: LiveConfig,
        stop: Arc<AtomicBool>,
        observer: &mut dyn Observer,
    ) -> Result<Live, LiveError> {
        config.check()?;
        let session = open_session(&config, &source)?;
        if let Some(note) = session.note() {
            observer.say(note);
        }
        let label = config
            .label
            .clone()
            .unwrap_or_else(|| shown_device(&session));
        let (info, audio) = (source.info(), source.audio().map(Path::to_path_buf));
        let mut say = |message: String| observer.say(&message);
        let sinks = Sinks::open(
            config.sinks.clone(),
            session.composer(),
            info,
            audio.as_deref(),
            &mut say,
        )?;
        source.stop_when(&stop);
        Ok(Live {
            config,
            source,
            session,
            sinks,
            label,
            stop,
            faults: Faults::default(),
            frames: 0,
            with_face: 0,
            reconnects: 0,
            frame_rate: FrameRate::default(),
        })
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Runs until the source ends, the user stops or quits, `max_frames`, or a camera is lost
    /// (and, with `reconnect`, not back before the user stops). An error part way finishes
    /// the recording under a name that says so, and says where it is.
    pub fn run(mut self, observer: &mut dyn Observer) -> Result<LiveReport, LiveError> {
        let started = Instant::now();
        match self.play(observer) {
            Ok(ending) => self.finish(ending, started.elapsed()),
            Err(error) => Err(self.keep_partial(error)),
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Stretches of frames until the run ends; a lost camera is waited for between them when
    /// the configuration asks.
    fn play(&mut self, observer: &mut dyn Observer) -> Result<Ending, LiveError> {
        loop {
            match self.stretch(observer)? {
                Ending::CameraLost(why) if self.config.reconnect => {
                    let broken = self.break_recording(&why, observer)?;
                    if !self.wait_for_camera()? {
                        return Ok(Ending::Stopped);
                    }
                    self.resume(broken.as_deref(), observer)?;
                }
                ending => return Ok(ending),
            }
        }
    }

    /// The frames of one source, tracked a frame ahead of their processing.
    fn stretch(&mut self, observer: &mut dyn Observer) -> Result<Ending, LiveError> {
        let threaded = !self.config.session.serial;
        let mut stages = Stages::new(self.session.take_tracker(), threaded)?;
        let ending = self.frames_through(&mut stages, observer);
        self.session.restore_tracker(stages.finish());
        ending
    }

    fn frames_through(
        &mut self,
        stages: &mut Stages,
        observer: &mut dyn Observer,
    ) -> Result<Ending, LiveError> {
        let mut lost = None;
        let mut decode = self.pull(stages, &mut lost)?;
        while let Some(tracked) = stages.pop() {
            let (frame, tracked) = tracked?;
            if self.stopped() {
                return Ok(Ending::Stopped);
            }
            let max = self.config.max_frames;
            if max.is_some_and(|m| self.frames >= m) {
                return Ok(Ending::MaxFrames);
            }
            // The next frame is tracked while this one is generated.
            let this_decode = decode;
            decode = match max.is_some_and(|m| self.frames + 1 >= m) {
                true => Duration::ZERO,
                false => self.pull(stages, &mut lost)?,
            };
            if !self.frame(&frame, &tracked, this_decode, observer)? {
                return Ok(Ending::Quit);
            }
        }
        Ok(match lost {
            Some(why) => Ending::CameraLost(why),
            None if self.stopped() => Ending::Stopped,
            None => Ending::InputEnded,
        })
    }

    /// Takes the next frame from the source and hands it to tracking; how long that took. At
    /// the end of the source nothing is handed on; when its camera was lost, `lost` says why.
    fn pull(
        &mut self,
        stages: &mut Stages,
        lost: &mut Option<String>,
    ) -> Result<Duration, LiveError> {
        let started = Instant::now();
        match self.source.next_frame()? {
            Next::Frame(frame) => stages.push(frame)?,
            Next::End => {}
            Next::Lost(why) => *lost = Some(why),
        }
        Ok(started.elapsed())
    }

    /// Processes one tracked frame and delivers it to the sinks, then acts on the controls
    /// the window gave; `false` when the user quit.
    fn frame(
        &mut self,
        frame: &Frame,
        tracked: &Tracked,
        decode: Duration,
        observer: &mut dyn Observer,
    ) -> Result<bool, LiveError> {
        let fps = self.frame_rate.tick();
        let output = self.session.process_tracked(frame, tracked);
        if let Some(said) = output
            .fault
            .as_ref()
            .and_then(|f| self.faults.note(f, frame.index))
        {
            observer.say(&said);
        }
        self.frames += 1;
        self.with_face += u64::from(output.face);
        let latency_ms = output.times.latency.as_secs_f64() * 1000.0;
        let overlay = format!("{fps:.0} FPS  {latency_ms:.0} MS  {}", self.label);
        let delivered = self.sinks.deliver(&output.picture, &overlay)?;
        let record = delivered.record;
        observer.frame(&output, &LoopTimes { decode, record });
        for control in delivered.controls {
            if !self.act(control, frame.index, observer)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Carries out one control during frame `index`; `false` when the user quit.
    fn act(
        &mut self,
        control: Control,
        index: u64,
        observer: &mut dyn Observer,
    ) -> Result<bool, LiveError> {
        let said = match control {
            Control::Quit => return Ok(false),
            Control::ToggleRecording | Control::Snapshot => {
                let composite = self.session.composer().canvas();
                self.sinks.act(control, index, composite)?
            }
            other => self.session.control(other),
        };
        if let Some(said) = said {
            observer.say(&said);
        }
        Ok(true)
    }

    /// The camera was lost: says why, and finishes the recording so that it is safe whatever
    /// happens next. The recording's path, to continue beside it.
    fn break_recording(
        &mut self,
        why: &str,
        observer: &mut dyn Observer,
    ) -> Result<Option<PathBuf>, LiveError> {
        observer.say(why);
        let finished = self.sinks.break_recording()?;
        if let Some(finished) = &finished {
            observer.say(&format!(
                "the recording {} is finished and playable ({} frames)",
                finished.path.display(),
                finished.frames
            ));
        }
        observer.say("waiting for the camera to come back (--reconnect; q or Ctrl-C stops)");
        Ok(finished.map(|f| f.path))
    }

    /// Looks for the lost camera every [`RETRY`], the window showing the last picture
    /// darkened meanwhile (a frozen frame must not pass for a live one); `false` when the
    /// user stopped first.
    fn wait_for_camera(&mut self) -> Result<bool, LiveError> {
        let mut tried: Option<Instant> = None;
        let mut last = self.session.composer().canvas().clone();
        last.pixels_mut().for_each(|p| p.0 = p.0.map(|v| v / 3));
        loop {
            if self.stopped() {
                return Ok(false);
            }
            if tried.is_none_or(|t| t.elapsed() >= RETRY) {
                tried = Some(Instant::now());
                if self.source.reopen() {
                    return Ok(true);
                }
            }
            if self
                .sinks
                .show_waiting(&last, "CAMERA LOST: WAITING FOR IT")?
            {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The camera is back: the face is looked for afresh, and a recording broken by the loss
    /// goes on in a new file beside it.
    fn resume(
        &mut self,
        broken: Option<&Path>,
        observer: &mut dyn Observer,
    ) -> Result<(), LiveError> {
        self.reconnects += 1;
        self.session.restart();
        let mut say = |message: String| observer.say(&message);
        let resumed = self.sinks.resume(self.source.info(), broken, &mut say)?;
        observer.say(&match resumed {
            Some(path) => format!("the camera is back; recording to {}", path.display()),
            None => "the camera is back".into(),
        });
        Ok(())
    }

    /// Finishes the sinks and the source, and reports. A camera that is gone may not stop
    /// cleanly: that is said in the report, whose figures stand either way.
    fn finish(self, ending: Ending, elapsed: Duration) -> Result<LiveReport, LiveError> {
        let detections = self.session.tracker().map_or(0, |t| t.stats().detections);
        let device = self.session.generator().provider().to_string();
        let sinks = self.sinks.finish()?;
        let dropped = self.source.dropped();
        let source_error = self.source.finish().err();
        let waited: f64 = sinks
            .recordings
            .iter()
            .map(|f| f.waited.as_secs_f64())
            .sum();
        Ok(LiveReport {
            frames: self.frames,
            frames_with_face: self.with_face,
            detections,
            fps: self.frames as f64 / elapsed.as_secs_f64().max(1e-9),
            device,
            recordings: sinks.recordings.into_iter().map(|f| f.path).collect(),
            ended: ending.name(),
            ending,
            reconnects: self.reconnects,
            outputs: sinks.outputs,
            dropped,
            failed_frames: self.faults.total(),
            record_waited_ms: self.config.sinks.record.as_ref().map(|_| waited * 1000.0),
            source_error,
        })
    }

    /// Finishes the recording in progress after the run ended on `error`: kept, finished and
    /// playable, under a name that says the run did not complete.
    fn keep_partial(&mut self, error: LiveError) -> LiveError {
        let kept = match self.sinks.keep_partial() {
            None => return error,
            Some(Ok(finished)) => format!(
                ", and the {} frames recorded are kept, finished and playable, in {}",
                finished.frames,
                finished.path.display()
            ),
            Some(Err(kept)) => format!(" ({kept})"),
        };
        LiveError::Stopped {
            error: Box::new(error),
            frames: self.frames,
            kept,
        }
    }
}

/// Where the generator runs, as the window says it: an INT8 copy and a model without a card
/// (running on defaults) are named.
fn shown_device(session: &Session) -> String {
    let generator = session.generator();
    let device = generator.provider().to_string();
    match generator.card() {
        Some(card) if card.quantization.is_some() => format!("{device} INT8"),
        Some(_) => device,
        None => format!("{device}  NO CARD"),
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

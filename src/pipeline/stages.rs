//! Tracking a frame ahead: the tracking stage on a thread of its own while the caller
//! processes the frame before, so a frame costs the slower of the two stages rather than
//! their sum, and a frame's latency stays one frame path. Frames come back in the order they
//! went in and none is dropped, so a file gives the same frames as one thread would; a
//! camera's newest-frame-wins hand-off happens before frames get here.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::session::track;
use super::{PipelineError, Tracked};
use crate::face::track::FaceTracker;
use crate::frame::Frame;

/// A tracked frame, or why tracking failed on it.
type Result<T> = std::result::Result<T, PipelineError>;

/// Tracking and the rest of the frame path, on one thread or two.
pub enum Stages {
    /// Each frame tracked when it is asked for (the serial loop).
    Serial(Box<SerialStage>),
    /// Tracking on its own thread, a frame ahead.
    Threaded(TrackingStage),
}

impl Stages {
    /// Stages around `tracker` (none: stylise mode), on their own thread when `threaded`.
    pub fn new(tracker: Option<FaceTracker>, threaded: bool) -> Result<Stages> {
        Ok(match threaded {
            true => Stages::Threaded(TrackingStage::start(tracker)?),
            false => Stages::Serial(Box::new(SerialStage {
                tracker,
                waiting: None,
            })),
        })
    }

    /// Hands a frame to tracking; at most one waits, so take it with [`Self::pop`] before
    /// pushing another.
    pub fn push(&mut self, frame: Frame) -> Result<()> {
        match self {
            Stages::Serial(stage) => {
                stage.waiting = Some(frame);
                Ok(())
            }
            Stages::Threaded(stage) => stage.push(frame),
        }
    }

    /// The frame pushed, tracked; `None` when no frame waits.
    pub fn pop(&mut self) -> Option<Result<(Frame, Tracked)>> {
        match self {
            Stages::Serial(stage) => {
                let frame = stage.waiting.take()?;
                let tracked = track(stage.tracker.as_mut(), &frame.image);
                Some(Ok((frame, tracked)))
            }
            Stages::Threaded(stage) => stage.pop(),
        }
    }

    /// Stops tracking and gives the tracker back (`None` if its thread failed).
    pub fn finish(self) -> Option<FaceTracker> {
        match self {
            Stages::Serial(stage) => stage.tracker,
            Stages::Threaded(stage) => stage.finish(),
        }
    }
}

/// The tracker on the caller's thread, and the frame waiting for it.
pub struct SerialStage {
    tracker: Option<FaceTracker>,
    waiting: Option<Frame>,
}

/// The tracker on a thread of its own: one frame in, one tracked frame out.
pub struct TrackingStage {
    frames: Option<SyncSender<Frame>>,
    tracked: Option<Receiver<Result<(Frame, Tracked)>>>,
    worker: Option<JoinHandle<Option<FaceTracker>>>,
    in_flight: usize,
}

fn stopped() -> PipelineError {
    PipelineError::Thread("the tracking thread stopped".into())
}

impl TrackingStage {
    pub fn start(mut tracker: Option<FaceTracker>) -> Result<TrackingStage> {
        let (frames, inbox) = sync_channel::<Frame>(1);
        let (outbox, tracked) = sync_channel(1);
        let worker = std::thread::Builder::new()
            .name("mimic-tracking".into())
            .spawn(move || {
                for frame in inbox {
                    let tracked = track(tracker.as_mut(), &frame.image);
                    let result = Ok((frame, tracked));
                    if outbox.send(result).is_err() {
                        break;
                    }
                }
                tracker
            })
            .map_err(|e| PipelineError::Thread(e.to_string()))?;
        Ok(TrackingStage {
            frames: Some(frames),
            tracked: Some(tracked),
            worker: Some(worker),
            in_flight: 0,
        })
    }

    fn push(&mut self, frame: Frame) -> Result<()> {
        let frames = self.frames.as_ref().ok_or_else(stopped)?;
        frames.send(frame).map_err(|_| stopped())?;
        self.in_flight += 1;
        Ok(())
    }

    fn pop(&mut self) -> Option<Result<(Frame, Tracked)>> {
        if self.in_flight == 0 {
            return None;
        }
        self.in_flight -= 1;
        let tracked = self.tracked.as_ref()?;
        Some(tracked.recv().unwrap_or_else(|_| Err(stopped())))
    }

    fn finish(mut self) -> Option<FaceTracker> {
        self.stop()
    }

    /// Closes both channels, so the thread ends whether it waits for a frame or to hand one
    /// over, and joins it.
    fn stop(&mut self) -> Option<FaceTracker> {
        self.frames.take();
        self.tracked.take();
        self.worker.take()?.join().ok().flatten()
    }
}

impl Drop for TrackingStage {
    fn drop(&mut self) {
        self.stop();
    }
}

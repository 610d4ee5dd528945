//! Detection beside the frames: a thread of its own, at a lower priority, that finds the faces
//! in one frame at a time while the frames go on, and hands back what it found with the
//! landmarks the tracker had followed on that frame (which of them is whose is the tracker's
//! to say).

use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::face::{Face, FaceAnalyzer, Landmarks};

/// The landmarks followed on the frame sent, for each face the tracker follows.
type Followed = Vec<Option<Landmarks>>;
use crate::frame::Rgb8;

/// A detection made beside the frames: the faces found (largest first), the landmarks the
/// tracker had followed on that frame (a face's, or none, for each it follows), and how long
/// the detection took.
pub(super) struct Finished {
    pub(super) faces: Vec<Face>,
    pub(super) followed: Followed,
    pub(super) took: Duration,
}

/// The detection thread: one frame at a time in, its faces out. It runs at a lower
/// priority, so on a machine with few cores the frame loop and the generator come first.
pub(super) struct Background {
    frames: Option<SyncSender<Rgb8>>,
    results: Receiver<(Vec<Face>, Duration)>,
    in_flight: Option<Followed>,
    /// The detection in flight looks at a shot that has been cut away from.
    stale: bool,
    worker: Option<JoinHandle<()>>,
}

impl Background {
    pub(super) fn start(analyzer: FaceAnalyzer) -> Background {
        let (frames, inbox) = mpsc::sync_channel::<Rgb8>(1);
        let (outbox, results) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("mimic-detect".into())
            .spawn(move || {
                lower_priority();
                for frame in inbox {
                    let started = Instant::now();
                    let faces = analyzer.faces(&frame).unwrap_or_else(|e| {
                        tracing::warn!("background face detection failed: {e}");
                        Vec::new()
                    });
                    if outbox.send((faces, started.elapsed())).is_err() {
                        break;
                    }
                }
            })
            .ok();
        if worker.is_none() {
            tracing::warn!("no thread for background detection: detecting inside the frames");
        }
        Background {
            frames: worker.as_ref().map(|_| frames),
            results,
            in_flight: None,
            stale: false,
            worker,
        }
    }

    /// Sends a copy of `frame` unless a detection is in flight; whether it was sent.
    pub(super) fn send(&mut self, frame: &Rgb8, followed: Followed) -> bool {
        let Some(frames) = &self.frames else {
            return false;
        };
        if self.in_flight.is_some() {
            return false;
        }
        match frames.try_send(frame.clone()) {
            Ok(()) => {
                self.in_flight = Some(followed);
                true
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    /// Drops the detection in flight when it finishes.
    pub(super) fn forget(&mut self) {
        self.stale = self.in_flight.is_some();
    }

    pub(super) fn finished(&mut self) -> Option<Finished> {
        match self.results.try_recv() {
            Ok((faces, took)) => {
                let followed = self.in_flight.take()?;
                (!std::mem::take(&mut self.stale)).then_some(Finished {
                    faces,
                    followed,
                    took,
                })
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.frames = None;
                self.in_flight = None;
                self.stale = false;
                None
            }
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // Closing the channel ends the thread after its current detection.
        self.frames = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// Lowers the calling thread's scheduling priority (Linux: nice 10 for this thread alone).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id; failure only leaves the
    // priority as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

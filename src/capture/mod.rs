//! Cameras, and live sources of frames: a camera (through nokhwa) or a video file played at its
//! own frame rate, each on its own thread, handing the newest frame over through a
//! [`Handoff`] so processing never works on a stale frame and the capture never waits.

pub mod handoff;
pub mod source;
pub use handoff::Handoff;
pub use source::{CameraSpec, Generated, Next, Source, SourceSpec};

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
};
use nokhwa::Camera;
use serde::Serialize;

use crate::frame::Frame;
use crate::video::{VideoError, VideoReader};

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot list cameras: {0}")]
    Query(String),
    #[error("cannot open camera {index}: {reason}; `mimic devices` lists the cameras there are, and another program may be using this one")]
    Open { index: u32, reason: String },
    #[error("camera {index} stopped delivering frames: {reason} (was it unplugged?)")]
    Lost { index: u32, reason: String },
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error("the capture thread ended unexpectedly")]
    Thread,
    #[error("the camera did not stop when asked (its driver is stuck); it was left behind")]
    Stuck,
    /// A source that stopped delivering, in a sentence.
    #[error("{0}")]
    Gone(String),
}

/// What a live source delivers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SourceInfo {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
}

/// Frames produced on their own thread; the consumer always gets the newest one.
pub struct LiveSource {
    handoff: Arc<Handoff<Frame>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), CaptureError>>>,
    info: SourceInfo,
}

impl LiveSource {
    /// Opens camera `index`, asking for the size and rate given (the closest it offers).
    pub fn camera(
        index: u32,
        resolution: Option<(u32, u32)>,
        fps: Option<u32>,
    ) -> Result<LiveSource, CaptureError> {
        let (opened_tx, opened_rx) = mpsc::channel();
        Self::spawn(
            move |handoff, stop| camera_loop(index, resolution, fps, handoff, stop, opened_tx),
            opened_rx,
        )
    }

    /// Plays a video file at its own frame rate, the way a camera delivers frames: what
    /// `--realtime` asks for, and the stand-in for a camera where there is none.
    pub fn paced_file(path: &Path) -> Result<LiveSource, CaptureError> {
        Self::paced_file_until(path, None)
    }

    /// Like [`Self::paced_file`], but after `silent_after` frames (if given) the source stops
    /// delivering and stays open, as a camera does when its cable is pulled: the one test
    /// double of a camera, since machines without one cannot test losing it.
    pub fn paced_file_until(
        path: &Path,
        silent_after: Option<u64>,
    ) -> Result<LiveSource, CaptureError> {
        let (opened_tx, opened_rx) = mpsc::channel();
        let path = path.to_path_buf();
        Self::spawn(
            move |handoff, stop| file_loop(&path, silent_after, handoff, stop, opened_tx),
            opened_rx,
        )
    }

    /// Starts `body` on a thread and waits until it says whether its source opened.
    fn spawn(
        body: impl FnOnce(Arc<Handoff<Frame>>, Arc<AtomicBool>) -> Result<(), CaptureError>
            + Send
            + 'static,
        opened: mpsc::Receiver<Result<SourceInfo, CaptureError>>,
    ) -> Result<LiveSource, CaptureError> {
        let handoff = Arc::new(Handoff::new());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (handoff, stop) = (Arc::clone(&handoff), Arc::clone(&stop));
            std::thread::spawn(move || {
                let result = body(Arc::clone(&handoff), stop);
                handoff.close();
                result
            })
        };
        match opened.recv() {
            Ok(Ok(info)) => Ok(LiveSource {
                handoff,
                stop,
                thread: Some(thread),
                info,
            }),
            Ok(Err(error)) => {
                let _ = thread.join();
                Err(error)
            }
            Err(_) => match thread.join() {
                Ok(Err(error)) => Err(error),
                _ => Err(CaptureError::Thread),
            },
        }
    }

    pub fn info(&self) -> SourceInfo {
        self.info
    }

    /// The newest frame, waiting up to `timeout`; `None` once the source has ended (or on
    /// timeout while it is still running: check [`Self::ended`]).
    pub fn next_frame(&self, timeout: Duration) -> Option<Frame> {
        self.handoff.take(timeout)
    }

    pub fn ended(&self) -> bool {
        self.handoff.is_closed()
    }

    /// How the source ended, once [`Self::ended`]: `Ok` at the end of a file, an error when a
    /// camera was lost or the file could not be read on.
    pub fn end_result(&mut self) -> Result<(), CaptureError> {
        match self.thread.take() {
            Some(thread) => join_within(thread, THREAD_GRACE),
            None => Ok(()),
        }
    }

    /// Frames the processing side never saw because a newer one replaced them.
    pub fn dropped(&self) -> u64 {
        self.handoff.dropped()
    }

    /// Stops the thread and reports how it ended (a camera lost mid-run is an error).
    pub fn finish(mut self) -> Result<(), CaptureError> {
        self.stop.store(true, Ordering::Relaxed);
        self.end_result()
    }
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = join_within(thread, THREAD_GRACE);
        }
    }
}

/// How long a capture thread is given to stop once asked.
const THREAD_GRACE: Duration = Duration::from_secs(2);

/// The thread's result if it ends within `grace`. A camera stuck inside its driver's read
/// may never return: its thread is left behind rather than hanging the run that asked.
fn join_within(
    thread: JoinHandle<Result<(), CaptureError>>,
    grace: Duration,
) -> Result<(), CaptureError> {
    let asked = Instant::now();
    while !thread.is_finished() {
        if asked.elapsed() > grace {
            return Err(CaptureError::Stuck);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    thread.join().unwrap_or(Err(CaptureError::Thread))
}

type Opened = mpsc::Sender<Result<SourceInfo, CaptureError>>;

fn camera_loop(
    index: u32,
    resolution: Option<(u32, u32)>,
    fps: Option<u32>,
    handoff: Arc<Handoff<Frame>>,
    stop: Arc<AtomicBool>,
    opened: Opened,
) -> Result<(), CaptureError> {
    let open_error = |reason: String| CaptureError::Open { index, reason };
    let requested = match (resolution, fps) {
        (Some((w, h)), rate) => RequestedFormatType::Closest(CameraFormat::new_from(
            w,
            h,
            FrameFormat::MJPEG,
            rate.unwrap_or(30),
        )),
        (None, Some(rate)) => RequestedFormatType::HighestFrameRate(rate),
        (None, None) => RequestedFormatType::AbsoluteHighestFrameRate,
    };
    // nokhwa's camera is made and used on this thread only.
    let mut camera = match Camera::new(
        CameraIndex::Index(index),
        RequestedFormat::new::<RgbFormat>(requested),
    )
    .and_then(|mut c| c.open_stream().map(|()| c))
    {
        Ok(camera) => camera,
        Err(e) => {
            let _ = opened.send(Err(open_error(e.to_string())));
            return Ok(());
        }
    };
    let format = camera.camera_format();
    let info = SourceInfo {
        width: format.width(),
        height: format.height(),
        fps: f64::from(format.frame_rate()),
    };
    let _ = opened.send(Ok(info));
    let started = Instant::now();
    let mut index_in_stream = 0;
    while !stop.load(Ordering::Relaxed) {
        let buffer = camera.frame().map_err(|e| CaptureError::Lost {
            index,
            reason: e.to_string(),
        })?;
        // A frame that does not decode (a torn MJPEG frame) is skipped, not fatal.
        match buffer.decode_image::<RgbFormat>() {
            Ok(image) => handoff.put(Frame::new(index_in_stream, started.elapsed(), image)),
            Err(e) => tracing::warn!("skipped a camera frame that did not decode: {e}"),
        }
        index_in_stream += 1;
    }
    let _ = camera.stop_stream();
    Ok(())
}

fn file_loop(
    path: &Path,
    silent_after: Option<u64>,
    handoff: Arc<Handoff<Frame>>,
    stop: Arc<AtomicBool>,
    opened: Opened,
) -> Result<(), CaptureError> {
    let mut reader = match VideoReader::open(path) {
        Ok(reader) => reader,
        Err(e) => {
            let _ = opened.send(Err(e.into()));
            return Ok(());
        }
    };
    let info = reader.info();
    let _ = opened.send(Ok(SourceInfo {
        width: info.width,
        height: info.height,
        fps: info.fps,
    }));
    let started = Instant::now();
    let mut delivered = 0;
    while !stop.load(Ordering::Relaxed) {
        if silent_after.is_some_and(|after| delivered >= after) {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let Some(mut frame) = reader.next_frame()? else {
            break;
        };
        delivered += 1;
        // Deliver each frame at its presentation time, as a camera would.
        if let Some(wait) = frame.t.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        frame.captured_at = Instant::now();
        handoff.put(frame);
    }
    Ok(())
}

/// One camera as the system reports it.
#[derive(Debug, Clone, Serialize)]
pub struct CameraDescription {
    pub index: u32,
    pub name: String,
    /// Formats as `WIDTHxHEIGHT@FPS FOURCC`; empty when the camera could not be opened.
    pub formats: Vec<String>,
}

/// Every camera the platform's capture API sees, with the formats each offers.
pub fn list_cameras() -> Result<Vec<CameraDescription>, CaptureError> {
    let cameras =
        nokhwa::query(ApiBackend::Auto).map_err(|e| CaptureError::Query(e.to_string()))?;
    Ok(cameras
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let index = match info.index() {
                CameraIndex::Index(n) => *n,
                CameraIndex::String(_) => i as u32,
            };
            CameraDescription {
                index,
                name: info.human_name(),
                formats: formats_of(info.index().clone()),
            }
        })
        .collect())
}

fn formats_of(index: CameraIndex) -> Vec<String> {
    let requested = RequestedFormat::new::<RgbFormat>(RequestedFormatType::None);
    let Ok(mut camera) = Camera::new(index, requested) else {
        return Vec::new();
    };
    camera
        .compatible_camera_formats()
        .map(|formats| {
            formats
                .iter()
                .map(|f| {
                    format!(
                        "{}x{}@{} {}",
                        f.width(),
                        f.height(),
                        f.frame_rate(),
                        f.format()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

//! Where the live loop's frames come from, whatever they are: a camera, a video file (or a
//! folder of pictures, or one picture: FFmpeg and the folder reader open them alike) read
//! frame by frame or played at its own pace, or pictures made on the fly (the demo). A
//! [`Source`] says what it delivers, hands out the next frame, and knows how to open a lost
//! camera again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{CaptureError, LiveSource, SourceInfo};
use crate::frame::{Frame, Rgb8};
use crate::video::VideoReader;

/// What to open: the source part of a live configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    Camera(CameraSpec),
    /// A video file, a folder of pictures or a picture.
    File {
        path: PathBuf,
        /// Played at its own frame rate like a camera (late frames dropped) instead of read
        /// frame by frame.
        realtime: bool,
        /// Read this many times over, each pass numbered and timed on from the last (a soak).
        passes: u64,
        /// The camera test double: played as a camera that goes silent after this many
        /// frames, once; the first attempt to open it again fails (still unplugged), the next
        /// plays it through. Machines without a camera cannot test losing one otherwise.
        simulate_loss: Option<u64>,
    },
}

impl SourceSpec {
    /// A file read frame by frame, once.
    pub fn file(path: impl Into<PathBuf>) -> SourceSpec {
        SourceSpec::File {
            path: path.into(),
            realtime: false,
            passes: 1,
            simulate_loss: None,
        }
    }

    /// What the source is, for people: "camera 0", "clip.mp4".
    pub fn name(&self) -> String {
        match self {
            SourceSpec::Camera(camera) => format!("camera {}", camera.index),
            SourceSpec::File { path, .. } => path.display().to_string(),
        }
    }
}

/// A camera, at the size and rate asked for (the closest it offers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CameraSpec {
    pub index: u32,
    pub resolution: Option<(u32, u32)>,
    pub fps: Option<u32>,
}

/// Pictures made on the fly, one a call, at a set rate (the demo's moving portrait).
pub struct Generated {
    /// The picture at a time from the start; `None` when there are no more.
    pub picture: Box<dyn FnMut(Duration) -> Option<Rgb8> + Send>,
    pub info: SourceInfo,
    /// Delivered at their own pace, as a camera would (someone watches), or as fast as they
    /// are asked for.
    pub paced: bool,
}

/// What the source gave when asked for a frame.
pub enum Next {
    Frame(Frame),
    /// The file (or the generated pictures) ended.
    End,
    /// The camera stopped delivering (unplugged, or stalled for [`STALL`]): why, in a sentence.
    Lost(String),
}

impl Next {
    /// The frame, `None` at the end, and a lost camera as an error: for work that cannot go
    /// on without its source.
    pub fn frame(self) -> Result<Option<Frame>, CaptureError> {
        match self {
            Next::Frame(frame) => Ok(Some(frame)),
            Next::End => Ok(None),
            Next::Lost(reason) => Err(CaptureError::Gone(reason)),
        }
    }
}

/// A threaded source stalled for this long is lost.
pub const STALL: Duration = Duration::from_secs(5);

/// A source of frames, open.
pub enum Source {
    /// Read frame by frame: nothing dropped, the same frames every time.
    File(Box<FileFrames>),
    /// On a thread of its own (a camera, or a file at its own pace): late frames dropped.
    Live(Box<LiveFrames>),
    Generated(Box<GeneratedFrames>),
}

impl Source {
    pub fn open(spec: &SourceSpec) -> Result<Source, CaptureError> {
        let origin = match spec {
            SourceSpec::File {
                path,
                realtime: false,
                passes,
                simulate_loss: None,
            } => return Ok(Source::File(Box::new(FileFrames::open(path, *passes)?))),
            SourceSpec::File {
                path,
                simulate_loss,
                ..
            } => Origin::File {
                path: path.clone(),
                silent_after: *simulate_loss,
                unplugged: false,
            },
            SourceSpec::Camera(camera) => Origin::Camera(*camera),
        };
        LiveFrames::open(origin).map(|live| Source::Live(Box::new(live)))
    }

    /// Pictures made on the fly.
    pub fn generated(generated: Generated) -> Source {
        Source::Generated(Box::new(GeneratedFrames {
            generated,
            index: 0,
            started: None,
        }))
    }

    /// Whether frames arrive at their own pace and late ones are dropped (a camera): faces
    /// are then looked for beside the frames, so the frames keep their pace.
    pub fn is_live(&self) -> bool {
        matches!(self, Source::Live(_))
    }

    /// Whether the source is a camera (one that can be lost and come back).
    pub fn is_camera(&self) -> bool {
        matches!(self, Source::Live(live) if live.is_camera())
    }

    /// Stops waiting for a stalled camera as soon as `stop` is raised (Ctrl-C): the next
    /// frame asked for is then none.
    pub fn stop_when(&mut self, stop: &Arc<AtomicBool>) {
        if let Source::Live(live) = self {
            live.stop = Some(Arc::clone(stop));
        }
    }

    pub fn info(&self) -> SourceInfo {
        match self {
            Source::File(file) => file.info(),
            Source::Live(live) => live.source.info(),
            Source::Generated(generated) => generated.generated.info,
        }
    }

    /// Frames in one pass over a file, when its container says.
    pub fn frame_count(&self) -> Option<u64> {
        match self {
            Source::File(file) => file.reader.info().frame_count,
            _ => None,
        }
    }

    /// The file whose sound a recording should keep.
    pub fn audio(&self) -> Option<&Path> {
        match self {
            Source::File(file) => file.reader.info().has_audio.then_some(file.path.as_path()),
            Source::Live(live) => match &live.origin {
                Origin::File { path, .. } => Some(path),
                Origin::Camera(_) => None,
            },
            Source::Generated(_) => None,
        }
    }

    /// The next frame, the end, or why the camera is lost.
    pub fn next_frame(&mut self) -> Result<Next, CaptureError> {
        match self {
            Source::File(file) => file.next(),
            Source::Live(live) => live.next(),
            Source::Generated(generated) => Ok(generated.next()),
        }
    }

    /// Tries once to open a lost camera again; whether it is back.
    pub fn reopen(&mut self) -> bool {
        match self {
            Source::Live(live) => live.reopen(),
            _ => false,
        }
    }

    /// Frames the processing side never saw because a newer one replaced them.
    pub fn dropped(&self) -> u64 {
        match self {
            Source::Live(live) => live.dropped_before + live.source.dropped(),
            _ => 0,
        }
    }

    /// Stops the source; a camera lost mid-run is an error here.
    pub fn finish(self) -> Result<(), CaptureError> {
        match self {
            Source::Live(live) => live.source.finish(),
            _ => Ok(()),
        }
    }
}

/// A file read frame by frame, `passes` times over.
pub struct FileFrames {
    reader: VideoReader,
    path: PathBuf,
    passes_left: u64,
    /// Added to each frame's index and time: where the pass before ended.
    offset: (u64, Duration),
    /// The last frame's index and time.
    last: (u64, Duration),
}

impl FileFrames {
    fn open(path: &Path, passes: u64) -> Result<FileFrames, CaptureError> {
        Ok(FileFrames {
            reader: VideoReader::open(path)?,
            path: path.to_path_buf(),
            passes_left: passes.max(1) - 1,
            offset: (0, Duration::ZERO),
            last: (0, Duration::ZERO),
        })
    }

    fn info(&self) -> SourceInfo {
        let info = self.reader.info();
        SourceInfo {
            width: info.width,
            height: info.height,
            fps: info.fps,
        }
    }

    fn next(&mut self) -> Result<Next, CaptureError> {
        let mut frame = self.reader.next_frame()?;
        if frame.is_none() && self.passes_left > 0 {
            self.passes_left -= 1;
            let step = Duration::from_secs_f64(1.0 / self.reader.info().fps.max(1.0));
            self.offset = (self.last.0 + 1, self.last.1 + step);
            self.reader = VideoReader::open(&self.path)?;
            frame = self.reader.next_frame()?;
        }
        Ok(match frame {
            Some(mut frame) => {
                frame.index += self.offset.0;
                frame.t += self.offset.1;
                self.last = (frame.index, frame.t);
                Next::Frame(frame)
            }
            None => Next::End,
        })
    }
}

/// A threaded source, and how to open it again.
pub struct LiveFrames {
    source: LiveSource,
    origin: Origin,
    /// Frames dropped by the sources this one replaced.
    dropped_before: u64,
    stop: Option<Arc<AtomicBool>>,
}

/// What a threaded source plays.
enum Origin {
    Camera(CameraSpec),
    /// A file at its own pace; with `silent_after`, the camera test double.
    File {
        path: PathBuf,
        silent_after: Option<u64>,
        unplugged: bool,
    },
}

impl Origin {
    fn open(&mut self) -> Result<LiveSource, CaptureError> {
        match self {
            Origin::Camera(c) => LiveSource::camera(c.index, c.resolution, c.fps),
            Origin::File {
                path,
                silent_after,
                unplugged,
            } => {
                if std::mem::take(unplugged) {
                    return Err(CaptureError::Open {
                        index: 0,
                        reason: "the simulated camera is still unplugged".into(),
                    });
                }
                *unplugged = silent_after.is_some();
                LiveSource::paced_file_until(path, silent_after.take())
            }
        }
    }

    fn name(&self) -> String {
        match self {
            Origin::Camera(c) => format!("camera {}", c.index),
            Origin::File { path, .. } => format!("{} (played as a camera)", path.display()),
        }
    }
}

impl LiveFrames {
    fn open(mut origin: Origin) -> Result<LiveFrames, CaptureError> {
        Ok(LiveFrames {
            source: origin.open()?,
            origin,
            dropped_before: 0,
            stop: None,
        })
    }

    fn is_camera(&self) -> bool {
        match &self.origin {
            Origin::Camera(_) => true,
            Origin::File { silent_after, .. } => silent_after.is_some(),
        }
    }

    fn stopped(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }

    fn next(&mut self) -> Result<Next, CaptureError> {
        let waited = Instant::now();
        loop {
            if let Some(frame) = self.source.next_frame(Duration::from_millis(200)) {
                return Ok(Next::Frame(frame));
            }
            if self.stopped() {
                return Ok(Next::End);
            }
            if self.source.ended() {
                return match self.source.end_result() {
                    Ok(()) => Ok(Next::End),
                    Err(lost @ CaptureError::Lost { .. }) => Ok(Next::Lost(lost.to_string())),
                    Err(error) => Err(error),
                };
            }
            if waited.elapsed() > STALL {
                return Ok(Next::Lost(format!(
                    "{} delivered no frame for {} s (unplugged, or taken by another program?)",
                    self.origin.name(),
                    STALL.as_secs()
                )));
            }
        }
    }

    fn reopen(&mut self) -> bool {
        match self.origin.open() {
            Ok(source) => {
                self.dropped_before += self.source.dropped();
                self.source = source;
                true
            }
            Err(error) => {
                tracing::debug!("camera not back yet: {error}");
                false
            }
        }
    }
}

/// Generated pictures, numbered and timed at their rate.
pub struct GeneratedFrames {
    generated: Generated,
    index: u64,
    started: Option<Instant>,
}

impl GeneratedFrames {
    fn next(&mut self) -> Next {
        let t = Duration::from_secs_f64(self.index as f64 / self.generated.info.fps.max(1.0));
        let Some(image) = (self.generated.picture)(t) else {
            return Next::End;
        };
        let started = *self.started.get_or_insert_with(Instant::now);
        if self.generated.paced {
            std::thread::sleep(t.saturating_sub(started.elapsed()));
        }
        let frame = Frame::new(self.index, t, image);
        self.index += 1;
        Next::Frame(frame)
    }
}

//! Where the live commands' frames come from: a camera, or a video file read frame by frame
//! or played at its own pace; and what happens when a camera stops delivering.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use mimic::capture::{CaptureError, LiveSource, SourceInfo};
use mimic::frame::Frame;
use mimic::video::VideoReader;

use crate::cli::SourceFlags;

/// Where live frames come from: a file read frame by frame (nothing dropped), or a threaded
/// source (a camera, or a file at its own pace) whose late frames are dropped.
pub enum Frames {
    File(VideoReader, PathBuf),
    Live(Box<LiveFrames>),
}

/// What the source gave when asked for a frame.
pub enum Next {
    Frame(Frame),
    /// The file ended.
    End,
    /// The camera stopped delivering (unplugged, or stalled for [`STALL`]): why, in a sentence.
    Lost(String),
}

impl Next {
    /// The frame, `None` at the end, and a lost camera as an error: for commands that cannot
    /// go on without their source.
    pub fn frame(self) -> anyhow::Result<Option<Frame>> {
        match self {
            Next::Frame(frame) => Ok(Some(frame)),
            Next::End => Ok(None),
            Next::Lost(why) => bail!("{why}"),
        }
    }
}

/// A threaded source stalled for this long is lost.
const STALL: Duration = Duration::from_secs(5);

impl Frames {
    pub fn open(args: &SourceFlags) -> anyhow::Result<Frames> {
        let mut origin = match (&args.input, args.camera) {
            (Some(path), _) if args.realtime || args.simulate_camera_loss.is_some() => {
                Origin::File {
                    path: path.clone(),
                    silent_after: args.simulate_camera_loss,
                    unplugged: false,
                }
            }
            (Some(path), _) => {
                return Ok(Frames::File(VideoReader::open(path)?, path.clone()));
            }
            (None, Some(index)) => Origin::Camera {
                index,
                resolution: args.resolution,
                fps: args.fps,
            },
            (None, None) => bail!("give --camera N or --input VIDEO"),
        };
        let source = origin.open()?;
        Ok(Frames::Live(Box::new(LiveFrames {
            source,
            origin,
            dropped_before: 0,
            stop: None,
        })))
    }

    /// Stops waiting for a stalled camera as soon as `stop` is raised (Ctrl-C): the next
    /// frame asked for is then none.
    pub fn stop_when(&mut self, stop: &Arc<AtomicBool>) {
        if let Frames::Live(live) = self {
            live.stop = Some(Arc::clone(stop));
        }
    }

    pub fn info(&self) -> SourceInfo {
        match self {
            Frames::File(reader, _) => {
                let i = reader.info();
                SourceInfo {
                    width: i.width,
                    height: i.height,
                    fps: i.fps,
                }
            }
            Frames::Live(live) => live.source.info(),
        }
    }

    /// The file whose sound a recording should keep.
    pub fn audio(&self) -> Option<&Path> {
        match self {
            Frames::File(reader, path) => reader.info().has_audio.then_some(path.as_path()),
            Frames::Live(live) => match &live.origin {
                Origin::File { path, .. } => Some(path),
                Origin::Camera { .. } => None,
            },
        }
    }

    pub fn next(&mut self) -> anyhow::Result<Next> {
        match self {
            Frames::File(reader, _) => Ok(match reader.next_frame()? {
                Some(frame) => Next::Frame(frame),
                None => Next::End,
            }),
            Frames::Live(live) => live.next(),
        }
    }

    /// Tries once to open a lost camera again; whether it is back.
    pub fn reopen(&mut self) -> bool {
        let Frames::Live(live) = self else {
            return false;
        };
        match live.origin.open() {
            Ok(source) => {
                live.dropped_before += live.source.dropped();
                live.source = source;
                true
            }
            Err(error) => {
                tracing::debug!("camera not back yet: {error}");
                false
            }
        }
    }

    pub fn dropped(&self) -> u64 {
        match self {
            Frames::File(..) => 0,
            Frames::Live(live) => live.dropped_before + live.source.dropped(),
        }
    }

    pub fn finish(self) -> anyhow::Result<()> {
        if let Frames::Live(live) = self {
            live.source.finish()?;
        }
        Ok(())
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
    Camera {
        index: u32,
        resolution: Option<(u32, u32)>,
        fps: Option<u32>,
    },
    /// A file at its own pace; with `silent_after`, the camera test double: its first opening
    /// goes silent after that many frames, the first attempt to open it again fails as for a
    /// camera still unplugged, and the next plays through.
    File {
        path: PathBuf,
        silent_after: Option<u64>,
        unplugged: bool,
    },
}

impl Origin {
    fn open(&mut self) -> Result<LiveSource, CaptureError> {
        match self {
            Origin::Camera {
                index,
                resolution,
                fps,
            } => LiveSource::camera(*index, *resolution, *fps),
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
            Origin::Camera { index, .. } => format!("camera {index}"),
            Origin::File { path, .. } => format!("{} (played as a camera)", path.display()),
        }
    }
}

impl LiveFrames {
    fn next(&mut self) -> anyhow::Result<Next> {
        let waited = Instant::now();
        loop {
            if let Some(frame) = self.source.next_frame(Duration::from_millis(200)) {
                return Ok(Next::Frame(frame));
            }
            if self
                .stop
                .as_ref()
                .is_some_and(|s| s.load(Ordering::Relaxed))
            {
                return Ok(Next::End);
            }
            if self.source.ended() {
                return match self.source.end_result() {
                    Ok(()) => Ok(Next::End),
                    Err(lost @ CaptureError::Lost { .. }) => Ok(Next::Lost(lost.to_string())),
                    Err(error) => Err(error.into()),
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
}

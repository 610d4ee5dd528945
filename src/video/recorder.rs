//! Recording on a thread of its own (DESIGN §2): the frame path hands each picture over a
//! short queue and goes on while the encoder works, so a slow encoder or disk does not slow
//! the frames. A recording never drops a picture it was given: when the queue is full the
//! frame path waits, and how long it waited is counted, so a run can say it fell behind.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{VideoError, VideoWriter, WriterOptions, WriterSummary};
use crate::frame::{copy_into, Rgb8};

/// Pictures waiting for the encoder at most (a few frames: enough to ride out a slow write,
/// little enough that a run ending early loses no time finishing).
const QUEUE: usize = 4;

/// The encoder's thread ends with its writer, to be finished, and the error that stopped it,
/// if one did.
type Ended = (Option<VideoWriter>, Option<VideoError>);

/// An MP4 being written by its own thread.
pub struct Recorder {
    path: PathBuf,
    pictures: Option<SyncSender<Rgb8>>,
    /// Pictures the encoder is done with, handed back to be filled again.
    spares: Receiver<Rgb8>,
    worker: Option<JoinHandle<Ended>>,
    /// What the encoder thread ended with, once it has.
    ended: Option<Ended>,
    waited: Duration,
}

impl Recorder {
    /// Creates `path` as [`VideoWriter::create`] does (an error leaves no file) and starts
    /// its encoder thread.
    pub fn create(path: &Path, options: WriterOptions) -> Result<Recorder, VideoError> {
        let (pictures, inbox) = sync_channel::<Rgb8>(QUEUE);
        let (spare, spares) = channel();
        let (opened_tx, opened) = sync_channel(1);
        let target = path.to_path_buf();
        let worker = std::thread::Builder::new()
            .name("mimic-recorder".into())
            .spawn(move || match VideoWriter::create(&target, options) {
                Ok(writer) => {
                    let _ = opened_tx.send(Ok(()));
                    encode(writer, inbox, spare)
                }
                Err(error) => {
                    let _ = opened_tx.send(Err(error));
                    (None, None)
                }
            })
            .map_err(|e| VideoError::Create {
                path: path.into(),
                reason: format!("cannot start the recording thread: {e}"),
            })?;
        let opened = opened.recv().unwrap_or_else(|_| {
            Err(VideoError::Create {
                path: path.into(),
                reason: "the recording thread stopped before it opened the file".into(),
            })
        });
        if let Err(error) = opened {
            let _ = worker.join();
            return Err(error);
        }
        Ok(Recorder {
            path: path.to_path_buf(),
            pictures: Some(pictures),
            spares,
            worker: Some(worker),
            ended: None,
            waited: Duration::ZERO,
        })
    }

    /// Hands one picture to the encoder (it must have the size given at creation); waits
    /// while the queue is full. An error is the encoder's, which has stopped.
    pub fn write(&mut self, image: &Rgb8) -> Result<(), VideoError> {
        let started = Instant::now();
        let mut picture = self.spares.try_recv().unwrap_or_default();
        copy_into(&mut picture, image);
        let sent = self
            .pictures
            .as_ref()
            .is_some_and(|pictures| pictures.send(picture).is_ok());
        self.waited += started.elapsed();
        if sent {
            return Ok(());
        }
        // The encoder stopped: its error says why (its writer stays, to be kept as partial).
        self.stop();
        let error = self.ended.as_mut().and_then(|(_, error)| error.take());
        Err(error.unwrap_or_else(|| self.stopped()))
    }

    /// How long the frame path has waited for the encoder so far.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Encodes what is queued, then finishes the file.
    pub fn finish(mut self) -> Result<WriterSummary, VideoError> {
        match self.take_ended() {
            (Some(writer), None) => writer.finish(),
            (writer, error) => Err(self.keep(writer, error)),
        }
    }

    /// Encodes what is queued and keeps the file as a partial recording
    /// ([`VideoWriter::finish_partial`]).
    pub fn finish_partial(mut self) -> Result<(PathBuf, WriterSummary), VideoError> {
        match self.take_ended() {
            (Some(writer), _) => writer.finish_partial(),
            (None, error) => Err(error.unwrap_or_else(|| self.stopped())),
        }
    }

    /// Closes the queue and waits for the encoder; what it ended with stays in `ended`.
    fn stop(&mut self) {
        self.pictures.take();
        if let Some(worker) = self.worker.take() {
            let ended = worker
                .join()
                .unwrap_or_else(|_| (None, Some(self.stopped())));
            self.ended = Some(ended);
        }
    }

    /// Stops the encoder and takes what it ended with.
    fn take_ended(&mut self) -> Ended {
        self.stop();
        self.ended.take().unwrap_or((None, None))
    }

    /// After the encoder failed: what was written is kept as partial, and the error says where.
    fn keep(&self, writer: Option<VideoWriter>, error: Option<VideoError>) -> VideoError {
        let error = error.unwrap_or_else(|| self.stopped());
        let kept = match writer.map(VideoWriter::finish_partial) {
            Some(Ok((kept, _))) => format!("what was recorded is kept in {}", kept.display()),
            Some(Err(kept @ VideoError::KeptUnfinished { .. })) => kept.to_string(),
            _ => return error,
        };
        VideoError::Encode {
            path: self.path.clone(),
            reason: format!("{error}; {kept}"),
        }
    }

    fn stopped(&self) -> VideoError {
        VideoError::Encode {
            path: self.path.clone(),
            reason: "the recording thread stopped".into(),
        }
    }
}

impl Drop for Recorder {
    /// Dropped unfinished (an early return), the recording is finished as far as it got, as
    /// [`VideoWriter`] does.
    fn drop(&mut self) {
        if let (Some(writer), _) = self.take_ended() {
            if let Err(error) = writer.finish() {
                tracing::warn!("{error}");
            }
        }
    }
}

/// The encoder thread: every picture handed over, in order, until the queue closes or a
/// write fails.
fn encode(mut writer: VideoWriter, pictures: Receiver<Rgb8>, spare: Sender<Rgb8>) -> Ended {
    for picture in pictures {
        if let Err(error) = writer.write(&picture) {
            return (Some(writer), Some(error));
        }
        let _ = spare.send(picture);
    }
    (Some(writer), None)
}

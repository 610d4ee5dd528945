//! Live outputs on threads of their own: each composite handed to a [`LiveOutput`] goes
//! through a newest-picture-wins [`Handoff`] to the thread that encodes and sends it, so a
//! slow or absent receiver never holds the frames back. Unlike a recording, a live output may
//! drop pictures, and counts them. A destination that stops taking pictures (a receiver gone,
//! a server that hung up) is said once; the output is reopened at most every two seconds,
//! and the pictures meanwhile count as dropped.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::capture::Handoff;
use crate::frame::{copy_into, Rgb8};
use crate::geometry::quantile;
use crate::video::{Destination, StreamOptions, StreamWriter, VideoError};

/// How long a destination that failed is left before it is opened again.
const RETRY: Duration = Duration::from_secs(2);

/// One picture on its way: the composite, when it was taken in the run, and when it was
/// handed over (the output's latency runs from there to its packets sent).
struct Picture {
    image: Rgb8,
    t: Duration,
    handed: Instant,
}

/// What an output did over the run.
#[derive(Debug, Clone, Serialize)]
pub struct OutputReport {
    pub url: String,
    /// Pictures encoded and sent.
    pub sent: u64,
    /// Pictures not sent: replaced by a newer one before the thread took them, or given while
    /// the destination could not take them.
    pub dropped: u64,
    /// Times the destination failed and was opened again.
    pub reopened: u64,
    /// From the composite handed over to its packets sent, in milliseconds (p50, p95).
    pub latency_ms: Latency,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
}

/// A destination fed by a thread of its own.
pub struct LiveOutput {
    url: String,
    pictures: Arc<Handoff<Picture>>,
    /// Composites the thread is done with, handed back to be filled again.
    spares: Receiver<Rgb8>,
    worker: Option<JoinHandle<Sent>>,
}

/// What the sending thread counted.
#[derive(Default)]
struct Sent {
    sent: u64,
    failed: u64,
    reopened: u64,
    latencies: Vec<f32>,
}

impl LiveOutput {
    /// Opens `destination` (on the output's thread) and waits until it is open: an address
    /// that cannot be opened is an error here, before any frame.
    pub fn open(
        destination: Destination,
        options: StreamOptions,
    ) -> Result<LiveOutput, VideoError> {
        let url = destination.to_string();
        let pictures = Arc::new(Handoff::new());
        let (spare, spares) = channel();
        let (opened_tx, opened) = mpsc::sync_channel(1);
        let worker = {
            let pictures = Arc::clone(&pictures);
            std::thread::Builder::new()
                .name("mimic-output".into())
                .spawn(move || match StreamWriter::open(&destination, &options) {
                    Ok(stream) => {
                        let _ = opened_tx.send(Ok(()));
                        send_all(stream, &options, &pictures, &spare)
                    }
                    Err(error) => {
                        let _ = opened_tx.send(Err(error));
                        Sent::default()
                    }
                })
                .map_err(|e| VideoError::OutputOpen {
                    url: url.clone(),
                    reason: format!("cannot start its thread: {e}"),
                })?
        };
        match opened.recv() {
            Ok(Ok(())) => Ok(LiveOutput {
                url,
                pictures,
                spares,
                worker: Some(worker),
            }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(VideoError::OutputOpen {
                url,
                reason: "its thread stopped before it opened".into(),
            }),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Hands `composite`, taken `t` into the run, to the output; never waits.
    pub fn send(&mut self, composite: &Rgb8, t: Duration) {
        let mut image = self.spares.try_recv().unwrap_or_default();
        copy_into(&mut image, composite);
        self.pictures.put(Picture {
            image,
            t,
            handed: Instant::now(),
        });
    }

    /// Sends what is waiting, ends the stream and reports.
    pub fn finish(mut self) -> OutputReport {
        self.pictures.close();
        let sent = self
            .worker
            .take()
            .and_then(|w| w.join().ok())
            .unwrap_or_default();
        let ms = |q| f64::from(quantile(sent.latencies.clone(), q));
        OutputReport {
            url: self.url.clone(),
            sent: sent.sent,
            dropped: self.pictures.dropped() + sent.failed,
            reopened: sent.reopened,
            latency_ms: Latency {
                p50: ms(0.5),
                p95: ms(0.95),
            },
        }
    }
}

impl Drop for LiveOutput {
    fn drop(&mut self) {
        self.pictures.close();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// The output's thread: each picture taken from the hand-off is sent, until the hand-off
/// closes; a destination that fails is said once and opened again after [`RETRY`].
fn send_all(
    stream: StreamWriter,
    options: &StreamOptions,
    pictures: &Handoff<Picture>,
    spare: &Sender<Rgb8>,
) -> Sent {
    let destination = stream.destination().clone();
    let mut stream = Some(stream);
    let mut counts = Sent::default();
    let mut retry_at = Instant::now();
    let mut said = false;
    loop {
        let Some(picture) = pictures.take(Duration::from_millis(100)) else {
            if pictures.is_closed() {
                break;
            }
            continue;
        };
        if stream.is_none() && Instant::now() >= retry_at {
            stream = StreamWriter::open(&destination, options).ok();
            counts.reopened += u64::from(stream.is_some());
            retry_at = Instant::now() + RETRY;
        }
        match stream.as_mut().map(|s| s.send(&picture.image, picture.t)) {
            Some(Ok(())) => {
                counts.sent += 1;
                counts
                    .latencies
                    .push(picture.handed.elapsed().as_secs_f32() * 1000.0);
            }
            Some(Err(error)) => {
                if !std::mem::replace(&mut said, true) {
                    tracing::warn!(
                        "{error}; the run goes on, and pictures are dropped until it can be sent to again"
                    );
                }
                counts.failed += 1;
                // A stream that failed is closed; it is opened afresh after a while.
                stream = None;
                retry_at = Instant::now() + RETRY;
            }
            None => counts.failed += 1,
        }
        let _ = spare.send(picture.image);
    }
    if let Some(stream) = stream {
        if let Err(error) = stream.finish() {
            tracing::debug!("ending the stream: {error}");
        }
    }
    counts
}

//! Live outputs through FFmpeg's libraries: what `StreamWriter` sends over UDP is read back by
//! a real receiver (FFmpeg's own UDP input and MPEG-TS demuxer) in the same test.

mod common;

use std::net::UdpSocket;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::live::LiveRun;
use common::{negation, scratch, testdata};
use image::imageops::{self, FilterType};
use mimic::frame::Rgb8;
use mimic::video::{Destination, StreamOptions, StreamWriter, VideoError, VideoReader};

/// A UDP port nothing listens on now (taken from the system, then let go).
pub fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().port()
}

/// d0's frames at 256×256.
fn d0_small() -> Vec<Rgb8> {
    VideoReader::open(&testdata("video/d0.mp4"))
        .unwrap()
        .map(|f| imageops::resize(&f.unwrap().image, 256, 256, FilterType::Triangle))
        .collect()
}

/// Reads `url` until nothing arrives for the timeout given in it: the pictures decoded,
/// which must have come without a damaged packet.
fn receive(url: String) -> JoinHandle<Vec<Rgb8>> {
    std::thread::spawn(move || {
        let Ok(mut reader) = VideoReader::open_url(&url) else {
            return Vec::new();
        };
        let mut pictures = Vec::new();
        while let Ok(Some(frame)) = reader.next_frame() {
            pictures.push(frame.image);
        }
        assert_eq!(reader.damaged(), 0, "the stream decodes without errors");
        pictures
    })
}

/// A free port and a receiver of UDP on it (three seconds without a packet end it), given
/// 0.3 s to start listening.
fn udp_receiver() -> (u16, JoinHandle<Vec<Rgb8>>) {
    let port = free_udp_port();
    let receiver = receive(format!("udp://127.0.0.1:{port}?timeout=3000000"));
    std::thread::sleep(Duration::from_millis(300));
    (port, receiver)
}

/// Square pictures of `side` pixels at 30 fps.
fn square(side: u32, metadata: Vec<(String, String)>) -> StreamOptions {
    StreamOptions {
        width: side,
        height: side,
        fps: 30.0,
        metadata,
    }
}

/// Sends `frames` to `destination` at 30 fps, at the capture's pace as the live loop sends,
/// and finishes the stream.
fn send_paced(destination: &Destination, options: &StreamOptions, frames: &[Rgb8]) {
    let mut stream = StreamWriter::open(destination, options).unwrap();
    let started = Instant::now();
    for (i, frame) in frames.iter().enumerate() {
        let t = Duration::from_secs_f64(i as f64 / 30.0);
        std::thread::sleep(t.saturating_sub(started.elapsed()));
        stream.send(frame, t).unwrap();
    }
    stream.finish().unwrap();
}

fn psnr(a: &Rgb8, b: &Rgb8) -> f64 {
    let mse = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.as_raw().len() as f64;
    10.0 * (255.0 * 255.0 / mse.max(1e-9)).log10()
}

#[test]
fn a_udp_stream_arrives_whole_at_a_real_receiver() {
    let frames = d0_small();
    let (port, receiver) = udp_receiver();
    let destination = Destination::parse(&format!("udp://127.0.0.1:{port}"));
    let metadata = vec![("comment".into(), "synthetic media".into())];
    send_paced(&destination, &square(256, metadata), &frames);
    let received = receiver.join().unwrap();
    assert!(
        received.len() >= frames.len() - 2,
        "{} of {} pictures arrived",
        received.len(),
        frames.len()
    );
    let last = received.last().unwrap();
    assert_eq!(last.dimensions(), (256, 256));
    let quality = psnr(last, frames.last().unwrap());
    assert!(
        quality > 30.0,
        "the last picture arrived at {quality:.1} dB"
    );
}

/// SRT, the other network protocol: FFmpeg's own SRT listener receives what mimic sends as
/// a caller.
#[test]
fn an_srt_stream_arrives_at_a_listener() {
    let frames = d0_small();
    let port = free_udp_port();
    let receiver = receive(format!(
        "srt://127.0.0.1:{port}?mode=listener&timeout=3000000"
    ));
    std::thread::sleep(Duration::from_millis(500));
    let destination = Destination::parse(&format!("srt://127.0.0.1:{port}"));
    send_paced(&destination, &square(256, vec![]), &frames[..30]);
    let received = receiver.join().unwrap();
    assert!(
        received.len() >= 28,
        "{} of 30 pictures arrived",
        received.len()
    );
}

#[test]
fn a_missing_device_or_an_address_ffmpeg_cannot_place_is_a_sentence() {
    let options = square(64, vec![]);
    let camera = Destination::parse("v4l2:/dev/video-mimic-none");
    let error = StreamWriter::open(&camera, &options).err().unwrap();
    assert!(matches!(error, VideoError::OutputOpen { .. }), "{error}");
    assert!(
        error.to_string().contains("modprobe v4l2loopback"),
        "{error}"
    );
    // /dev/null exists but is no video device: libavdevice's v4l2 muxer itself refuses it.
    let not_video = Destination::parse("v4l2:/dev/null");
    let error = StreamWriter::open(&not_video, &options).err().unwrap();
    assert!(
        error.to_string().contains("v4l2:/dev/null") && error.to_string().contains("mimic devices"),
        "{error}"
    );
    let nowhere = Destination::parse("no-such-format-here");
    let error = StreamWriter::open(&nowhere, &options).err().unwrap();
    assert!(
        error.to_string().contains("cannot tell what to send there"),
        "{error}"
    );
}

/// Which pixels the synthetic mark sets in a picture of this size, and to what: those it
/// leaves the same on black and on white.
fn mark_pixels(width: u32, height: u32) -> Vec<(u32, u32, u8)> {
    let mut black = Rgb8::new(width, height);
    let mut white = Rgb8::from_pixel(width, height, image::Rgb([255, 255, 255]));
    mimic::output::compose::draw_mark(&mut black);
    mimic::output::compose::draw_mark(&mut white);
    black
        .enumerate_pixels()
        .filter(|&(x, y, p)| white.get_pixel(x, y) == p)
        .map(|(x, y, p)| (x, y, p[0]))
        .collect()
}

/// Whether `picture` shows the mark: its pixels within 40 levels of the mark's, on average.
fn shows_mark(picture: &Rgb8) -> bool {
    let mark = mark_pixels(picture.width(), picture.height());
    let off: f64 = mark
        .iter()
        .map(|&(x, y, v)| (f64::from(picture.get_pixel(x, y)[0]) - f64::from(v)).abs())
        .sum::<f64>()
        / mark.len().max(1) as f64;
    !mark.is_empty() && off < 40.0
}

/// `mimic live` on d0 played as a camera through a card-less style model (y = −x), sending
/// to `url`, headless; its JSON report and stderr.
fn live_to(dir: &std::path::Path, url: &str) -> (serde_json::Value, String) {
    let model = negation(dir, "negative", vec![1, 3, 256, 256]);
    LiveRun::new(&model, &testdata("video/d0.mp4"))
        .mode("stylize")
        .realtime()
        .headless()
        .flag("--output", url)
        .report_and_stderr()
}

/// The whole live path into UDP, read by a real receiver: the pictures arrive at the
/// output's size, about as many as were sent, marked as synthetic.
#[test]
fn live_sends_marked_pictures_that_a_receiver_decodes() {
    let dir = scratch("stream-live");
    let (port, receiver) = udp_receiver();
    let (report, stderr) = live_to(&dir, &format!("udp://127.0.0.1:{port}"));
    let output = &report["outputs"][0];
    assert_eq!(output["url"], format!("udp://127.0.0.1:{port}"), "{report}");
    let sent = output["sent"].as_u64().unwrap();
    let frames = report["frames"].as_u64().unwrap();
    assert!(
        sent + output["dropped"].as_u64().unwrap() >= frames,
        "{report}"
    );
    assert!(sent >= frames * 9 / 10, "{report}");
    let received = receiver.join().unwrap();
    assert!(
        received.len() as u64 + 2 >= sent,
        "{} of {sent} pictures arrived; {stderr}",
        received.len()
    );
    let last = received.last().unwrap();
    assert_eq!(
        last.dimensions(),
        (512, 512),
        "the stylised frame at its own size"
    );
    assert!(shows_mark(last), "the stream carries the synthetic mark");
}

/// A receiver that never listens: the run finishes and the output says it sent nothing.
#[test]
fn a_receiver_that_never_listens_does_not_stop_the_run() {
    let dir = scratch("stream-nobody");
    let port = free_udp_port();
    let (report, stderr) = live_to(&dir, &format!("udp://127.0.0.1:{port}"));
    let output = &report["outputs"][0];
    let frames = report["frames"].as_u64().unwrap();
    assert!(
        output["dropped"].as_u64().unwrap() >= frames / 2,
        "{report}"
    );
    assert!(stderr.contains("the run goes on"), "{stderr}");
    assert_eq!(
        stderr.matches("cannot send to").count(),
        1,
        "said once: {stderr}"
    );
}

/// A receiver that goes away after 20 pictures: the run finishes, and the pictures after it
/// left count as dropped.
#[test]
fn a_receiver_that_goes_away_does_not_stop_the_run() {
    let dir = scratch("stream-gone");
    let port = free_udp_port();
    let url = format!("udp://127.0.0.1:{port}?timeout=3000000");
    let receiver = std::thread::spawn(move || {
        let mut reader = VideoReader::open_url(&url).unwrap();
        (0..20)
            .filter(|_| matches!(reader.next_frame(), Ok(Some(_))))
            .count()
    });
    std::thread::sleep(Duration::from_millis(300));
    let (report, _) = live_to(&dir, &format!("udp://127.0.0.1:{port}"));
    assert_eq!(receiver.join().unwrap(), 20);
    let output = &report["outputs"][0];
    let (sent, dropped) = (
        output["sent"].as_u64().unwrap(),
        output["dropped"].as_u64().unwrap(),
    );
    assert!(sent >= 20 && dropped >= 10, "{report}");
}

/// Where a v4l2loopback device exists, pictures sent into it as into a camera come back out
/// of it through mimic's own camera capture; where none exists (the test machines), the test
/// is ignored and says why in the summary (build.rs looks for the module).
#[test]
#[cfg_attr(
    not(v4l2_loopback),
    ignore = "no v4l2loopback virtual camera on this machine (`modprobe v4l2loopback` makes one)"
)]
fn a_virtual_camera_gives_back_the_pictures_sent_into_it() {
    let device = mimic::output::devices::video_devices()
        .into_iter()
        .find(|d| d.loopback && d.output)
        .expect("v4l2loopback is loaded, so it made a device this user can open");
    let index: u32 = device
        .path
        .to_string_lossy()
        .trim_start_matches("/dev/video")
        .parse()
        .expect("a /dev/videoN path");
    let frames = d0_small();
    let sending = {
        let (path, frames) = (device.path.clone(), frames.clone());
        std::thread::spawn(move || {
            let options = square(256, vec![]);
            let mut camera = StreamWriter::open(&Destination::Camera(path), &options).unwrap();
            // About five seconds of d0 at 30 fps, so the reader finds a producer there.
            for i in 0..150 {
                let t = Duration::from_secs_f64(i as f64 / 30.0);
                camera.send(&frames[i % frames.len()], t).unwrap();
                std::thread::sleep(Duration::from_millis(33));
            }
            camera.finish().unwrap();
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let source = mimic::capture::LiveSource::camera(index, None, None).unwrap();
    let frame = source
        .next_frame(Duration::from_secs(5))
        .expect("a frame back from the virtual camera");
    assert_eq!(frame.image.dimensions(), (256, 256));
    let best = frames
        .iter()
        .map(|sent| psnr(sent, &frame.image))
        .fold(0.0, f64::max);
    assert!(
        best > 25.0,
        "the frame read back is one sent ({best:.1} dB)"
    );
    source.finish().unwrap();
    sending.join().unwrap();
}

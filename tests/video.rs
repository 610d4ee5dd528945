//! Reading and writing video on the real clips of `../shared/testdata/video`.

mod common;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::live::LiveRun;
use image::codecs::gif::{GifEncoder, Repeat};
use image::imageops::{self, FilterType};
use image::{Delay, DynamicImage};
use mimic::frame::{Frame, Rgb8};
use mimic::video::{ReaderOptions, VideoError, VideoReader, VideoWriter, WriterOptions};

const D0_FRAMES: usize = 78;

fn testdata(name: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/testdata/video"
    ))
    .join(name)
}

fn read_all(path: &Path) -> Vec<Frame> {
    let reader = VideoReader::open(path).expect("video opens");
    reader
        .collect::<Result<Vec<_>, _>>()
        .expect("every frame decodes")
}

fn d0_frames() -> Vec<Frame> {
    read_all(&testdata("d0.mp4"))
}

/// Writes `images` at `fps` into `path` and finishes the file.
fn record(path: &Path, images: &[Rgb8], options: WriterOptions) -> u64 {
    let mut writer = VideoWriter::create(path, options).expect("writer starts");
    for image in images {
        writer.write(image).expect("frame is written");
    }
    writer.finish().expect("recording finishes").frames
}

fn images(frames: &[Frame]) -> Vec<Rgb8> {
    frames.iter().map(|frame| frame.image.clone()).collect()
}

fn psnr(a: &Rgb8, b: &Rgb8) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let squared: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    let mse = squared / a.as_raw().len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

#[test]
fn d0_decodes_to_78_frames_in_time_order() {
    let reader = VideoReader::open(&testdata("d0.mp4")).unwrap();
    let info = reader.info().clone();
    assert_eq!((info.width, info.height), (512, 512));
    assert!((info.fps - 25.0).abs() < 1e-9, "fps {}", info.fps);
    assert_eq!(info.frame_count, Some(78));
    assert!(!info.has_audio);

    let frames: Vec<Frame> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(frames.len(), D0_FRAMES);
    assert_eq!(frames[0].t, Duration::ZERO);
    assert_eq!(frames[1].t, Duration::from_millis(40));
    for (i, pair) in frames.windows(2).enumerate() {
        assert_eq!(pair[0].index, i as u64);
        assert!(pair[1].t > pair[0].t, "time goes back at frame {}", i + 1);
    }
    assert!(frames.iter().all(|f| f.image.dimensions() == (512, 512)));
    // Not a blank decode: the green screen is there.
    let [r, g, b] = frames[0].image.get_pixel(5, 5).0;
    assert!(g > r && g > b, "corner pixel {:?}", [r, g, b]);
}

#[test]
fn written_video_reads_back_with_the_same_frames() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d0.mp4");
    let originals = d0_frames();
    let written = record(
        &out,
        &images(&originals),
        WriterOptions::new(512, 512, 25.0),
    );
    assert_eq!(written, D0_FRAMES as u64);

    let reader = VideoReader::open(&out).unwrap();
    assert_eq!((reader.info().width, reader.info().height), (512, 512));
    assert!((reader.info().fps - 25.0).abs() < 0.01);
    let copies: Vec<Frame> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(copies.len(), D0_FRAMES);
    assert_eq!(copies[25].t, Duration::from_secs(1));
    let mean_psnr = originals
        .iter()
        .zip(&copies)
        .map(|(a, b)| psnr(&a.image, &b.image))
        .sum::<f64>()
        / D0_FRAMES as f64;
    assert!(mean_psnr >= 35.0, "mean PSNR {mean_psnr:.2} dB");
}

#[test]
fn conversion_keeps_audio_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let source = testdata("WDA_KatieHill_000.mp4");
    let out = dir.path().join("converted.mp4");
    let frames = read_all(&source);
    assert!(VideoReader::open(&source).unwrap().info().has_audio);

    let options = WriterOptions {
        audio_from: Some(source.clone()),
        metadata: vec![
            ("comment".into(), "synthetic media made with mimic".into()),
            ("title".into(), "mimic test".into()),
        ],
        ..WriterOptions::new(512, 512, 25.0)
    };
    let summary_frames = record(&out, &images(&frames), options);
    assert_eq!(summary_frames, 200);

    let reader = VideoReader::open(&out).unwrap();
    assert!(reader.info().has_audio, "the audio stream was lost");
    let tags = reader.metadata();
    let tag = |key: &str| tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    assert_eq!(tag("comment"), Some("synthetic media made with mimic"));
    assert_eq!(tag("title"), Some("mimic test"));
    assert_eq!(reader.count(), 200);
}

#[test]
fn source_without_audio_gives_a_silent_recording() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("silent.mp4");
    let frames = d0_frames();
    let options = WriterOptions {
        audio_from: Some(testdata("d0.mp4")),
        ..WriterOptions::new(512, 512, 25.0)
    };
    record(&out, &images(&frames[..10]), options);
    let reader = VideoReader::open(&out).unwrap();
    assert!(!reader.info().has_audio);
    assert_eq!(reader.count(), 10);
}

/// One second of a 440 Hz tone as 16-bit PCM in a WAV file: audio that MP4 cannot hold.
fn write_pcm_wav(path: &Path) {
    let rate: u32 = 8000;
    let samples: Vec<u8> = (0..rate)
        .flat_map(|i| {
            let x = (i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin();
            ((x * 8000.0) as i16).to_le_bytes()
        })
        .collect();
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + samples.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    wav.extend_from_slice(&samples);
    std::fs::write(path, wav).unwrap();
}

#[test]
fn audio_mp4_cannot_hold_is_dropped_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    write_pcm_wav(&wav);
    let out = dir.path().join("no_pcm.mp4");
    let frames = d0_frames();
    let options = WriterOptions {
        audio_from: Some(wav),
        ..WriterOptions::new(512, 512, 25.0)
    };
    record(&out, &images(&frames[..25]), options);
    let reader = VideoReader::open(&out).unwrap();
    assert!(!reader.info().has_audio);
    assert_eq!(reader.count(), 25);
}

const KILL_ENV: &str = "MIMIC_TEST_KILLED_RECORDING";
const READY: &str = "mimic-recording-written";

/// Run by `killed_recording_still_plays` in a child process: records d0 and waits to be
/// killed.
#[test]
#[ignore = "helper: runs in a child process of killed_recording_still_plays"]
fn killed_recording_helper() {
    let Some(out) = std::env::var_os(KILL_ENV) else {
        return;
    };
    let frames = d0_frames();
    let mut writer = VideoWriter::create(Path::new(&out), WriterOptions::new(512, 512, 25.0))
        .expect("writer starts");
    for frame in &frames {
        writer.write(&frame.image).expect("frame is written");
    }
    println!("{READY}");
    std::io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn killed_recording_still_plays() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("killed.mp4");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "killed_recording_helper",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(KILL_ENV, &out)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let ready = stdout
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains(READY));
    child.kill().unwrap(); // SIGKILL: no destructor, no trailer
    child.wait().unwrap();
    assert!(ready, "the recording child did not get to write its frames");

    // 78 frames at 25 fps with a keyframe every 25: frames 0..75 are in complete fragments.
    let frames = read_all(&out);
    assert!(frames.len() >= 75, "only {} frames survived", frames.len());
    assert!(frames.iter().all(|f| f.image.dimensions() == (512, 512)));
}

#[test]
fn dropped_writer_finishes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dropped.mp4");
    let frames = d0_frames();
    {
        let mut writer = VideoWriter::create(&out, WriterOptions::new(512, 512, 25.0)).unwrap();
        for frame in &frames[..30] {
            writer.write(&frame.image).unwrap();
        }
    }
    assert_eq!(read_all(&out).len(), 30);
}

#[test]
fn odd_sizes_are_cropped_to_even() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("odd.mp4");
    let small: Vec<Rgb8> = d0_frames()[..12]
        .iter()
        .map(|f| imageops::resize(&f.image, 101, 75, FilterType::Triangle))
        .collect();
    record(&out, &small, WriterOptions::new(101, 75, 30.0));
    let frames = read_all(&out);
    assert_eq!(frames.len(), 12);
    assert!(frames.iter().all(|f| f.image.dimensions() == (100, 74)));
    let cropped = imageops::crop_imm(&small[6], 0, 0, 100, 74).to_image();
    assert!(psnr(&cropped, &frames[6].image) > 30.0);
}

#[test]
fn image_folder_reads_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let frames = d0_frames();
    let chosen = [0usize, 20, 40, 60, 77];
    for (i, &k) in chosen.iter().enumerate() {
        // Names sort in the order written; a non-image file must be skipped.
        frames[k]
            .image
            .save(dir.path().join(format!("frame_{i:03}.png")))
            .unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();

    let options = ReaderOptions { folder_fps: 10.0 };
    let reader = VideoReader::open_with(dir.path(), options).unwrap();
    assert_eq!(reader.info().frame_count, Some(5));
    assert_eq!((reader.info().width, reader.info().height), (512, 512));
    assert_eq!(reader.info().fps, 10.0);
    let read: Vec<Frame> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(read.len(), chosen.len());
    for (i, (frame, &k)) in read.iter().zip(&chosen).enumerate() {
        assert_eq!(frame.index, i as u64);
        assert_eq!(frame.t, Duration::from_millis(100 * i as u64));
        assert!(frame.image == frames[k].image, "frame {i} is not image {k}");
    }
}

#[test]
fn gif_reads_back_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.gif");
    // An odd width exercises the row-by-row copy out of FFmpeg's padded rows.
    let small: Vec<Rgb8> = d0_frames()
        .iter()
        .step_by(13)
        .map(|f| imageops::resize(&f.image, 129, 97, FilterType::Triangle))
        .collect();
    {
        let mut encoder = GifEncoder::new_with_speed(File::create(&path).unwrap(), 30);
        encoder.set_repeat(Repeat::Infinite).unwrap();
        for image in &small {
            let rgba = DynamicImage::ImageRgb8(image.clone()).into_rgba8();
            let delay = Delay::from_numer_denom_ms(100, 1);
            encoder
                .encode_frame(image::Frame::from_parts(rgba, 0, 0, delay))
                .unwrap();
        }
    }
    let frames = read_all(&path);
    assert_eq!(frames.len(), small.len());
    assert_eq!(frames[1].t, Duration::from_millis(100));
    for (frame, image) in frames.iter().zip(&small) {
        assert_eq!(frame.image.dimensions(), (129, 97));
        assert!(psnr(&frame.image, image) > 20.0);
    }
}

#[test]
fn bad_inputs_are_errors() {
    let dir = tempfile::tempdir().unwrap();

    let missing = VideoReader::open(&dir.path().join("missing.mp4"));
    assert!(matches!(missing, Err(VideoError::NotFound { .. })));

    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "this is a text file, not a video\n".repeat(50)).unwrap();
    let err = VideoReader::open(&text)
        .err()
        .expect("a text file is not a video");
    assert!(err.to_string().contains("notes.mp4"), "{err}");

    let truncated = dir.path().join("truncated.mp4");
    let d0 = std::fs::read(testdata("d0.mp4")).unwrap();
    std::fs::write(&truncated, &d0[..2048]).unwrap();
    assert!(VideoReader::open(&truncated).is_err());

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = VideoReader::open(&empty)
        .err()
        .expect("an empty folder is no video");
    assert!(matches!(err, VideoError::EmptyFolder { .. }), "{err}");
}

/// Katie Hill's sound alone, copied packet for packet by FFmpeg's libraries into an M4A: a file with
/// sound and no picture.
fn sound_alone(to: &Path) {
    use ffmpeg_next::{codec, encoder, format, media, Packet};
    ffmpeg_next::init().unwrap();
    let mut input = format::input(&testdata("WDA_KatieHill_000.mp4")).unwrap();
    let audio = input
        .streams()
        .best(media::Type::Audio)
        .expect("the clip has sound");
    let (index, time_base, parameters) = (audio.index(), audio.time_base(), audio.parameters());
    let mut output = format::output(&to).unwrap();
    let mut stream = output.add_stream(encoder::find(codec::Id::None)).unwrap();
    stream.set_parameters(parameters);
    output.write_header().unwrap();
    let out_time_base = output.stream(0).unwrap().time_base();
    loop {
        let mut packet = Packet::empty();
        if packet.read(&mut input).is_err() {
            break;
        }
        if packet.stream() != index {
            continue;
        }
        packet.rescale_ts(time_base, out_time_base);
        packet.set_stream(0);
        packet.set_position(-1);
        packet.write_interleaved(&mut output).unwrap();
    }
    output.write_trailer().unwrap();
}

/// A file with sound and no picture: a sentence that says so, from the reader and from the
/// live command (exit status 2, nothing recorded).
#[test]
fn a_file_with_sound_and_no_picture_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sound = dir.path().join("sound.m4a");
    sound_alone(&sound);
    let err = VideoReader::open(&sound)
        .err()
        .expect("no picture, no video");
    assert!(matches!(err, VideoError::NoVideoStream { .. }), "{err}");

    let out = dir.path().join("out.mp4");
    let run = LiveRun::new(Path::new("unused.onnx"), &sound)
        .record(&out)
        .headless()
        .run();
    let stderr = common::refusal(&run);
    assert!(stderr.contains("has no video stream"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn bad_images_in_a_folder_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let frames = d0_frames();
    frames[0].image.save(dir.path().join("a.png")).unwrap();
    imageops::resize(&frames[1].image, 64, 64, FilterType::Nearest)
        .save(dir.path().join("b.png"))
        .unwrap();
    let mut reader = VideoReader::open(dir.path()).unwrap();
    assert!(reader.next_frame().unwrap().is_some());
    let err = reader
        .next_frame()
        .expect_err("a smaller image is an error");
    assert!(matches!(err, VideoError::ImageSize { .. }), "{err}");
    assert!(
        reader.next_frame().unwrap().is_none(),
        "reader ends after an error"
    );

    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join("a.png"), b"not a png").unwrap();
    let err = VideoReader::open(broken.path())
        .err()
        .expect("a broken image is an error");
    assert!(matches!(err, VideoError::Image { .. }), "{err}");
}

#[test]
fn unwritable_outputs_are_errors_and_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let options = || WriterOptions::new(64, 64, 25.0);

    let no_folder = dir.path().join("no/such/folder/out.mp4");
    let err = VideoWriter::create(&no_folder, options())
        .err()
        .expect("no folder");
    assert!(matches!(err, VideoError::Create { .. }), "{err}");
    assert!(err.to_string().contains("out.mp4"), "{err}");
    assert!(!no_folder.exists());

    // Root can write anywhere, so a path through a regular file is the read-only case.
    let file = dir.path().join("file.txt");
    std::fs::write(&file, "x").unwrap();
    let through_file = file.join("out.mp4");
    assert!(VideoWriter::create(&through_file, options()).is_err());

    let bad_size = dir.path().join("bad_size.mp4");
    assert!(VideoWriter::create(&bad_size, WriterOptions::new(0, 64, 25.0)).is_err());
    assert!(VideoWriter::create(&bad_size, WriterOptions::new(64, 64, 0.0)).is_err());
    assert!(!bad_size.exists());

    let missing_audio = dir.path().join("missing_audio.mp4");
    let with_missing_audio = WriterOptions {
        audio_from: Some(dir.path().join("nothing.mp4")),
        ..options()
    };
    assert!(VideoWriter::create(&missing_audio, with_missing_audio).is_err());
    assert!(!missing_audio.exists(), "a failed create left its file");
}

#[test]
fn pictures_of_the_wrong_size_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sized.mp4");
    let mut writer = VideoWriter::create(&out, WriterOptions::new(64, 64, 25.0)).unwrap();
    let err = writer.write(&Rgb8::new(32, 64)).expect_err("wrong size");
    assert!(matches!(err, VideoError::FrameSize { .. }), "{err}");
    writer.write(&Rgb8::new(64, 64)).unwrap();
    assert_eq!(writer.finish().unwrap().frames, 1);
}

#[test]
fn readers_and_writers_can_move_to_other_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<VideoReader>();
    assert_send::<VideoWriter>();
}

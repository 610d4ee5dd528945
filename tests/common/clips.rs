//! Frames with several people, composed from testdata's talking heads: two side by side who
//! change places, two who pass each other while one comes closer and the other moves away,
//! and four in a grid; written to an MP4 where a command reads them.

use std::path::Path;

use image::imageops::{replace, resize, FilterType};
use mimic::frame::Rgb8;
use mimic::video::{VideoReader, VideoWriter, WriterOptions};

use super::testdata;

/// Alexandria Ocasio-Cortez's talking head (512×512).
pub const AOC: &str = "video/WDA_AlexandriaOcasioCortez_000.mp4";
/// Katie Hill's talking head (512×512).
pub const KH: &str = "video/WDA_KatieHill_000.mp4";

/// The `i`-th frame of a clip at 25 fps, as a session takes it.
pub fn frame(i: usize, image: Rgb8) -> mimic::frame::Frame {
    mimic::frame::Frame::new(
        i as u64,
        std::time::Duration::from_millis(40 * i as u64),
        image,
    )
}

/// The first `frames` frames of a testdata clip.
pub fn read(clip: &str, frames: usize) -> Vec<Rgb8> {
    VideoReader::open(&testdata(clip))
        .unwrap()
        .take(frames)
        .map(|f| f.unwrap().image)
        .collect()
}

fn scaled(image: &Rgb8, side: u32) -> Rgb8 {
    resize(image, side, side, FilterType::Triangle)
}

/// AOC | KH side by side (1024×512), who swap places halfway (KH | AOC): a cut.
pub fn two_people(frames: usize) -> Vec<Rgb8> {
    let (a, b) = (read(AOC, frames), read(KH, frames));
    (0..frames)
        .map(|i| {
            let (left, right) = match i < frames / 2 {
                true => (&a[i], &b[i]),
                false => (&b[i], &a[i]),
            };
            let mut both = Rgb8::new(1024, 512);
            replace(&mut both, left, 0, 0);
            replace(&mut both, right, 512, 0);
            both
        })
        .collect()
}

/// Where each person of [`passing`] is in frame `i` of `frames`: the left and top of their
/// square, and its side.
pub fn passing_at(i: usize, frames: usize) -> [(u32, u32, u32); 2] {
    let s = i as f32 / (frames - 1).max(1) as f32;
    let big = |s: f32| (300.0 - 90.0 * s).round() as u32;
    let (a, b) = (big(s), big(1.0 - s));
    let x = |s: f32, side: u32| ((900 - side) as f32 * s).round() as u32;
    [(x(s, a), 0, a), (x(1.0 - s, b), 300, b)]
}

/// AOC (above) moving left to right and shrinking, KH (below) moving right to left and
/// growing, on a 900×600 frame: they pass each other halfway, where the larger of the two
/// changes too, so neither place in size nor the side of the frame tells who is who.
pub fn passing(frames: usize) -> Vec<Rgb8> {
    let (a, b) = (read(AOC, frames), read(KH, frames));
    (0..frames)
        .map(|i| {
            let mut both = Rgb8::from_pixel(900, 600, image::Rgb([40, 40, 40]));
            let [(ax, ay, aside), (bx, by, bside)] = passing_at(i, frames);
            replace(&mut both, &scaled(&a[i], aside), ax.into(), ay.into());
            replace(&mut both, &scaled(&b[i], bside), bx.into(), by.into());
            both
        })
        .collect()
}

/// AOC, KH, d9 and d3 in a 2×2 grid of `side`-pixel squares.
pub fn four_people(frames: usize, side: u32) -> Vec<Rgb8> {
    let clips: Vec<Vec<Rgb8>> = [AOC, KH, "video/d9.mp4", "video/d3.mp4"]
        .iter()
        .map(|c| read(c, frames))
        .collect();
    (0..frames)
        .map(|i| {
            let mut grid = Rgb8::new(2 * side, 2 * side);
            for (k, clip) in clips.iter().enumerate() {
                let (x, y) = ((k as u32 % 2) * side, (k as u32 / 2) * side);
                replace(&mut grid, &scaled(&clip[i], side), x.into(), y.into());
            }
            grid
        })
        .collect()
}

/// Writes `frames` as an MP4 at 25 fps.
pub fn write(frames: &[Rgb8], path: &Path) {
    let (w, h) = frames[0].dimensions();
    let mut writer = VideoWriter::create(path, WriterOptions::new(w, h, 25.0)).unwrap();
    for frame in frames {
        writer.write(frame).unwrap();
    }
    writer.finish().unwrap();
}

/// Where [`occluded`]'s object is in frame `i`: its left, top, width and height (none before
/// frame 20 and from frame 90 on, while it is below the frame).
pub fn occluder_at(i: usize) -> Option<(u32, u32, u32, u32)> {
    let top = match i {
        0..20 => return None,
        20..40 => 512 - (i as u32 - 20) * 11,
        40..70 => 292,
        _ => 292 + (i as u32 - 70) * 11,
    };
    (top < 512).then_some((150, top, 220, 140.min(512 - top)))
}

/// Katie Hill talking while a real object (the blue frisbee and the fur above it, from
/// testdata's photo of dogs) rises in front of her mouth and chin (frames 20–40), is held
/// there (to 70) and goes down again (gone by 90).
pub fn occluded(frames: usize) -> Vec<Rgb8> {
    let dogs = image::open(testdata("faces/dlib/dogs.jpg"))
        .unwrap()
        .to_rgb8();
    let object = image::imageops::crop_imm(&dogs, 500, 310, 220, 140).to_image();
    read(KH, frames)
        .into_iter()
        .enumerate()
        .map(|(i, mut frame)| {
            if let Some((x, y, w, h)) = occluder_at(i) {
                let shown = image::imageops::crop_imm(&object, 0, 0, w, h).to_image();
                replace(&mut frame, &shown, x.into(), y.into());
            }
            frame
        })
        .collect()
}

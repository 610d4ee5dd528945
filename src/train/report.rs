//! What a training run shows while it runs: preview grids (input | output | target, like the
//! book's `plot_sample_images`) and the loss curves as CSV and PNG.

use std::io::Write;
use std::path::{Path, PathBuf};

use image::{imageops, Rgb};

use super::run::write_error;
use super::TrainError;
use crate::frame::Rgb8;
use crate::geometry::Point;
use crate::reenact::sketch::draw_segment;

/// Rows of pictures of one size side by side, one row per sample (pix2pix: input, output,
/// target).
pub fn preview_grid<R: AsRef<[Rgb8]>>(rows: &[R]) -> Rgb8 {
    let first = rows.first().and_then(|r| r.as_ref().first());
    let side = first.map_or(1, |image| image.width());
    let columns = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(1) as u32;
    let mut grid = Rgb8::new(side * columns, side * rows.len().max(1) as u32);
    for (y, row) in rows.iter().enumerate() {
        for (x, image) in row.as_ref().iter().enumerate() {
            imageops::replace(
                &mut grid,
                image,
                i64::from(side) * x as i64,
                i64::from(side) * y as i64,
            );
        }
    }
    grid
}

/// Writes the grid of `rows` as `dir/preview_STEP.png` and returns its path.
pub fn save_preview<R: AsRef<[Rgb8]>>(
    rows: &[R],
    dir: &Path,
    step: u64,
) -> Result<PathBuf, TrainError> {
    let path = dir.join(format!("preview_{step:06}.png"));
    crate::frame::save_png_with_text(
        &preview_grid(rows),
        &path,
        &crate::output::compose::SYNTHETIC_PNG_TEXT,
    )
    .map_err(|e| write_error(&path, e))?;
    Ok(path)
}

/// One row of the loss log: `N` values at a step.
#[derive(Debug, Clone, Copy)]
pub struct LossRecord<const N: usize> {
    pub step: u64,
    pub values: [f32; N],
    pub seconds: f64,
}

/// The loss log of a run: appended to `losses.csv`, drawn to `losses.png`.
pub struct LossLog<const N: usize> {
    csv: PathBuf,
    names: [&'static str; N],
    records: Vec<LossRecord<N>>,
}

/// Colours of the curves, in column order.
const COLOURS: [Rgb<u8>; 4] = [
    Rgb([230, 80, 60]),
    Rgb([60, 140, 230]),
    Rgb([60, 180, 90]),
    Rgb([150, 90, 200]),
];

impl<const N: usize> LossLog<N> {
    /// Opens the log in `dir`, keeping earlier records when resuming and starting anew
    /// otherwise.
    pub fn open(
        dir: &Path,
        names: [&'static str; N],
        resume_from: Option<u64>,
    ) -> Result<LossLog<N>, TrainError> {
        let csv = dir.join("losses.csv");
        let mut records = Vec::new();
        if let Some(step) = resume_from {
            records = read_records(&csv)
                .into_iter()
                .filter(|r| r.step <= step)
                .collect();
        }
        let mut log = LossLog {
            csv,
            names,
            records,
        };
        log.rewrite()?;
        Ok(log)
    }

    pub fn push(&mut self, record: LossRecord<N>) -> Result<(), TrainError> {
        self.records.push(record);
        let line = csv_line(&record);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&self.csv)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .map_err(|e| write_error(&self.csv, e))
    }

    fn rewrite(&mut self) -> Result<(), TrainError> {
        let mut text = format!("step,{},seconds\n", self.names.join(","));
        for r in &self.records {
            text.push_str(&csv_line(r));
        }
        std::fs::write(&self.csv, text).map_err(|e| write_error(&self.csv, e))
    }

    /// Draws the smoothed curves (each scaled to its own maximum, so all three read on one
    /// chart; the CSV has the values) and writes `losses.png` beside the CSV.
    pub fn plot(&self) -> Result<PathBuf, TrainError> {
        let path = self.csv.with_file_name("losses.png");
        crate::frame::save_png(&plot(&self.records), &path).map_err(|e| write_error(&path, e))?;
        Ok(path)
    }
}

fn csv_line<const N: usize>(r: &LossRecord<N>) -> String {
    let values: Vec<String> = r.values.iter().map(f32::to_string).collect();
    format!("{},{},{:.1}\n", r.step, values.join(","), r.seconds)
}

const PLOT_W: u32 = 720;
const PLOT_H: u32 = 360;
const MARGIN: f32 = 24.0;

fn plot<const N: usize>(records: &[LossRecord<N>]) -> Rgb8 {
    let mut image = Rgb8::from_pixel(PLOT_W, PLOT_H, Rgb([255, 255, 255]));
    let (w, h) = (PLOT_W as f32 - 2.0 * MARGIN, PLOT_H as f32 - 2.0 * MARGIN);
    let grey = Rgb([220, 220, 220]);
    for i in 0..=4 {
        let y = MARGIN + h * i as f32 / 4.0;
        draw_segment(
            &mut image,
            Point::new(MARGIN, y),
            Point::new(MARGIN + w, y),
            1.0,
            grey,
        );
    }
    let Some(last) = records.last() else {
        return image;
    };
    let steps = last.step.max(1) as f32;
    for curve in 0..N {
        let colour = &COLOURS[curve % COLOURS.len()];
        let values = smoothed(records.iter().map(|r| r.values[curve]));
        let max = values.iter().copied().fold(f32::MIN_POSITIVE, f32::max);
        let point = |r: &LossRecord<N>, v: f32| {
            Point::new(
                MARGIN + w * r.step as f32 / steps,
                MARGIN + h * (1.0 - v / max),
            )
        };
        for (pair, v) in records.windows(2).zip(values.windows(2)) {
            draw_segment(
                &mut image,
                point(&pair[0], v[0]),
                point(&pair[1], v[1]),
                1.5,
                *colour,
            );
        }
        // A legend swatch per curve, top left, in CSV column order.
        let x = MARGIN + 8.0 + 24.0 * curve as f32;
        let (a, b) = (
            Point::new(x, MARGIN / 2.0),
            Point::new(x + 16.0, MARGIN / 2.0),
        );
        draw_segment(&mut image, a, b, 4.0, *colour);
    }
    image
}

/// An exponential moving average over about a fiftieth of the run: a GAN's per-step losses
/// jump too much to read a trend from (the CSV keeps every raw value).
fn smoothed(values: impl ExactSizeIterator<Item = f32>) -> Vec<f32> {
    let window = (values.len() / 50).max(1) as f32;
    let alpha = 2.0 / (window + 1.0);
    let mut average: Option<f32> = None;
    values
        .map(|v| {
            let next = average.map_or(v, |a| a + alpha * (v - a));
            average = Some(next);
            next
        })
        .collect()
}

fn read_records<const N: usize>(csv: &Path) -> Vec<LossRecord<N>> {
    let Ok(text) = std::fs::read_to_string(csv) else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let v: Vec<&str> = line.split(',').collect();
            let values: Vec<f32> = (1..=N)
                .map(|i| v.get(i)?.parse().ok())
                .collect::<Option<_>>()?;
            Some(LossRecord {
                step: v.first()?.parse().ok()?,
                values: values.try_into().ok()?,
                seconds: v.get(N + 1)?.parse().ok()?,
            })
        })
        .collect()
}

//! Calibration: a driver's neutral face, taken once from a couple of seconds of a still,
//! frontal face and kept as a small TOML profile (`calibration/NAME.toml`) that retargeting
//! measures their expressions against. A profile holds the neutral shape in the canonical frame
//! of [`crate::reenact::retarget`], the neutral head pose, what it was recorded from, and when.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::face::{Face, HeadPose, Landmarks};
use crate::files::{self, FileError};
use crate::geometry::quantile;
use crate::reenact::retarget::{canonical_anchor, median_shape, shape_of, Shape, STABLE};

/// What a profile says it is in its `format` field.
pub const FORMAT: &str = "mimic-calibration";
/// The profile layout this mimic writes and reads.
pub const VERSION: u32 = 1;
/// The landmark scheme the neutral shape is in.
pub const LANDMARKS: &str = "ibug-68";

/// A calibration must see the face in at least this many frames (about half a second).
pub const MIN_FRAMES: usize = 10;
/// Largest turn (yaw) and tilt (roll) of a frontal face, degrees.
pub const MAX_TURN: f32 = 15.0;
/// Largest nod (pitch) of a frontal face, degrees: wider, as a webcam below or above the
/// screen looks up or down at a face that faces the screen.
pub const MAX_NOD: f32 = 25.0;
/// Largest turn away from the calibration's own median pose in a still face, degrees.
const MAX_WOBBLE: f32 = 12.0;
/// Largest mean distance of the landmarks from the neutral in a still face, in inter-ocular
/// distances of the canonical frame.
const MAX_SPREAD: f32 = 0.05;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read the calibration profile '{path}': {reason}")]
    Read { path: PathBuf, reason: String },
    #[error(transparent)]
    Write(#[from] FileError),
    #[error("'{path}' is a model card, not a calibration profile; make a profile with `mimic calibrate --out calibration/NAME.toml`")]
    ModelCard { path: PathBuf },
    #[error("'{path}' is not a mimic calibration profile (it lacks format = \"{FORMAT}\"); make one with `mimic calibrate --out calibration/NAME.toml`")]
    NotProfile { path: PathBuf },
    #[error("'{path}' is a version {found} calibration profile and this mimic reads version {VERSION}; make a new one with `mimic calibrate`")]
    Version { path: PathBuf, found: i64 },
    #[error("'{path}' holds {found} landmarks and mimic uses {LANDMARKS}; make a new profile with `mimic calibrate`")]
    Landmarks { path: PathBuf, found: String },
    #[error("'{path}' is incomplete or damaged ({reason}); make a new one with `mimic calibrate`")]
    Incomplete { path: PathBuf, reason: String },
    #[error("'{path}' holds a neutral face that is not in mimic's canonical frame (its eye corners and nose bridge are {off:.2} eye distances off); make a new one with `mimic calibrate`")]
    NotCanonical { path: PathBuf, off: f32 },
}

/// Why a calibration was refused: each says what to do differently.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    #[error("calibration took {frames} frames and needs at least {MIN_FRAMES} (about half a second of video): give it more time with --seconds")]
    TooShort { frames: usize },
    #[error("calibration saw a face in {faces} of {frames} frames and needs {MIN_FRAMES}: look at the camera, in good light, with your whole face in the picture, for the whole countdown")]
    TooFewFaces { faces: usize, frames: usize },
    #[error("several faces were in view in {several} of {frames} frames: calibration needs the driver alone in the picture")]
    SeveralFaces { several: usize, frames: usize },
    #[error("the face was turned away (yaw {:.0}°, pitch {:.0}°, roll {:.0}°): a neutral needs a still, frontal face, so look straight at the camera", pose.yaw, pose.pitch, pose.roll)]
    NotFrontal { pose: HeadPose },
    #[error("the head turned during calibration ({turned} of {faces} frames more than {MAX_WOBBLE:.0}° from the rest): a neutral needs a still, frontal face, so hold your head still and look at the camera")]
    Turning { turned: usize, faces: usize },
    #[error("the face moved or changed expression during calibration (landmarks {spread:.3} eye distances from the neutral on average, {MAX_SPREAD} allowed): hold a relaxed, neutral face for the whole countdown")]
    NotStill { spread: f32 },
}

/// The camera a profile was recorded with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Camera {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
}

/// A driver's neutral face, as written to `calibration/NAME.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// Always [`LANDMARKS`].
    pub landmarks: String,
    /// When it was recorded: UTC, ISO 8601.
    pub created: String,
    /// What it was recorded from: `camera N` or a video's path.
    pub source: String,
    /// Faces the neutral is the median of.
    pub frames: usize,
    /// How still the face was: mean landmark distance from the neutral, in eye distances.
    #[serde(serialize_with = "four_places")]
    pub spread: f32,
    pub camera: Camera,
    /// The neutral head pose, degrees.
    pub pose: HeadPose,
    /// The neutral shape: 68 `[x, y]` points in the canonical frame.
    pub neutral: Shape,
}

impl Profile {
    /// Reads and checks a profile.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError::Read {
            path: path.into(),
            reason: e.to_string(),
        })?;
        Profile::parse(&text, path)
    }

    /// A profile from its text (`path` for messages).
    pub fn parse(text: &str, path: &Path) -> Result<Profile, ProfileError> {
        let incomplete = |reason: String| ProfileError::Incomplete {
            path: path.into(),
            reason,
        };
        let table: toml::Table =
            toml::from_str(text).map_err(|e| incomplete(e.message().into()))?;
        if table.get("format").and_then(toml::Value::as_str) != Some(FORMAT) {
            return Err(
                if table.contains_key("kind") && table.contains_key("input") {
                    ProfileError::ModelCard { path: path.into() }
                } else {
                    ProfileError::NotProfile { path: path.into() }
                },
            );
        }
        match table.get("version").and_then(toml::Value::as_integer) {
            Some(v) if v == i64::from(VERSION) => {}
            Some(found) => {
                return Err(ProfileError::Version {
                    path: path.into(),
                    found,
                })
            }
            None => return Err(incomplete("no version".into())),
        }
        if let Some(found) = table.get("landmarks").and_then(toml::Value::as_str) {
            if found != LANDMARKS {
                return Err(ProfileError::Landmarks {
                    path: path.into(),
                    found: found.into(),
                });
            }
        }
        let profile: Profile = table
            .try_into()
            .map_err(|e: toml::de::Error| incomplete(e.message().trim().into()))?;
        let off = off_canonical(&profile.neutral);
        // NaN (a damaged number) is refused too.
        if off.is_nan() || off >= 0.1 {
            return Err(ProfileError::NotCanonical {
                path: path.into(),
                off,
            });
        }
        Ok(profile)
    }

    /// Writes the profile, atomically, with a comment saying what it is.
    pub fn save(&self, path: &Path) -> Result<(), ProfileError> {
        let body = toml::to_string(self).map_err(|e| FileError::Write {
            path: path.into(),
            reason: e.to_string(),
        })?;
        let text = format!(
            "# A driver's neutral face for `mimic live --calibration` (see calibration/README.md).\n{}",
            point_per_line(&body)
        );
        Ok(files::write_atomically(path, text.as_bytes())?)
    }
}

fn four_places<S: serde::Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((f64::from(*v) * 1e4).round() / 1e4)
}

/// The profile's text with the neutral's 68 points one to a line, so it reads as a list.
fn point_per_line(body: &str) -> String {
    body.lines()
        .map(|line| match line.strip_prefix("neutral = [[") {
            Some(rest) => {
                let points = rest.trim_end_matches("]]").split("], [");
                let rows: Vec<String> = points
                    .enumerate()
                    .map(|(i, p)| format!("    [{p}], # {i}"))
                    .collect();
                format!("neutral = [\n{}\n]", rows.join("\n"))
            }
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// How far a shape's stable points sit from where the canonical frame puts them, in eye
/// distances.
fn off_canonical(shape: &Shape) -> f32 {
    let anchor = canonical_anchor();
    let eyes = anchor[4].distance(anchor[7]);
    STABLE
        .iter()
        .zip(anchor)
        .map(|(&i, a)| shape.0[i].distance(a))
        .fold(0.0, f32::max)
        / eyes
}

/// Where a calibration is in its time line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// Seconds left before the neutral face is taken.
    Countdown(f64),
    /// The share of the neutral face taken so far.
    Taking(f64),
}

impl Phase {
    /// The phase `elapsed` seconds in, with `countdown` seconds to get ready and `seconds` of
    /// neutral face to take; `None` once it is all taken.
    pub fn at(elapsed: f64, countdown: f64, seconds: f64) -> Option<Phase> {
        if elapsed < countdown {
            Some(Phase::Countdown(countdown - elapsed))
        } else if elapsed < countdown + seconds {
            Some(Phase::Taking((elapsed - countdown) / seconds))
        } else {
            None
        }
    }

    /// What stderr says when the phase changes (headless runs).
    pub fn announcement(self) -> String {
        match self {
            Phase::Countdown(left) => format!("{:.0}…", left.ceil()),
            Phase::Taking(_) => "hold still with a relaxed, neutral face…".into(),
        }
    }
}

/// What one frame of a calibration showed, for the guide on screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sighting {
    NoFace,
    SeveralFaces(usize),
    TurnedAway(HeadPose),
    Frontal(HeadPose),
}

/// The frames of a calibration, gathered until it is finished.
#[derive(Debug, Default)]
pub struct Calibration {
    frames: usize,
    several: usize,
    faces: Vec<Landmarks>,
}

impl Calibration {
    /// Takes in the faces found in one frame.
    pub fn observe(&mut self, faces: &[Face]) -> Sighting {
        self.frames += 1;
        let sighting = sight(faces);
        match (sighting, faces) {
            (Sighting::SeveralFaces(_), _) => self.several += 1,
            (_, [face]) => self.faces.push(face.landmarks.clone()),
            _ => {}
        }
        sighting
    }

    /// Frames taken in so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The profile, if the frames showed one still, frontal face.
    pub fn finish(&self, source: String, camera: Camera) -> Result<Profile, CalibrationError> {
        let (frames, faces) = (self.frames, self.faces.len());
        if frames < MIN_FRAMES {
            return Err(CalibrationError::TooShort { frames });
        }
        if self.several * 4 >= frames.max(1) {
            return Err(CalibrationError::SeveralFaces {
                several: self.several,
                frames,
            });
        }
        let shapes: Vec<Shape> = self.faces.iter().filter_map(shape_of).collect();
        let neutral = match median_shape(&shapes) {
            Some(neutral) if shapes.len() >= MIN_FRAMES => neutral,
            _ => return Err(CalibrationError::TooFewFaces { faces, frames }),
        };
        let poses: Vec<HeadPose> = self.faces.iter().map(HeadPose::of).collect();
        let pose = median_pose(&poses);
        if !is_frontal(&pose) {
            return Err(CalibrationError::NotFrontal { pose });
        }
        let turned = poses
            .iter()
            .filter(|p| wobble(p, &pose) > MAX_WOBBLE)
            .count();
        if turned * 4 > faces {
            return Err(CalibrationError::Turning { turned, faces });
        }
        let spread = spread(&shapes, &neutral);
        if spread > MAX_SPREAD {
            return Err(CalibrationError::NotStill { spread });
        }
        Ok(Profile {
            format: FORMAT.into(),
            version: VERSION,
            landmarks: LANDMARKS.into(),
            created: utc_timestamp(SystemTime::now()),
            source,
            frames: shapes.len(),
            spread,
            camera,
            pose,
            neutral,
        })
    }
}

/// What a frame's faces amount to.
pub fn sight(faces: &[Face]) -> Sighting {
    match faces {
        [] => Sighting::NoFace,
        [face] => {
            let pose = HeadPose::of(&face.landmarks);
            if is_frontal(&pose) {
                Sighting::Frontal(pose)
            } else {
                Sighting::TurnedAway(pose)
            }
        }
        several => Sighting::SeveralFaces(several.len()),
    }
}

fn is_frontal(pose: &HeadPose) -> bool {
    pose.yaw.abs() <= MAX_TURN && pose.roll.abs() <= MAX_TURN && pose.pitch.abs() <= MAX_NOD
}

fn median_pose(poses: &[HeadPose]) -> HeadPose {
    let median = |f: fn(&HeadPose) -> f32| quantile(poses.iter().map(f).collect(), 0.5);
    HeadPose {
        yaw: median(|p| p.yaw),
        pitch: median(|p| p.pitch),
        roll: median(|p| p.roll),
    }
}

/// The largest angle between two poses, degrees.
fn wobble(p: &HeadPose, rest: &HeadPose) -> f32 {
    HeadPose {
        yaw: p.yaw - rest.yaw,
        pitch: p.pitch - rest.pitch,
        roll: p.roll - rest.roll,
    }
    .largest()
}

/// Mean distance of the shapes' points from the neutral's, in the neutral's eye distances
/// (the NME of each shape against it, averaged).
fn spread(shapes: &[Shape], neutral: &Shape) -> f32 {
    let neutral = Landmarks::new(neutral.0);
    let total: f32 = shapes
        .iter()
        .map(|s| Landmarks::new(s.0).nme(&neutral))
        .sum();
    total / shapes.len().max(1) as f32
}

/// `time` as UTC in ISO 8601 to the second (civil date from days since 1970, after Howard
/// Hinnant's algorithm).
pub fn utc_timestamp(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let at = |s: u64| utc_timestamp(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_795_737_599), "2026-11-26T23:59:59Z");
    }
}

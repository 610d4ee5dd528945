//! Reenactment, one frame at a time: the tracked driver's landmarks steadied over time, and either retargeted (the driver's expression carried onto the target's neutral
//! face at the target's framing) or framed the way the target was framed for training (the
//! book's way); then drawn as a sketch at the model's input size and turned into a frame of
//! the target by the generator.

use std::time::{Duration, Instant};

use super::Target;
use super::{PipelineError, Process, StageTimes, Tracked};
use crate::face::smooth::{OnRepeat, SmoothSettings, SteadyLandmarks};
use crate::face::Landmarks;
use crate::frame::change::FrameChange;
use crate::frame::{CropWindow, Rgb8};
use crate::geometry::{FaceBox, Similarity};
use crate::infer::Generator;
use crate::output::Control;
use crate::reenact::retarget::{
    AutoNeutral, DriverNeutral, Follow, Retarget, Shape, TargetNeutral,
};

/// Detections the driver's framing window is fixed from (about half a second).
const FRAMING_DETECTIONS: usize = 15;

/// The driver's window: fixed, like the target's, from the median of the first detections, so
/// head motion shows as motion inside the window rather than moving the window.
#[derive(Debug, Default)]
struct DriverFraming {
    boxes: Vec<FaceBox>,
    window: Option<CropWindow>,
}

impl DriverFraming {
    fn update(&mut self, bbox: FaceBox, frame: &Rgb8) -> CropWindow {
        if self.boxes.len() < FRAMING_DETECTIONS || self.window.is_none_or(|w| !w.fits(frame)) {
            self.boxes.push(bbox);
            self.window = CropWindow::around_faces(&self.boxes, frame.width(), frame.height());
        }
        self.window.unwrap_or(CropWindow::around(
            bbox.center(),
            bbox.width(),
            frame.width(),
            frame.height(),
        ))
    }
}

/// Retargeting in a session: the target's neutral from the card, the driver's from the first
/// frames (or a profile), the expression gain and how far the target follows.
#[derive(Debug, Clone)]
pub struct Retargeting {
    target: TargetNeutral,
    driver: AutoNeutral,
    gain: f32,
    follow: Follow,
}

impl Retargeting {
    pub fn new(target: TargetNeutral, gain: f32, follow: Follow) -> Retargeting {
        Retargeting {
            target,
            driver: AutoNeutral::default(),
            gain,
            follow,
        }
    }

    /// The same retargeting against a calibration profile's neutral shape.
    pub fn with_profile(self, profile: Shape) -> Retargeting {
        Retargeting {
            driver: AutoNeutral::with_profile(profile),
            ..self
        }
    }

    /// The same retargeting for a driver who is the target, framed as in training
    /// (self-reenactment): their rest pose is the target's, brought into the driver's picture
    /// by `to_model` (picture → model input pixels); their neutral shape the target's, unless a
    /// profile gave one.
    pub fn as_the_target(self, to_model: Similarity) -> Retargeting {
        let neutral = DriverNeutral {
            shape: self.driver.profile().unwrap_or(self.target.shape),
            rest: self.target.placement.inverse().after(&to_model),
        };
        Retargeting {
            driver: AutoNeutral::fixed(neutral),
            ..self
        }
    }

    /// The target's landmarks in model pixels for the driver's.
    pub fn apply(&mut self, driver: &Landmarks) -> Option<Landmarks> {
        let retarget = Retarget {
            driver: self.driver.observe(driver)?,
            target: self.target,
            gain: self.gain,
            follow: self.follow,
        };
        retarget.apply(driver)
    }
}

/// The driver's `landmarks` as the target is shown them (model input pixels, `size`): carried
/// onto the target's neutral by `retargeting`, or without it the driver's own, cut by the
/// framing `window`. `None` while retargeting is still taking the driver's neutral.
pub fn drawn_for_target(
    retargeting: Option<&mut Retargeting>,
    landmarks: &Landmarks,
    window: impl FnOnce() -> CropWindow,
    size: u32,
) -> Option<Landmarks> {
    match retargeting {
        Some(retargeting) => retargeting.apply(landmarks),
        None => {
            let window = window();
            Some(landmarks.map(|p| window.to_output(p, size)))
        }
    }
}

/// Turns driver frames into target frames, with every buffer allocated once.
pub struct Reenactor {
    target: Target,
    framing: DriverFraming,
    retargeting: Option<Retargeting>,
    steady: SteadyLandmarks,
    times: StageTimes,
}

impl Reenactor {
    /// `smoothing`: how to steady the driver's landmarks over time (`None`: raw);
    /// `retargeting`: carry the expression onto the target's neutral (`None`: the book's
    /// framing of the driver's own landmarks).
    pub fn new(
        target: Target,
        smoothing: Option<SmoothSettings>,
        retargeting: Option<Retargeting>,
    ) -> Reenactor {
        Reenactor {
            target,
            framing: DriverFraming::default(),
            retargeting,
            steady: SteadyLandmarks::new(smoothing, OnRepeat::CarryOn),
            times: StageTimes::default(),
        }
    }

    /// Shows the target the driver's face tracked in one frame, taken at `t` seconds;
    /// `Ok(false)` when it shows no face.
    fn reenact(&mut self, frame: &Rgb8, found: &Tracked, t: f64) -> Result<bool, PipelineError> {
        let tracked = Instant::now();
        self.times.tracked(found);
        self.times.faces = 0;
        if found.change == FrameChange::Cut {
            // Another shot: the driver sits elsewhere in it (or it is another person), so
            // where they sit and their rest pose are taken afresh, not carried across.
            self.framing = DriverFraming::default();
            self.recalibrate();
        }
        let Some((face, landmarks)) = found.steadied(0, &mut self.steady, t) else {
            self.times.prepare = Duration::ZERO;
            self.times.generator = Duration::ZERO;
            return Ok(false);
        };
        let size = self.target.generator().input_size();
        let framing = &mut self.framing;
        let window = || framing.update(face.bbox, frame);
        let Some(drawn) = drawn_for_target(self.retargeting.as_mut(), landmarks, window, size)
        else {
            self.times.prepare = Duration::ZERO;
            self.times.generator = Duration::ZERO;
            return Ok(false);
        };
        let shown = self.target.show(&drawn)?;
        // Retargeting and framing count with the sketch and the reference's warp.
        self.times.prepare = tracked.elapsed().saturating_sub(shown.generator);
        self.times.generator = shown.generator;
        self.times.faces = 1;
        Ok(true)
    }

    /// Takes the driver's neutral face again from the next frames (the `c` key).
    pub fn recalibrate(&mut self) {
        if let Some(retargeting) = &mut self.retargeting {
            retargeting.driver.restart();
        }
    }

    /// The landmarks the last generated frame was drawn from (model input pixels), after
    /// framing or retargeting.
    pub fn drawn(&self) -> Option<&Landmarks> {
        self.target.shown()
    }

    /// The last sketch and generated frame.
    pub fn outputs(&self) -> (&Rgb8, &Rgb8) {
        (self.target.sketch(), self.target.generated())
    }
}

impl Process for Reenactor {
    fn restart(&mut self) {
        self.steady.reset();
    }

    fn warm_up(&mut self) -> Result<(), PipelineError> {
        self.target.warm_up()
    }

    fn process(&mut self, frame: &Rgb8, found: &Tracked, t: f64) -> Result<bool, PipelineError> {
        self.reenact(frame, found, t)
    }

    fn times(&self) -> StageTimes {
        self.times
    }

    fn generator(&self) -> &Generator {
        self.target.generator()
    }

    fn landmarks(&self) -> Option<&Landmarks> {
        self.steady.current()
    }

    /// The generated frame and the sketch.
    fn panels(&self) -> (&Rgb8, &Rgb8) {
        let (sketch, generated) = self.outputs();
        (generated, sketch)
    }

    /// `c`: the driver's neutral face taken again from the next frames.
    fn control(&mut self, control: Control) -> Option<String> {
        match (control, &self.retargeting) {
            (Control::Recalibrate, Some(_)) => {
                self.recalibrate();
                Some(
                    "look at the camera with a neutral face: taking it from the next frames".into(),
                )
            }
            _ => None,
        }
    }
}

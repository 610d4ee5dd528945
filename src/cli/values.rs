//! The command line's copies of the library's choices (clap stays in the binary): the same
//! variants, each with the help line `--help` lists, and the conversion into the library's
//! type.

use mimic::pipeline::RetargetMode;

/// Declares a flag's choices as a copy of the library enum `$target`, and `From` into it.
macro_rules! choices {
    ($(#[$meta:meta])* $name:ident => $target:ty {
        $($(#[doc = $doc:literal])* $variant:ident),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
        pub enum $name {
            $($(#[doc = $doc])* $variant),+
        }

        impl From<$name> for $target {
            fn from(choice: $name) -> $target {
                match choice {
                    $($name::$variant => <$target>::$variant),+
                }
            }
        }
    };
}

choices! {
    /// Which face detector.
    Detector => mimic::face::DetectorKind {
        /// HOG + linear SVM: frontal faces; small ones only with upsampling.
        Hog,
        /// dlib's MMOD CNN: seconds a photo on a CPU.
        Cnn,
        /// MTCNN (the book's other detector): three small networks that also give five points.
        Mtcnn,
    }
}
choices! {
    /// Where the generator runs.
    Device => mimic::infer::DevicePreference {
        /// CUDA when built with `--features cuda` and a GPU is usable, else the CPU.
        Auto,
        Cpu,
        /// CUDA or an error.
        Cuda,
    }
}
choices! {
    /// How far the target follows the driver when retargeting.
    FollowChoice => mimic::reenact::retarget::Follow {
        /// Head motion and expression held within what the target showed in training.
        Target,
        /// As they are.
        Free,
        /// The expression only, the head kept at the target's neutral place.
        Still,
    }
}
choices! {
    /// What the window shows and the recording holds.
    ViewChoice => mimic::output::compose::View {
        /// Live frame | generated frame | sketch, side by side.
        Panels,
        /// The generated frame alone.
        Output,
    }
}
choices! {
    /// What a model does.
    Mode => mimic::infer::ModelKind {
        /// Landmark sketch → frame of the target person (pix2pix).
        Reenact,
        /// Aligned face → the other person's face (autoencoder).
        Swap,
        /// Any frame → the same frame in another style (CycleGAN, pix2pix).
        Stylize,
    }
}
choices! {
    /// Which part of the generated face replaces the frame's.
    Mask => mimic::swap::blend::MaskKind {
        /// The whole crop.
        Rect,
        /// The convex hull of the face's landmarks and its forehead.
        Hull,
        /// The hull, kept inside the crop (the default).
        HullRect,
    }
}
choices! {
    /// How the generated face's colours are matched to the face it replaces.
    Color => mimic::swap::blend::ColorMatch {
        None,
        /// Each channel's mean inside the mask moved to the original's (the book's adjustment).
        Mean,
        /// Reinhard colour transfer: mean and spread of each Lab channel matched.
        Rct,
    }
}
choices! {
    /// How activation ranges are chosen for INT8.
    Calibration => mimic::infer::quantize::Method {
        /// Everything seen: no value clips, the rare extremes stretch the steps.
        MinMax,
        /// The central 99.99 %: the rarest values clip, every other one gets finer steps.
        Percentile,
    }
}
choices! {
    /// Unpaired method.
    VariantChoice => mimic::train::cyclegan::Variant { Cyclegan, Discogan, Dualgan }
}
choices! {
    /// DiscoGAN's reconstruction loss.
    ReconstructionChoice => mimic::train::cyclegan::Reconstruction {
        /// Mean squared error.
        Mse,
        /// One minus the cosine similarity of each picture with its reconstruction.
        Cosine,
        /// Absolute errors beyond a small margin (smaller ones cost nothing).
        Hinge,
    }
}
choices! {
    /// CycleGAN network size.
    CyclePresetChoice => mimic::train::cyclegan::Preset {
        /// 64 px, f = 16 / 32.
        Tiny,
        /// 128 px, f = 16 / 32.
        Small,
        /// 128 px, f = 32 / 64: the book's networks.
        Base,
    }
}
choices! {
    /// Normalisation layers.
    Norm => mimic::train::NormKind { Instance, Batch }
}
choices! {
    /// The learning rate's course.
    ScheduleChoice => mimic::train::driver::Schedule {
        /// The base rate throughout (the book's).
        Constant,
        /// The base rate for the first half, then down in a straight line to nothing.
        LinearDecay,
    }
}
choices! {
    /// pix2pix network size.
    PresetChoice => mimic::train::pix2pix::Preset {
        /// 128 px, f = 8 (≈0.75 M): small enough to ship inside mimic (the demo model).
        Micro,
        /// 128 px, f = 16 (≈3 M generator parameters): trains on a CPU.
        Tiny,
        /// 256 px, f = 32.
        Small,
        /// 256 px, f = 64 (≈47 M): the book's network, for a GPU.
        Base,
    }
}
choices! {
    /// The pix2pix generator.
    ArchChoice => mimic::train::pix2pix::Arch {
        /// The U-Net also sees the target's reference picture moved onto the sketch's landmarks.
        Warp,
        /// The book's U-Net: the sketch alone.
        Book,
    }
}
choices! {
    /// Where training runs.
    TrainOn => mimic::train::TrainDevice { Cpu, Cuda }
}
choices! {
    /// Face-swap network size.
    SwapPresetChoice => mimic::train::swap::SwapPreset {
        /// 64 px, f = 16 (≈1.2 M parameters): trains on a CPU within the hour.
        Tiny,
        /// 128 px, f = 16 (≈1.6 M): twice the detail, for a CPU's 45 minutes (the default).
        Tiny128,
        /// 64 px, f = 32 (≈4.8 M).
        Small,
        /// 64 px, f = 128 (≈77 M): the book's network, for a GPU.
        Base,
    }
}
choices! {
    /// What swap training brings down.
    SwapLossChoice => mimic::train::swap::SwapLoss {
        /// Mean absolute error plus structural dissimilarity (DSSIM): sharper faces.
        L1Dssim,
        /// Mean absolute error alone (the book's).
        L1,
    }
}

/// How a reenactment places the driver's face on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Retarget {
    Auto,
    None,
}

impl From<Retarget> for RetargetMode {
    fn from(choice: Retarget) -> RetargetMode {
        match choice {
            Retarget::Auto => RetargetMode::Auto,
            Retarget::None => RetargetMode::Off,
        }
    }
}

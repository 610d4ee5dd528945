//! Face analysis on real photos: detection, landmarks, descriptors and alignment.

mod common;

use common::{read_dlib_xml, read_pts, testdata};
use mimic::face::{AlignedCrop, DetectOptions, DetectorKind, FaceAnalyzer, Landmarks};
use mimic::frame::read_image;

fn analyzer() -> FaceAnalyzer {
    FaceAnalyzer::new(DetectOptions::default()).expect("dlib models are installed by setup.sh")
}

#[test]
fn hog_detection_finds_the_annotated_faces() {
    let analyzer = analyzer();
    let (mut annotated, mut found, mut spurious) = (0, 0, 0);
    for image in read_dlib_xml("faces/dlib/testing.xml") {
        let photo = read_image(&testdata(&format!("faces/dlib/{}", image.file))).unwrap();
        let faces = analyzer.faces(&photo).unwrap();
        annotated += image.faces.len();
        found += image
            .faces
            .iter()
            .filter(|a| faces.iter().any(|f| f.bbox.iou(&a.bbox) >= 0.5))
            .count();
        spurious += faces
            .iter()
            .filter(|f| image.faces.iter().all(|a| f.bbox.iou(&a.bbox) < 0.5))
            .count();
    }
    eprintln!("annotated {annotated}, found {found}, spurious {spurious}");
    assert_eq!(annotated, 25);
    assert!(
        found >= 23,
        "found only {found} of {annotated} annotated faces"
    );
    assert!(
        spurious <= 1,
        "{spurious} detections match no annotated face"
    );
}

#[test]
fn no_face_among_dogs() {
    for detector in [DetectorKind::Hog, DetectorKind::Cnn] {
        let analyzer = FaceAnalyzer::new(DetectOptions {
            detector,
            ..Default::default()
        })
        .unwrap();
        let photo = read_image(&testdata("faces/dlib/dogs.jpg")).unwrap();
        assert!(
            analyzer.faces(&photo).unwrap().is_empty(),
            "{detector:?} found a face among dogs"
        );
    }
}

#[test]
fn cnn_detection_finds_the_three_faces() {
    let options = DetectOptions {
        detector: DetectorKind::Cnn,
        upsample: 0,
        scale: 1.0,
    };
    let analyzer = FaceAnalyzer::new(options).unwrap();
    let photo = read_image(&testdata("faces/dlib/2008_002506.jpg")).unwrap();
    let faces = analyzer.faces(&photo).unwrap();
    assert_eq!(faces.len(), 3);
    let annotated = &read_dlib_xml("faces/dlib/testing.xml")[1];
    assert_eq!(annotated.file, "2008_002506.jpg");
    for a in &annotated.faces {
        let best = faces
            .iter()
            .map(|f| f.bbox.iou(&a.bbox))
            .fold(0.0, f32::max);
        assert!(
            best >= 0.3,
            "CNN box overlaps annotated face only by IoU {best}"
        );
    }
}

#[test]
fn landmarks_agree_with_dlib_annotations() {
    let analyzer = analyzer();
    let mut errors = Vec::new();
    for image in read_dlib_xml("faces/dlib/testing_with_face_landmarks.xml") {
        let photo = read_image(&testdata(&format!("faces/dlib/{}", image.file))).unwrap();
        let faces = analyzer.faces(&photo).unwrap();
        for annotated in &image.faces {
            let reference = annotated.landmarks.as_ref().expect("68 points");
            let Some(face) = faces.iter().max_by(|a, b| {
                a.bbox
                    .iou(&annotated.bbox)
                    .total_cmp(&b.bbox.iou(&annotated.bbox))
            }) else {
                continue;
            };
            if face.bbox.iou(&annotated.bbox) >= 0.5 {
                errors.push(face.landmarks.nme(reference));
            }
        }
    }
    let mean = errors.iter().sum::<f32>() / errors.len() as f32;
    eprintln!("{} faces, mean NME {mean:.4}", errors.len());
    assert!(errors.len() >= 23);
    assert!(mean <= 0.03, "mean NME {mean} against dlib's annotations");
}

#[test]
fn landmarks_agree_with_human_annotation() {
    let photo = read_image(&testdata("faces/lfpw/image_0010.png")).unwrap();
    let faces = analyzer().faces(&photo).unwrap();
    let reference = read_pts("faces/lfpw/image_0010.pts");
    let face = faces.first().expect("one face");
    let nme = face.landmarks.nme(&reference);
    eprintln!("lfpw image_0010 NME {nme:.4}");
    assert!(nme <= 0.08, "NME {nme} against the human annotation");
}

fn main_descriptor(analyzer: &FaceAnalyzer, file: &str) -> mimic::face::Descriptor {
    let photo = read_image(&testdata(file)).unwrap();
    let faces = analyzer.faces_with_descriptors(&photo).unwrap();
    let (_, descriptor) = faces.into_iter().next().expect("a face");
    descriptor.expect("descriptor network loaded")
}

#[test]
fn descriptors_tell_people_apart() {
    let analyzer = analyzer().with_descriptors().unwrap();
    let obama = main_descriptor(&analyzer, "faces/misc/obama.jpg");
    let obama_small = main_descriptor(&analyzer, "faces/misc/obama_small.jpg");
    let biden = main_descriptor(&analyzer, "faces/misc/biden.jpg");
    let same = obama.distance(&obama_small);
    let other = obama.distance(&biden);
    eprintln!("same person {same:.3}, different people {other:.3}");
    assert!(same <= 0.6, "two photos of Obama are {same} apart");
    assert!(other > 0.6, "Obama and Biden are only {other} apart");
}

#[test]
fn identity_filter_picks_the_reference_person_out_of_two() {
    let analyzer = analyzer().with_descriptors().unwrap();
    let obama = main_descriptor(&analyzer, "faces/misc/obama.jpg");
    let filter = mimic::face::IdentityFilter::new(obama, mimic::face::DEFAULT_IDENTITY_THRESHOLD);
    let photo = read_image(&testdata("faces/misc/obama_and_biden.jpg")).unwrap();
    let faces = analyzer.faces_with_descriptors(&photo).unwrap();
    // Obama, Biden and a child in the corner.
    assert_eq!(faces.len(), 3);
    let matches = faces
        .iter()
        .filter(|(_, d)| filter.matches(d.as_ref().unwrap()))
        .count();
    assert_eq!(matches, 1, "exactly one of the people is the reference");
}

#[test]
fn aligned_crop_round_trips_within_a_pixel() {
    let analyzer = analyzer();
    let photo = read_image(&testdata("faces/dlib/Tom_Cruise_avp_2014_4.jpg")).unwrap();
    let face = analyzer.faces(&photo).unwrap().remove(0);
    let crop = AlignedCrop::new(256, 0.2);
    let to_crop = crop.transform(&face.landmarks).unwrap();
    let aligned = crop.warp(&photo, &to_crop);

    // The aligned face sits on the template: re-detected landmarks in the crop are close to it.
    let in_crop: Landmarks = face.landmarks.map(|p| to_crop.apply(p));
    let template = crop.template_points();
    let fit: f32 = in_crop
        .part(17..68)
        .iter()
        .zip(&template)
        .map(|(p, q)| p.distance(*q))
        .sum::<f32>()
        / 51.0;
    assert!(fit < 256.0 * 0.05, "mean distance to the template {fit} px");

    // The inverse warp takes every landmark back to where it was.
    let back = in_crop.map(|p| to_crop.inverse().apply(p));
    for (p, q) in back.points().iter().zip(face.landmarks.points()) {
        assert!(
            p.distance(*q) <= 1.0,
            "landmark moved {} px",
            p.distance(*q)
        );
    }

    // Landmarks found again on the aligned crop, mapped back, land near the originals.
    let again = analyzer.faces(&aligned).unwrap();
    let mapped = again[0].landmarks.map(|p| to_crop.inverse().apply(p));
    let nme = mapped.nme(&face.landmarks);
    assert!(nme < 0.05, "re-detected landmarks differ by NME {nme}");

    // Warping the crop back into the frame reproduces the face region.
    let mut restored = photo.clone();
    for p in restored.pixels_mut() {
        *p = image::Rgb([0, 0, 0]);
    }
    crop.unwarp_into(&aligned, &to_crop, &mut restored, None);
    let bounds = face.landmarks.bounds();
    let (mut se, mut n) = (0.0f64, 0u32);
    for y in bounds.top as u32..bounds.bottom as u32 {
        for x in bounds.left as u32..bounds.right as u32 {
            for c in 0..3 {
                let d =
                    f64::from(photo.get_pixel(x, y)[c]) - f64::from(restored.get_pixel(x, y)[c]);
                se += d * d;
                n += 1;
            }
        }
    }
    let psnr = 10.0 * (255.0f64 * 255.0 / (se / f64::from(n))).log10();
    assert!(
        psnr >= 28.0,
        "round-trip PSNR in the face region {psnr:.1} dB"
    );
}

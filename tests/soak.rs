//! Reading videos for a long time does not grow memory: d9 (with sound) read 30 times over.
//! (Before, every packet of another stream read on the way to a video packet was leaked:
//! 0.6 MB a pass of d9.) Alone in its own test binary, so no other test's memory counts.

mod common;

use common::testdata;
use mimic::video::VideoReader;

/// This process's resident memory in MB (Linux).
fn resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap()
        / 1024.0
}

#[test]
fn reading_a_video_thirty_times_keeps_memory_flat() {
    let d9 = testdata("video/d9.mp4");
    let mut after = Vec::new();
    for _ in 0..30 {
        let mut reader = VideoReader::open(&d9).unwrap();
        assert!(reader.info().has_audio);
        let mut frames = 0;
        while reader.next_frame().unwrap().is_some() {
            frames += 1;
        }
        assert_eq!(frames, 587);
        after.push(resident_mb());
    }
    // From the fifth pass (the decoder's pools warmed up) to the last.
    let growth = after[29] - after[4];
    assert!(
        growth < 3.0,
        "resident memory grew by {growth:.1} MB over 25 passes: {after:?}"
    );
}

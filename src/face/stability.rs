//! How steady landmarks are over time (DESIGN §6). Jitter: the mean distance of each point from
//! the midpoint of its neighbours in time, in inter-ocular distances, the high-frequency part
//! of the motion, measurable on any clip. Lag: how many frames a smoothed trajectory trails the
//! raw one where the head moves fastest, found as the shift that best aligns them.

use crate::face::Landmarks;

/// Mean jitter over the frames whose neighbours both show a face; `None` when none do.
pub fn jitter(frames: &[Option<Landmarks>]) -> Option<f64> {
    let (mut sum, mut count) = (0f64, 0usize);
    for w in frames.windows(3) {
        let (Some(before), Some(now), Some(after)) = (&w[0], &w[1], &w[2]) else {
            continue;
        };
        let iod = f64::from(now.inter_ocular()).max(1e-6);
        let points = now.points().iter().zip(before.points()).zip(after.points());
        let mean: f64 = points
            .map(|((p, b), a)| {
                let (mx, my) = ((b.x + a.x) / 2.0, (b.y + a.y) / 2.0);
                f64::from((p.x - mx).hypot(p.y - my))
            })
            .sum::<f64>()
            / now.points().len() as f64;
        sum += mean / iod;
        count += 1;
    }
    (count > 0).then(|| sum / count as f64)
}

/// The largest lag searched for, in frames.
const MAX_LAG: usize = 6;
/// Share of frames, the fastest, that the lag is measured on.
const FAST_SHARE: f64 = 0.25;

/// By how many frames `smoothed` trails `raw` (fractional, by a parabola through the best
/// whole shift and its neighbours), measured on the fastest quarter of the frames; `None`
/// when too few frames show a face.
pub fn lag(raw: &[Option<Landmarks>], smoothed: &[Option<Landmarks>]) -> Option<f64> {
    let centre = |l: &Option<Landmarks>| l.as_ref().map(face_centre);
    let (raw, smoothed): (Vec<_>, Vec<_>) = (
        raw.iter().map(centre).collect(),
        smoothed.iter().map(centre).collect(),
    );
    let speed = |t: usize| match (raw.get(t.wrapping_sub(1)).copied().flatten(), raw[t]) {
        (Some(a), Some(b)) => Some((b.0 - a.0).hypot(b.1 - a.1)),
        _ => None,
    };
    let mut fast: Vec<(usize, f64)> = (MAX_LAG + 1..raw.len())
        .filter_map(|t| Some((t, speed(t)?)))
        .collect();
    if fast.len() < 8 {
        return None;
    }
    fast.sort_by(|a, b| b.1.total_cmp(&a.1));
    fast.truncate(((fast.len() as f64 * FAST_SHARE).ceil() as usize).max(4));
    let error = |shift: usize| -> f64 {
        let (mut sum, mut n) = (0.0, 0);
        for &(t, _) in &fast {
            if let (Some(s), Some(r)) = (smoothed[t], raw[t - shift]) {
                sum += (s.0 - r.0).powi(2) + (s.1 - r.1).powi(2);
                n += 1;
            }
        }
        sum / f64::from(n.max(1))
    };
    let errors: Vec<f64> = (0..=MAX_LAG).map(error).collect();
    let best = (0..errors.len()).min_by(|&a, &b| errors[a].total_cmp(&errors[b]))?;
    let refine = |i: usize| -> f64 {
        if i == 0 || i == MAX_LAG {
            return i as f64;
        }
        let (l, c, r) = (errors[i - 1], errors[i], errors[i + 1]);
        let curve = l - 2.0 * c + r;
        match curve > 1e-12 {
            true => i as f64 + 0.5 * (l - r) / curve,
            false => i as f64,
        }
    };
    Some(refine(best).max(0.0))
}

fn face_centre(l: &Landmarks) -> (f64, f64) {
    let n = l.points().len() as f64;
    let (x, y) = l.points().iter().fold((0.0, 0.0), |(x, y), p| {
        (x + f64::from(p.x), y + f64::from(p.y))
    });
    (x / n, y / n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Point;

    /// A face template moved along `path` (one offset per frame).
    fn faces(path: impl Iterator<Item = (f32, f32)>) -> Vec<Option<Landmarks>> {
        path.map(|(dx, dy)| {
            let points: Vec<Point> = (0..68)
                .map(|i| {
                    Point::new(
                        100.0 + (i % 17) as f32 * 6.0 + dx,
                        100.0 + (i / 17) as f32 * 20.0 + dy,
                    )
                })
                .collect();
            Landmarks::from_slice(&points)
        })
        .collect()
    }

    #[test]
    fn steady_motion_has_no_jitter_and_alternation_has_some() {
        let ramp = faces((0..30).map(|i| (i as f32 * 3.0, 0.0)));
        assert!(jitter(&ramp).unwrap() < 1e-9);
        let shaky = faces((0..30).map(|i| (if i % 2 == 0 { 1.0 } else { -1.0 }, 0.0)));
        let iod = shaky[0].as_ref().unwrap().inter_ocular() as f64;
        assert!((jitter(&shaky).unwrap() - 2.0 / iod).abs() < 1e-6);
    }

    #[test]
    fn a_delayed_copy_lags_by_its_delay() {
        let path: Vec<(f32, f32)> = (0..80)
            .map(|i| ((i as f32 * 0.3).sin() * 40.0, 0.0))
            .collect();
        let raw = faces(path.iter().copied());
        let delayed = faces((0..80).map(|i| path[i.max(2) - 2]));
        let lag = lag(&raw, &delayed).unwrap();
        assert!((lag - 2.0).abs() < 0.15, "lag {lag}");
        assert!(lag_of(&raw) < 0.15);
    }

    fn lag_of(raw: &[Option<Landmarks>]) -> f64 {
        lag(raw, raw).unwrap()
    }
}

//! Who is whose: the faces a detection finds handed out to the faces the tracker follows,
//! each by its [`Role`] — a place by size, a person recognised by their descriptor, or
//! anyone, kept by where they were — so that each face stays with the same person from one
//! detection to the next, also when people cross.

use crate::face::{Descriptor, Face, IdentityFilter, Landmarks};

/// Whom one of the faces a tracker follows is.
#[derive(Debug, Clone)]
pub enum Role {
    /// The face at this place by size at each detection: 0 the largest, 1 the next.
    BySize(usize),
    /// A face nobody else follows, kept by where it was; a new one is taken largest first.
    Anyone,
    /// The person this filter recognises, the nearest to its reference if several match.
    Person(IdentityFilter),
}

impl Role {
    fn person(&self) -> Option<&IdentityFilter> {
        match self {
            Role::Person(filter) => Some(filter),
            _ => None,
        }
    }
}

/// A face followed is taken to be a detected one whose centre lies within this share of its
/// width from where it was followed; further, it is someone else.
const SAME_PLACE: f32 = 0.5;

/// The faces of a detection in the frame at hand (largest first, with descriptors when some
/// role names a person), given out to the roles; `was`: where each role's face was followed
/// last (none for a face not followed).
pub(super) fn assign(
    roles: &[Role],
    was: &[Option<&Landmarks>],
    found: Vec<(Face, Option<Descriptor>)>,
) -> Vec<Option<Face>> {
    let mut taken = vec![false; found.len()];
    let mut picks: Vec<Option<usize>> = vec![None; roles.len()];
    // The named come first: a person is who they are, wherever they are.
    let recognised = pairs(roles, found.len(), |r, f| {
        let filter = roles[r].person()?;
        let distance = filter.distance(found[f].1.as_ref()?);
        (distance <= filter.threshold()).then_some(distance)
    });
    claim(recognised, &mut picks, &mut taken);
    for (r, role) in roles.iter().enumerate() {
        if let Role::BySize(i) = role {
            picks[r] = (*i < found.len() && !taken[*i]).then_some(*i);
            if let Some(f) = picks[r] {
                taken[f] = true;
            }
        }
    }
    let faces: Vec<&Face> = found.iter().map(|(face, _)| face).collect();
    let anyone = |r: usize| matches!(roles[r], Role::Anyone);
    claim(
        kept_in_place(roles, was, &faces, anyone),
        &mut picks,
        &mut taken,
    );
    for (r, pick) in picks.iter_mut().enumerate() {
        if anyone(r) && pick.is_none() {
            *pick = taken.iter().position(|t| !t);
            if let Some(f) = *pick {
                taken[f] = true;
            }
        }
    }
    let mut found: Vec<Option<Face>> = found.into_iter().map(|(face, _)| Some(face)).collect();
    picks
        .into_iter()
        .map(|pick| pick.and_then(|f| found[f].take()))
        .collect()
}

/// For a detection made beside the frames: the face each followed role's face became in it
/// (its place by size, or the face where it was followed on that frame), for the tracker to
/// check against what it followed; `followed`: each role's landmarks on that frame.
pub(super) fn refresh<'a>(
    roles: &[Role],
    followed: &[Option<Landmarks>],
    faces: &'a [Face],
) -> Vec<Option<&'a Face>> {
    let was: Vec<Option<&Landmarks>> = followed.iter().map(Option::as_ref).collect();
    let mut picks: Vec<Option<usize>> = vec![None; roles.len()];
    let mut taken = vec![false; faces.len()];
    for (r, role) in roles.iter().enumerate() {
        if let (Role::BySize(i), Some(_)) = (role, was[r]) {
            picks[r] = (*i < faces.len()).then_some(*i);
        }
    }
    let faces_ref: Vec<&Face> = faces.iter().collect();
    // Whoever they are, the person was checked when first detected: here only where.
    let placed = |r: usize| !matches!(roles[r], Role::BySize(_));
    claim(
        kept_in_place(roles, &was, &faces_ref, placed),
        &mut picks,
        &mut taken,
    );
    picks.into_iter().map(|p| p.map(|f| &faces[f])).collect()
}

/// The (cost, role, face) pairs whose cost `cost` gives, for every role and face.
fn pairs(
    roles: &[Role],
    faces: usize,
    cost: impl Fn(usize, usize) -> Option<f32>,
) -> Vec<(f32, usize, usize)> {
    (0..roles.len())
        .flat_map(|r| (0..faces).map(move |f| (r, f)))
        .filter_map(|(r, f)| cost(r, f).map(|c| (c, r, f)))
        .collect()
}

/// Pairs of the roles `which` picks with the face nearest where theirs was, within
/// [`SAME_PLACE`], by distance.
fn kept_in_place(
    roles: &[Role],
    was: &[Option<&Landmarks>],
    faces: &[&Face],
    which: impl Fn(usize) -> bool,
) -> Vec<(f32, usize, usize)> {
    pairs(roles, faces.len(), |r, f| {
        let at = was[r].filter(|_| which(r))?.bounds();
        let away = faces[f].bbox.center().distance(at.center());
        (away <= SAME_PLACE * at.width().max(faces[f].bbox.width())).then_some(away)
    })
}

/// Gives out faces to roles, the cheapest pair first, each role and face once, skipping
/// roles already given one.
fn claim(mut pairs: Vec<(f32, usize, usize)>, picks: &mut [Option<usize>], taken: &mut [bool]) {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (_, r, f) in pairs {
        if picks[r].is_none() && !taken[f] {
            picks[r] = Some(f);
            taken[f] = true;
        }
    }
}

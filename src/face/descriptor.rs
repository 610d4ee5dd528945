//! Who a face is: dlib's 128-d face descriptor and the identity filter built on it.
//!
//! Two descriptors of the same person lie within about 0.6 of each other (Euclidean), the
//! threshold dlib's network was trained for; different people lie further apart.

use serde::Serialize;

/// The distance at or below which two faces count as the same person.
pub const DEFAULT_IDENTITY_THRESHOLD: f32 = 0.6;

const DESCRIPTOR_LEN: usize = 128;

/// A 128-d face descriptor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Descriptor(Vec<f32>);

impl Descriptor {
    /// A descriptor from exactly 128 values; `None` for any other length.
    pub fn from_slice(values: &[f32]) -> Option<Self> {
        (values.len() == DESCRIPTOR_LEN).then(|| Self(values.to_vec()))
    }

    pub fn values(&self) -> &[f32] {
        &self.0
    }

    /// Euclidean distance to another descriptor.
    pub fn distance(&self, other: &Descriptor) -> f32 {
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt()
    }
}

/// Keeps only faces of one person: those within `threshold` of a reference descriptor.
#[derive(Debug, Clone)]
pub struct IdentityFilter {
    reference: Descriptor,
    threshold: f32,
}

impl IdentityFilter {
    pub fn new(reference: Descriptor, threshold: f32) -> Self {
        Self {
            reference,
            threshold,
        }
    }

    pub fn distance(&self, candidate: &Descriptor) -> f32 {
        self.reference.distance(candidate)
    }

    /// The person's descriptor.
    pub fn reference(&self) -> &Descriptor {
        &self.reference
    }

    /// The largest distance a face of this person is within.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    pub fn matches(&self, candidate: &Descriptor) -> bool {
        self.distance(candidate) <= self.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_keeps_within_threshold_only() {
        let reference = Descriptor::from_slice(&[0.0; 128]).unwrap();
        let mut near = vec![0.0; 128];
        near[0] = 0.5;
        let mut far = vec![0.0; 128];
        far[0] = 0.7;
        let filter = IdentityFilter::new(reference, DEFAULT_IDENTITY_THRESHOLD);
        assert!(filter.matches(&Descriptor::from_slice(&near).unwrap()));
        assert!(!filter.matches(&Descriptor::from_slice(&far).unwrap()));
        assert!(Descriptor::from_slice(&[0.0; 3]).is_none());
    }
}

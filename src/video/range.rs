//! A span of a video's frames by index, as a user writes it (`START..END`, `START..`): which
//! frames extraction takes and evaluation judges, so a clip's end can be kept out of training
//! and judged alone.

/// A frame range that does not read as one.
#[derive(Debug, thiserror::Error)]
#[error("frame range '{0}' is not valid: write START..END (END excluded) or START..")]
pub struct BadFrameRange(pub String);

/// Source frame indices `start..end` (`end` open when `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRange {
    pub start: u64,
    pub end: Option<u64>,
}

impl FrameRange {
    pub fn all() -> FrameRange {
        FrameRange {
            start: 0,
            end: None,
        }
    }

    pub fn contains(&self, index: u64) -> bool {
        index >= self.start && self.end.is_none_or(|e| index < e)
    }

    /// Frames past this range's end are never wanted (a reader can stop there).
    pub fn is_past(&self, index: u64) -> bool {
        self.end.is_some_and(|e| index >= e)
    }

    pub fn parse(text: &str) -> Result<FrameRange, BadFrameRange> {
        let bad = || BadFrameRange(text.to_string());
        let (a, b) = text.split_once("..").ok_or_else(bad)?;
        let start = if a.is_empty() {
            0
        } else {
            a.trim().parse().map_err(|_| bad())?
        };
        let end = if b.is_empty() {
            None
        } else {
            Some(b.trim().parse().map_err(|_| bad())?)
        };
        if end.is_some_and(|e| e <= start) {
            return Err(bad());
        }
        Ok(FrameRange { start, end })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse() {
        assert_eq!(
            FrameRange::parse("10..20").unwrap(),
            FrameRange {
                start: 10,
                end: Some(20)
            }
        );
        assert_eq!(
            FrameRange::parse("528..").unwrap(),
            FrameRange {
                start: 528,
                end: None
            }
        );
        assert!(FrameRange::parse("20..10").is_err());
        assert!(FrameRange::parse("ten").is_err());
    }
}

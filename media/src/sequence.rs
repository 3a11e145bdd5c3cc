//! RTP sequence numbers without wrap-around.

/// Turns 16-bit RTP sequence numbers into ever-growing 64-bit ones, tolerating reordering.
#[derive(Clone, Copy, Debug, Default)]
pub struct SequenceUnwrapper {
    highest: Option<u64>,
}

impl SequenceUnwrapper {
    /// The extended number for `sequence`: the one closest to the highest seen so far.
    pub fn extend(&mut self, sequence: u16) -> u64 {
        let extended = match self.highest {
            None => u64::from(sequence) + (1 << 16),
            Some(highest) => {
                let base = highest & !0xFFFF;
                [base.saturating_sub(1 << 16), base, base + (1 << 16)]
                    .into_iter()
                    .map(|b| b + u64::from(sequence))
                    .min_by_key(|c| c.abs_diff(highest))
                    .unwrap_or(base + u64::from(sequence))
            }
        };
        self.highest = Some(self.highest.map_or(extended, |h| h.max(extended)));
        extended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_through_the_wrap_and_back() {
        let mut unwrapper = SequenceUnwrapper::default();
        let first = unwrapper.extend(65_534);
        assert_eq!(unwrapper.extend(65_535), first + 1);
        assert_eq!(unwrapper.extend(1), first + 3);
        assert_eq!(unwrapper.extend(0), first + 2, "a late packet from before");
        assert_eq!(unwrapper.extend(65_535), first + 1, "and one from before the wrap");
    }
}

//! How each participant's sound was played: decoded, rebuilt from FEC, or concealed. The
//! concealed share is how a listener hears a lossy network.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::jitter::Playout;
use super::mixer::SourceId;

/// Running totals of one participant's played 20 ms frames since their sound first arrived.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlayoutCounts {
    /// Decoded from their own packet.
    pub decoded: u64,
    /// Rebuilt from the next packet's forward error correction.
    pub recovered: u64,
    /// Invented by concealment, or silence while the stream waits to resume.
    pub concealed: u64,
}

impl PlayoutCounts {
    /// Frames played since `earlier`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            decoded: self.decoded.saturating_sub(earlier.decoded),
            recovered: self.recovered.saturating_sub(earlier.recovered),
            concealed: self.concealed.saturating_sub(earlier.concealed),
        }
    }

    /// Frames played, all kinds together.
    pub fn frames(&self) -> u64 {
        self.decoded + self.recovered + self.concealed
    }

    /// Share of frames concealed, in percent (0 when nothing played).
    pub fn concealed_pct(&self) -> f64 {
        let total = self.frames();
        if total == 0 {
            0.0
        } else {
            100.0 * self.concealed as f64 / total as f64
        }
    }
}

/// Every participant's [`PlayoutCounts`], written by the playout thread.
#[derive(Debug, Default)]
pub struct PlayoutTally(Mutex<HashMap<SourceId, PlayoutCounts>>);

impl PlayoutTally {
    /// Counts one frame of `source`. Silence before its sound ever played is not counted.
    pub fn record(&self, source: SourceId, playout: Playout) {
        let mut tally = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if playout == Playout::Silent && !tally.contains_key(&source) {
            return;
        }
        let counts = tally.entry(source).or_default();
        match playout {
            Playout::Decoded => counts.decoded += 1,
            Playout::Recovered => counts.recovered += 1,
            Playout::Concealed | Playout::Silent => counts.concealed += 1,
        }
    }

    /// What was played of `source` so far.
    pub fn counts(&self, source: SourceId) -> PlayoutCounts {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&source)
            .copied()
            .unwrap_or_default()
    }

    /// Forgets a participant who left.
    pub fn remove(&self, source: SourceId) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(&source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_was_played_once_sound_has_started() {
        let tally = PlayoutTally::default();
        tally.record(1, Playout::Silent);
        assert_eq!(
            tally.counts(1),
            PlayoutCounts::default(),
            "waiting to start is not a gap"
        );
        for playout in [
            Playout::Decoded,
            Playout::Decoded,
            Playout::Recovered,
            Playout::Concealed,
            Playout::Silent,
        ] {
            tally.record(1, playout);
        }
        let counts = tally.counts(1);
        assert_eq!((counts.decoded, counts.recovered, counts.concealed), (2, 1, 2));
        assert!((counts.concealed_pct() - 40.0).abs() < 1e-9);
        let earlier = counts;
        tally.record(1, Playout::Decoded);
        assert_eq!(tally.counts(1).since(&earlier).decoded, 1);
        tally.remove(1);
        assert_eq!(tally.counts(1), PlayoutCounts::default());
    }
}

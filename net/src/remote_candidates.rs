//! The other side's ICE candidates, within bounds: those that arrive before its description
//! wait for it, and each description takes a limited number. Every candidate is a path the
//! ICE agent remembers and sends checks to, so a peer must not be able to hand us endless
//! ones.

use webrtc::peer_connection::RTCIceCandidateInit;

/// Candidates that may wait for the description: a LAN peer has a few per interface.
pub const MAX_EARLY_CANDIDATES: usize = 64;
/// Bytes of candidates that may wait for the description: 64 real ones take about 13 KB.
pub const MAX_EARLY_CANDIDATE_BYTES: usize = 32 * 1024;
/// Candidates taken for one description (ICE restarts bring a new description).
pub const MAX_CANDIDATES_PER_DESCRIPTION: usize = 64;
/// Longest candidate taken: a real one is under 200 bytes.
pub const MAX_CANDIDATE_BYTES: usize = 1024;

/// Why one of the other side's candidates was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CandidateRefused {
    /// Longer than any real candidate.
    #[error("a remote candidate of {bytes} bytes was refused: real ones are under {MAX_CANDIDATE_BYTES} bytes")]
    TooLong {
        /// Its length.
        bytes: usize,
    },
    /// Too many waiting for the description.
    #[error(
        "a remote candidate was refused: {MAX_EARLY_CANDIDATES} candidates or {MAX_EARLY_CANDIDATE_BYTES} bytes \
         already wait for the description"
    )]
    TooManyWaiting,
    /// Too many for one description.
    #[error("a remote candidate was refused: {MAX_CANDIDATES_PER_DESCRIPTION} were taken for this description")]
    TooMany,
}

/// What to do with a candidate that was taken.
#[derive(Debug)]
pub enum Taken {
    /// It waits for the description.
    Waiting,
    /// The description is there: give it to the ICE agent now.
    Apply(RTCIceCandidateInit),
}

/// The other side's candidates so far.
#[derive(Debug)]
pub enum RemoteCandidates {
    /// No description yet: candidates wait, with their total length.
    Early {
        /// In arrival order.
        waiting: Vec<RTCIceCandidateInit>,
        /// Their total length in bytes.
        bytes: usize,
    },
    /// A description is applied; `taken` candidates went to the ICE agent since.
    Described {
        /// Candidates applied for this description.
        taken: usize,
    },
}

impl Default for RemoteCandidates {
    fn default() -> Self {
        Self::Early {
            waiting: Vec::new(),
            bytes: 0,
        }
    }
}

impl RemoteCandidates {
    /// Takes `candidate`, or says why not.
    pub fn take(&mut self, candidate: RTCIceCandidateInit) -> Result<Taken, CandidateRefused> {
        let length = candidate.candidate.len() + candidate.sdp_mid.as_ref().map_or(0, String::len);
        if length > MAX_CANDIDATE_BYTES {
            return Err(CandidateRefused::TooLong { bytes: length });
        }
        match self {
            Self::Early { waiting, bytes } => {
                if waiting.len() >= MAX_EARLY_CANDIDATES || *bytes + length > MAX_EARLY_CANDIDATE_BYTES {
                    return Err(CandidateRefused::TooManyWaiting);
                }
                *bytes += length;
                waiting.push(candidate);
                Ok(Taken::Waiting)
            }
            Self::Described { taken } if *taken >= MAX_CANDIDATES_PER_DESCRIPTION => Err(CandidateRefused::TooMany),
            Self::Described { taken } => {
                *taken += 1;
                Ok(Taken::Apply(candidate))
            }
        }
    }

    /// A description was applied: the candidates that waited for it, to apply now in order.
    pub fn described(&mut self) -> Vec<RTCIceCandidateInit> {
        match std::mem::replace(self, Self::Described { taken: 0 }) {
            Self::Early { waiting, .. } => {
                *self = Self::Described { taken: waiting.len() };
                waiting
            }
            Self::Described { .. } => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(n: usize, padding: usize) -> RTCIceCandidateInit {
        RTCIceCandidateInit {
            candidate: format!(
                "candidate:{n} 1 udp 2130706431 192.168.1.5 {} typ host{}",
                50_000 + n,
                " ".repeat(padding)
            ),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
            ..Default::default()
        }
    }

    #[test]
    fn early_candidates_wait_up_to_a_count_then_are_refused() {
        let mut candidates = RemoteCandidates::default();
        for n in 0..MAX_EARLY_CANDIDATES {
            assert!(matches!(candidates.take(candidate(n, 0)), Ok(Taken::Waiting)));
        }
        assert_eq!(
            candidates.take(candidate(99, 0)).unwrap_err(),
            CandidateRefused::TooManyWaiting
        );
        let waiting = candidates.described();
        assert_eq!(waiting.len(), MAX_EARLY_CANDIDATES);
        assert_eq!(waiting[0], candidate(0, 0), "in arrival order");
    }

    #[test]
    fn early_candidates_wait_up_to_a_size_and_none_is_overlong() {
        let mut candidates = RemoteCandidates::default();
        let long = candidate(0, MAX_CANDIDATE_BYTES);
        assert!(matches!(
            candidates.take(long),
            Err(CandidateRefused::TooLong { bytes }) if bytes > MAX_CANDIDATE_BYTES
        ));
        // Candidates just under the length limit: the byte cap comes before the count cap.
        let padded = |n| candidate(n, MAX_CANDIDATE_BYTES - 60);
        let mut taken = 0;
        while candidates.take(padded(taken)).is_ok() {
            taken += 1;
        }
        assert!(taken < MAX_EARLY_CANDIDATES, "{taken}");
        let bytes: usize = candidates.described().iter().map(|c| c.candidate.len() + 1).sum();
        assert!(bytes <= MAX_EARLY_CANDIDATE_BYTES, "{bytes}");
    }

    #[test]
    fn after_the_description_candidates_apply_at_once_up_to_a_count() {
        let mut candidates = RemoteCandidates::default();
        assert!(matches!(candidates.take(candidate(0, 0)), Ok(Taken::Waiting)));
        assert_eq!(candidates.described().len(), 1);
        for n in 1..MAX_CANDIDATES_PER_DESCRIPTION {
            assert!(matches!(candidates.take(candidate(n, 0)), Ok(Taken::Apply(_))), "{n}");
        }
        assert_eq!(
            candidates.take(candidate(99, 0)).unwrap_err(),
            CandidateRefused::TooMany
        );
        // An ICE restart brings a new description, which takes candidates afresh.
        assert!(candidates.described().is_empty());
        assert!(matches!(candidates.take(candidate(100, 0)), Ok(Taken::Apply(_))));
    }
}

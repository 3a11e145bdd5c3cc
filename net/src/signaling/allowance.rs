//! What one member may make the room queue for the others, sized so that everyone's
//! allowances together fit any member's outbox: an outbox fills only when its own
//! connection does not take what it is sent, never because of what the others sent.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::rate::TokenBucket;
use crate::protocol::{PeerId, Signal, limits};

/// Messages queued for one member before it counts as too slow.
pub(crate) const OUTBOX_CAPACITY: usize = 1280;

/// Media state changes one member may announce at once; more are merged into the latest.
const MEDIA_STATE_BURST: u32 = 5;
/// Media state changes one member may announce per second, sustained.
const MEDIA_STATES_PER_SECOND: u32 = 2;
/// How long a merged media state waits at most before it goes out.
pub(crate) const MEDIA_STATE_DELAY: Duration = Duration::from_millis(1000 / MEDIA_STATES_PER_SECOND as u64);
/// Signals one member may send one other at once: an offer or answer and its candidates,
/// with room for an ICE restart.
const SIGNAL_BURST: u32 = 32;
/// Signals one member may send one other per second, sustained.
const SIGNALS_PER_SECOND: u32 = 10;
/// Bytes of signals one member may send one other at once (an offer is 3-10 KB).
const SIGNAL_BYTES_BURST: u32 = 256 * 1024;
/// Bytes of signals one member may send one other per second, sustained.
const SIGNAL_BYTES_PER_SECOND: u32 = 64 * 1024;
/// Renames one member may make at once; further ones are refused until the allowance refills.
const RENAME_BURST: u32 = 3;
/// Renames one member may make per second, sustained.
const RENAMES_PER_SECOND: u32 = 1;
/// Moderation one member may do at once (turning others' devices off, asking them to turn
/// them on, lowering hands, making co-hosts): each may send one message to every member.
const MODERATION_BURST: u32 = 10;
/// Moderation one member may do per second, sustained.
const MODERATIONS_PER_SECOND: u32 = 2;
/// News of the roster a member may be sent at once: everyone joining and leaving, and for
/// the host every waiting guest knocking and its knock ending.
const ROSTER_NEWS: usize = 2 * limits::MAX_PARTICIPANTS + 2 * limits::MAX_WAITING;

// The worst burst that can reach one outbox: one reply (pong, error) to each message its own
// connection may send at once, everyone's chat and renames (its own come back too), every
// other member's media states, signals and moderation, and the roster's news.
const _: () = assert!(
    OUTBOX_CAPACITY
        >= limits::MESSAGE_BURST as usize
            + limits::MAX_PARTICIPANTS * (limits::CHAT_BURST + RENAME_BURST) as usize
            + (limits::MAX_PARTICIPANTS - 1) * (MEDIA_STATE_BURST + SIGNAL_BURST + MODERATION_BURST) as usize
            + ROSTER_NEWS
);

/// Why a signal was not passed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SignalRefusal {
    /// More signals for that participant than negotiation needs.
    #[error("too many signals for participant {to}; this one was not passed on")]
    TooMany {
        /// The participant they were for.
        to: PeerId,
    },
    /// More bytes of signals for that participant than negotiation needs.
    #[error("too many bytes of signals for participant {to}; this one was not passed on")]
    TooLarge {
        /// The participant they were for.
        to: PeerId,
    },
}

/// One member's allowances.
pub(crate) struct Allowance {
    chat: TokenBucket,
    media_states: TokenBucket,
    renames: TokenBucket,
    moderation: TokenBucket,
    /// Per participant the signals are for.
    signals: HashMap<PeerId, SignalAllowance>,
}

struct SignalAllowance {
    count: TokenBucket,
    bytes: TokenBucket,
}

impl Allowance {
    /// Full allowances.
    pub fn new() -> Self {
        Self {
            chat: TokenBucket::new(limits::CHATS_PER_SECOND, limits::CHAT_BURST),
            media_states: TokenBucket::new(MEDIA_STATES_PER_SECOND, MEDIA_STATE_BURST),
            renames: TokenBucket::new(RENAMES_PER_SECOND, RENAME_BURST),
            moderation: TokenBucket::new(MODERATIONS_PER_SECOND, MODERATION_BURST),
            signals: HashMap::new(),
        }
    }

    /// True when one more chat message may go to everyone at `now`.
    pub fn chat(&mut self, now: Instant) -> bool {
        self.chat.take(now)
    }

    /// True when one more media state may go to everyone at `now`; otherwise it waits.
    pub fn media_state(&mut self, now: Instant) -> bool {
        self.media_states.take(now)
    }

    /// True when one more rename may go to everyone at `now`.
    pub fn rename(&mut self, now: Instant) -> bool {
        self.renames.take(now)
    }

    /// True when one more act of moderation may be done at `now`.
    pub fn moderate(&mut self, now: Instant) -> bool {
        self.moderation.take(now)
    }

    /// Whether `signal` may go to `to` at `now`. The room keeps allowances only for members
    /// (see [`Allowance::forget`]).
    pub fn signal(&mut self, to: PeerId, signal: &Signal, now: Instant) -> Result<(), SignalRefusal> {
        let allowance = self.signals.entry(to).or_insert_with(|| SignalAllowance {
            count: TokenBucket::new(SIGNALS_PER_SECOND, SIGNAL_BURST),
            bytes: TokenBucket::new(SIGNAL_BYTES_PER_SECOND, SIGNAL_BYTES_BURST),
        });
        if !allowance.count.take(now) {
            return Err(SignalRefusal::TooMany { to });
        }
        let bytes = u32::try_from(signal_bytes(signal)).unwrap_or(u32::MAX);
        if !allowance.bytes.take_many(bytes, now) {
            return Err(SignalRefusal::TooLarge { to });
        }
        Ok(())
    }

    /// `id` left: nothing more goes to it.
    pub fn forget(&mut self, id: PeerId) {
        self.signals.remove(&id);
    }
}

/// The text a signal carries (lists counted at about the size of their JSON).
fn signal_bytes(signal: &Signal) -> usize {
    match signal {
        Signal::Offer { sdp, feeds } => sdp.len() + feeds.len() * 48,
        Signal::Answer { sdp } => sdp.len(),
        Signal::View { sizes } => 16 + sizes.len() * 40,
        Signal::Layers { camera } => 16 + camera.len() * 10,
        Signal::Candidate { candidate, sdp_mid, .. } => candidate.len() + sdp_mid.as_ref().map_or(0, String::len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(bytes: usize) -> Signal {
        Signal::Candidate {
            candidate: "c".repeat(bytes),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
        }
    }

    #[test]
    fn chat_beyond_the_burst_waits_for_the_rate() {
        let now = Instant::now();
        let mut allowance = Allowance::new();
        let sent = (0..100).filter(|_| allowance.chat(now)).count();
        assert_eq!(sent, limits::CHAT_BURST as usize);
        assert!(
            allowance.chat(now + Duration::from_secs(1)),
            "refills at the sustained rate"
        );
    }

    #[test]
    fn signals_are_counted_per_participant_and_in_bytes() {
        let now = Instant::now();
        let mut allowance = Allowance::new();
        let small = candidate(100);
        for _ in 0..SIGNAL_BURST {
            assert_eq!(allowance.signal(2, &small, now), Ok(()));
        }
        assert_eq!(allowance.signal(2, &small, now), Err(SignalRefusal::TooMany { to: 2 }));
        // A newcomer negotiates with everyone at once: each has its own allowance.
        assert_eq!(allowance.signal(3, &small, now), Ok(()));
        let large = candidate(limits::MAX_MESSAGE_BYTES - 100);
        let fitting = SIGNAL_BYTES_BURST as usize / signal_bytes(&large);
        for _ in 0..fitting {
            assert_eq!(allowance.signal(4, &large, now), Ok(()));
        }
        assert_eq!(allowance.signal(4, &large, now), Err(SignalRefusal::TooLarge { to: 4 }));
        // What was kept for someone who left is let go.
        allowance.forget(2);
        assert!(!allowance.signals.contains_key(&2));
    }
}

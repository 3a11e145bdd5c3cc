//! Whose sound a forwarding host passes on.
//!
//! Silence costs nearly nothing: our senders skip Opus's "still silent" packets. But a room
//! where many talk at once (a class answering together, open microphones in noisy rooms)
//! sends a stream from each of them, and the host sends each to everyone: at 16, fifteen
//! streams down to every guest and 240 up from the host. Nobody follows more than a few
//! voices at once, so while more than a few talk, each participant gets only the loudest
//! few, chosen from the host's own measure of each voice (it decodes everyone to play them
//! itself): nothing a guest sends has to say how loud it is, so a browser's stream is
//! ranked like ours.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use videomeet_media::video::Layer;

use crate::forward::LayerChoice;
use crate::protocol::PeerId;

/// A voice at least this loud talks (the meters' scale: 0 at -60 dBFS, 1 at full scale;
/// this is -42 dBFS, above a quiet room's hiss and below any speech).
const TALKING: f32 = 0.3;

/// How much louder (on the meters' scale: 6 dB) a voice must be to take the place of one
/// heard now, so that voices about as loud as each other do not take turns being heard.
const INCUMBENCY: f32 = 0.1;

/// A voice chosen stays chosen this long after it was last among the loudest, so that
/// two voices of about the same loudness do not swap many times a second.
const HOLD: Duration = Duration::from_millis(1500);

/// The host's choice of whose sound each participant gets.
#[derive(Default)]
pub(super) struct Speakers {
    /// Per (receiver, speaker): passed on (the full layer) or not (none).
    choices: HashMap<(PeerId, PeerId), LayerChoice>,
    /// Per (receiver, speaker): when the speaker was last among the loudest the receiver
    /// hears.
    chosen_at: HashMap<(PeerId, PeerId), Instant>,
    /// Each voice's level over the last second or so: a word's pauses, or a frame lost on
    /// the way to us, do not make it quieter than the others.
    steady: HashMap<PeerId, f32>,
}

/// The share of a new level in [`Speakers::steady`] at each choice (five a second).
const STEADY_WEIGHT: f32 = 0.2;

impl Speakers {
    /// Whether `receiver` gets `speaker`'s sound, shared with its forwarding.
    pub(super) fn choice(&mut self, receiver: PeerId, speaker: PeerId) -> LayerChoice {
        self.choices.entry((receiver, speaker)).or_default().clone()
    }

    /// Chooses, from each guest's `levels` now, whose sound each receiver gets: of the
    /// others, everyone's while at most `loudest` talk (so nobody's first word is cut),
    /// else the loudest `loudest` and those still held; everyone's with `None`.
    pub(super) fn choose(&mut self, levels: &[(PeerId, f32)], loudest: Option<usize>, now: Instant) {
        self.chosen_at.retain(|_, at| now.saturating_duration_since(*at) < HOLD);
        let levels: Vec<(PeerId, f32)> = levels
            .iter()
            .map(|(id, level)| {
                let steady = self.steady.entry(*id).or_insert(*level);
                *steady += (level - *steady) * STEADY_WEIGHT;
                (*id, *steady)
            })
            .collect();
        let receivers: Vec<PeerId> = levels.iter().map(|(id, _)| *id).collect();
        for receiver in receivers {
            let others: Vec<(PeerId, f32)> = levels.iter().copied().filter(|(id, _)| *id != receiver).collect();
            let passed = self.passed_to(receiver, &others, loudest, now);
            for (speaker, _) in &others {
                self.choice(receiver, *speaker)
                    .set(passed.contains(speaker).then_some(Layer::Full));
            }
        }
    }

    /// Which of `others` (with their levels now) `receiver` hears.
    fn passed_to(
        &mut self,
        receiver: PeerId,
        others: &[(PeerId, f32)],
        loudest: Option<usize>,
        now: Instant,
    ) -> Vec<PeerId> {
        let mut talking: Vec<(PeerId, f32)> = others.iter().copied().filter(|(_, level)| *level >= TALKING).collect();
        let Some(loudest) = loudest.filter(|loudest| talking.len() > *loudest) else {
            return others.iter().map(|(id, _)| *id).collect();
        };
        // A voice heard now keeps its place against one about as loud.
        let ranked = |(speaker, level): &(PeerId, f32)| {
            let held = self.chosen_at.contains_key(&(receiver, *speaker));
            level + if held { INCUMBENCY } else { 0.0 }
        };
        talking.sort_by(|a, b| ranked(b).total_cmp(&ranked(a)));
        for (speaker, _) in talking.iter().take(loudest) {
            self.chosen_at.insert((receiver, *speaker), now);
        }
        others
            .iter()
            .map(|(id, _)| *id)
            .filter(|speaker| self.chosen_at.contains_key(&(receiver, *speaker)))
            .collect()
    }

    /// `id` left.
    pub(super) fn forget(&mut self, id: PeerId) {
        self.steady.remove(&id);
        self.chosen_at
            .retain(|(receiver, speaker), _| *receiver != id && *speaker != id);
        self.choices
            .retain(|(receiver, speaker), _| *receiver != id && *speaker != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whom participant 9 hears of `levels`, the loudest two while more talk.
    fn passed(speakers: &mut Speakers, levels: &[(PeerId, f32)], now: Instant) -> Vec<PeerId> {
        speakers
            .chosen_at
            .retain(|_, at| now.saturating_duration_since(*at) < HOLD);
        speakers.passed_to(9, levels, Some(2), now)
    }

    #[test]
    fn everyone_is_heard_while_few_talk_and_only_the_loudest_when_many_do() {
        let mut speakers = Speakers::default();
        let start = Instant::now();
        let at = |millis: u64| start + Duration::from_millis(millis);
        let quiet = [(1, 0.0), (2, 0.1), (3, 0.2), (4, 0.0)];
        assert_eq!(passed(&mut speakers, &quiet, at(0)), vec![1, 2, 3, 4], "nobody talks");
        let two = [(1, 0.8), (2, 0.1), (3, 0.6), (4, 0.0)];
        assert_eq!(passed(&mut speakers, &two, at(200)), vec![1, 2, 3, 4], "two talk");
        let many = [(1, 0.8), (2, 0.5), (3, 0.6), (4, 0.7)];
        assert_eq!(passed(&mut speakers, &many, at(400)), vec![1, 4], "the loudest two");
        let about_as_loud = [(1, 0.8), (2, 0.75), (3, 0.6), (4, 0.7)];
        assert_eq!(
            passed(&mut speakers, &about_as_loud, at(600)),
            vec![1, 4],
            "a voice a little louder does not take the place of one heard"
        );
        let louder = [(1, 0.8), (2, 0.9), (3, 0.6), (4, 0.7)];
        assert_eq!(
            passed(&mut speakers, &louder, at(800)),
            vec![1, 2, 4],
            "a voice much louder does; the one it replaced is held a moment"
        );
        assert_eq!(passed(&mut speakers, &louder, at(2_200)), vec![1, 2], "held no longer");
        assert_eq!(passed(&mut speakers, &two, at(2_400)), vec![1, 2, 3, 4], "few again");
        assert_eq!(
            speakers.passed_to(9, &many, None, at(2_600)),
            vec![1, 2, 3, 4],
            "with no limit, everyone"
        );
    }

    #[test]
    fn each_choice_follows_and_a_participant_who_left_is_forgotten() {
        let mut speakers = Speakers::default();
        let (three_to_one, three_to_two) = (speakers.choice(1, 3), speakers.choice(2, 3));
        assert_eq!(
            three_to_one.get(),
            Some(Layer::Full),
            "passed on until chosen otherwise"
        );
        // Five talk: each hears the loudest three of the four others.
        let levels = [(1, 0.9), (2, 0.8), (3, 0.4), (4, 0.9), (5, 0.7)];
        speakers.choose(&levels, Some(3), Instant::now());
        let hears = |speakers: &mut Speakers, receiver: PeerId| -> Vec<PeerId> {
            (1..=5)
                .filter(|speaker| *speaker != receiver && speakers.choice(receiver, *speaker).get().is_some())
                .collect()
        };
        assert_eq!(hears(&mut speakers, 1), vec![2, 4, 5]);
        assert_eq!(hears(&mut speakers, 3), vec![1, 2, 4], "the quietest hears the loudest");
        assert_eq!(hears(&mut speakers, 5), vec![1, 2, 4]);
        assert_eq!(
            (three_to_one.get(), three_to_two.get()),
            (None, None),
            "the choices forwarding holds follow"
        );
        speakers.forget(3);
        assert!(
            speakers
                .choices
                .keys()
                .chain(speakers.chosen_at.keys())
                .all(|(a, b)| *a != 3 && *b != 3)
        );
    }
}

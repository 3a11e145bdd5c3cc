//! Short sounds that tell what happened in a meeting without a look at the window: someone
//! joined or left, a message arrived, a guest knocks. Each is a few soft sine notes, made
//! here rather than read from a file, and played by the mixer with everything else, so the
//! echo canceller hears it too and no second sound device is needed.

use crate::frame::AUDIO_SAMPLE_RATE_HZ;

/// Peak amplitude of a note: a quiet chime under the voices, a third of the test sound's.
const AMPLITUDE: f32 = 0.1;
/// Samples of a note's rise from silence (5 ms): no click at its start.
const ATTACK_SAMPLES: f32 = 240.0;

/// Something that happened, as a sound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cue {
    /// Someone joined: two notes going up.
    Joined,
    /// Someone left: the same two notes going down.
    Left,
    /// A chat message arrived: a short high pair.
    Message,
    /// A guest asks to join: a knock on the door, twice.
    Knock,
}

/// One note of a cue.
struct Note {
    freq_hz: f32,
    start_ms: u32,
    length_ms: u32,
}

const fn note(freq_hz: f32, start_ms: u32, length_ms: u32) -> Note {
    Note {
        freq_hz,
        start_ms,
        length_ms,
    }
}

const JOINED: [Note; 2] = [note(659.25, 0, 90), note(880.0, 70, 130)];
const LEFT: [Note; 2] = [note(880.0, 0, 90), note(659.25, 70, 130)];
const MESSAGE: [Note; 2] = [note(987.77, 0, 60), note(1318.51, 45, 90)];
const KNOCK: [Note; 2] = [note(587.33, 0, 60), note(587.33, 140, 60)];

impl Cue {
    /// Every cue.
    pub const ALL: [Self; 4] = [Self::Joined, Self::Left, Self::Message, Self::Knock];

    /// Its name for programs: `joined`, `left`, `message` or `knock`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Joined => "joined",
            Self::Left => "left",
            Self::Message => "message",
            Self::Knock => "knock",
        }
    }

    /// The cue called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|cue| cue.name() == name)
    }

    fn notes(self) -> &'static [Note] {
        match self {
            Self::Joined => &JOINED,
            Self::Left => &LEFT,
            Self::Message => &MESSAGE,
            Self::Knock => &KNOCK,
        }
    }

    /// The frequency of its first note, in Hz (for tests that listen for it).
    pub fn first_note_hz(self) -> f32 {
        self.notes()[0].freq_hz
    }

    /// How long it sounds, in samples.
    fn length_samples(self) -> usize {
        self.notes()
            .iter()
            .map(|note| samples(note.start_ms + note.length_ms))
            .max()
            .unwrap_or(0)
    }

    /// Its sample number `n`.
    fn sample(self, n: usize) -> f32 {
        self.notes()
            .iter()
            .filter_map(|note| {
                let since = n.checked_sub(samples(note.start_ms))?;
                let length = samples(note.length_ms);
                (since < length).then(|| {
                    let phase = since as f32 * note.freq_hz * std::f32::consts::TAU / AUDIO_SAMPLE_RATE_HZ as f32;
                    AMPLITUDE * chime_envelope(since as f32, length as f32) * phase.sin()
                })
            })
            .sum()
    }
}

/// Samples in `ms` milliseconds.
fn samples(ms: u32) -> usize {
    (ms * AUDIO_SAMPLE_RATE_HZ / 1000) as usize
}

/// How loud a chime's note is `n` samples into its `length`, from 0 to 1: a quick rise, then
/// a fade to nothing at its end, so that notes start and end without clicks.
pub(crate) fn chime_envelope(n: f32, length: f32) -> f32 {
    (n / ATTACK_SAMPLES).min(1.0) * (-4.0 * n / length).exp() * (1.0 - n / length).max(0.0)
}

/// A cue on its way into the mix, a frame at a time.
#[derive(Debug)]
pub struct CuePlayback {
    cue: Cue,
    played: usize,
}

impl CuePlayback {
    /// `cue` from its start.
    pub fn new(cue: Cue) -> Self {
        Self { cue, played: 0 }
    }

    /// Adds the next `mix.len()` samples of the cue to `mix`; false once it has all been
    /// played.
    pub fn add_to(&mut self, mix: &mut [f32]) -> bool {
        for (offset, sum) in mix.iter_mut().enumerate() {
            *sum += self.cue.sample(self.played + offset);
        }
        self.played += mix.len();
        self.played < self.cue.length_samples()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::goertzel::amplitude;

    /// The whole of `cue`, as the mixer would add it to silence.
    fn played(cue: Cue) -> Vec<f32> {
        let mut playback = CuePlayback::new(cue);
        let mut all = Vec::new();
        loop {
            let mut frame = [0.0; 960];
            let more = playback.add_to(&mut frame);
            all.extend_from_slice(&frame);
            if !more {
                return all;
            }
        }
    }

    #[test]
    fn cues_are_short_quiet_chimes_without_clicks() {
        for cue in Cue::ALL {
            let sound = played(cue);
            let seconds = sound.len() as f32 / AUDIO_SAMPLE_RATE_HZ as f32;
            assert!(seconds <= 0.25, "{cue:?} lasts {seconds} s");
            let peak = sound.iter().fold(0f32, |peak, s| peak.max(s.abs()));
            assert!(peak > 0.03 && peak <= 2.0 * AMPLITUDE, "{cue:?} peaks at {peak}");
            assert!(sound[0].abs() < 0.001, "{cue:?} starts with a click");
            let end = cue.length_samples();
            assert!(sound[end - 1].abs() < 0.01, "{cue:?} ends with a click");
            assert!(sound[end..].iter().all(|s| *s == 0.0), "{cue:?} goes on");
            let first = amplitude(&sound[..samples(40)], cue.first_note_hz());
            assert!(first > 0.02, "{cue:?}: its first note at {first}");
        }
    }

    #[test]
    fn joining_rises_and_leaving_falls() {
        let (joined, left) = (played(Cue::Joined), played(Cue::Left));
        let late = samples(120)..samples(180);
        assert!(amplitude(&joined[late.clone()], 880.0) > amplitude(&joined[late.clone()], 659.25));
        assert!(amplitude(&left[late.clone()], 659.25) > amplitude(&left[late], 880.0));
    }

    #[test]
    fn names_find_their_cues() {
        for cue in Cue::ALL {
            assert_eq!(Cue::from_name(cue.name()), Some(cue));
        }
        assert_eq!(Cue::from_name("fanfare"), None);
    }
}

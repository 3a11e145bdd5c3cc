//! Loudness for level meters and the active speaker: one number from 0 (silence) to 1
//! (full scale), on a decibel scale so speech moves the meter visibly.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::mixer::SourceId;

/// Louder than this (about -40 dBFS) counts as speaking, for the active speaker.
pub const SPEAKING_LEVEL: f32 = 0.33;
/// The active speaker stays so this long after going quiet (or another speaking), so that
/// the picture does not flicker between words.
pub const SPEAKER_HOLD: std::time::Duration = std::time::Duration::from_millis(1200);

/// The quietest level shown, in dB below full scale; anything quieter reads as 0.
const FLOOR_DB: f32 = -60.0;
/// How much of the previous level is kept per 20 ms frame when the sound gets quieter.
const RELEASE: f32 = 0.85;

/// Loudness of one 20 ms frame: RMS in dBFS mapped from [`FLOOR_DB`]..0 to 0..1.
pub fn loudness(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let mean_square = samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32;
    let db = 10.0 * mean_square.max(1e-12).log10();
    ((db - FLOOR_DB) / -FLOOR_DB).clamp(0.0, 1.0)
}

/// Rises at once with a louder frame, falls smoothly after it: what meters show.
fn smoothed(previous: f32, frame: f32) -> f32 {
    frame.max(previous * RELEASE)
}

/// One meter, written by an audio thread and read by the screen without locks.
#[derive(Debug, Default)]
pub struct AudioLevel(AtomicU32);

impl AudioLevel {
    /// The current level, 0 to 1.
    pub fn get(&self) -> f32 {
        f32::from_bits(self.0.load(Ordering::Relaxed))
    }

    /// Takes in one frame of samples.
    pub fn update(&self, samples: &[f32]) {
        let level = smoothed(self.get(), loudness(samples));
        self.0.store(level.to_bits(), Ordering::Relaxed);
    }

    /// Back to silence (a muted or stopped source).
    pub fn reset(&self) {
        self.0.store(0f32.to_bits(), Ordering::Relaxed);
    }
}

/// The levels of a meeting: our own microphone and every participant we hear.
#[derive(Debug, Default)]
pub struct AudioLevels {
    /// Our microphone (measured even while muted, so the app can say "you are muted").
    pub local: Arc<AudioLevel>,
    remote: Mutex<HashMap<SourceId, Remote>>,
    /// How each participant's sound was played (decoded, rebuilt, concealed).
    pub playout: super::playout_stats::PlayoutTally,
    /// Sound waiting in the speaker's queue when the last 20 ms were mixed, in ms.
    pub speaker_queue_ms: std::sync::atomic::AtomicU32,
    /// Mixed 20 ms frames not handed to the speaker because its queue was full (a device
    /// that takes nothing for a while): sound nobody hears.
    pub speaker_skipped_frames: std::sync::atomic::AtomicU64,
    /// Silence the speaker played because nothing was queued (before the first frame, or
    /// when the mix came late), in 48 kHz samples: gaps in what is heard.
    pub speaker_starved_samples: std::sync::atomic::AtomicU64,
}

/// What is known of one participant's loudness.
#[derive(Clone, Copy, Debug, Default)]
struct Remote {
    /// The meter's level.
    level: f32,
    /// Squared samples played since [`AudioLevels::take_remote_rms`], summed, and how many.
    energy: f64,
    samples: u64,
}

impl AudioLevels {
    /// How loud `source` is now; 0 when unknown.
    pub fn remote(&self, source: SourceId) -> f32 {
        self.lock().get(&source).map_or(0.0, |remote| remote.level)
    }

    /// Takes in one decoded frame from `source` (from the playout thread, not real time).
    pub fn update_remote(&self, source: SourceId, samples: &[f32]) {
        let frame = loudness(samples);
        let energy: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        let mut levels = self.lock();
        let remote = levels.entry(source).or_default();
        remote.level = smoothed(remote.level, frame);
        remote.energy += energy;
        remote.samples += samples.len() as u64;
    }

    /// The RMS (0 to 1) of each participant's sound played since the last call, by
    /// participant, for measurements that must tell who was heard. Participants with
    /// nothing played since are left out.
    pub fn take_remote_rms(&self) -> Vec<(SourceId, f32)> {
        let mut levels = self.lock();
        let mut rms: Vec<(SourceId, f32)> = levels
            .iter_mut()
            .filter(|(_, remote)| remote.samples > 0)
            .map(|(&source, remote)| {
                let mean_square = std::mem::take(&mut remote.energy) / std::mem::take(&mut remote.samples) as f64;
                (source, mean_square.sqrt() as f32)
            })
            .collect();
        rms.sort_unstable_by_key(|&(source, _)| source);
        rms
    }

    /// Forgets a participant who left.
    pub fn remove(&self, source: SourceId) {
        self.lock().remove(&source);
        self.playout.remove(source);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SourceId, Remote>> {
        self.remote.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(amplitude: f32) -> Vec<f32> {
        (0..960)
            .map(|i| amplitude * (i as f32 * 440.0 * std::f32::consts::TAU / 48_000.0).sin())
            .collect()
    }

    #[test]
    fn loudness_follows_decibels() {
        assert_eq!(loudness(&[0.0; 960]), 0.0);
        assert_eq!(loudness(&[]), 0.0);
        // A full-scale sine is -3 dBFS; a tenth of it 20 dB quieter.
        let full = loudness(&sine(1.0));
        let tenth = loudness(&sine(0.1));
        assert!((full - 0.95).abs() < 0.01, "{full}");
        assert!((full - tenth - 20.0 / 60.0).abs() < 0.01, "{full} {tenth}");
    }

    #[test]
    fn meters_rise_at_once_and_fall_smoothly() {
        let level = AudioLevel::default();
        level.update(&sine(0.5));
        let loud = level.get();
        assert!(loud > 0.8);
        level.update(&[0.0; 960]);
        assert!(
            level.get() < loud && level.get() > 0.6 * loud,
            "falls by a step, not to zero"
        );
        for _ in 0..50 {
            level.update(&[0.0; 960]);
        }
        assert!(level.get() < 0.01, "silent after a second");
    }

    #[test]
    fn participants_are_kept_apart() {
        let levels = AudioLevels::default();
        levels.update_remote(1, &sine(0.5));
        levels.update_remote(2, &sine(0.01));
        assert!(levels.remote(1) > levels.remote(2));
        levels.remove(1);
        assert_eq!(levels.remote(1), 0.0);
        assert_eq!(levels.remote(3), 0.0);
    }

    #[test]
    fn each_participants_rms_covers_everything_played_since_it_was_last_taken() {
        let levels = AudioLevels::default();
        // A second of participant 2: half of it a sine at 0.5, half silence.
        for frame in 0..50 {
            let amplitude = if frame % 2 == 0 { 0.5 } else { 0.0 };
            levels.update_remote(2, &sine(amplitude));
        }
        levels.update_remote(7, &sine(0.1));
        let rms = levels.take_remote_rms();
        let expected = 0.5 / 2.0f32.sqrt() / 2.0f32.sqrt();
        assert_eq!(rms.iter().map(|&(id, _)| id).collect::<Vec<_>>(), [2, 7]);
        assert!((rms[0].1 - expected).abs() < 0.005, "{rms:?}");
        assert!((rms[1].1 - 0.1 / 2.0f32.sqrt()).abs() < 0.005, "{rms:?}");
        // Taken: nothing is left until more is played.
        assert!(levels.take_remote_rms().is_empty());
        levels.update_remote(7, &[0.0; 960]);
        assert_eq!(levels.take_remote_rms(), [(7, 0.0)]);
    }
}

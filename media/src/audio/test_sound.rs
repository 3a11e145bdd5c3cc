//! "Play test sound" on the setup screen: a short rising chime through the chosen speaker.

use std::time::{Duration, Instant};

use super::AudioError;
use super::cue::chime_envelope;
use crate::devices::SpeakerChoice;
use crate::frame::{AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE_HZ, AudioFrame};

/// The chime's notes (C5, E5, G5), each this many 20 ms frames long.
const NOTES_HZ: [f32; 3] = [523.25, 659.25, 783.99];
const FRAMES_PER_NOTE: usize = 15;
/// Total length in frames (0.9 s).
pub const TEST_SOUND_FRAMES: usize = NOTES_HZ.len() * FRAMES_PER_NOTE;
/// Peak amplitude: clearly audible, well below clipping.
const AMPLITUDE: f32 = 0.3;
/// Sound kept queued at the speaker while playing.
const QUEUE_MS: u32 = 60;

/// Writes frame `index` (0..[`TEST_SOUND_FRAMES`]) of the chime into `frame`.
pub fn test_sound_frame(index: usize, frame: &mut AudioFrame) {
    let note = index / FRAMES_PER_NOTE;
    let Some(&freq) = NOTES_HZ.get(note) else {
        frame.samples.fill(0.0);
        return;
    };
    let note_samples = (FRAMES_PER_NOTE * AUDIO_FRAME_SAMPLES) as f32;
    let first = (index % FRAMES_PER_NOTE) * AUDIO_FRAME_SAMPLES;
    for (i, sample) in frame.samples.iter_mut().enumerate() {
        let n = (first + i) as f32;
        let phase = n * freq * std::f32::consts::TAU / AUDIO_SAMPLE_RATE_HZ as f32;
        *sample = AMPLITUDE * chime_envelope(n, note_samples) * phase.sin();
    }
}

/// Plays the chime on `speaker` and returns when it has been heard (about a second).
/// Blocks: call it from a thread of its own.
pub fn play_test_sound(speaker: &SpeakerChoice) -> Result<(), AudioError> {
    let Some(mut output) = speaker.open()? else {
        return Ok(());
    };
    let mut frame = AudioFrame::default();
    let mut index = 0;
    let deadline = Instant::now() + Duration::from_secs(3);
    while index < TEST_SOUND_FRAMES && Instant::now() < deadline {
        if output.queued_ms() < QUEUE_MS {
            test_sound_frame(index, &mut frame);
            output.play(&frame)?;
            index += 1;
        } else {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    while output.queued_ms() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    // The device's own buffer plays out after our queue is empty.
    std::thread::sleep(Duration::from_millis(100));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::goertzel::amplitude;

    #[test]
    fn the_chime_rises_through_three_notes_without_clipping() {
        let mut frame = AudioFrame::default();
        for (note, &freq) in NOTES_HZ.iter().enumerate() {
            test_sound_frame(note * FRAMES_PER_NOTE + 2, &mut frame);
            let heard = amplitude(&frame.samples[..], freq);
            let other = amplitude(&frame.samples[..], NOTES_HZ[(note + 1) % NOTES_HZ.len()]);
            assert!(heard > 0.1 && heard > 5.0 * other, "note {note}: {heard} vs {other}");
        }
        let mut peak = 0f32;
        for index in 0..TEST_SOUND_FRAMES {
            test_sound_frame(index, &mut frame);
            peak = frame.samples.iter().fold(peak, |p, s| p.max(s.abs()));
        }
        assert!(peak > 0.2 && peak <= AMPLITUDE, "{peak}");
        test_sound_frame(TEST_SOUND_FRAMES, &mut frame);
        assert!(frame.samples.iter().all(|&s| s == 0.0), "silence after the end");
    }

    #[test]
    fn no_speaker_plays_nothing_and_succeeds() {
        assert_eq!(play_test_sound(&SpeakerChoice::Mute), Ok(()));
    }
}

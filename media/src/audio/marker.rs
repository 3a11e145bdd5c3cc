//! Hearing the test tone's timing markers: how late sound arrives, from capture to the
//! point where it is handed to the speaker.

use super::goertzel::amplitude;
use super::synthetic::{MARKER_FREQ_HZ, MARKER_PERIOD_US};
use crate::frame::{AUDIO_SAMPLE_RATE_HZ, AudioFrame};

/// Samples per look for the marker: 2.5 ms, wide enough for Goertzel to tell the 3 kHz
/// marker from test tones below 2.5 kHz.
const BLOCK: usize = 120;
/// A marker is heard when its frequency is this loud (it is sent at 0.5).
const HEARD: f32 = 0.15;

/// Finds marker onsets in a stream of heard frames.
#[derive(Default)]
pub struct MarkerListener {
    /// The previous block had the marker in it (so the next one is not a new onset).
    in_marker: bool,
}

impl MarkerListener {
    /// Latencies, in microseconds, of the markers that start in `frame`, whose
    /// `capture_time_us` is when its first sample is handed on. Markers leave the sender
    /// on whole [`MARKER_PERIOD_US`] of the wall clock, so the onset's time past one is the
    /// delay (valid below one period).
    pub fn listen(&mut self, frame: &AudioFrame) -> Vec<u64> {
        let mut onsets = Vec::new();
        for (index, block) in frame.samples.chunks_exact(BLOCK).enumerate() {
            let heard = amplitude(block, MARKER_FREQ_HZ) > HEARD;
            if heard && !self.in_marker {
                let offset_us = (index * BLOCK) as u64 * 1_000_000 / u64::from(AUDIO_SAMPLE_RATE_HZ);
                onsets.push((frame.capture_time_us + offset_us) % MARKER_PERIOD_US);
            }
            self.in_marker = heard;
        }
        onsets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::TestTone;
    use crate::frame::AUDIO_FRAME_DURATION_US;

    #[test]
    fn a_delayed_marker_is_heard_with_its_delay() {
        let tone = TestTone::new(440.0);
        let mut listener = MarkerListener::default();
        let mut heard = Vec::new();
        let delay_us = 47_500;
        // Frames captured around a marker, handed on `delay_us` later.
        for n in 0..10 {
            let captured_us = 5_000_000 - 2 * AUDIO_FRAME_DURATION_US + n * AUDIO_FRAME_DURATION_US;
            let mut frame = AudioFrame::default();
            tone.render(captured_us, &mut frame);
            frame.capture_time_us = captured_us + delay_us;
            heard.extend(listener.listen(&frame));
        }
        assert_eq!(heard.len(), 1, "{heard:?}");
        assert!(heard[0].abs_diff(delay_us) <= 2_500, "{heard:?}");
    }

    #[test]
    fn a_plain_tone_has_no_marker() {
        let tone = TestTone::new(2_400.0);
        let mut listener = MarkerListener::default();
        let mut frame = AudioFrame::default();
        tone.render(5_300_000, &mut frame);
        assert!(listener.listen(&frame).is_empty());
    }
}

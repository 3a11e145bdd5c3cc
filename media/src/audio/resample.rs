//! Sample-rate conversion between a device's rate and our 48 kHz, on the non-real-time side.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::frame::AUDIO_FRAME_SAMPLES;

/// Converts mono audio between two rates in fixed chunks, with preallocated buffers.
pub(crate) struct RateConverter {
    resampler: Fft<f32>,
    output: Vec<f32>,
}

impl RateConverter {
    /// From the device's rate to 48 kHz: each call yields exactly one 20 ms frame.
    pub fn to_frames(device_rate_hz: u32) -> Option<Self> {
        Self::new(device_rate_hz, crate::AUDIO_SAMPLE_RATE_HZ, FixedSync::Output)
    }

    /// From 48 kHz to the device's rate: each call takes exactly one 20 ms frame.
    pub fn from_frames(device_rate_hz: u32) -> Option<Self> {
        Self::new(crate::AUDIO_SAMPLE_RATE_HZ, device_rate_hz, FixedSync::Input)
    }

    fn new(from_hz: u32, to_hz: u32, fixed: FixedSync) -> Option<Self> {
        if from_hz == to_hz {
            return None;
        }
        let resampler = Fft::<f32>::new(from_hz as usize, to_hz as usize, AUDIO_FRAME_SAMPLES, 1, fixed).ok()?;
        let output = vec![0.0; resampler.output_frames_max()];
        Some(Self { resampler, output })
    }

    /// Input samples the next [`RateConverter::process`] call needs.
    pub fn input_needed(&self) -> usize {
        self.resampler.input_frames_next()
    }

    /// Converts exactly [`RateConverter::input_needed`] samples; returns the output.
    pub fn process(&mut self, input: &[f32]) -> &[f32] {
        let frames_in = input.len();
        let capacity = self.output.len();
        let converted = InterleavedSlice::new(input, 1, frames_in).ok().and_then(|input| {
            let mut output = InterleavedSlice::new_mut(&mut self.output, 1, capacity).ok()?;
            self.resampler.process_into_buffer(&input, &mut output, None).ok()
        });
        match converted {
            Some((_, written)) => &self.output[..written],
            None => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_44100_to_48000_frames_and_back() {
        let mut up = RateConverter::to_frames(44_100).expect("converter");
        let mut down = RateConverter::from_frames(44_100).expect("converter");
        let mut produced = 0;
        let mut played = 0;
        for _ in 0..50 {
            let input = vec![0.25; up.input_needed()];
            let frame = up.process(&input).to_vec();
            assert_eq!(frame.len(), AUDIO_FRAME_SAMPLES);
            produced += frame.len();
            played += down.process(&frame).len();
        }
        assert_eq!(produced, 50 * AUDIO_FRAME_SAMPLES);
        // One second at 48 kHz becomes about one second at 44.1 kHz.
        assert!((played as i64 - 44_100).abs() < 2_000, "{played}");
        assert!(RateConverter::to_frames(48_000).is_none());
    }
}

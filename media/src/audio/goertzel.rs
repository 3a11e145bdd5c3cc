//! Goertzel's algorithm: the strength of one frequency in a block of samples.
//!
//! Cheaper than an FFT when only a few frequencies matter: telling participants' test
//! tones apart, and spotting timing markers.

use crate::frame::AUDIO_SAMPLE_RATE_HZ;

/// Amplitude of the `freq_hz` component of 48 kHz `samples` (a full-scale sine gives 1.0).
pub fn amplitude(samples: &[f32], freq_hz: f32) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let n = samples.len() as f32;
    let omega = std::f32::consts::TAU * freq_hz / AUDIO_SAMPLE_RATE_HZ as f32;
    let coeff = 2.0 * omega.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in samples {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0);
    2.0 * power.sqrt() / n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq_hz: f32, amplitude: f32, len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| amplitude * (std::f32::consts::TAU * freq_hz * i as f32 / 48_000.0).sin())
            .collect()
    }

    #[test]
    fn finds_the_right_frequency() {
        let signal = sine(440.0, 0.5, 960);
        assert!((amplitude(&signal, 440.0) - 0.5).abs() < 0.02);
        assert!(amplitude(&signal, 880.0) < 0.05);
        assert_eq!(amplitude(&[], 440.0), 0.0);
    }
}

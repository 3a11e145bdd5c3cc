//! Synthetic microphones: a test tone with timing markers, a test voice, and silence.

use std::time::{Duration, Instant};

use super::{AudioError, AudioSource};
use crate::clock;
use crate::frame::{AUDIO_FRAME_DURATION_US, AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE_HZ, AudioFrame};

/// Markers start at every multiple of this on the wall clock, so a receiver that hears
/// one knows when it was sent without any side channel.
pub const MARKER_PERIOD_US: u64 = 1_000_000;
/// Length of one marker burst.
pub const MARKER_DURATION_US: u64 = 20_000;
/// Frequency of the marker burst; keep test tones away from it.
pub const MARKER_FREQ_HZ: f32 = 3_000.0;

const TONE_AMPLITUDE: f32 = 0.3;
const MARKER_AMPLITUDE: f32 = 0.5;

/// Paces synthetic sources like a sound card: frame `n` is ready 20 ms after frame `n - 1`,
/// on a continuous sample clock anchored to the wall clock.
struct FrameClock {
    started: Instant,
    started_us: u64,
    next_frame: u64,
}

impl FrameClock {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            started_us: clock::now_us(),
            next_frame: 0,
        }
    }

    /// Waits until the next frame has been "recorded"; returns its first sample's time.
    fn wait_next(&mut self) -> u64 {
        let frame = self.next_frame;
        self.next_frame += 1;
        clock::sleep_until(self.started + Duration::from_micros((frame + 1) * AUDIO_FRAME_DURATION_US));
        self.started_us + frame * AUDIO_FRAME_DURATION_US
    }
}

/// A sine at a chosen frequency, replaced by a marker burst at every [`MARKER_PERIOD_US`].
///
/// The frequency tells a receiver whom it hears (see [`super::goertzel`]); the marker tells
/// it how late the sound arrives.
pub struct TestTone {
    freq_hz: f32,
    name: String,
    clock: FrameClock,
    /// Frames left before it acts unplugged, when it is to.
    unplug_after: Option<u32>,
}

impl TestTone {
    /// A tone at `freq_hz` (clamped to 50..=2500 Hz to stay clear of the marker).
    pub fn new(freq_hz: f32) -> Self {
        let freq_hz = freq_hz.clamp(50.0, 2_500.0);
        Self {
            freq_hz,
            name: format!("Test tone ({freq_hz:.0} Hz)"),
            clock: FrameClock::new(),
            unplug_after: None,
        }
    }

    /// The same tone that stops after `frames` 20 ms frames with
    /// [`AudioError::Disconnected`], as a microphone pulled out mid-meeting.
    pub fn unplugging_after(mut self, frames: u32) -> Self {
        self.unplug_after = Some(frames);
        self
    }

    /// Writes the frame whose first sample is at `start_us` on the wall clock.
    pub fn render(&self, start_us: u64, frame: &mut AudioFrame) {
        frame.capture_time_us = start_us;
        let rate = f64::from(AUDIO_SAMPLE_RATE_HZ);
        // Phase from absolute time keeps the sine continuous across frames.
        let start_seconds = (start_us % 1_000_000_000) as f64 / 1e6;
        for (index, sample) in frame.samples.iter_mut().enumerate() {
            let time_us = start_us + index as u64 * 1_000_000 / u64::from(AUDIO_SAMPLE_RATE_HZ);
            let seconds = start_seconds + index as f64 / rate;
            *sample = if time_us % MARKER_PERIOD_US < MARKER_DURATION_US {
                MARKER_AMPLITUDE * (std::f64::consts::TAU * f64::from(MARKER_FREQ_HZ) * seconds).sin() as f32
            } else {
                TONE_AMPLITUDE * (std::f64::consts::TAU * f64::from(self.freq_hz) * seconds).sin() as f32
            };
        }
    }
}

impl AudioSource for TestTone {
    fn name(&self) -> &str {
        &self.name
    }

    fn next_frame(&mut self, frame: &mut AudioFrame) -> Result<(), AudioError> {
        if let Some(left) = self.unplug_after.as_mut() {
            if *left == 0 {
                return Err(AudioError::Disconnected(self.name.clone()));
            }
            *left -= 1;
        }
        let start_us = self.clock.wait_next();
        self.render(start_us, frame);
        Ok(())
    }
}

/// A voice-like test signal for echo and noise tests: a buzz at about `pitch_hz` with ten
/// harmonics and a little noise, its pitch wandering by a fifth up and down, talking for
/// 300 ms and pausing for 200 ms. `first_sample` counts 48 kHz samples from the start of the talk.
pub fn talking(first_sample: u64, pitch_hz: f32, out: &mut [f32]) {
    const TALK: u64 = 300 * 48;
    const PAUSE: u64 = 200 * 48;
    const WANDER_HZ: f64 = 0.7;
    let rate = f64::from(AUDIO_SAMPLE_RATE_HZ);
    let (pitch, wander) = (f64::from(pitch_hz), 0.2 * f64::from(pitch_hz));
    for (index, sample) in out.iter_mut().enumerate() {
        let n = first_sample + index as u64;
        if n % (TALK + PAUSE) >= TALK {
            *sample = 0.0;
            continue;
        }
        let t = n as f64 / rate;
        // The integral of pitch + wander * sin(2 pi WANDER_HZ t): a smoothly gliding pitch.
        let w = std::f64::consts::TAU * WANDER_HZ;
        let phase = std::f64::consts::TAU * (pitch * t - wander / w * (w * t).cos());
        let buzz: f64 = (1..=10).map(|h| (f64::from(h) * phase).sin() / f64::from(h)).sum();
        // And a breath of noise, as in speech: a buzz alone repeats every pitch period,
        // which makes its echo's delay ambiguous.
        let noise = f64::from(hashed(n)) / f64::from(u32::MAX) * 2.0 - 1.0;
        *sample = (0.15 * buzz + 0.08 * noise) as f32;
    }
}

/// A well-mixed 32-bit hash of `n` (SplitMix64's finaliser), for noise that needs no state.
fn hashed(n: u64) -> u32 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as u32
}

/// A microphone that talks ([`talking`]), paced like a real one.
pub struct TestTalk {
    pitch_hz: f32,
    name: String,
    clock: FrameClock,
}

impl TestTalk {
    /// Talk at about `pitch_hz` (clamped to 60..=400 Hz, a voice's range).
    pub fn new(pitch_hz: f32) -> Self {
        let pitch_hz = pitch_hz.clamp(60.0, 400.0);
        Self {
            pitch_hz,
            name: format!("Test voice ({pitch_hz:.0} Hz)"),
            clock: FrameClock::new(),
        }
    }
}

impl AudioSource for TestTalk {
    fn name(&self) -> &str {
        &self.name
    }

    fn next_frame(&mut self, frame: &mut AudioFrame) -> Result<(), AudioError> {
        let first_sample = self.clock.next_frame * AUDIO_FRAME_SAMPLES as u64;
        frame.capture_time_us = self.clock.wait_next();
        talking(first_sample, self.pitch_hz, &mut frame.samples[..]);
        Ok(())
    }
}

/// A microphone that hears nothing, paced like a real one.
pub struct Silence {
    clock: FrameClock,
}

impl Silence {
    /// Display name of the silent microphone.
    pub const NAME: &'static str = "Silence";

    /// A silent source starting now.
    pub fn new() -> Self {
        Self {
            clock: FrameClock::new(),
        }
    }
}

impl Default for Silence {
    fn default() -> Self {
        Self::new()
    }
}

impl AudioSource for Silence {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn next_frame(&mut self, frame: &mut AudioFrame) -> Result<(), AudioError> {
        frame.capture_time_us = self.clock.wait_next();
        frame.samples.fill(0.0);
        Ok(())
    }
}

const _: () = assert!(AUDIO_FRAME_SAMPLES as u64 * 1_000_000 / AUDIO_SAMPLE_RATE_HZ as u64 == AUDIO_FRAME_DURATION_US);

#[cfg(test)]
mod tests {
    use super::super::goertzel::amplitude;
    use super::*;

    #[test]
    fn tone_frames_carry_the_tone_and_markers_on_the_second() {
        let tone = TestTone::new(440.0);
        let mut frame = AudioFrame::default();
        tone.render(1_000_500_000, &mut frame); // half a second past a marker
        assert!((amplitude(&frame.samples[..], 440.0) - TONE_AMPLITUDE).abs() < 0.03);
        assert!(amplitude(&frame.samples[..], MARKER_FREQ_HZ) < 0.03);
        tone.render(2_000_000_000, &mut frame); // a marker starts here
        assert!((amplitude(&frame.samples[..], MARKER_FREQ_HZ) - MARKER_AMPLITUDE).abs() < 0.03);
    }

    #[test]
    fn synthetic_sources_pace_at_20_ms() {
        let mut silence = Silence::new();
        let mut frame = AudioFrame::default();
        let start = Instant::now();
        let first = {
            silence.next_frame(&mut frame).unwrap();
            frame.capture_time_us
        };
        for _ in 0..4 {
            silence.next_frame(&mut frame).unwrap();
        }
        assert_eq!(frame.capture_time_us - first, 4 * AUDIO_FRAME_DURATION_US);
        assert!(frame.samples.iter().all(|&s| s == 0.0));
        assert!(start.elapsed() >= Duration::from_millis(100));
    }
}

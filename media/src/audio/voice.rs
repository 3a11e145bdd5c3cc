//! Voice processing between a microphone and the encoder: the echo of what the speaker
//! played is taken out of what the microphone hears, then noise is suppressed (WebRTC's
//! AEC3 chain as ported to Rust by the `aec3` crate: high-pass filter, echo canceller,
//! noise suppressor and its full-band post filter).
//!
//! The playout thread records every 20 ms it hands to the speaker in an [`EchoReference`];
//! the microphone's thread feeds what was played to the canceller before each frame it
//! captures. The speaker's queue and the room delay the echo by tens of milliseconds; the
//! canceller finds that delay itself and follows it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aec3::nodes::audio::AudioFormat;
use aec3::pipelines::linear::{self, LinearPipeline};

use crate::frame::{AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE_HZ, AudioFrame};

/// Samples in the 10 ms blocks the canceller works in.
const BLOCK: usize = AUDIO_FRAME_SAMPLES / 2;
/// Played sound kept for a microphone that has not taken it yet: half a second. Older
/// sound is dropped (with no microphone running, nobody takes it).
const REFERENCE_SAMPLES: usize = 25 * AUDIO_FRAME_SAMPLES;

/// What the speaker was given, in order, for the echo canceller. Cheap to clone; all
/// clones share one queue.
#[derive(Clone, Debug, Default)]
pub struct EchoReference(Arc<Mutex<VecDeque<f32>>>);

impl EchoReference {
    /// Records sound handed to the speaker (from the playout thread, not real time).
    pub fn played(&self, samples: &[f32]) {
        self.append(samples.iter().copied());
    }

    /// Records `samples` of silence the speaker played on its own (it ran dry).
    pub fn played_silence(&self, samples: usize) {
        self.append(std::iter::repeat_n(0.0, samples.min(REFERENCE_SAMPLES)));
    }

    fn append(&self, samples: impl ExactSizeIterator<Item = f32>) {
        let mut queue = self.lock();
        let held = queue.len();
        let overflow = (held + samples.len()).saturating_sub(REFERENCE_SAMPLES);
        queue.drain(..overflow.min(held));
        queue.extend(samples);
    }

    /// Hands every whole 10 ms block played since the last call to `each`, oldest first.
    fn take_blocks(&self, mut each: impl FnMut(&[f32])) {
        let mut block = [0.0; BLOCK];
        loop {
            {
                let mut queue = self.lock();
                if queue.len() < BLOCK {
                    return;
                }
                for (to, from) in block.iter_mut().zip(queue.drain(..BLOCK)) {
                    *to = from;
                }
            }
            // The playout thread is not kept waiting while the canceller works.
            each(&block);
        }
    }

    fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<f32>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The processing chain of one microphone. Not `Send`: made and used on the microphone's
/// own thread.
pub struct VoiceProcessor {
    pipeline: LinearPipeline,
    reference: EchoReference,
    processed: [f32; BLOCK],
    /// Set once a processing error was logged, so a persistent one is logged once.
    failed: bool,
}

impl VoiceProcessor {
    /// A chain that cancels the echo of what `reference` records.
    pub fn new(reference: EchoReference) -> Result<Self, String> {
        let format = AudioFormat::ten_ms(AUDIO_SAMPLE_RATE_HZ, 1);
        // Automatic gain is left out: its voice detector took what is left of an echo for
        // speech and raised it by about 15 dB (the echo test below measured 18-24 dB taken
        // out with it, 33-42 dB without).
        let pipeline = linear::builder(format, format)
            .enable_gain_controller2(false)
            .build()
            .map_err(|e| format!("voice processing could not start: {e}"))?;
        // Sound played before this microphone opened has no echo left to cancel.
        reference.clear();
        Ok(Self {
            pipeline,
            reference,
            processed: [0.0; BLOCK],
            failed: false,
        })
    }

    /// Processes one captured frame in place, after feeding the canceller what was played
    /// since the last frame.
    pub fn process(&mut self, frame: &mut AudioFrame) {
        let (pipeline, failed) = (&mut self.pipeline, &mut self.failed);
        self.reference.take_blocks(|block| {
            if let Err(error) = pipeline.handle_render_frame(block) {
                log_once(failed, &error);
            }
        });
        for half in frame.samples.chunks_exact_mut(BLOCK) {
            match pipeline.process_capture_frame(half, &mut self.processed) {
                Ok(true) => half.copy_from_slice(&self.processed),
                // Nothing came out (cannot happen with this chain): the sound goes as heard.
                Ok(false) => {}
                Err(error) => log_once(failed, &error),
            }
        }
    }
}

fn log_once(failed: &mut bool, error: &dyn std::fmt::Display) {
    if !*failed {
        *failed = true;
        tracing::warn!(%error, "voice processing failed; sending the microphone as heard");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::talking;

    /// A room: the speaker's sound comes back 40 ms later, weaker, with a reflection 20 ms
    /// after that.
    struct Room {
        played: VecDeque<f32>,
    }

    impl Room {
        const DELAY: usize = 40 * 48;

        fn new() -> Self {
            Self {
                played: std::iter::repeat_n(0.0, Self::DELAY + Self::DELAY / 2).collect(),
            }
        }

        fn echo(&mut self, played: &[f32], heard: &mut [f32]) {
            self.played.extend(played);
            for sample in heard.iter_mut() {
                let (reflected, direct) = (self.played[0], self.played[Self::DELAY / 2]);
                *sample += 0.4 * direct + 0.15 * reflected;
                self.played.pop_front();
            }
        }
    }

    fn energy(samples: &[f32]) -> f64 {
        samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum()
    }

    /// Runs `frames` 20 ms frames of the far end talking at 140 Hz through a room into the
    /// microphone, the near end talking at 230 Hz from frame `near_from` on; returns the
    /// energy heard and the energy sent, per frame.
    fn call(frames: u64, near_from: u64) -> Vec<(f64, f64)> {
        let reference = EchoReference::default();
        let mut processor = VoiceProcessor::new(reference.clone()).expect("starts");
        let mut room = Room::new();
        let (mut played, mut frame, mut near) = (AudioFrame::default(), AudioFrame::default(), AudioFrame::default());
        (0..frames)
            .map(|index| {
                let first = index * AUDIO_FRAME_SAMPLES as u64;
                talking(first, 140.0, &mut played.samples[..]);
                reference.played(&played.samples[..]);
                near.samples.fill(0.0);
                if index >= near_from {
                    // Out of step with the far end's talk, so both talk at once half the time.
                    talking(first + 7_000, 230.0, &mut near.samples[..]);
                }
                frame.samples.copy_from_slice(&near.samples[..]);
                room.echo(&played.samples[..], &mut frame.samples[..]);
                let heard = energy(&frame.samples[..]);
                processor.process(&mut frame);
                (heard, energy(&frame.samples[..]))
            })
            .collect()
    }

    #[test]
    fn the_echo_of_the_far_end_is_taken_out() {
        let frames = call(400, u64::MAX);
        // After four seconds to learn the room, the last four.
        let (heard, sent) = frames[200..]
            .iter()
            .fold((0.0, 0.0), |(h, s), (heard, sent)| (h + heard, s + sent));
        let removed_db = 10.0 * (heard / sent.max(1e-12)).log10();
        println!("echo reduced by {removed_db:.1} dB");
        assert!(removed_db >= 25.0, "echo reduced by only {removed_db:.1} dB");
    }

    #[test]
    fn the_near_end_is_kept_while_both_talk() {
        let echo_only = call(400, u64::MAX);
        let both = call(400, 200);
        // What the near end adds to what is sent, against what it adds to what is heard.
        let added = |range: std::ops::Range<usize>, pick: fn(&(f64, f64)) -> f64| -> f64 {
            range.map(|i| pick(&both[i]) - pick(&echo_only[i])).sum()
        };
        let (heard, sent) = (added(250..400, |f| f.0), added(250..400, |f| f.1));
        let kept_db = 10.0 * (sent / heard).log10();
        println!("near end while both talk: {kept_db:.1} dB");
        assert!(kept_db >= -6.0, "the near end lost {:.1} dB", -kept_db);
    }

    #[test]
    fn the_reference_keeps_half_a_second_and_hands_out_whole_blocks() {
        let reference = EchoReference::default();
        for frame in 0..40 {
            reference.played(&[frame as f32; AUDIO_FRAME_SAMPLES]);
        }
        let mut blocks = Vec::new();
        reference.take_blocks(|block| blocks.push(block[0]));
        // The newest 25 frames, oldest first, two blocks each.
        assert_eq!(blocks.len(), REFERENCE_SAMPLES / BLOCK);
        assert_eq!((blocks[0], blocks[blocks.len() - 1]), (15.0, 39.0));
        // Silence the speaker played on its own takes its place in order; less than a
        // block waits for the next call.
        reference.played_silence(BLOCK);
        reference.played(&[0.25; 100]);
        reference.take_blocks(|block| assert_eq!(block, [0.0; BLOCK]));
        reference.take_blocks(|_| panic!("not a whole block"));
        assert_eq!(reference.lock().len(), 100);
    }
}

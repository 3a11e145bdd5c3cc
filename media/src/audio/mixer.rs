//! Playout: one thread that mixes every remote stream, 20 ms at a time, into the speaker.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::AudioError;
use super::cue::{Cue, CuePlayback};
use super::jitter::JitterBuffer;
use super::level::AudioLevels;
use super::voice::EchoReference;
use crate::clock;
use crate::devices::SpeakerChoice;
use crate::frame::{AUDIO_FRAME_DURATION_US, AudioFrame};

/// Packets queued for the mixer before new ones are dropped (about a second for 16 people).
const QUEUE: usize = 1024;
/// Sound queued at a synthetic speaker above which a frame is skipped.
const MAX_SPEAKER_QUEUE_MS: u32 = 100;

/// Identifies one remote stream (a participant id).
pub type SourceId = u32;

/// What the network side tells the mixer.
#[derive(Debug)]
pub enum MixerInput {
    /// One received Opus packet.
    Packet {
        /// Whose.
        source: SourceId,
        /// RTP sequence number.
        sequence: u16,
        /// The Opus packet.
        payload: Vec<u8>,
    },
    /// The participant left: forget their stream.
    Remove(SourceId),
    /// Play a cue in the mix, in place of one still playing.
    Cue(Cue),
    /// Every mixed frame, with each participant's part of it, goes here too from now on
    /// (a recording), or no longer.
    Record(Option<SyncSender<Heard>>),
    /// Play to another speaker from now on; the outcome goes to `done`. On failure the
    /// previous speaker keeps playing.
    UseSpeaker {
        /// The new speaker.
        speaker: SpeakerChoice,
        /// Told whether it worked.
        done: SyncSender<Result<(), AudioError>>,
    },
}

/// 20 ms of what is heard, for a recording: the mix, and each participant's sound in it.
#[derive(Clone, Debug, Default)]
pub struct Heard {
    /// Everyone together (and any cue), as played.
    pub mix: AudioFrame,
    /// Each participant's own sound (silence filled in where theirs was missing).
    pub voices: Vec<(SourceId, AudioFrame)>,
}

/// The playout thread; dropping it stops the thread.
pub struct Mixer {
    input: SyncSender<MixerInput>,
    stop: Arc<AtomicBool>,
    _thread: JoinHandle<()>,
}

impl Mixer {
    /// Opens `speaker` and starts mixing. Every mixed frame also goes to `tap` when given
    /// (tests and measurements listen there), its `capture_time_us` set to when its first
    /// sample reaches the speaker's callback; what the speaker is given is recorded in
    /// `echo`, for the microphone's echo canceller; each participant's loudness goes to
    /// `levels`. When the speaker stops (unplugged, or its stream broke), `speaker_failed` is
    /// called once with the reason, the speaker is closed, and mixing goes on without sound
    /// until another speaker is chosen.
    pub fn start(
        speaker: SpeakerChoice,
        tap: Option<SyncSender<AudioFrame>>,
        echo: EchoReference,
        levels: Arc<AudioLevels>,
        speaker_failed: impl Fn(AudioError) + Send + 'static,
    ) -> Result<Self, AudioError> {
        let (input, packets) = sync_channel(QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let (opened_tx, opened) = sync_channel(1);
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("audio-playout".into())
            .spawn(move || match speaker.open() {
                Ok(output) => {
                    let _ = opened_tx.send(Ok(()));
                    mix_loop(output, &packets, (tap, &echo, &speaker_failed), &levels, &thread_stop);
                }
                Err(error) => {
                    let _ = opened_tx.send(Err(error));
                }
            })
            .map_err(|e| AudioError::HostUnavailable(e.to_string()))?;
        opened
            .recv()
            .map_err(|_| AudioError::HostUnavailable("the playout thread ended".into()))??;
        Ok(Self {
            input,
            stop,
            _thread: thread,
        })
    }

    /// Where to send packets; cheap to clone, never blocks (a full queue drops).
    pub fn input(&self) -> SyncSender<MixerInput> {
        self.input.clone()
    }
}

impl Drop for Mixer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn mix_loop(
    mut speaker: Option<super::SoundOutput>,
    packets: &Receiver<MixerInput>,
    (tap, echo, speaker_failed): (Option<SyncSender<AudioFrame>>, &EchoReference, &dyn Fn(AudioError)),
    levels: &AudioLevels,
    stop: &AtomicBool,
) {
    let mut streams: HashMap<SourceId, JitterBuffer> = HashMap::new();
    let mut cue: Option<CuePlayback> = None;
    let mut recording: Option<SyncSender<Heard>> = None;
    let mut voices: Vec<(SourceId, AudioFrame)> = Vec::new();
    let (mut mix, mut stream_frame) = (AudioFrame::default(), AudioFrame::default());
    let mut next_tick = Instant::now() + FRAME;
    while !stop.load(Ordering::Relaxed) {
        wait_for_turn(speaker.as_ref(), &mut next_tick);
        while let Ok(input) = packets.try_recv() {
            match input {
                MixerInput::Packet {
                    source,
                    sequence,
                    payload,
                } => {
                    if let Some(stream) = stream_for(&mut streams, source) {
                        stream.push(sequence, payload);
                    }
                }
                MixerInput::Remove(source) => {
                    streams.remove(&source);
                    levels.remove(source);
                }
                MixerInput::Cue(wanted) => cue = Some(CuePlayback::new(wanted)),
                MixerInput::Record(to) => recording = to,
                MixerInput::UseSpeaker { speaker: choice, done } => {
                    // Opening takes a few milliseconds; the gap is heard once, at the switch.
                    let opened = choice.open().map(|output| speaker = output);
                    let _ = done.try_send(opened);
                }
            }
        }
        mix.samples.fill(0.0);
        voices.clear();
        for (&source, stream) in &mut streams {
            let playout = stream.pop(&mut stream_frame);
            levels.playout.record(source, playout);
            levels.update_remote(source, &stream_frame.samples[..]);
            for (sum, sample) in mix.samples.iter_mut().zip(stream_frame.samples.iter()) {
                *sum += sample;
            }
            if recording.is_some() {
                voices.push((source, stream_frame.clone()));
            }
        }
        if let Some(playing) = &mut cue
            && !playing.add_to(&mut mix.samples[..])
        {
            cue = None;
        }
        for sample in mix.samples.iter_mut() {
            *sample = sample.clamp(-1.0, 1.0);
        }
        // When the mix's first sample reaches the device: after what is queued before it.
        let queued_ms = speaker.as_ref().map_or(0, super::SoundOutput::queued_ms);
        levels.speaker_queue_ms.store(queued_ms, Ordering::Relaxed);
        mix.capture_time_us = clock::now_us() + u64::from(queued_ms) * 1_000;
        // Asked every turn: a broken stream may take no sound at all, so never reach `play`.
        let mut lost = speaker.as_ref().and_then(|output| output.check().err());
        if lost.is_none()
            && let Some(output) = &mut speaker
        {
            if queued_ms <= speaker_room_ms(output) {
                match output.play(&mix) {
                    Ok(()) => {
                        // Silence played when the device ran dry came before this frame: the
                        // echo canceller's reference must have it too, or it loses its place.
                        let silence = output.take_silence_played();
                        levels
                            .speaker_starved_samples
                            .fetch_add(silence as u64, Ordering::Relaxed);
                        echo.played_silence(silence);
                        echo.played(&mix.samples[..]);
                    }
                    Err(error) => lost = Some(error),
                }
            } else {
                // The device takes nothing for now: this frame is not heard.
                levels.speaker_skipped_frames.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(error) = lost {
            tracing::warn!(%error, "the speaker stopped");
            speaker_failed(error);
            // Closed, not kept: a broken stream left open goes on retrying its device.
            speaker = None;
        }
        if let Some(tap) = &tap {
            let _ = tap.try_send(mix.clone());
        }
        if let Some(recording) = &recording {
            let voices = std::mem::take(&mut voices);
            let _ = recording.try_send(Heard {
                mix: mix.clone(),
                voices,
            });
        }
    }
}

const FRAME: Duration = Duration::from_micros(AUDIO_FRAME_DURATION_US);
const FRAME_MS: u32 = (AUDIO_FRAME_DURATION_US / 1_000) as u32;

/// Waits until the next 20 ms are due: when a real speaker's queue runs low, or, without
/// one, on a steady 20 ms clock. Following the device's own clock and demand, sound never
/// piles up in its queue (with a clock of our own it settled at 80-90 ms behind a device
/// that took its time to start) and clock drift cannot grow it. A device that takes nothing
/// for a whole frame (starting, or stuck) is kept time for on the clock, its frames skipped
/// (see [`speaker_room_ms`]), so the jitter buffers do not pile up sound either.
fn wait_for_turn(speaker: Option<&super::SoundOutput>, next_tick: &mut Instant) {
    match speaker.map(|output| (output, output.refill_at_ms())) {
        Some((output, Some(refill_at_ms))) => {
            let queued_before = output.queued_ms();
            loop {
                let (queued_ms, now) = (output.queued_ms(), Instant::now());
                let stalled = now >= *next_tick && queued_ms >= queued_before;
                if queued_ms <= refill_at_ms || stalled || now >= *next_tick + FRAME {
                    break;
                }
                let until_low = Duration::from_millis(u64::from(queued_ms - refill_at_ms));
                // Until the device should be down to the refill level, or the frame is due.
                let until_due = next_tick.saturating_duration_since(now);
                let nap = if until_due.is_zero() {
                    until_low
                } else {
                    until_low.min(until_due)
                };
                std::thread::sleep(nap.max(Duration::from_millis(1)));
            }
            *next_tick = Instant::now() + FRAME;
        }
        _ => {
            clock::sleep_until(*next_tick);
            *next_tick += FRAME;
        }
    }
}

/// Sound a speaker may hold before a new frame is skipped: a frame beyond its refill level
/// for a real device (more only piles up while it takes nothing), else [`MAX_SPEAKER_QUEUE_MS`].
fn speaker_room_ms(speaker: &super::SoundOutput) -> u32 {
    speaker
        .refill_at_ms()
        .map_or(MAX_SPEAKER_QUEUE_MS, |refill_at_ms| refill_at_ms + FRAME_MS)
}

fn stream_for(streams: &mut HashMap<SourceId, JitterBuffer>, source: SourceId) -> Option<&mut JitterBuffer> {
    match streams.entry(source) {
        std::collections::hash_map::Entry::Occupied(entry) => Some(entry.into_mut()),
        std::collections::hash_map::Entry::Vacant(entry) => match JitterBuffer::new() {
            Ok(buffer) => Some(entry.insert(buffer)),
            Err(error) => {
                tracing::warn!(%error, "cannot decode sound");
                None
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::goertzel::amplitude;

    /// What the mixer plays over the next `frames` frames.
    fn heard(tap: &Receiver<AudioFrame>, frames: usize) -> Vec<f32> {
        (0..frames)
            .flat_map(|_| {
                tap.recv_timeout(Duration::from_secs(1))
                    .expect("a mixed frame")
                    .samples
                    .to_vec()
            })
            .collect()
    }

    #[test]
    fn a_cue_is_played_in_the_mix() {
        let (tap, mixed) = sync_channel(64);
        let levels = Arc::new(AudioLevels::default());
        let mixer = Mixer::start(SpeakerChoice::Mute, Some(tap), EchoReference::default(), levels, |_| {})
            .expect("a mixer without a speaker starts");
        let cue = Cue::Knock;
        let before = heard(&mixed, 5);
        assert!(before.iter().all(|s| *s == 0.0), "silence before the cue");
        mixer.input().try_send(MixerInput::Cue(cue)).expect("queued");
        let after = heard(&mixed, 15);
        let level = after
            .chunks(960)
            .map(|frame| amplitude(frame, cue.first_note_hz()))
            .fold(0f32, f32::max);
        assert!(level > 0.02, "the cue's note at {level}");
        let later = heard(&mixed, 5);
        assert!(later.iter().all(|s| *s == 0.0), "silence after the cue");
    }
}

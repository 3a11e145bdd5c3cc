//! Playback to a real speaker: a real-time callback that only reads from a ring.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cpal::traits::DeviceTrait;
use cpal::{FromSample, SizedSample, StreamConfig};
use rtrb::{Consumer, Producer, RingBuffer};

use super::AudioError;
use super::device::{DeviceStream, Direction, Heartbeat, StreamCallback, start_stream};
use super::resample::RateConverter;
use crate::frame::{AUDIO_SAMPLE_RATE_HZ, AudioFrame};

/// Ring capacity: a second at 48 kHz. The caller keeps far less queued.
const RING_SAMPLES: usize = 48_000;

/// An open speaker playing 20 ms mono frames at 48 kHz on every channel.
pub struct Speaker {
    stream: DeviceStream,
    samples: Producer<f32>,
    converter: Option<RateConverter>,
    /// The most frames the device has asked for in one callback.
    period_frames: Arc<AtomicUsize>,
    /// Frames of silence the device played because nothing was queued.
    silent_frames: Arc<AtomicUsize>,
}

impl Speaker {
    /// Opens the speaker `id` (from [`super::list_speakers`]) and starts playing silence.
    pub fn open(id: &str) -> Result<Self, AudioError> {
        let (samples, consumer) = RingBuffer::new(RING_SAMPLES);
        let period_frames = Arc::new(AtomicUsize::new(0));
        let silent_frames = Arc::new(AtomicUsize::new(0));
        let stream = start_stream(
            id,
            Direction::Output,
            Upmix {
                samples: consumer,
                period_frames: Arc::clone(&period_frames),
                silent_frames: Arc::clone(&silent_frames),
            },
        )?;
        Ok(Self {
            period_frames,
            silent_frames,
            converter: RateConverter::from_frames(stream.rate_hz),
            stream,
            samples,
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.stream.name
    }

    /// An error once the device went away or its stream broke.
    pub fn check(&self) -> Result<(), AudioError> {
        if self.stream.failed() {
            return Err(AudioError::Disconnected(self.stream.name.clone()));
        }
        Ok(())
    }

    /// Queues one frame for playback. When the queue is full the frame's tail is dropped.
    pub fn play(&mut self, frame: &AudioFrame) -> Result<(), AudioError> {
        self.check()?;
        let samples = match &mut self.converter {
            Some(converter) => converter.process(&frame.samples[..]),
            None => &frame.samples[..],
        };
        // Whatever does not fit is dropped: late sound is worse than a short gap.
        let (_pushed, _dropped) = self.samples.push_partial_slice(samples);
        Ok(())
    }

    /// How low the queue may run before it is topped up: the largest callback the device
    /// has made (its period) and 5 ms for the mixer to wake, at least 10 ms.
    pub fn refill_at_ms(&self) -> u32 {
        let period_ms = self.period_frames.load(Ordering::Relaxed) as u64 * 1000 / u64::from(self.stream.rate_hz);
        (period_ms as u32 + 5).max(10)
    }

    /// Milliseconds of sound queued and not yet handed to the device.
    pub fn queued_ms(&self) -> u32 {
        let queued = self.samples.buffer().capacity() - self.samples.slots();
        (queued as u64 * 1000 / u64::from(self.stream.rate_hz)) as u32
    }

    /// Silence the device played since the last call because nothing was queued (before
    /// the first frame, or when it ran dry), in 48 kHz samples. Asked right after
    /// [`Speaker::play`], it all came before that frame.
    pub fn take_silence_played(&self) -> usize {
        let frames = self.silent_frames.swap(0, Ordering::Relaxed) as u64;
        (frames * u64::from(AUDIO_SAMPLE_RATE_HZ) / u64::from(self.stream.rate_hz)) as usize
    }
}

/// Where sound is played: a real speaker, or a synthetic one for tests.
pub enum SoundOutput {
    /// A real speaker.
    Speaker(Box<Speaker>),
    /// Takes sound in at the rate it would play and discards it; after a number of frames it
    /// acts unplugged (tests of a speaker that goes away).
    Unplugging {
        /// Frames it takes before it fails.
        frames_left: u32,
    },
}

impl SoundOutput {
    /// An error once the device is gone, whether or not it is given sound.
    pub fn check(&self) -> Result<(), AudioError> {
        match self {
            Self::Speaker(speaker) => speaker.check(),
            Self::Unplugging { frames_left: 0 } => Err(AudioError::Disconnected(TEST_SPEAKER_NAME.into())),
            Self::Unplugging { .. } => Ok(()),
        }
    }

    /// Queues one frame for playback; an error once the device is gone.
    pub fn play(&mut self, frame: &AudioFrame) -> Result<(), AudioError> {
        match self {
            Self::Speaker(speaker) => speaker.play(frame),
            Self::Unplugging { frames_left: 0 } => Err(AudioError::Disconnected(TEST_SPEAKER_NAME.into())),
            Self::Unplugging { frames_left } => {
                *frames_left -= 1;
                Ok(())
            }
        }
    }

    /// For a real device, which takes sound at its own pace: how low its queue may run before
    /// it is topped up. None for a synthetic one, which never queues any.
    pub fn refill_at_ms(&self) -> Option<u32> {
        match self {
            Self::Speaker(speaker) => Some(speaker.refill_at_ms()),
            Self::Unplugging { .. } => None,
        }
    }

    /// Milliseconds of sound queued and not yet handed to the device.
    pub fn queued_ms(&self) -> u32 {
        match self {
            Self::Speaker(speaker) => speaker.queued_ms(),
            Self::Unplugging { .. } => 0,
        }
    }

    /// See [`Speaker::take_silence_played`]; none for a synthetic speaker.
    pub fn take_silence_played(&self) -> usize {
        match self {
            Self::Speaker(speaker) => speaker.take_silence_played(),
            Self::Unplugging { .. } => 0,
        }
    }
}

/// What the synthetic speaker that goes away is called.
pub const TEST_SPEAKER_NAME: &str = "Test speaker";

/// The playback callback: copies each queued mono sample to every channel, and plays
/// silence when the queue runs dry; notes the largest request, the device's period.
struct Upmix {
    samples: Consumer<f32>,
    period_frames: Arc<AtomicUsize>,
    silent_frames: Arc<AtomicUsize>,
}

impl StreamCallback for Upmix {
    fn build<T>(
        self,
        device: &cpal::Device,
        config: StreamConfig,
        heartbeat: Arc<Heartbeat>,
        on_error: impl FnMut(cpal::Error) + Send + 'static,
    ) -> Result<cpal::Stream, cpal::Error>
    where
        T: SizedSample + FromSample<f32>,
        f32: FromSample<T>,
    {
        let Self {
            samples: mut consumer,
            period_frames,
            silent_frames,
        } = self;
        let channels = usize::from(config.channels.max(1));
        device.build_output_stream::<T, _, _>(
            config,
            // Real time: no allocation, no lock, no logging.
            move |data: &mut [T], _| {
                heartbeat.beat();
                period_frames.fetch_max(data.len() / channels, Ordering::Relaxed);
                let mut silent = 0;
                for frame in data.chunks_exact_mut(channels) {
                    let sample = consumer.pop().unwrap_or_else(|_| {
                        silent += 1;
                        0.0
                    });
                    frame.fill(T::from_sample(sample));
                }
                if silent > 0 {
                    silent_frames.fetch_add(silent, Ordering::Relaxed);
                }
            },
            on_error,
            None,
        )
    }
}

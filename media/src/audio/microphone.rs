//! Capture from a real microphone: a real-time callback that only downmixes into a ring.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cpal::traits::DeviceTrait;
use cpal::{FromSample, Sample, SizedSample, StreamConfig};
use rtrb::{Consumer, Producer, RingBuffer};

use super::device::{DeviceStream, Direction, Heartbeat, StreamCallback, start_stream};
use super::resample::RateConverter;
use super::{AudioError, AudioSource};
use crate::clock;
use crate::frame::{AUDIO_FRAME_SAMPLES, AudioFrame};

/// How long `next_frame` waits for samples before it calls the device dead. Generous:
/// Bluetooth headsets and busy sound servers can take seconds to start delivering.
const STALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How often `next_frame` looks for new samples.
const POLL_INTERVAL: Duration = Duration::from_millis(2);
/// Ring capacity: a second at 48 kHz; the reader drains it every few milliseconds.
const RING_SAMPLES: usize = 48_000;

/// An open microphone delivering 20 ms mono frames at 48 kHz.
pub struct Microphone {
    stream: DeviceStream,
    samples: Consumer<f32>,
    converter: Option<RateConverter>,
    scratch: Vec<f32>,
}

impl Microphone {
    /// Opens the microphone `id` (from [`super::list_microphones`]) and starts capturing.
    pub fn open(id: &str) -> Result<Self, AudioError> {
        let (producer, samples) = RingBuffer::new(RING_SAMPLES);
        let stream = start_stream(id, Direction::Input, Downmix(producer))?;
        Ok(Self {
            converter: RateConverter::to_frames(stream.rate_hz),
            stream,
            samples,
            scratch: Vec::with_capacity(2 * AUDIO_FRAME_SAMPLES),
        })
    }
}

/// The capture callback: downmixes each multi-channel frame to one sample.
struct Downmix(Producer<f32>);

impl StreamCallback for Downmix {
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
        let Self(mut producer) = self;
        let channels = usize::from(config.channels.max(1));
        let scale = 1.0 / channels as f32;
        device.build_input_stream::<T, _, _>(
            config,
            // Real time: no allocation, no lock, no logging. A full ring drops the newest samples.
            move |data: &[T], _| {
                heartbeat.beat();
                for frame in data.chunks_exact(channels) {
                    let mono = frame.iter().map(|&s| f32::from_sample(s)).sum::<f32>() * scale;
                    if producer.push(mono).is_err() {
                        break;
                    }
                }
            },
            on_error,
            None,
        )
    }
}

impl AudioSource for Microphone {
    fn name(&self) -> &str {
        &self.stream.name
    }

    fn next_frame(&mut self, frame: &mut AudioFrame) -> Result<(), AudioError> {
        let needed = self
            .converter
            .as_ref()
            .map_or(AUDIO_FRAME_SAMPLES, RateConverter::input_needed);
        let give_up = Instant::now() + STALL_TIMEOUT;
        while self.samples.slots() < needed {
            if self.stream.failed() || Instant::now() > give_up {
                return Err(AudioError::Disconnected(self.stream.name.clone()));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        self.scratch.resize(needed, 0.0);
        if self.samples.pop_entire_slice(&mut self.scratch).is_err() {
            return Err(AudioError::Disconnected(self.stream.name.clone()));
        }
        // The frame's first sample was captured this long ago: everything still queued
        // behind it plus the frame itself.
        let queued = (self.samples.slots() + needed) as u64;
        frame.capture_time_us = clock::now_us().saturating_sub(queued * 1_000_000 / u64::from(self.stream.rate_hz));
        match &mut self.converter {
            Some(converter) => {
                let converted = converter.process(&self.scratch);
                let n = converted.len().min(AUDIO_FRAME_SAMPLES);
                frame.samples[..n].copy_from_slice(&converted[..n]);
                frame.samples[n..].fill(0.0);
            }
            None => frame.samples.copy_from_slice(&self.scratch),
        }
        Ok(())
    }
}

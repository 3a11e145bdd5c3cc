//! Capture from a real microphone: a real-time callback that only downmixes into a ring.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, SizedSample, StreamConfig};
use rtrb::{Consumer, Producer, RingBuffer};

use super::device::{Direction, find_device, low_latency_buffer, stream_config};
use super::resample::RateConverter;
use super::{AudioError, AudioSource};
use crate::clock;
use crate::frame::{AUDIO_FRAME_SAMPLES, AudioFrame};

/// How long `next_frame` waits for samples before it calls the device dead.
const STALL_TIMEOUT: Duration = Duration::from_secs(2);
/// How often `next_frame` looks for new samples.
const POLL_INTERVAL: Duration = Duration::from_millis(2);

/// An open microphone delivering 20 ms mono frames at 48 kHz.
pub struct Microphone {
    _stream: cpal::Stream,
    samples: Consumer<f32>,
    converter: Option<RateConverter>,
    scratch: Vec<f32>,
    failed: Arc<AtomicBool>,
    name: String,
    device_rate_hz: u32,
}

impl Microphone {
    /// Opens the microphone `id` (from [`super::list_microphones`]) and starts capturing.
    pub fn open(id: &str) -> Result<Self, AudioError> {
        let (device, name) = find_device(id)?;
        let supported = stream_config(&device, &name, Direction::Input)?;
        let device_rate_hz = supported.sample_rate();
        let config = StreamConfig {
            channels: supported.channels(),
            sample_rate: device_rate_hz,
            buffer_size: low_latency_buffer(&supported),
        };
        // Half a second of slack: the reader drains it every few milliseconds.
        let (producer, samples) = RingBuffer::new(device_rate_hz as usize / 2);
        let failed = Arc::new(AtomicBool::new(false));
        let stream = match supported.sample_format() {
            SampleFormat::F32 => build::<f32>(&device, &config, producer, &failed),
            SampleFormat::I16 => build::<i16>(&device, &config, producer, &failed),
            SampleFormat::I32 => build::<i32>(&device, &config, producer, &failed),
            SampleFormat::U16 => build::<u16>(&device, &config, producer, &failed),
            other => {
                return Err(AudioError::Unsupported {
                    name,
                    reason: format!("it only offers {other} samples"),
                });
            }
        }
        .map_err(|e| AudioError::from_cpal(&name, &e))?;
        stream.play().map_err(|e| AudioError::from_cpal(&name, &e))?;
        let converter = RateConverter::to_frames(device_rate_hz);
        Ok(Self {
            _stream: stream,
            samples,
            scratch: vec![
                0.0;
                converter
                    .as_ref()
                    .map_or(AUDIO_FRAME_SAMPLES, RateConverter::input_needed)
                    * 2
            ],
            converter,
            failed,
            name,
            device_rate_hz,
        })
    }
}

/// Builds the input stream; the callback downmixes to mono and pushes into the ring.
fn build<T>(
    device: &cpal::Device,
    config: &StreamConfig,
    mut producer: Producer<f32>,
    failed: &Arc<AtomicBool>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let scale = 1.0 / channels as f32;
    let failed = Arc::clone(failed);
    device.build_input_stream::<T, _, _>(
        *config,
        // Real time: no allocation, no lock, no logging. A full ring drops the newest samples.
        move |data: &[T], _| {
            for frame in data.chunks_exact(channels) {
                let mono = frame.iter().map(|&s| f32::from_sample(s)).sum::<f32>() * scale;
                if producer.push(mono).is_err() {
                    break;
                }
            }
        },
        move |error| {
            if matches!(
                error.kind(),
                cpal::ErrorKind::DeviceNotAvailable | cpal::ErrorKind::StreamInvalidated
            ) {
                failed.store(true, Ordering::Relaxed);
            }
        },
        None,
    )
}

impl AudioSource for Microphone {
    fn name(&self) -> &str {
        &self.name
    }

    fn next_frame(&mut self, frame: &mut AudioFrame) -> Result<(), AudioError> {
        let needed = self
            .converter
            .as_ref()
            .map_or(AUDIO_FRAME_SAMPLES, RateConverter::input_needed);
        let give_up = Instant::now() + STALL_TIMEOUT;
        while self.samples.slots() < needed {
            if self.failed.load(Ordering::Relaxed) || Instant::now() > give_up {
                return Err(AudioError::Disconnected(self.name.clone()));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        if self.scratch.len() < needed {
            self.scratch.resize(needed, 0.0);
        }
        let input = &mut self.scratch[..needed];
        if self.samples.pop_entire_slice(input).is_err() {
            return Err(AudioError::Disconnected(self.name.clone()));
        }
        // The frame's first sample was captured this long ago: everything still queued
        // behind it plus the frame itself.
        let queued = (self.samples.slots() + needed) as u64;
        frame.capture_time_us = clock::now_us().saturating_sub(queued * 1_000_000 / u64::from(self.device_rate_hz));
        match &mut self.converter {
            Some(converter) => {
                let converted = converter.process(input);
                let n = converted.len().min(AUDIO_FRAME_SAMPLES);
                frame.samples[..n].copy_from_slice(&converted[..n]);
                frame.samples[n..].fill(0.0);
            }
            None => frame.samples.copy_from_slice(input),
        }
        Ok(())
    }
}

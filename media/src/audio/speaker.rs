//! Playback to a real speaker: a real-time callback that only reads from a ring.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample, StreamConfig};
use rtrb::{Consumer, Producer, RingBuffer};

use super::AudioError;
use super::device::{Direction, find_device, low_latency_buffer, stream_config};
use super::resample::RateConverter;
use crate::frame::AudioFrame;

/// An open speaker playing 20 ms mono frames at 48 kHz on every channel.
pub struct Speaker {
    _stream: cpal::Stream,
    samples: Producer<f32>,
    converter: Option<RateConverter>,
    failed: Arc<AtomicBool>,
    name: String,
    device_rate_hz: u32,
}

impl Speaker {
    /// Opens the speaker `id` (from [`super::list_speakers`]) and starts playing silence.
    pub fn open(id: &str) -> Result<Self, AudioError> {
        let (device, name) = find_device(id)?;
        let supported = stream_config(&device, &name, Direction::Output)?;
        let device_rate_hz = supported.sample_rate();
        let config = StreamConfig {
            channels: supported.channels(),
            sample_rate: device_rate_hz,
            buffer_size: low_latency_buffer(&supported),
        };
        let (samples, consumer) = RingBuffer::new(device_rate_hz as usize / 2);
        let failed = Arc::new(AtomicBool::new(false));
        let stream = match supported.sample_format() {
            SampleFormat::F32 => build::<f32>(&device, &config, consumer, &failed),
            SampleFormat::I16 => build::<i16>(&device, &config, consumer, &failed),
            SampleFormat::I32 => build::<i32>(&device, &config, consumer, &failed),
            SampleFormat::U16 => build::<u16>(&device, &config, consumer, &failed),
            other => {
                return Err(AudioError::Unsupported {
                    name,
                    reason: format!("it only accepts {other} samples"),
                });
            }
        }
        .map_err(|e| AudioError::from_cpal(&name, &e))?;
        stream.play().map_err(|e| AudioError::from_cpal(&name, &e))?;
        Ok(Self {
            _stream: stream,
            samples,
            converter: RateConverter::from_frames(device_rate_hz),
            failed,
            name,
            device_rate_hz,
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Queues one frame for playback. When the queue is full the frame's tail is dropped.
    pub fn play(&mut self, frame: &AudioFrame) -> Result<(), AudioError> {
        if self.failed.load(Ordering::Relaxed) {
            return Err(AudioError::Disconnected(self.name.clone()));
        }
        let samples = match &mut self.converter {
            Some(converter) => converter.process(&frame.samples[..]),
            None => &frame.samples[..],
        };
        // Whatever does not fit is dropped: late sound is worse than a short gap.
        let (_pushed, _dropped) = self.samples.push_partial_slice(samples);
        Ok(())
    }

    /// Milliseconds of sound queued and not yet handed to the device.
    pub fn queued_ms(&self) -> u32 {
        let queued = self.samples.buffer().capacity() - self.samples.slots();
        (queued as u64 * 1000 / u64::from(self.device_rate_hz)) as u32
    }
}

/// Builds the output stream; the callback copies queued mono samples to every channel and
/// plays silence when the queue runs dry.
fn build<T>(
    device: &cpal::Device,
    config: &StreamConfig,
    mut consumer: Consumer<f32>,
    failed: &Arc<AtomicBool>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let channels = usize::from(config.channels.max(1));
    let failed = Arc::clone(failed);
    device.build_output_stream::<T, _, _>(
        *config,
        // Real time: no allocation, no lock, no logging.
        move |data: &mut [T], _| {
            for frame in data.chunks_exact_mut(channels) {
                let sample = T::from_sample(consumer.pop().unwrap_or(0.0));
                frame.fill(sample);
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

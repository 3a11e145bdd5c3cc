//! Finding audio devices and choosing a stream configuration for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{BufferSize, Device, FromSample, SampleFormat, SizedSample, StreamConfig, SupportedBufferSize};

use super::AudioError;

/// A microphone or speaker as the system lists it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AudioDeviceInfo {
    /// Identifier to open it with (the audio host's own device id).
    pub id: String,
    /// Name to show people.
    pub name: String,
    /// True for the system's default device of its direction.
    pub is_default: bool,
}

/// Which way sound flows through a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Input,
    Output,
}

/// Lists microphones, the system default first.
pub fn list_microphones() -> Result<Vec<AudioDeviceInfo>, AudioError> {
    list(Direction::Input)
}

/// Lists speakers and headphones, the system default first.
pub fn list_speakers() -> Result<Vec<AudioDeviceInfo>, AudioError> {
    list(Direction::Output)
}

fn list(direction: Direction) -> Result<Vec<AudioDeviceInfo>, AudioError> {
    let host = cpal::default_host();
    let (devices, default) = match direction {
        Direction::Input => (
            host.input_devices().map(|d| d.collect::<Vec<_>>()),
            host.default_input_device(),
        ),
        Direction::Output => (
            host.output_devices().map(|d| d.collect::<Vec<_>>()),
            host.default_output_device(),
        ),
    };
    let devices = devices.map_err(|e| AudioError::HostUnavailable(e.to_string()))?;
    let default_id = default.and_then(|d| d.id().ok());
    let mut listed: Vec<AudioDeviceInfo> = devices
        .iter()
        .filter_map(|device| {
            let id = device.id().ok()?;
            let id_text = id.to_string();
            worth_listing(&id_text).then(|| AudioDeviceInfo {
                name: display_name(device),
                is_default: Some(&id) == default_id.as_ref(),
                id: id_text,
            })
        })
        .collect();
    listed.sort_by_key(|device| !device.is_default);
    Ok(listed)
}

/// ALSA lists every PCM plugin (rate converters, up-mixers, "null"...) as a device. People
/// want the system default, the sound servers, and one entry per sound card.
fn worth_listing(id: &str) -> bool {
    match id.strip_prefix("alsa:") {
        Some(pcm) => matches!(pcm, "default" | "pulse" | "pipewire") || pcm.starts_with("sysdefault:"),
        None => true,
    }
}

fn display_name(device: &Device) -> String {
    if device.id().is_ok_and(|id| id.to_string() == "alsa:default") {
        return "System default".into();
    }
    device
        .description()
        .map(|description| description.name().to_owned())
        .unwrap_or_else(|_| device.to_string())
}

/// Finds a device by the id [`list_microphones`] or [`list_speakers`] gave.
fn find_device(id: &str) -> Result<(Device, String), AudioError> {
    let host = cpal::default_host();
    let device_id = id.parse().map_err(|_| AudioError::NotFound(id.to_owned()))?;
    let device = host
        .device_by_id(&device_id)
        .ok_or_else(|| AudioError::NotFound(id.to_owned()))?;
    let name = display_name(&device);
    Ok((device, name))
}

/// How long an output stream may report errors without asking for sound before it counts
/// as broken. Through PulseAudio's ALSA plugin a stream the sound server dropped is never
/// reported gone: cpal sees I/O errors, over and over, and the stream asks for nothing more.
const ERRORS_WITHOUT_SOUND: Duration = Duration::from_secs(1);
/// The pause after an error that follows another with no data in between. cpal retries a
/// failing device at once and forever; without a pause that is a core at 100 % until the
/// stream is dropped.
const ERROR_BACKOFF: Duration = Duration::from_millis(10);

/// Counts a stream's data callbacks, so that its error callback can tell a stream that
/// stopped working from one that had a hiccup.
#[derive(Debug, Default)]
pub(crate) struct Heartbeat(AtomicU64);

impl Heartbeat {
    /// Called by the data callback every time (real time: one atomic add).
    pub fn beat(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The real-time half of a capture or playback stream, built for the device's sample type.
pub(crate) trait StreamCallback {
    /// Builds the cpal stream with this callback for samples of type `T`; the data callback
    /// calls `heartbeat.beat()` each time it runs.
    fn build<T>(
        self,
        device: &Device,
        config: StreamConfig,
        heartbeat: Arc<Heartbeat>,
        on_error: impl FnMut(cpal::Error) + Send + 'static,
    ) -> Result<cpal::Stream, cpal::Error>
    where
        T: SizedSample + FromSample<f32>,
        f32: FromSample<T>;
}

/// A running device stream.
pub(crate) struct DeviceStream {
    _stream: cpal::Stream,
    /// Device name for messages.
    pub name: String,
    /// The device's own sample rate.
    pub rate_hz: u32,
    failed: Arc<AtomicBool>,
}

impl DeviceStream {
    /// True once the device went away or the stream broke.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }
}

/// Opens device `id` in its default format with a short buffer and starts `callback` on it.
pub(crate) fn start_stream(
    id: &str,
    direction: Direction,
    callback: impl StreamCallback,
) -> Result<DeviceStream, AudioError> {
    let (device, name) = find_device(id)?;
    let supported = match direction {
        Direction::Input => device.default_input_config(),
        Direction::Output => device.default_output_config(),
    }
    .map_err(|e| AudioError::from_cpal(&name, &e))?;
    let config = StreamConfig {
        channels: supported.channels(),
        sample_rate: supported.sample_rate(),
        buffer_size: low_latency_buffer(supported.sample_rate(), supported.buffer_size()),
    };
    let failed = Arc::new(AtomicBool::new(false));
    let heartbeat = Arc::new(Heartbeat::default());
    let on_error = {
        let (failed, heartbeat) = (Arc::clone(&failed), Arc::clone(&heartbeat));
        // The heartbeat at the last error, and when the errors with no data between began.
        let mut errors_since: Option<(u64, Instant)> = None;
        move |error: cpal::Error| {
            if matches!(
                error.kind(),
                cpal::ErrorKind::DeviceNotAvailable | cpal::ErrorKind::StreamInvalidated
            ) {
                failed.store(true, Ordering::Relaxed);
                return;
            }
            let (beats, now) = (heartbeat.count(), Instant::now());
            match errors_since {
                Some((at_beat, since)) if at_beat == beats => {
                    // A microphone notices a stall itself (it waits for samples); a speaker
                    // waits for nothing, so its errors are what tell.
                    if direction == Direction::Output && now - since >= ERRORS_WITHOUT_SOUND {
                        failed.store(true, Ordering::Relaxed);
                    }
                    std::thread::sleep(ERROR_BACKOFF);
                }
                _ => errors_since = Some((beats, now)),
            }
        }
    };
    let stream = match supported.sample_format() {
        SampleFormat::F32 => callback.build::<f32>(&device, config, heartbeat, on_error),
        SampleFormat::I16 => callback.build::<i16>(&device, config, heartbeat, on_error),
        SampleFormat::I32 => callback.build::<i32>(&device, config, heartbeat, on_error),
        SampleFormat::U16 => callback.build::<u16>(&device, config, heartbeat, on_error),
        other => {
            return Err(AudioError::Unsupported {
                name,
                reason: format!("it only works with {other} samples"),
            });
        }
    }
    .map_err(|e| AudioError::from_cpal(&name, &e))?;
    stream.play().map_err(|e| AudioError::from_cpal(&name, &e))?;
    Ok(DeviceStream {
        _stream: stream,
        name,
        rate_hz: config.sample_rate,
        failed,
    })
}

/// A 10 ms buffer where the device allows one, else its default.
fn low_latency_buffer(rate_hz: u32, supported: &SupportedBufferSize) -> BufferSize {
    match *supported {
        SupportedBufferSize::Range { min, max } if min <= max => BufferSize::Fixed((rate_hz / 100).clamp(min, max)),
        _ => BufferSize::Default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alsa_helper_plugins_are_not_listed() {
        for shown in [
            "alsa:default",
            "alsa:pulse",
            "alsa:sysdefault:CARD=PCH",
            "coreaudio:BuiltIn",
            "wasapi:{0.0.1}",
        ] {
            assert!(worth_listing(shown), "{shown}");
        }
        for hidden in [
            "alsa:null",
            "alsa:speexrate",
            "alsa:upmix",
            "alsa:surround51:CARD=PCH",
            "alsa:hw:CARD=PCH",
        ] {
            assert!(!worth_listing(hidden), "{hidden}");
        }
    }
}

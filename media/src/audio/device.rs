//! Finding audio devices and choosing a stream configuration for them.

use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{BufferSize, Device, SupportedBufferSize, SupportedStreamConfig};

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
pub(crate) fn find_device(id: &str) -> Result<(Device, String), AudioError> {
    let host = cpal::default_host();
    let device_id = id.parse().map_err(|_| AudioError::NotFound(id.to_owned()))?;
    let device = host
        .device_by_id(&device_id)
        .ok_or_else(|| AudioError::NotFound(id.to_owned()))?;
    let name = display_name(&device);
    Ok((device, name))
}

/// The device's default configuration with a short buffer (10 ms when allowed), for low
/// latency without asking for rates or layouts the device does not offer.
pub(crate) fn stream_config(
    device: &Device,
    name: &str,
    direction: Direction,
) -> Result<SupportedStreamConfig, AudioError> {
    let config = match direction {
        Direction::Input => device.default_input_config(),
        Direction::Output => device.default_output_config(),
    };
    config.map_err(|e| AudioError::from_cpal(name, &e))
}

/// A 10 ms buffer where the device allows one, else its default.
pub(crate) fn low_latency_buffer(config: &SupportedStreamConfig) -> BufferSize {
    let wanted = config.sample_rate() / 100;
    match *config.buffer_size() {
        SupportedBufferSize::Range { min, max } if min <= max => BufferSize::Fixed(wanted.clamp(min, max)),
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

//! Audio: microphones and speakers through cpal, synthetic sources, and tone analysis.
//!
//! Everything outside the device callbacks works in 20 ms mono frames at 48 kHz
//! ([`crate::AudioFrame`]). The callbacks only move samples through lock-free ring buffers;
//! downmixing happens there, resampling on the non-real-time side.

mod cue;
mod device;
pub mod goertzel;
pub mod jitter;
pub mod level;
pub mod marker;
mod microphone;
pub mod mixer;
pub mod playout_stats;
mod resample;
mod speaker;
mod synthetic;
mod test_sound;
mod voice;

pub use cue::{Cue, CuePlayback};
pub use device::{AudioDeviceInfo, list_microphones, list_speakers};
pub use level::{AudioLevel, AudioLevels};
pub use microphone::Microphone;
pub use speaker::{SoundOutput, Speaker, TEST_SPEAKER_NAME};
pub use synthetic::{MARKER_DURATION_US, MARKER_FREQ_HZ, MARKER_PERIOD_US, Silence, TestTalk, TestTone, talking};

pub use test_sound::{TEST_SOUND_FRAMES, play_test_sound, test_sound_frame};
pub use voice::{EchoReference, VoiceProcessor};

use crate::frame::AudioFrame;

/// Something that delivers 20 ms audio frames at a steady rate.
pub trait AudioSource: Send {
    /// A name to show people.
    fn name(&self) -> &str;
    /// Waits for the next frame and writes it, with its capture time, into `frame`.
    fn next_frame(&mut self, frame: &mut AudioFrame) -> Result<(), AudioError>;
}

/// Why an audio device could not be opened or used.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AudioError {
    /// The system's sound service is not reachable.
    #[error("the sound system is not available: {0}")]
    HostUnavailable(String),
    /// No device with this id exists.
    #[error("the audio device \"{0}\" was not found; it may have been unplugged")]
    NotFound(String),
    /// Another program holds the device.
    #[error("the audio device \"{0}\" is in use by another program")]
    Busy(String),
    /// The device went away or failed while in use.
    #[error("the audio device \"{0}\" stopped working; it may have been unplugged")]
    Disconnected(String),
    /// The operating system refused access.
    #[error("access to the audio device \"{0}\" was denied; check the system's privacy settings")]
    PermissionDenied(String),
    /// The device offers no format we can use.
    #[error("the audio device \"{name}\" cannot be used: {reason}")]
    Unsupported {
        /// Device name.
        name: String,
        /// What it lacks.
        reason: String,
    },
}

impl AudioError {
    /// Sorts a cpal error about the device `name` into the cases a person can act on.
    fn from_cpal(name: &str, error: &cpal::Error) -> Self {
        use cpal::ErrorKind;
        let name = name.to_owned();
        match error.kind() {
            ErrorKind::DeviceBusy => Self::Busy(name),
            ErrorKind::DeviceNotAvailable => Self::NotFound(name),
            ErrorKind::HostUnavailable => Self::HostUnavailable(error.to_string()),
            ErrorKind::PermissionDenied => Self::PermissionDenied(name),
            _ => Self::Unsupported {
                name,
                reason: error.to_string(),
            },
        }
    }
}

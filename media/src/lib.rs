//! Devices, synthetic sources, frames and codecs for Video Meet.
//!
//! This crate knows nothing about the network or the UI: it turns cameras, microphones and
//! synthetic sources into I420 frames and 20 ms audio frames, encodes them to H.264 and Opus,
//! and decodes them back. Capture and codecs run on threads the caller owns.

pub mod audio;
pub mod capture;
pub mod clock;
pub mod codec;
pub mod decode_thread;
pub mod devices;
pub mod frame;
pub mod record;
pub mod screen;
pub mod sequence;
pub mod slot;
pub mod testing;
pub mod video;

pub use devices::{DeviceList, MicrophoneChoice, SpeakerChoice, VideoChoice, list_devices};
pub use frame::{AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE_HZ, AudioFrame, EncodedVideoFrame, VideoFrame};

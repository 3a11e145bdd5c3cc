//! H.264 (openh264) and Opus codecs.

mod h264;
mod opus;

pub use h264::{BitrateTarget, H264Config, H264Decoder, H264Encoder, KeyframeRequest, VideoContent};
pub use opus::{MAX_OPUS_PACKET_BYTES, OpusConfig, OpusDecoder, OpusEncoder};

/// A codec failed or was given data it cannot use.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// The codec library could not be set up.
    #[error("could not start the {codec} codec: {reason}")]
    Setup {
        /// "H.264" or "Opus".
        codec: &'static str,
        /// What the library said.
        reason: String,
    },
    /// Encoding a frame failed.
    #[error("{codec} encoding failed: {reason}")]
    Encode {
        /// "H.264" or "Opus".
        codec: &'static str,
        /// What the library said.
        reason: String,
    },
    /// The input is not a valid stream for this codec.
    #[error("{codec} data could not be decoded: {reason}")]
    Malformed {
        /// "H.264" or "Opus".
        codec: &'static str,
        /// What was wrong.
        reason: String,
    },
}

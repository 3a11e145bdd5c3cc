//! Signaling, discovery, WebRTC peers and the meeting actor for Video Meet.
//!
//! This crate never knows about the UI: it reports through events and asks for a repaint
//! through a waker closure.

pub mod address;
mod assemble;
pub mod bandwidth;
mod depacketize;
mod description;
pub mod discovery;
pub mod files;
pub mod forward;
#[doc(hidden)]
pub mod fuzzing;
pub mod impair;
mod keyframe_requests;
pub mod meeting;
pub mod peer;
pub mod protocol;
pub mod receive;
pub mod remote_candidates;
pub mod safety;
mod secret;
mod send_track;
pub mod signaling;
mod sockets;
pub mod text;

pub use address::{DEFAULT_PORT, JoinTarget};
pub use protocol::PROTOCOL_VERSION;

/// Milliseconds since the Unix epoch: how chat messages and the meeting's start are stamped.
pub fn clock_ms() -> u64 {
    videomeet_media::clock::now_us() / 1000
}

//! Signaling, discovery, WebRTC peers and the meeting actor for Video Meet.
//!
//! This crate never knows about the UI: it reports through events and asks for a repaint
//! through a waker closure.

/// Version of the signaling protocol spoken by this build.
pub const PROTOCOL_VERSION: u32 = 1;

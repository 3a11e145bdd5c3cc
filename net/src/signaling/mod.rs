//! The signaling server every host runs, and the client every participant uses.
//!
//! The host's own participant joins through the same client over loopback, so there is one
//! way to be in a meeting.

mod allowance;
mod backlog;
mod barred;
mod client;
mod connection;
mod names;
mod rate;
mod room;
mod server;
mod tries;
mod web;

pub use client::{HelloParams, JoinError, Joined, SignalingClient, WaitingHook, join, session_token};
pub use server::{HostConfig, MAX_FILE_BYTES, SignalingServer};
pub use web::{GUEST_PAGE_BYTES, IdentityError, WebIdentity, certificate_names};

/// What a guest is told when its recording is refused or stopped.
pub const GUESTS_MAY_NOT_RECORD: &str = "The host does not let guests record this meeting.";

//! Files handed from one participant to others.
//!
//! An offer (name and size) goes through the host like a chat message and takes its place
//! in the chat. Nothing moves until a receiver asks: it opens a data channel labelled with
//! the file's number and its sender (see [`Request`]) on its connection to the sender, or,
//! when the meeting forwards, to the host, who opens one to the sender on its behalf and
//! passes everything through ([`relay`]). On that channel the sender streams the bytes
//! in chunks and then their SHA-256 ([`Control::End`]); the receiver writes a `.part` file,
//! checks size and hash, gives the file its name and says so ([`Control::Received`]).
//! Either side may cancel ([`Control::Cancel`]) or just go; a transfer that does not end
//! with the receiver's `received` has failed, and leaves no file behind.
//!
//! Back-pressure holds end to end: a sender waits while its channel holds more than
//! [`SEND_BUFFER`] bytes that are not yet acknowledged, a relaying host stops reading the
//! sender's channel while the receiver's is full, and a receiver that writes slowly stops
//! reading, which closes SCTP's window. Media travels beside it as RTP, which none of this
//! slows down.

pub mod name;
pub mod receive;
mod relay;
mod send;

pub use receive::receive;
pub use relay::relay;
pub use send::send;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use webrtc::data_channel::{DataChannel, DataChannelEvent};

use crate::protocol::PeerId;

/// The largest chunk sent in one message: 64 KiB, the `max-message-size` an endpoint that
/// says none takes (RFC 8841), and what every browser takes. Four times the 16 KiB that
/// was first used: each message costs a few locks and wake-ups, and 200 MB between two
/// links on loopback (4 MiB SCTP window) moved at 29 MB/s in 16 KiB messages, 50-78 MB/s
/// in 64 KiB ones.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// The most a sender has given a channel that is not yet acknowledged.
pub const SEND_BUFFER: usize = 1024 * 1024;

/// How often progress is told, at most.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// What a receiver (or a host on its behalf) asks for, as the label of the data channel it
/// opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The offer's number in the meeting's chat.
    pub file: u64,
    /// Who offered it.
    pub from: PeerId,
    /// On a host's channel to the sender: the participant the host asks for.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<PeerId>,
}

impl Request {
    /// The data channel label.
    pub fn label(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The request a data channel label makes, if it is one.
    pub fn of_label(label: &str) -> Option<Self> {
        serde_json::from_str(label).ok()
    }
}

/// A text message on a file's channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Control {
    /// Sender: every byte is sent; this is their SHA-256, in lowercase hex.
    End {
        /// The hash.
        sha256: String,
    },
    /// Receiver: the file is whole, checked and saved.
    Received,
    /// Either side: stop; nothing is kept.
    Cancel {
        /// Why, for the other side to show.
        reason: String,
    },
}

impl Control {
    async fn send_on(&self, channel: &dyn DataChannel) {
        if let Ok(text) = serde_json::to_string(self) {
            let _ = channel.send_text(&text).await;
        }
    }

    /// Sends this as the last word on `channel`, and lets go of the channel once the
    /// other side has it and nothing more comes.
    async fn say_last(&self, channel: &dyn DataChannel) {
        self.send_on(channel).await;
        let_go(channel).await;
    }
}

/// Turns down a request on `channel`, saying why.
pub async fn refuse(channel: Arc<dyn DataChannel>, reason: &str) {
    let reason = reason.to_owned();
    Control::Cancel { reason }.say_last(channel.as_ref()).await;
}

/// Waits (at most [`CLOSE_WAIT`]) until all we gave `channel` is acknowledged and the other
/// side has stopped sending, taking what still comes.
///
/// A transfer's channel is never closed: it ends with its last word, and is let go. With
/// webrtc 0.21.1, a channel the other side opened right after one was closed could be
/// closed with it (the new channel takes the old one's SCTP stream while that stream's
/// reset is under way); and one let go with messages still coming held up later channels
/// on the connection. An idle stream costs a few hundred bytes until the connection ends.
async fn let_go(channel: &dyn DataChannel) {
    let deadline = Instant::now() + CLOSE_WAIT;
    while Instant::now() < deadline && channel.outstanding_bytes().await.unwrap_or(0) > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let quiet = left.min(QUIET);
        match tokio::time::timeout(quiet, channel.poll()).await {
            Ok(Some(DataChannelEvent::OnClose) | None) | Err(_) => break,
            Ok(Some(_)) => {}
        }
    }
}

/// How long nothing must come on a channel we let go of.
const QUIET: Duration = Duration::from_millis(200);

/// The longest a closing channel waits for what it sent to arrive.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// How a transfer ended, for one receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Received, checked and saved here.
    Saved(PathBuf),
    /// Sent, and the receiver has it whole.
    Delivered,
    /// Cancelled: by us (`true`) or by the other side.
    Cancelled {
        /// We cancelled it.
        by_us: bool,
        /// The other side's reason, when it gave one.
        reason: Option<String>,
    },
    /// It broke; nothing was kept.
    Failed(String),
}

/// How far a transfer is, as it goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Bytes moved.
    pub bytes: u64,
    /// Bytes in all.
    pub total: u64,
    /// Speed over the last few seconds.
    pub bytes_per_second: f64,
}

/// Where a transfer tells how far it is.
pub type ProgressSink = Arc<dyn Fn(Progress) + Send + Sync>;

/// Stops a running transfer from elsewhere.
#[derive(Clone, Default)]
pub struct Canceller(Arc<Notify>);

impl Canceller {
    /// Cancels the transfer (it tells the other side and removes what it kept).
    pub fn cancel(&self) {
        self.0.notify_one();
    }

    async fn cancelled(&self) {
        self.0.notified().await;
    }
}

/// Counts bytes and tells progress every [`PROGRESS_INTERVAL`], with the speed over the last
/// interval or two.
struct Meter {
    total: u64,
    bytes: u64,
    told_at: Instant,
    told_bytes: u64,
    speed: f64,
    sink: ProgressSink,
}

impl Meter {
    fn new(total: u64, sink: ProgressSink) -> Self {
        sink(Progress {
            bytes: 0,
            total,
            bytes_per_second: 0.0,
        });
        Self {
            total,
            bytes: 0,
            told_at: Instant::now(),
            told_bytes: 0,
            speed: 0.0,
            sink,
        }
    }

    fn add(&mut self, bytes: usize) {
        self.bytes += bytes as u64;
        let elapsed = self.told_at.elapsed();
        if elapsed >= PROGRESS_INTERVAL || self.bytes == self.total {
            let now = (self.bytes - self.told_bytes) as f64 / elapsed.as_secs_f64().max(1e-3);
            // Smoothed, so that the time left does not jump about.
            self.speed = if self.speed == 0.0 {
                now
            } else {
                0.5 * self.speed + 0.5 * now
            };
            self.told_at = Instant::now();
            self.told_bytes = self.bytes;
            (self.sink)(Progress {
                bytes: self.bytes,
                total: self.total,
                bytes_per_second: self.speed,
            });
        }
    }
}

/// A size as people read it: "512 bytes", "1.5 KB", "20 MB", "2 GB" (units of 1024, as
/// file managers on Windows and macOS's Finder before 10.6 count).
pub fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 && value.fract() > 0.05 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// `digest` in lowercase hex.
fn hex(digest: &[u8]) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_as_labels() {
        let direct = Request {
            file: 7,
            from: 2,
            on_behalf_of: None,
        };
        assert_eq!(direct.label(), r#"{"file":7,"from":2}"#);
        assert_eq!(Request::of_label(&direct.label()), Some(direct));
        let relayed = Request {
            on_behalf_of: Some(5),
            ..direct
        };
        assert_eq!(relayed.label(), r#"{"file":7,"from":2,"for":5}"#);
        assert_eq!(Request::of_label(&relayed.label()), Some(relayed));
        assert_eq!(Request::of_label("videomeet"), None);
        assert_eq!(Request::of_label(r#"{"file":-1,"from":2}"#), None);
    }

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(size_text(0), "0 bytes");
        assert_eq!(size_text(1023), "1023 bytes");
        assert_eq!(size_text(1536), "1.5 KB");
        assert_eq!(size_text(20 * 1024 * 1024), "20 MB");
        assert_eq!(size_text(2 * 1024 * 1024 * 1024), "2 GB");
        assert_eq!(size_text(500_000_000), "477 MB");
    }

    #[test]
    fn control_messages_are_tagged() {
        let end = Control::End { sha256: "ab".into() };
        assert_eq!(serde_json::to_string(&end).unwrap(), r#"{"type":"end","sha256":"ab"}"#);
        assert_eq!(
            serde_json::from_str::<Control>(r#"{"type":"received"}"#).unwrap(),
            Control::Received
        );
    }
}

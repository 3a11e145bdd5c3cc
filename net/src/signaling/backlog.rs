//! Queuing the room's messages for members. A guest whose outbox is full is too slow to keep
//! up; the host's program is the meeting, so what does not fit its outbox is held, in order,
//! and the room waits until it has gone out, or until it is clear that the host's program
//! has stopped.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::protocol::{PeerId, ServerMessage};

/// Messages for hosts whose outboxes were full, in order.
#[derive(Default)]
pub(crate) struct HostBacklog {
    held: VecDeque<Held>,
}

struct Held {
    to: PeerId,
    outbox: mpsc::Sender<ServerMessage>,
    message: ServerMessage,
}

impl HostBacklog {
    /// Queues `message` for member `to`; false when `to` is a guest whose outbox is full.
    /// A closed outbox is not counted: that connection has ended and its `Gone` event, with
    /// the real reason, is on its way.
    pub fn deliver(
        &mut self,
        to: PeerId,
        outbox: &mpsc::Sender<ServerMessage>,
        is_host: bool,
        message: ServerMessage,
    ) -> bool {
        let message = if is_host && self.held.iter().any(|held| held.to == to) {
            message
        } else {
            match outbox.try_send(message) {
                Ok(()) | Err(TrySendError::Closed(_)) => return true,
                Err(TrySendError::Full(message)) if is_host => message,
                Err(TrySendError::Full(_)) => return false,
            }
        };
        self.held.push_back(Held {
            to,
            outbox: outbox.clone(),
            message,
        });
        true
    }

    /// Waits until everything held has gone into its outbox, for at most `patience`; false
    /// (and nothing held any more) when the host's program did not take it in that time.
    pub async fn drain(&mut self, patience: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + patience;
        while let Some(Held { outbox, message, .. }) = self.held.pop_front() {
            // A closed outbox: that connection has ended and its `Gone` is on its way.
            if tokio::time::timeout_at(deadline, outbox.send(message)).await.is_err() {
                self.held.clear();
                return false;
            }
        }
        true
    }
}

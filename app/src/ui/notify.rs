//! Desktop notifications, shown from a thread of their own: talking to the desktop's
//! notification service can take a while, and the window must never wait for it.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// A notification to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// One line: what happened.
    pub summary: String,
    /// More detail (a chat message's text).
    pub body: String,
}

/// Shows notifications; dropping it stops its thread once the queue is empty.
pub struct Notifier {
    queue: Option<SyncSender<Notice>>,
}

impl Notifier {
    /// Starts the notification thread.
    pub fn start() -> Self {
        let (queue, notices) = sync_channel(8);
        let started = std::thread::Builder::new()
            .name("notifications".into())
            .spawn(move || show_all(&notices));
        if let Err(error) = &started {
            tracing::warn!(%error, "notifications are off: could not start their thread");
        }
        Self {
            queue: started.ok().map(|_| queue),
        }
    }

    /// Queues `notice`; when many arrive at once the extra ones are dropped.
    pub fn show(&self, notice: Notice) {
        if let Some(queue) = &self.queue {
            let _ = queue.try_send(notice);
        }
    }
}

fn show_all(notices: &Receiver<Notice>) {
    let mut warned = false;
    while let Ok(notice) = notices.recv() {
        let shown = notify_rust::Notification::new()
            .appname("Video Meet")
            .summary(&notice.summary)
            .body(&notice.body)
            .show();
        // Desktops without a notification service say so once; the app goes on without.
        if let Err(error) = shown
            && !warned
        {
            warned = true;
            tracing::info!(%error, "desktop notifications are not available");
        }
    }
}

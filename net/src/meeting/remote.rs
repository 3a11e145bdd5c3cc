//! Everything the meeting keeps about one other participant, in one place, so that it
//! comes and goes together.

use std::sync::Arc;

use tokio::task::JoinHandle;

use super::path::PathHealth;
use super::stats::Meter;
use crate::peer::PeerLink;

/// One other participant: the media connection, the tasks that serve it, its figures and
/// the health of the path to it.
pub(super) struct Remote {
    pub(super) link: Arc<PeerLink>,
    /// Forwarding its connection's events and receiving its media; stopped when it goes.
    pub(super) tasks: Vec<JoinHandle<()>>,
    pub(super) meter: Meter,
    pub(super) path: PathHealth,
    /// Our offer was made while another was in flight: make it once that is answered.
    pub(super) offer_again: bool,
}

impl Remote {
    pub(super) fn new(link: Arc<PeerLink>) -> Self {
        Self {
            link,
            tasks: Vec::new(),
            meter: Meter::default(),
            path: PathHealth::default(),
            offer_again: false,
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        let link = Arc::clone(&self.link);
        // Dropped inside the meeting's runtime; closing takes a moment.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { link.close().await });
        }
    }
}

//! Everything the meeting keeps about one other participant, in one place, so that it
//! comes and goes together.

use std::sync::Arc;

use tokio::task::JoinHandle;

use super::path::PathHealth;
use super::stats::Meter;
use crate::peer::{Layer, PeerLink};

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
    /// As a forwarding host: the layer of our own camera this guest gets.
    pub(super) own_camera: OwnCamera,
}

/// Which layer of our camera one guest gets (see [`super::forwarding`]): the one chosen for
/// it, from the picture on which a change of layer is made.
pub(super) struct OwnCamera {
    pub(super) target: Option<Layer>,
    pub(super) current: Option<Layer>,
}

impl Default for OwnCamera {
    fn default() -> Self {
        Self {
            target: Some(Layer::Full),
            current: Some(Layer::Full),
        }
    }
}

impl Remote {
    pub(super) fn new(link: Arc<PeerLink>) -> Self {
        Self {
            link,
            tasks: Vec::new(),
            meter: Meter::default(),
            path: PathHealth::default(),
            offer_again: false,
            own_camera: OwnCamera::default(),
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

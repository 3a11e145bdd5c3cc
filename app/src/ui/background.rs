//! Work the window must not wait for (opening a device, playing a sound, asking the
//! network), run on a thread of its own and polled each frame.

use std::sync::mpsc::{Receiver, sync_channel};

use eframe::egui;

/// Something being opened (or played) on a thread of its own, so the window never waits
/// for a device.
pub enum Opening<T> {
    /// Nothing asked for.
    Idle,
    /// Under way.
    Pending(Receiver<Result<T, String>>),
    /// Done.
    Ready(T),
    /// Failed, with the reason for the user.
    Failed(String),
}

impl<T: Send + 'static> Opening<T> {
    /// Runs `open` on a new thread named `name`; repaints when it is done.
    pub fn start(ctx: &egui::Context, name: &str, open: impl FnOnce() -> Result<T, String> + Send + 'static) -> Self {
        let (tx, rx) = sync_channel(1);
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
            // Nobody may be waiting any more (the screen changed); the result is dropped then.
            let _ = tx.send(open());
            ctx.request_repaint();
        });
        match spawned {
            Ok(_) => Self::Pending(rx),
            Err(error) => Self::Failed(error.to_string()),
        }
    }

    /// Takes the result if it has arrived.
    pub fn poll(&mut self) {
        if let Self::Pending(rx) = self {
            match rx.try_recv() {
                Ok(Ok(value)) => *self = Self::Ready(value),
                Ok(Err(problem)) => *self = Self::Failed(problem),
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
                Err(std::sync::mpsc::TryRecvError::Disconnected) => *self = Self::Failed("stopped".into()),
            }
        }
    }

    /// The reason it failed, if it did.
    pub fn problem(&self) -> Option<&str> {
        match self {
            Self::Failed(problem) => Some(problem),
            _ => None,
        }
    }
}

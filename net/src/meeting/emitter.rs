//! The meeting's events on their way to its owner. The queue is bounded, and the actor
//! never waits on it; what finds it full is held and sent first once there is room, so a
//! state change is never lost. Only the per-second figures are let go then: the next
//! second's replace them.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::{Event, Waker};

/// Events queued for the owner, at most; more are held by the [`Emitter`].
pub(super) const EVENT_QUEUE: usize = 1024;

pub(super) struct Emitter {
    queue: mpsc::Sender<Event>,
    /// Events that found the queue full, oldest first.
    held: Mutex<VecDeque<Event>>,
    waker: Waker,
}

impl Emitter {
    /// An emitter and the owner's end of its queue.
    pub(super) fn new(waker: Waker) -> (Self, mpsc::Receiver<Event>) {
        let (queue, events) = mpsc::channel(EVENT_QUEUE);
        let emitter = Self {
            queue,
            held: Mutex::default(),
            waker,
        };
        (emitter, events)
    }

    /// What wakes the owner (for threads that make something new to show).
    pub(super) fn waker(&self) -> Waker {
        std::sync::Arc::clone(&self.waker)
    }

    /// Sends `event` after everything held, and wakes the owner.
    pub(super) fn emit(&self, event: Event) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.push_back(event);
        self.send_held(&mut held);
        drop(held);
        (self.waker)();
    }

    /// Sends what is held while the queue has room (called now and then, so that held
    /// events go out even when nothing new happens).
    pub(super) fn flush(&self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if !held.is_empty() {
            self.send_held(&mut held);
            drop(held);
            (self.waker)();
        }
    }

    fn send_held(&self, held: &mut VecDeque<Event>) {
        while let Some(event) = held.pop_front() {
            match self.queue.try_send(event) {
                Ok(()) => {}
                Err(TrySendError::Full(event)) => {
                    held.push_front(event);
                    // Figures waiting behind a full queue are stale by the next second.
                    held.retain(|event| !matches!(event, Event::Stats(_)));
                    return;
                }
                // Nobody listens any more.
                Err(TrySendError::Closed(_)) => return held.clear(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::meeting::EndReason;

    #[test]
    fn a_full_queue_holds_state_changes_in_order_and_lets_figures_go() {
        let (emitter, mut events) = Emitter::new(Arc::new(|| {}));
        for _ in 0..EVENT_QUEUE {
            emitter.emit(Event::Stats(Vec::new()));
        }
        emitter.emit(Event::Stats(Vec::new()));
        emitter.emit(Event::Sharing(Some("Display 1".into())));
        emitter.emit(Event::Stats(Vec::new()));
        emitter.emit(Event::Ended(EndReason::Left));
        for _ in 0..EVENT_QUEUE {
            assert!(matches!(events.try_recv(), Ok(Event::Stats(_))));
        }
        assert!(
            events.try_recv().is_err(),
            "nothing arrives until the emitter sends again"
        );
        emitter.flush();
        assert!(matches!(events.try_recv(), Ok(Event::Sharing(Some(_)))));
        assert!(matches!(events.try_recv(), Ok(Event::Ended(EndReason::Left))));
        assert!(events.try_recv().is_err());
    }
}

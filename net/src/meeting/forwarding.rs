//! The meeting's side of forwarding (see [`crate::forward`]).
//!
//! At a forwarding host, every guest's connection carries the host's own feeds and, on
//! tracks of their own, every other guest's: the host adds them as guests come, removes them
//! as they go, and offers again. A guest of a forwarding meeting connects to the host only,
//! and hears from the host's offers which m-lines carry whose feeds.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::forward::{Fanout, write_forwarded};
use crate::protocol::{FeedKind, PeerId};

use super::stats::Meter;
use super::{Actor, Event, Problem};

/// A participant whose media comes to us through the host's connection, and the tasks
/// that receive it.
#[derive(Default)]
pub(super) struct Relayed {
    pub(super) tasks: Vec<JoinHandle<()>>,
    pub(super) meter: Meter,
}

impl Drop for Relayed {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The host's fanouts, one for each feed of each guest.
#[derive(Default)]
pub(super) struct Fanouts(HashMap<(PeerId, FeedKind), Arc<Fanout>>);

impl Fanouts {
    /// `from`'s `kind` feed, made on first use.
    pub(super) fn of(&mut self, from: PeerId, kind: FeedKind) -> Arc<Fanout> {
        Arc::clone(self.0.entry((from, kind)).or_default())
    }

    /// `id` left: its feeds go to nobody, and it receives nothing more.
    pub(super) fn remove(&mut self, id: PeerId) {
        self.0.retain(|(from, _), fanout| {
            fanout.detach(id);
            if *from == id {
                fanout.close();
            }
            *from != id
        });
    }
}

impl Actor {
    /// True when we are the host of a forwarding meeting.
    pub(super) fn forwards(&self) -> bool {
        self.forwarding && self.server.is_some()
    }

    /// Whether we keep a media connection of our own with `id`: everyone in a meeting
    /// without forwarding, only the host's in one with.
    pub(super) fn connects_to(&self, id: PeerId) -> bool {
        !self.forwarding || self.server.is_some() || id == self.host
    }

    /// Brings every guest's connection in line with who is in the meeting: the feeds of
    /// every other guest, and no one else's. A connection whose tracks changed is offered
    /// again. Connections not negotiated yet are done once they are.
    pub(super) async fn sync_forwarding(&mut self) {
        if !self.forwards() {
            return;
        }
        let guests: Vec<PeerId> = self.remotes.keys().copied().collect();
        for receiver in guests.clone() {
            let Some(link) = self.remotes.get(&receiver).map(|remote| Arc::clone(&remote.link)) else {
                continue;
            };
            if !link.negotiated().await {
                continue;
            }
            let current = link.forwarded_sources().await;
            let mut changed = false;
            for gone in current.iter().filter(|from| !guests.contains(from)) {
                link.stop_forwarding(*gone).await;
                changed = true;
            }
            for from in guests
                .iter()
                .filter(|from| **from != receiver && !current.contains(from))
            {
                let tracks = match link.forward_from(*from).await {
                    Ok(tracks) => tracks,
                    Err(error) => {
                        let reason = error.to_string();
                        self.emit(Event::Problem(Problem::MediaConnection { id: receiver, reason }));
                        continue;
                    }
                };
                for (kind, track) in tracks {
                    let task = write_forwarded(receiver, &self.fanouts.of(*from, kind), track);
                    if let Some(remote) = self.remotes.get_mut(&receiver) {
                        remote.tasks.push(task);
                    }
                }
                changed = true;
            }
            if changed {
                self.offer_again(receiver).await;
            }
        }
    }

    /// Offers the connection to `id` again, now or once the offer in flight is answered.
    pub(super) async fn offer_again(&mut self, id: PeerId) {
        let Some(remote) = self.remotes.get_mut(&id) else {
            return;
        };
        let link = Arc::clone(&remote.link);
        if link.offer_outstanding().await {
            remote.offer_again = true;
            return;
        }
        remote.offer_again = false;
        match link.create_offer().await {
            Ok(offer) => self.signal(id, offer),
            Err(error) => {
                let reason = error.to_string();
                self.emit(Event::Problem(Problem::MediaConnection { id, reason }));
            }
        }
    }
}

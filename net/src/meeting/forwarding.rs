//! The meeting's side of forwarding (see [`crate::forward`]).
//!
//! At a forwarding host, every guest's connection carries the host's own feeds and, on
//! tracks of their own, every other guest's: the host adds them as guests come, removes them
//! as they go, and offers again. A guest of a forwarding meeting connects to the host only,
//! and hears from the host's offers which m-lines carry whose feeds.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::task::JoinHandle;

use videomeet_media::decode_thread::VideoDecoderThread;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::{Layer, LayerSet};

use crate::forward::{Fanout, LayerChoice, Subscription, write_forwarded};
use crate::peer::VideoFeed;
use crate::protocol::{FeedKind, PeerId, Signal, ViewSize};
use crate::receive::receive_forwarded_video;

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

/// The host's fanouts, one for each feed (and layer) of each guest.
#[derive(Default)]
pub(super) struct Fanouts(HashMap<(PeerId, FeedKind, Layer), Arc<Fanout>>);

impl Fanouts {
    /// `from`'s `kind` feed, of `layer`, made on first use.
    pub(super) fn of(&mut self, from: PeerId, kind: FeedKind, layer: Layer) -> Arc<Fanout> {
        Arc::clone(
            self.0
                .entry((from, kind, layer))
                .or_insert_with(|| Arc::new(Fanout::new(layer))),
        )
    }

    /// What `receiver` is to get of `from`'s `kind` feed: for a camera, each of its layers
    /// as `choice` says; otherwise the one stream.
    pub(super) fn subscribe(
        &mut self,
        receiver: PeerId,
        from: PeerId,
        kind: FeedKind,
        choice: LayerChoice,
    ) -> Subscription {
        if kind == FeedKind::Camera {
            let sources = Layer::ALL.iter().map(|layer| self.of(from, kind, *layer)).collect();
            Subscription::new(receiver, sources, choice, true)
        } else {
            Subscription::new(
                receiver,
                vec![self.of(from, kind, Layer::Full)],
                LayerChoice::default(),
                false,
            )
        }
    }

    /// `id` left: its feeds go to nobody, and it receives nothing more.
    pub(super) fn remove(&mut self, id: PeerId) {
        self.0.retain(|(from, _, _), fanout| {
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
                    let choice = self.layering.choice(receiver, *from);
                    let subscription = self.fanouts.subscribe(receiver, *from, kind, choice);
                    let task = write_forwarded(subscription, track);
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
        self.choose_layers();
    }

    /// Our own window's view of guest `id`'s camera at a forwarding host: decoded from the
    /// layer chosen for us, like any receiver's share (started once, with its first layer).
    pub(super) fn view_forwarded_camera(&mut self, id: PeerId) {
        let Some(remote) = self.remotes.get_mut(&id) else {
            return;
        };
        if remote.meter.decode.is_some() {
            return;
        }
        let slot = Arc::new(VideoSlot::default());
        let waker = self.events.waker();
        let decoder = match VideoDecoderThread::start(&format!("video-decode-{id}"), Arc::clone(&slot), move || waker())
        {
            Ok(decoder) => decoder,
            Err(error) => {
                let reason = error.to_string();
                self.emit(Event::Problem(Problem::Decoder { id, reason }));
                return;
            }
        };
        remote.meter.decode = Some(decoder.stats());
        let choice = self.layering.choice(self.you, id);
        let subscription = self.fanouts.subscribe(self.you, id, FeedKind::Camera, choice);
        let task = tokio::spawn(receive_forwarded_video(subscription, decoder));
        if let Some(remote) = self.remotes.get_mut(&id) {
            remote.tasks.push(task);
        }
        self.emit(Event::Video {
            id,
            feed: VideoFeed::Camera,
            slot,
        });
    }

    /// How we draw the others' cameras changed (see [`Command::View`]): a forwarding host
    /// chooses again; a guest of one tells it.
    pub(super) fn set_view(&mut self, sizes: Vec<ViewSize>) {
        if self.forwards() {
            self.layering.set_view(self.you, &sizes);
            self.choose_layers();
        } else if self.forwarding {
            self.signal(self.host, Signal::View { sizes });
        }
    }

    /// As a forwarding host: which layer of each camera each participant gets, from how it
    /// draws it; each guest is told which layers of its camera anyone wants, and our own
    /// encoder makes only the layers someone wants.
    pub(super) fn choose_layers(&mut self) {
        if !self.forwards() {
            return;
        }
        let guests: Vec<PeerId> = self.remotes.keys().copied().collect();
        let viewers: Vec<PeerId> = guests.iter().copied().chain([self.you]).collect();
        for sender in &guests {
            let layered = self
                .remotes
                .get(sender)
                .is_some_and(|remote| remote.link.sends_layers());
            let full = self.layering.camera_size(*sender);
            let mut wanted = LayerSet::NONE;
            for viewer in viewers.iter().filter(|viewer| *viewer != sender) {
                let layer = match layer_for(self.layering.view(*viewer, *sender), full) {
                    // A camera sent whole only: whole or nothing.
                    Some(_) if !layered => Some(Layer::Full),
                    layer => layer,
                };
                self.layering.choice(*viewer, *sender).set(layer);
                if let Some(layer) = layer {
                    wanted = wanted.with(layer);
                }
            }
            if layered && self.layering.asked.get(sender) != Some(&wanted) {
                self.layering.asked.insert(*sender, wanted);
                let camera = wanted.iter().map(Into::into).collect();
                self.signal(*sender, Signal::Layers { camera });
            }
        }
        let full = (self.capture.format.width, self.capture.format.height);
        let mut wanted = LayerSet::NONE;
        for guest in &guests {
            let layer = layer_for(self.layering.view(*guest, self.you), full);
            if let Some(remote) = self.remotes.get_mut(guest) {
                remote.own_camera.target = layer;
            }
            if let Some(layer) = layer {
                wanted = wanted.with(layer);
            }
        }
        // Alone, the full layer stays ready: it is what a newcomer gets first.
        self.camera_encoder
            .wanted
            .set(if guests.is_empty() { LayerSet::FULL } else { wanted });
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

/// What a forwarding host knows to choose layers: how each participant draws the others'
/// cameras, and each camera's full size.
#[derive(Default)]
pub(super) struct Layering {
    /// Per viewer: per participant drawn, the size drawn at.
    views: HashMap<PeerId, HashMap<PeerId, (u32, u32)>>,
    camera_sizes: HashMap<PeerId, (u32, u32)>,
    /// Per (viewer, participant drawn).
    choices: HashMap<(PeerId, PeerId), LayerChoice>,
    /// The layers each guest was last asked for.
    asked: HashMap<PeerId, LayerSet>,
}

/// Assumed for a camera whose size was not said.
const USUAL_CAMERA: (u32, u32) = (1280, 720);

impl Layering {
    /// `viewer` draws the others as `sizes` say (replacing what it said before).
    pub(super) fn set_view(&mut self, viewer: PeerId, sizes: &[ViewSize]) {
        let sizes = sizes.iter().map(|size| (size.id, (size.width, size.height))).collect();
        self.views.insert(viewer, sizes);
    }

    /// The size `viewer` draws `drawn`'s camera at; `None` when it never said (full size).
    fn view(&self, viewer: PeerId, drawn: PeerId) -> Option<(u32, u32)> {
        self.views.get(&viewer)?.get(&drawn).copied()
    }

    /// `id`'s camera is `size` at its largest.
    pub(super) fn set_camera_size(&mut self, id: PeerId, size: Option<[u32; 2]>) -> bool {
        let size = size.map(|[width, height]| (width, height));
        let before = match size {
            Some(size) => self.camera_sizes.insert(id, size),
            None => self.camera_sizes.remove(&id),
        };
        before != size
    }

    fn camera_size(&self, id: PeerId) -> (u32, u32) {
        self.camera_sizes.get(&id).copied().unwrap_or(USUAL_CAMERA)
    }

    /// The choice of layer of `drawn`'s camera for `viewer`, shared with its forwarding.
    pub(super) fn choice(&mut self, viewer: PeerId, drawn: PeerId) -> LayerChoice {
        self.choices.entry((viewer, drawn)).or_default().clone()
    }

    /// `id` left.
    pub(super) fn forget(&mut self, id: PeerId) {
        self.views.remove(&id);
        self.camera_sizes.remove(&id);
        self.asked.remove(&id);
        self.choices.retain(|(viewer, drawn), _| *viewer != id && *drawn != id);
    }
}

/// The smallest layer of a camera of size `full` that fills `view`: `None` for a camera not
/// drawn, the full one when the viewer never said how it draws it.
fn layer_for(view: Option<(u32, u32)>, full: (u32, u32)) -> Option<Layer> {
    let Some((width, height)) = view else {
        return Some(Layer::Full);
    };
    if width == 0 || height == 0 {
        return None;
    }
    let fills = |layer: &Layer| {
        let (layer_width, layer_height) = layer.size(full);
        layer_width >= width && layer_height >= height
    };
    Some(
        [Layer::Quarter, Layer::Half]
            .into_iter()
            .find(fills)
            .unwrap_or(Layer::Full),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_layer_that_fills_the_view_is_chosen() {
        let full = (1280, 720);
        assert_eq!(layer_for(None, full), Some(Layer::Full), "never said");
        assert_eq!(layer_for(Some((0, 0)), full), None, "not drawn");
        assert_eq!(layer_for(Some((160, 90)), full), Some(Layer::Quarter));
        assert_eq!(layer_for(Some((320, 180)), full), Some(Layer::Quarter));
        assert_eq!(layer_for(Some((480, 270)), full), Some(Layer::Half));
        assert_eq!(layer_for(Some((1280, 720)), full), Some(Layer::Full));
        assert_eq!(
            layer_for(Some((1920, 1080)), full),
            Some(Layer::Full),
            "larger than sent"
        );
    }
}

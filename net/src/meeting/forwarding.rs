//! The meeting's side of forwarding (see [`crate::forward`]).
//!
//! At a forwarding host, every guest's connection carries the host's own feeds and, on
//! tracks of their own, every other guest's: the host adds them as guests come, removes them
//! as they go, and offers again. A guest of a forwarding meeting connects to the host only,
//! and hears from the host's offers which m-lines carry whose feeds.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use videomeet_media::decode_thread::VideoDecoderThread;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::{Layer, LayerSet};

use crate::bandwidth::AUDIO_BPS;
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

    /// What `from` sends of its `kind` feed's `layer` now, in bits per second on the wire.
    fn bps(&self, from: PeerId, kind: FeedKind, layer: Layer) -> u64 {
        self.0.get(&(from, kind, layer)).map_or(0, |fanout| fanout.bps())
    }

    /// What each layer of `from`'s camera sends, in bits per second: as measured while it is
    /// sent; a layer not sent now, in the proportions of [`Layer::default_bitrate`] to one
    /// that is; nothing for a camera that sends nothing (off, or not connected yet), which
    /// must not take a path's room from those that do.
    fn camera_costs(&self, from: PeerId) -> [u64; 3] {
        let measured = Layer::ALL.map(|layer| self.bps(from, FeedKind::Camera, layer));
        let Some(known) = Layer::ALL.into_iter().find(|layer| measured[layer.index()] > 0) else {
            return [0; 3];
        };
        let scale = |layer: Layer| u64::from(layer.default_bitrate(1_000_000));
        Layer::ALL.map(|layer| match measured[layer.index()] {
            0 => measured[known.index()] * scale(layer) / scale(known),
            bps => bps,
        })
    }

    /// What `receiver` is to get of `from`'s `kind` feed, as `choice` says: for a camera,
    /// one of its layers; otherwise the one stream, or nothing.
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
            Subscription::new(receiver, vec![self.of(from, kind, Layer::Full)], choice, false)
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
                    let choice = match kind {
                        FeedKind::Camera => self.layering.choice(receiver, *from),
                        FeedKind::Audio => self.speakers.choice(receiver, *from),
                        FeedKind::Screen => LayerChoice::default(),
                    };
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
    /// draws it and what the path to it carries; each guest is told which layers of its
    /// camera anyone wants, and our own encoder makes only the layers someone wants.
    pub(super) fn choose_layers(&mut self) {
        if !self.forwards() {
            return;
        }
        let now = Instant::now();
        let mut guests: Vec<PeerId> = self.remotes.keys().copied().collect();
        guests.sort_unstable();
        let everyone: Vec<PeerId> = guests.iter().copied().chain([self.you]).collect();
        let mut wanted: HashMap<PeerId, LayerSet> = HashMap::new();
        for viewer in &everyone {
            let drawn: Vec<PeerId> = everyone.iter().copied().filter(|id| id != viewer).collect();
            let tiles: Vec<Tile> = drawn.iter().map(|id| self.tile(*viewer, *id)).collect();
            let layers = if *viewer == self.you {
                // Our own window: no path between.
                tiles.iter().map(|tile| tile.asked).collect()
            } else {
                let current: Vec<Option<Layer>> = drawn.iter().map(|id| self.layer_sent(*viewer, *id)).collect();
                let budget = self.camera_budget(*viewer);
                self.layering.pace(*viewer, &tiles, &current, budget, now)
            };
            for (id, layer) in drawn.iter().zip(layers) {
                if *id == self.you {
                    if let Some(remote) = self.remotes.get_mut(viewer) {
                        remote.own_camera.target = layer;
                    }
                } else {
                    self.layering.choice(*viewer, *id).set(layer);
                }
                if let Some(layer) = layer {
                    let set = wanted.entry(*id).or_insert(LayerSet::NONE);
                    *set = set.with(layer);
                }
            }
        }
        for sender in &guests {
            let layered = self
                .remotes
                .get(sender)
                .is_some_and(|remote| remote.link.sends_layers());
            let wanted = wanted.get(sender).copied().unwrap_or(LayerSet::NONE);
            if layered && self.layering.asked.get(sender) != Some(&wanted) {
                self.layering.asked.insert(*sender, wanted);
                let camera = wanted.iter().map(Into::into).collect();
                self.signal(*sender, Signal::Layers { camera });
            }
        }
        // Alone, the full layer stays ready: it is what a newcomer gets first.
        self.camera_encoder.wanted.set(if guests.is_empty() {
            LayerSet::FULL
        } else {
            wanted.get(&self.you).copied().unwrap_or(LayerSet::NONE)
        });
    }

    /// `drawn`'s camera as `viewer` draws it.
    fn tile(&self, viewer: PeerId, drawn: PeerId) -> Tile {
        let own = drawn == self.you;
        let full = if own {
            (self.capture.format.width, self.capture.format.height)
        } else {
            self.layering.camera_size(drawn)
        };
        let layered = own
            || self
                .remotes
                .get(&drawn)
                .is_some_and(|remote| remote.link.sends_layers());
        let view = self.layering.view(viewer, drawn);
        let asked = match layer_for(view, full) {
            // A camera sent whole only: whole or nothing.
            Some(_) if !layered => Some(Layer::Full),
            layer => layer,
        };
        let (width, height) = view.unwrap_or(full);
        let costs = if own {
            // Our own encoder's aims; nothing while our camera is off.
            let full_bps = if self.media.camera {
                self.camera_encoder.bitrate.get()
            } else {
                0
            };
            Layer::ALL.map(|layer| u64::from(layer.default_bitrate(full_bps)))
        } else {
            self.fanouts.camera_costs(drawn)
        };
        Tile {
            area: u64::from(width) * u64::from(height),
            asked,
            layered,
            costs,
        }
    }

    /// The layer of `drawn`'s camera that `viewer` gets now.
    fn layer_sent(&mut self, viewer: PeerId, drawn: PeerId) -> Option<Layer> {
        if drawn == self.you {
            self.remotes.get(&viewer).and_then(|remote| remote.own_camera.target)
        } else {
            self.layering.choice(viewer, drawn).get()
        }
    }

    /// What the path to `viewer` carries for cameras: its estimate, less everyone's sound
    /// and shared screens, which go first and whole.
    fn camera_budget(&self, viewer: PeerId) -> u64 {
        let Some(remote) = self.remotes.get(&viewer) else {
            return 0;
        };
        let others = self.remotes.keys().filter(|id| **id != viewer);
        let forwarded: u64 = others
            .map(|id| {
                self.fanouts.bps(*id, FeedKind::Audio, Layer::Full)
                    + self.fanouts.bps(*id, FeedKind::Screen, Layer::Full)
            })
            .sum();
        let own_sound = if self.media.mic { AUDIO_BPS } else { 0 };
        let own_screen = self
            .screen
            .as_ref()
            .map_or(0, |share| u64::from(share.capture.control.bitrate.get()));
        remote
            .link
            .send_estimate_bps()
            .saturating_sub(forwarded + own_sound + own_screen)
    }

    /// As a forwarding host: whose sound each participant gets (see [`super::speakers`]).
    pub(super) fn choose_speakers(&mut self) {
        let Some(server) = self.server.as_ref().filter(|_| self.forwarding) else {
            return;
        };
        let loudest = server.loudest_sounds();
        let levels: Vec<(PeerId, f32)> = self
            .remotes
            .keys()
            .map(|id| (*id, self.capture.levels.remote(*id)))
            .collect();
        self.speakers.choose(&levels, loudest, Instant::now());
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
    /// Per viewer: how its cameras grow back after its path made them smaller.
    pacing: HashMap<PeerId, Pacing>,
}

/// After a path made a camera go smaller, how long before a camera may grow beyond what
/// the path was found to carry; doubled each time such a try is soon followed by a cut, up
/// to [`PROBE_AFTER_MOST`].
const PROBE_AFTER: Duration = Duration::from_secs(4);
const PROBE_AFTER_MOST: Duration = Duration::from_secs(64);

/// Between two growths on one path: time for a growth to show whether the path carries it.
const BETWEEN_GROWTHS: Duration = Duration::from_secs(2);

/// A cut this soon after a growth says the growth was too much for the path; a growth that
/// lasts longer shows the path carries it.
const GROWTH_PROVEN_AFTER: Duration = Duration::from_secs(6);

/// A camera grows again only once it fits with this share of the path to spare.
const REGROW_HEADROOM: f64 = 0.2;

/// After a try the path could not carry is undone, how long its queue has to drain before
/// the estimate counts again.
const DRAIN_AFTER_UNDO: Duration = Duration::from_millis(1500);

/// How the cameras of one viewer grow back after its path made them smaller.
///
/// A path's estimate rises while we send less than it, whatever the path really carries,
/// so above what the path was last found to carry (its ceiling) it says nothing. Below the
/// ceiling, cameras grow a layer at a time; above it, a growth is a try: a try that lasts
/// raises the ceiling, and one the path cannot carry is undone at once (its queue drains,
/// nothing else goes smaller) and makes the next try wait twice as long.
#[derive(Clone, Debug)]
struct Pacing {
    /// What the path carried for cameras when it last made one smaller.
    ceiling: Option<u64>,
    cut_at: Option<Instant>,
    /// The last growth.
    grown: Option<Growth>,
    /// How long after a cut the next try above the ceiling waits.
    wait: Duration,
    /// After an undone try: until then, only the view makes cameras smaller.
    draining_until: Option<Instant>,
}

/// A growth of one viewer's cameras, to prove or undo.
#[derive(Clone, Debug)]
struct Growth {
    at: Instant,
    /// What the cameras sent after it.
    total: u64,
    /// The layers before it, and what they sent.
    before: Vec<Option<Layer>>,
    before_total: u64,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            ceiling: None,
            cut_at: None,
            grown: None,
            wait: PROBE_AFTER,
            draining_until: None,
        }
    }
}

impl Pacing {
    fn since(now: Instant, at: Option<Instant>) -> Duration {
        at.map_or(Duration::MAX, |at| now.saturating_duration_since(at))
    }

    fn draining(&self, now: Instant) -> bool {
        self.draining_until.is_some_and(|until| now < until)
    }

    /// Whether the cameras may grow to send `total`.
    fn may_grow_to(&mut self, now: Instant, total: u64) -> bool {
        if let Some(growth) = &self.grown
            && Self::since(now, Some(growth.at)) >= GROWTH_PROVEN_AFTER
            && Self::since(now, self.cut_at) >= GROWTH_PROVEN_AFTER
        {
            // The last growth lasted: the path carries it.
            self.ceiling = self.ceiling.map(|ceiling| ceiling.max(growth.total));
            self.wait = PROBE_AFTER;
        }
        let since_growth = Self::since(now, self.grown.as_ref().map(|growth| growth.at));
        if self.ceiling.is_none_or(|ceiling| total <= ceiling) {
            since_growth >= BETWEEN_GROWTHS
        } else {
            // A try, once the last one proved itself.
            since_growth >= GROWTH_PROVEN_AFTER && Self::since(now, self.cut_at) >= self.wait
        }
    }

    /// The path needs the cameras smaller. A recent growth of `cameras` cameras was the
    /// cause: it is undone, and its layers before are returned.
    fn cut(&mut self, now: Instant, budget: u64, cameras: usize) -> Option<Vec<Option<Layer>>> {
        self.cut_at = Some(now);
        let growth = self
            .grown
            .take()
            .filter(|growth| Self::since(now, Some(growth.at)) < GROWTH_PROVEN_AFTER && growth.before.len() == cameras);
        match growth {
            Some(growth) => {
                self.wait = (self.wait * 2).min(PROBE_AFTER_MOST);
                self.ceiling = Some(growth.before_total);
                self.draining_until = Some(now + DRAIN_AFTER_UNDO);
                Some(growth.before)
            }
            None => {
                self.ceiling = Some(budget);
                None
            }
        }
    }
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

    /// The layers `viewer` gets of `tiles`, now getting `current`, over a path that carries
    /// `budget` for cameras: a camera goes smaller at once when the path needs it (or its
    /// view does), and grows as [`Pacing`] allows, one layer of one camera at a time, once it
    /// fits with room to spare, so that a path at its limit does not swing between two
    /// layers.
    fn pace(
        &mut self,
        viewer: PeerId,
        tiles: &[Tile],
        current: &[Option<Layer>],
        budget: u64,
        now: Instant,
    ) -> Vec<Option<Layer>> {
        let pacing = self.pacing.entry(viewer).or_default();
        let no_larger_than_asked = |layers: &[Option<Layer>]| -> Vec<Option<Layer>> {
            tiles
                .iter()
                .zip(layers)
                .map(|(tile, layer)| {
                    if rank(tile.asked) < rank(*layer) {
                        tile.asked
                    } else {
                        *layer
                    }
                })
                .collect()
        };
        if pacing.draining(now) {
            return no_larger_than_asked(current);
        }
        let fitted = fit(tiles, budget);
        let smaller = |index: usize| rank(fitted[index]) < rank(current[index]);
        if (0..tiles.len()).any(|index| smaller(index) && rank(fitted[index]) < rank(tiles[index].asked))
            && let Some(before) = pacing.cut(now, budget, tiles.len())
        {
            return no_larger_than_asked(&before);
        }
        let mut layers: Vec<Option<Layer>> = (0..tiles.len())
            .map(|index| if smaller(index) { fitted[index] } else { current[index] })
            .collect();
        if layers != current {
            return layers;
        }
        let spare = fit(tiles, (budget as f64 * (1.0 - REGROW_HEADROOM)) as u64);
        if pacing.cut_at.is_none() {
            // A path never found narrow: every camera as large as fits, at once (a pinned
            // picture grows within a frame or two).
            return (0..tiles.len())
                .map(|index| {
                    if rank(spare[index]) > rank(layers[index]) {
                        spare[index]
                    } else {
                        layers[index]
                    }
                })
                .collect();
        }
        // A stopped camera starts again before any other grows; then the largest drawn.
        let growing = (0..tiles.len())
            .filter(|index| rank(spare[*index]) > rank(layers[*index]))
            .max_by_key(|index| (layers[*index].is_none(), tiles[*index].area, std::cmp::Reverse(*index)));
        let total =
            |layers: &[Option<Layer>]| -> u64 { tiles.iter().zip(layers).map(|(tile, layer)| tile.cost(*layer)).sum() };
        if let Some(index) = growing {
            let before = layers.clone();
            layers[index] = Some(match before[index] {
                None => Layer::Quarter,
                Some(layer) => Layer::ALL[layer.index().saturating_sub(1)],
            });
            let grown_total = total(&layers);
            if !pacing.may_grow_to(now, grown_total) {
                return before;
            }
            pacing.grown = Some(Growth {
                at: now,
                total: grown_total,
                before_total: total(&before),
                before,
            });
        }
        layers
    }

    /// `id` left.
    pub(super) fn forget(&mut self, id: PeerId) {
        self.pacing.remove(&id);
        self.views.remove(&id);
        self.camera_sizes.remove(&id);
        self.asked.remove(&id);
        self.choices.retain(|(viewer, drawn), _| *viewer != id && *drawn != id);
    }
}

/// One camera as one viewer draws it, for fitting the path to that viewer.
#[derive(Clone, Copy, Debug)]
struct Tile {
    /// The pixels it is drawn on.
    area: u64,
    /// The layer that fills it.
    asked: Option<Layer>,
    /// Whether the camera comes in layers; if not, it is whole or nothing.
    layered: bool,
    /// What each layer sends, in bits per second, by [`Layer::index`].
    costs: [u64; 3],
}

impl Tile {
    fn cost(&self, layer: Option<Layer>) -> u64 {
        layer.map_or(0, |layer| self.costs[layer.index()])
    }
}

/// Orders "nothing" below the smallest layer, and the layers by size.
fn rank(layer: Option<Layer>) -> usize {
    layer.map_or(0, |layer| Layer::ALL.len() - layer.index())
}

/// The layers of `tiles` that fit in `budget`: each as asked while they fit; then the
/// cameras go down a layer at a time, the smallest drawn first (thumbnails before the
/// speaker), and once all are at their smallest the smallest drawn stop, the largest never.
fn fit(tiles: &[Tile], budget: u64) -> Vec<Option<Layer>> {
    let mut chosen: Vec<Option<Layer>> = tiles.iter().map(|tile| tile.asked).collect();
    let largest = (0..tiles.len())
        .filter(|index| tiles[*index].asked.is_some())
        .max_by_key(|index| tiles[*index].area);
    let total =
        |chosen: &[Option<Layer>]| -> u64 { tiles.iter().zip(chosen).map(|(tile, layer)| tile.cost(*layer)).sum() };
    while total(&chosen) > budget {
        let smaller = (0..tiles.len())
            .filter(|index| tiles[*index].layered && matches!(chosen[*index], Some(layer) if layer != Layer::Quarter))
            .min_by_key(|index| tiles[*index].area)
            .map(|index| (index, chosen[index].map(|layer| Layer::ALL[layer.index() + 1])));
        let stopped = || {
            (0..tiles.len())
                .filter(|index| chosen[*index].is_some() && Some(*index) != largest)
                .min_by_key(|index| tiles[*index].area)
                .map(|index| (index, None))
        };
        let Some((index, layer)) = smaller.or_else(stopped) else {
            break;
        };
        chosen[index] = layer;
    }
    // A camera stopped may leave room for another to grow back, the largest drawn first.
    let mut by_size: Vec<usize> = (0..tiles.len()).filter(|index| chosen[*index].is_some()).collect();
    by_size.sort_by_key(|index| std::cmp::Reverse(tiles[*index].area));
    for index in by_size {
        while let Some(larger) = chosen[index]
            .filter(|layer| rank(Some(*layer)) < rank(tiles[index].asked))
            .map(|layer| Layer::ALL[layer.index() - 1])
        {
            let grown = total(&chosen) - tiles[index].cost(chosen[index]) + tiles[index].cost(Some(larger));
            if grown > budget {
                break;
            }
            chosen[index] = Some(larger);
        }
    }
    chosen
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

    /// A 320x240 camera's layers at their default bitrates (300, 75 and 19 kbit/s).
    fn tile(area: u64, asked: Option<Layer>) -> Tile {
        Tile {
            area,
            asked,
            layered: true,
            costs: Layer::ALL.map(|layer| u64::from(layer.default_bitrate(300_000))),
        }
    }

    #[test]
    fn a_narrow_path_takes_the_thumbnails_down_first_then_the_speaker_then_stops_thumbnails() {
        let (speaker, thumbnail) = (tile(320 * 240, Some(Layer::Full)), tile(160 * 120, Some(Layer::Half)));
        let tiles = [thumbnail, speaker, thumbnail];
        let (full, half, quarter) = (Some(Layer::Full), Some(Layer::Half), Some(Layer::Quarter));
        assert_eq!(fit(&tiles, 10_000_000), vec![half, full, half], "as drawn");
        assert_eq!(fit(&tiles, 450_000), vec![half, full, half], "exactly fits");
        assert_eq!(fit(&tiles, 449_999), vec![quarter, full, half]);
        assert_eq!(fit(&tiles, 380_000), vec![quarter, full, quarter]);
        assert_eq!(fit(&tiles, 150_000), vec![quarter, half, quarter]);
        assert_eq!(
            fit(&tiles, 200_000),
            vec![half, half, quarter],
            "the speaker could not grow back, a thumbnail could"
        );
        assert_eq!(fit(&tiles, 100_000), vec![quarter, quarter, quarter]);
        assert_eq!(fit(&tiles, 50_000), vec![None, quarter, quarter]);
        assert_eq!(fit(&tiles, 0), vec![None, quarter, None], "the speaker never stops");
        let whole_only = Tile {
            layered: false,
            ..tile(160 * 120, Some(Layer::Full))
        };
        assert_eq!(fit(&[whole_only, speaker], 400_000), vec![full, half]);
        assert_eq!(
            fit(&[whole_only, speaker], 200_000),
            vec![None, half],
            "a camera without layers stops rather than shrinks, and the speaker grows back"
        );
    }

    #[test]
    fn a_camera_goes_smaller_at_once_and_grows_a_layer_at_a_time_trying_the_path_ever_more_rarely() {
        let mut layering = Layering::default();
        let tiles = [tile(160 * 120, Some(Layer::Half)), tile(160 * 120, Some(Layer::Half))];
        let (half, quarter) = (Some(Layer::Half), Some(Layer::Quarter));
        let start = Instant::now();
        let at = |millis: u64| start + Duration::from_millis(millis);
        assert_eq!(
            layering.pace(1, &tiles, &[quarter, quarter], 500_000, at(0)),
            vec![half, half],
            "never cut: at once"
        );
        let cut = layering.pace(1, &tiles, &[half, half], 120_000, at(1_000));
        assert_eq!(cut, vec![quarter, half], "down at once");
        let mut grew_at = None;
        for millis in (1_200..=6_000).step_by(200) {
            let layers = layering.pace(1, &tiles, &cut, 190_000, at(millis));
            if layers != cut {
                assert_eq!(layers, vec![half, half]);
                grew_at.get_or_insert(millis);
            }
        }
        assert_eq!(grew_at, Some(5_000), "room to spare, four seconds after the cut");
        assert_eq!(
            layering.pace(1, &tiles, &cut, 150_000, at(9_000)),
            cut,
            "fits, but without room to spare"
        );
        // The growth was too much: undone, and the next waits eight seconds.
        assert_eq!(layering.pace(1, &tiles, &[half, half], 120_000, at(6_000)), cut);
        assert_eq!(
            layering.pace(1, &tiles, &cut, 10_000, at(6_500)),
            cut,
            "while the path drains what the try queued, its estimate does not count"
        );
        assert_eq!(layering.pace(1, &tiles, &cut, 190_000, at(13_800)), cut);
        assert_eq!(layering.pace(1, &tiles, &cut, 190_000, at(14_000)), vec![half, half]);
        // One camera at a time.
        let both_cut = layering.pace(2, &tiles, &[half, half], 80_000, at(0));
        assert_eq!(both_cut, vec![quarter, quarter], "each viewer's path is its own");
        assert_eq!(
            layering.pace(2, &tiles, &both_cut, 500_000, at(4_000)),
            vec![half, quarter]
        );
        assert_eq!(
            layering.pace(2, &tiles, &[half, quarter], 500_000, at(5_000)),
            vec![half, quarter]
        );
        assert_eq!(
            layering.pace(2, &tiles, &[half, quarter], 500_000, at(9_900)),
            vec![half, quarter],
            "each try above what the path carried waits for the last to prove itself"
        );
        assert_eq!(
            layering.pace(2, &tiles, &[half, quarter], 500_000, at(10_000)),
            vec![half, half]
        );
        // Below what the path was found to carry, a camera grows without a wait.
        assert_eq!(layering.pace(3, &tiles, &[half, half], 120_000, at(0)), cut);
        let thumbnails = [tile(80 * 60, Some(Layer::Quarter)), tile(80 * 60, Some(Layer::Quarter))];
        assert_eq!(
            layering.pace(3, &thumbnails, &cut, 120_000, at(1_000)),
            vec![quarter, quarter],
            "drawn smaller"
        );
        assert_eq!(
            layering.pace(3, &tiles, &[quarter, quarter], 500_000, at(1_500)),
            vec![half, quarter],
            "drawn larger again, within the path's ceiling"
        );
    }

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

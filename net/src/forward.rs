//! Forwarding at the host: what one participant sends reaches the others as the RTP packets
//! it arrived in, never decoded or encoded again.
//!
//! Each feed a guest sends (sound, camera, screen; the camera in up to three layers) has a
//! [`Fanout`]. The task that reads the feed hands every packet to it, and it hands a copy to
//! each receiver's queue. Each receiver has a track of its own on its own connection, written
//! by a task of its own ([`write_forwarded`]), so a slow receiver loses packets from its own
//! queue and never holds up the sender or the others. Of a camera, each receiver gets the
//! layer chosen for it ([`LayerChoice`]), switched at a keyframe of the new layer with its
//! packets renumbered to follow the old ones. A receiver's keyframe request goes upstream to
//! the sender, merged with the others' requests.

use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use tokio::sync::mpsc;
use videomeet_media::video::Layer;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::TrackRemote;

use crate::peer::ForwardTrack;
use crate::protocol::PeerId;

/// Packets a receiver's queue holds: about a second of a 720p camera. Beyond it the
/// receiver falls behind and packets are dropped (it asks again, or for a keyframe).
const RECEIVER_QUEUE: usize = 256;

/// Keyframe requests from several receivers within this time cost the sender one keyframe.
const KEYFRAME_REQUEST_MERGE: Duration = Duration::from_millis(250);

/// What a receiver's queue carries: a packet and the layer it belongs to.
type Tagged = (Layer, rtp::Packet);

/// What a forwarded packet costs on the wire beyond its payload: RTP header and extensions,
/// the SRTP tag, UDP and IPv4, so that a feed's rate compares with a path's estimate.
const WIRE_OVERHEAD_BYTES: u64 = 60;

/// The window over which a feed's rate is measured.
const RATE_WINDOW: Duration = Duration::from_secs(1);

/// The rate of a feed, over the last whole window; zero once it has been quiet for two.
#[derive(Debug)]
struct Rate {
    since: Instant,
    bytes: u64,
    bps: u64,
}

impl Rate {
    fn new(now: Instant) -> Self {
        Self {
            since: now,
            bytes: 0,
            bps: 0,
        }
    }

    fn add(&mut self, now: Instant, bytes: u64) {
        let elapsed = now.saturating_duration_since(self.since);
        if elapsed >= RATE_WINDOW {
            self.bps = if elapsed >= 2 * RATE_WINDOW {
                0
            } else {
                (self.bytes * 8 * 1000) / (elapsed.as_millis().max(1) as u64)
            };
            self.since = now;
            self.bytes = 0;
        }
        self.bytes += bytes;
    }

    fn bps(&self, now: Instant) -> u64 {
        if now.saturating_duration_since(self.since) >= 2 * RATE_WINDOW {
            0
        } else {
            self.bps
        }
    }
}

/// One feed (one layer of it) of one sender, and the receivers it goes to.
pub struct Fanout {
    layer: Layer,
    receivers: Mutex<Vec<(PeerId, mpsc::Sender<Tagged>)>>,
    /// The sender's track, to ask it for keyframes; set once its first packet arrives.
    upstream: Mutex<Option<Arc<dyn TrackRemote>>>,
    upstream_ssrc: AtomicU32,
    last_keyframe_request: Mutex<Option<Instant>>,
    rate: Mutex<Rate>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Fanout {
    /// A fanout for packets of `layer`.
    pub fn new(layer: Layer) -> Self {
        Self {
            layer,
            receivers: Mutex::default(),
            upstream: Mutex::default(),
            upstream_ssrc: AtomicU32::new(0),
            last_keyframe_request: Mutex::default(),
            rate: Mutex::new(Rate::new(Instant::now())),
        }
    }

    /// What the sender sends of this feed, in bits per second on the wire, over the last
    /// second; zero when nothing came for two.
    pub fn bps(&self) -> u64 {
        lock(&self.rate).bps(Instant::now())
    }

    /// The sender's track arrived: packets read from it are forwarded with [`Self::forward`].
    pub fn set_upstream(&self, track: Arc<dyn TrackRemote>) {
        *lock(&self.upstream) = Some(track);
    }

    /// Hands a copy of `packet` to every receiver's queue; a full queue loses it.
    pub fn forward(&self, packet: &rtp::Packet) {
        self.upstream_ssrc.store(packet.header.ssrc, Ordering::Relaxed);
        let bytes = packet.payload.len() as u64 + WIRE_OVERHEAD_BYTES;
        lock(&self.rate).add(Instant::now(), bytes);
        for (receiver, queue) in lock(&self.receivers).iter() {
            if let Err(mpsc::error::TrySendError::Full(_)) = queue.try_send((self.layer, packet.clone())) {
                tracing::trace!(receiver, "forwarding queue full: a packet dropped");
            }
        }
    }

    /// `receiver` gets this feed from now on through `queue`.
    fn attach(&self, receiver: PeerId, queue: mpsc::Sender<Tagged>) {
        let mut receivers = lock(&self.receivers);
        receivers.retain(|(id, _)| *id != receiver);
        receivers.push((receiver, queue));
    }

    /// `receiver` no longer gets this feed; its writing task ends.
    pub fn detach(&self, receiver: PeerId) {
        lock(&self.receivers).retain(|(id, _)| *id != receiver);
    }

    /// The sender left: no receiver gets anything more, and their writing tasks end.
    pub fn close(&self) {
        lock(&self.receivers).clear();
    }

    /// Asks the sender for a keyframe, unless a request went out a moment ago.
    pub async fn request_keyframe(&self) {
        let now = Instant::now();
        {
            let mut last = lock(&self.last_keyframe_request);
            if last.is_some_and(|at| now.duration_since(at) < KEYFRAME_REQUEST_MERGE) {
                return;
            }
            *last = Some(now);
        }
        let Some(upstream) = lock(&self.upstream).clone() else {
            return;
        };
        let pli = PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc: self.upstream_ssrc.load(Ordering::Relaxed),
        };
        if let Err(error) = upstream.write_rtcp(vec![Box::new(pli)]).await {
            tracing::debug!(%error, "keyframe request not sent upstream");
        }
    }
}

/// Which layer of a camera one receiver gets, or none (it draws that camera nowhere).
/// Shared between the meeting, which chooses, and the task that forwards.
#[derive(Clone, Debug)]
pub struct LayerChoice(Arc<AtomicU8>);

const NO_LAYER: u8 = u8::MAX;

impl Default for LayerChoice {
    /// The full layer: what a receiver that never said how it draws gets.
    fn default() -> Self {
        Self(Arc::new(AtomicU8::new(0)))
    }
}

impl LayerChoice {
    /// The layer chosen now.
    pub fn get(&self) -> Option<Layer> {
        Layer::ALL.get(usize::from(self.0.load(Ordering::Relaxed))).copied()
    }

    /// Chooses `layer` (none: nothing is forwarded).
    pub fn set(&self, layer: Option<Layer>) {
        let index = layer.map_or(NO_LAYER, |layer| layer.index() as u8);
        self.0.store(index, Ordering::Relaxed);
    }
}

/// Whether an H.264 RTP payload begins a picture a decoder can start from: an IDR slice or
/// a sequence parameter set, alone, in an aggregate (STAP-A) or as a fragment's first part
/// (FU-A).
fn starts_keyframe(payload: &[u8]) -> bool {
    const IDR: u8 = 5;
    const SPS: u8 = 7;
    let starts = |nal: u8| matches!(nal & 0x1f, IDR | SPS);
    match payload.first().map(|first| first & 0x1f) {
        Some(24) => {
            let mut rest = &payload[1..];
            while rest.len() > 2 {
                let size = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                if starts(rest[2]) {
                    return true;
                }
                rest = rest.get(2 + size..).unwrap_or_default();
            }
            false
        }
        Some(28) => payload
            .get(1)
            .is_some_and(|header| header & 0x80 != 0 && starts(*header)),
        Some(_) => starts(payload[0]),
        None => false,
    }
}

/// What one receiver is sent of a feed's layers: the chosen one, changed at a keyframe of
/// the new one, numbered on from what went before so the receiver sees one stream.
#[derive(Default)]
struct LayerSwitch {
    current: Option<Layer>,
    sequence_offset: u16,
    timestamp_offset: u32,
    last_sent: Option<(u16, u32)>,
}

/// About one picture's time at 90 kHz: the gap left between the old layer's last picture
/// and the new one's first.
const PICTURE_TICKS: u32 = 3000;

impl LayerSwitch {
    /// The packet as the receiver gets it, or `None` when it is not passed on. `target` is
    /// the layer wanted now; with `at_keyframes`, a change waits for a keyframe of it.
    fn pass(
        &mut self,
        target: Option<Layer>,
        at_keyframes: bool,
        layer: Layer,
        mut packet: rtp::Packet,
    ) -> Option<rtp::Packet> {
        let Some(target) = target else {
            self.current = None;
            return None;
        };
        if self.current != Some(layer) {
            let may_start = !at_keyframes || starts_keyframe(&packet.payload);
            if layer != target || !may_start {
                return None;
            }
            self.current = Some(layer);
            let header = &packet.header;
            (self.sequence_offset, self.timestamp_offset) = match self.last_sent {
                // Another layer: its clock follows the last picture's.
                Some((sequence, timestamp)) if at_keyframes => (
                    sequence.wrapping_add(1).wrapping_sub(header.sequence_number),
                    timestamp.wrapping_add(PICTURE_TICKS).wrapping_sub(header.timestamp),
                ),
                // The same stream again after a pause, as after silence left out: the
                // numbers follow on, the clock tells the time that passed.
                Some((sequence, _)) => (
                    sequence.wrapping_add(1).wrapping_sub(header.sequence_number),
                    self.timestamp_offset,
                ),
                None => (0, 0),
            };
        }
        let header = &mut packet.header;
        header.sequence_number = header.sequence_number.wrapping_add(self.sequence_offset);
        header.timestamp = header.timestamp.wrapping_add(self.timestamp_offset);
        self.last_sent = Some((header.sequence_number, header.timestamp));
        Some(packet)
    }

    /// Whether the receiver waits for a layer it has not got yet.
    fn waiting(&self, target: Option<Layer>) -> bool {
        target.is_some() && target != self.current
    }
}

/// One receiver's share of a feed: packets of the layers it may get, the choice among them,
/// and the switch that makes them one stream.
pub struct Subscription {
    packets: mpsc::Receiver<Tagged>,
    sources: Vec<Arc<Fanout>>,
    choice: LayerChoice,
    at_keyframes: bool,
    switch: LayerSwitch,
}

impl Subscription {
    /// `receiver` takes `sources` (the layers of one feed), getting the one `choice` names;
    /// `at_keyframes` for video, where a change of layer must wait for a keyframe.
    pub fn new(receiver: PeerId, sources: Vec<Arc<Fanout>>, choice: LayerChoice, at_keyframes: bool) -> Self {
        let (queue, packets) = mpsc::channel(RECEIVER_QUEUE);
        for source in &sources {
            source.attach(receiver, queue.clone());
        }
        Self {
            packets,
            sources,
            choice,
            at_keyframes,
            switch: LayerSwitch::default(),
        }
    }

    /// The next packet for the receiver; `None` once the feed's sender is gone.
    pub async fn next(&mut self) -> Option<rtp::Packet> {
        loop {
            let (layer, packet) = self.packets.recv().await?;
            let target = self.choice.get();
            if let Some(packet) = self.switch.pass(target, self.at_keyframes, layer, packet) {
                return Some(packet);
            }
            if self.at_keyframes && self.switch.waiting(target) {
                self.request_keyframe_of(target).await;
            }
        }
    }

    /// Asks the sender for a keyframe of the layer the receiver gets (or is waiting for).
    pub async fn request_keyframe(&self) {
        let target = self.choice.get();
        let layer = if self.switch.waiting(target) {
            target
        } else {
            self.switch.current
        };
        self.request_keyframe_of(layer).await;
    }

    async fn request_keyframe_of(&self, layer: Option<Layer>) {
        if let Some(source) = layer.and_then(|layer| self.sources.iter().find(|source| source.layer == layer)) {
            source.request_keyframe().await;
        }
    }
}

/// Starts sending `subscription`'s packets to its receiver on `track`; returns the task
/// that writes them, which ends when the receiver is detached or its connection closes.
pub(crate) fn write_forwarded(mut subscription: Subscription, track: ForwardTrack) -> tokio::task::JoinHandle<()> {
    let track = track.0;
    tokio::spawn(async move {
        let mut feedback_open = true;
        loop {
            tokio::select! {
                packet = subscription.next() => match packet {
                    Some(packet) => {
                        if let Err(error) = track.forward(packet).await {
                            tracing::trace!(%error, "forwarded packet not sent");
                        }
                    }
                    None => break,
                },
                event = track.track.poll(), if feedback_open => match event {
                    // Only keyframe requests reach a sent track (see `keyframe_requests`).
                    Some(TrackLocalEvent::OnRtcpPacket(_)) => subscription.request_keyframe().await,
                    Some(_) => {}
                    None => feedback_open = false,
                },
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(sequence_number: u16, timestamp: u32, payload: &'static [u8]) -> rtp::Packet {
        rtp::Packet {
            header: rtp::header::Header {
                sequence_number,
                timestamp,
                ..Default::default()
            },
            payload: bytes::Bytes::from_static(payload),
        }
    }

    const IDR: &[u8] = &[0x65, 1, 2];
    const SPS_IN_STAP_A: &[u8] = &[0x78, 0, 2, 0x67, 1, 0, 2, 0x68, 1];
    const IDR_FIRST_FRAGMENT: &[u8] = &[0x7c, 0x85, 1];
    const IDR_LATER_FRAGMENT: &[u8] = &[0x7c, 0x05, 1];
    const P_SLICE: &[u8] = &[0x41, 1, 2];

    #[test]
    fn keyframes_are_found_alone_aggregated_and_in_first_fragments() {
        assert!(starts_keyframe(IDR));
        assert!(starts_keyframe(SPS_IN_STAP_A));
        assert!(starts_keyframe(IDR_FIRST_FRAGMENT));
        assert!(!starts_keyframe(IDR_LATER_FRAGMENT));
        assert!(!starts_keyframe(P_SLICE));
        assert!(!starts_keyframe(&[]));
        assert!(!starts_keyframe(&[0x78, 0, 200]), "a truncated aggregate");
    }

    #[test]
    fn a_layer_change_waits_for_a_keyframe_and_numbers_on() {
        let mut switch = LayerSwitch::default();
        // The quarter layer flows from its first keyframe, as it came.
        assert!(
            switch
                .pass(Some(Layer::Quarter), true, Layer::Quarter, packet(100, 9000, P_SLICE))
                .is_none()
        );
        let first = switch
            .pass(Some(Layer::Quarter), true, Layer::Quarter, packet(101, 9000, IDR))
            .unwrap();
        assert_eq!(first.header.sequence_number, 101);
        assert!(
            switch
                .pass(Some(Layer::Quarter), true, Layer::Full, packet(7, 500, IDR))
                .is_none(),
            "not chosen"
        );
        // Full is chosen: quarter goes on until full's keyframe, which follows it at once.
        assert!(
            switch
                .pass(Some(Layer::Full), true, Layer::Quarter, packet(102, 12000, P_SLICE))
                .is_some()
        );
        assert!(
            switch
                .pass(Some(Layer::Full), true, Layer::Full, packet(8, 800, P_SLICE))
                .is_none()
        );
        assert!(switch.waiting(Some(Layer::Full)));
        let switched = switch
            .pass(Some(Layer::Full), true, Layer::Full, packet(9, 900, IDR))
            .unwrap();
        assert_eq!(switched.header.sequence_number, 103);
        assert_eq!(switched.header.timestamp, 12000 + PICTURE_TICKS);
        let next = switch
            .pass(Some(Layer::Full), true, Layer::Full, packet(10, 3900, P_SLICE))
            .unwrap();
        assert_eq!((next.header.sequence_number, next.header.timestamp), (104, 18000));
        assert!(
            switch
                .pass(Some(Layer::Full), true, Layer::Quarter, packet(103, 15000, IDR))
                .is_none()
        );
        // Not drawn: nothing; drawn again, numbering goes on from the last packet sent.
        assert!(switch.pass(None, true, Layer::Full, packet(11, 7000, IDR)).is_none());
        let again = switch
            .pass(Some(Layer::Full), true, Layer::Full, packet(12, 10000, IDR))
            .unwrap();
        assert_eq!(again.header.sequence_number, 105);
    }

    #[test]
    fn sound_and_screens_pass_at_once() {
        let mut switch = LayerSwitch::default();
        let passed = switch
            .pass(Some(Layer::Full), false, Layer::Full, packet(5, 5, P_SLICE))
            .unwrap();
        assert_eq!(passed.header.sequence_number, 5);
    }

    #[test]
    fn sound_paused_and_passed_again_numbers_on_and_keeps_its_clock() {
        let mut switch = LayerSwitch::default();
        let pass = |switch: &mut LayerSwitch, on: bool, sequence: u16, timestamp: u32| {
            switch
                .pass(
                    on.then_some(Layer::Full),
                    false,
                    Layer::Full,
                    packet(sequence, timestamp, b"x"),
                )
                .map(|packet| (packet.header.sequence_number, packet.header.timestamp))
        };
        assert_eq!(pass(&mut switch, true, 100, 48_000), Some((100, 48_000)));
        assert_eq!(pass(&mut switch, false, 101, 48_960), None, "not passed on");
        assert_eq!(pass(&mut switch, false, 150, 96_000), None);
        assert_eq!(
            pass(&mut switch, true, 151, 96_960),
            Some((101, 96_960)),
            "no gap in the numbers (nothing to conceal or ask again), the time that passed kept"
        );
        assert_eq!(pass(&mut switch, true, 152, 97_920), Some((102, 97_920)));
    }

    #[test]
    fn a_rate_is_measured_over_whole_seconds_and_falls_to_nothing_when_quiet() {
        let start = Instant::now();
        let mut rate = Rate::new(start);
        for tick in 0..100 {
            rate.add(start + Duration::from_millis(tick * 10), 1_000);
        }
        assert_eq!(rate.bps(start + Duration::from_millis(990)), 0, "no whole window yet");
        rate.add(start + Duration::from_secs(1), 1_000);
        assert_eq!(rate.bps(start + Duration::from_secs(1)), 800_000);
        assert_eq!(rate.bps(start + Duration::from_millis(2_900)), 800_000);
        assert_eq!(rate.bps(start + Duration::from_secs(3)), 0, "quiet for two seconds");
        rate.add(start + Duration::from_secs(5), 1_000);
        assert_eq!(rate.bps(start + Duration::from_secs(5)), 0, "a window after a silence");
    }

    #[test]
    fn a_layer_choice_holds_a_layer_or_none() {
        let choice = LayerChoice::default();
        assert_eq!(choice.get(), Some(Layer::Full));
        choice.set(Some(Layer::Quarter));
        assert_eq!(choice.clone().get(), Some(Layer::Quarter));
        choice.set(None);
        assert_eq!(choice.get(), None);
    }
}

//! Forwarding at the host: what one participant sends reaches the others as the RTP packets
//! it arrived in, never decoded or encoded again.
//!
//! Each feed a guest sends (sound, camera, screen) has a [`Fanout`]. The task that reads the
//! feed hands every packet to it, and it hands a copy to each receiver's queue. Each
//! receiver has a track of its own on its own connection, written by a task of its own
//! ([`write_forwarded`]), so a slow receiver loses packets from its own queue and never holds
//! up the sender or the others. A receiver's keyframe request goes upstream to the sender,
//! merged with the others' requests.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::TrackRemote;

use crate::peer::ForwardTrack;
use crate::protocol::PeerId;

/// Packets a receiver's queue holds: about a second of a 720p camera. Beyond it the
/// receiver falls behind and packets are dropped (it asks again, or for a keyframe).
const RECEIVER_QUEUE: usize = 256;

/// Keyframe requests from several receivers within this time cost the sender one keyframe.
const KEYFRAME_REQUEST_MERGE: Duration = Duration::from_millis(250);

/// One feed of one sender, and the receivers it goes to.
#[derive(Default)]
pub struct Fanout {
    receivers: Mutex<Vec<(PeerId, mpsc::Sender<rtp::Packet>)>>,
    /// The sender's track, to ask it for keyframes; set once its first packet arrives.
    upstream: Mutex<Option<Arc<dyn TrackRemote>>>,
    upstream_ssrc: AtomicU32,
    last_keyframe_request: Mutex<Option<Instant>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Fanout {
    /// The sender's track arrived: packets read from it are forwarded with [`Self::forward`].
    pub fn set_upstream(&self, track: Arc<dyn TrackRemote>) {
        *lock(&self.upstream) = Some(track);
    }

    /// Hands a copy of `packet` to every receiver's queue; a full queue loses it.
    pub fn forward(&self, packet: &rtp::Packet) {
        self.upstream_ssrc.store(packet.header.ssrc, Ordering::Relaxed);
        for (receiver, queue) in lock(&self.receivers).iter() {
            if let Err(mpsc::error::TrySendError::Full(_)) = queue.try_send(packet.clone()) {
                tracing::trace!(receiver, "forwarding queue full: a packet dropped");
            }
        }
    }

    /// `receiver` gets this feed from now on through `queue`.
    fn attach(&self, receiver: PeerId, queue: mpsc::Sender<rtp::Packet>) {
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

    /// How many receivers the feed goes to.
    pub fn receiver_count(&self) -> usize {
        lock(&self.receivers).len()
    }

    /// Asks the sender for a keyframe, unless a request went out a moment ago.
    async fn request_keyframe(&self) {
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

/// Starts sending `fanout`'s feed to `receiver` on `track`; returns the task that writes it,
/// which ends when the receiver is detached or its connection closes.
pub(crate) fn write_forwarded(
    receiver: PeerId,
    fanout: &Arc<Fanout>,
    track: ForwardTrack,
) -> tokio::task::JoinHandle<()> {
    let track = track.0;
    let (queue, mut packets) = mpsc::channel(RECEIVER_QUEUE);
    fanout.attach(receiver, queue);
    let fanout = Arc::clone(fanout);
    tokio::spawn(async move {
        let mut feedback_open = true;
        loop {
            tokio::select! {
                packet = packets.recv() => match packet {
                    Some(packet) => {
                        if let Err(error) = track.forward(packet).await {
                            tracing::trace!(receiver, %error, "forwarded packet not sent");
                        }
                    }
                    None => break,
                },
                event = track.track.poll(), if feedback_open => match event {
                    // Only keyframe requests reach a sent track (see `keyframe_requests`).
                    Some(TrackLocalEvent::OnRtcpPacket(_)) => fanout.request_keyframe().await,
                    Some(_) => {}
                    None => feedback_open = false,
                },
            }
        }
    })
}

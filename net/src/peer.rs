//! One WebRTC connection to one other participant: our codecs, LAN-tuned ICE, and three
//! tracks each way: audio, camera video and screen video. The screen track is negotiated
//! with the rest and carries nothing until its sender shares, so starting a share needs no
//! new negotiation.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::ice::network_type::NetworkType;
use rtc::interceptor::{NackGeneratorBuilder, NackResponderBuilder, Slot};
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS};
use rtc::rtp_transceiver::rtp_sender::{RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind};
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    CipherSuiteId, MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateInit, RTCIceConnectionState, RTCIceServer, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription, RTCStatsReportEntry, Registry, SettingEngineBuilder,
    SrtpProtectionProfile, StatsSelector, configure_rtcp_reports,
};
use webrtc::rtp_transceiver::{RtpSender, RtpTransceiver};
use webrtc::runtime::Runtime;

use crate::bandwidth::{self, SendEstimate, SendRange};
use crate::description;
use crate::impair::ImpairedRuntime;
use crate::keyframe_requests::{self, KeyframeRequestForwarder};
use crate::protocol::{FeedKind, ForwardedFeed, PeerId, Signal};
use crate::remote_candidates::{RemoteCandidates, Taken};
use crate::safety;
use crate::send_track::{SendTrack, TrackSpec};
use crate::sockets::RoomyRuntime;
pub use videomeet_media::video::Layer;

/// H.264 constrained baseline, packetization mode 1: what every browser decodes.
const H264_FMTP: &str = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";
const OPUS_FMTP: &str = "minptime=10;useinbandfec=1";
const H264_PAYLOAD_TYPE: u8 = 102;
/// How long a data channel waits for SCTP to come up.
const SCTP_WAIT: Duration = Duration::from_secs(10);

/// The label of the data channel each side opens at once (see [`PeerLink::new`]); one the
/// other side opens with it is let be.
pub const DATA_CHANNEL: &str = "videomeet";
const OPUS_PAYLOAD_TYPE: u8 = 111;

/// The DTLS cipher suites offered, best first: AEAD only (no CBC with MAC-then-encrypt) and
/// ECDSA only, since our certificates are ECDSA (an RSA suite chosen by the other side could
/// not be satisfied). Every browser offers both. DTLS itself carries only the handshake here
/// (media keys are exported to SRTP), so the random 64-bit explicit nonces of webrtc's
/// AES-GCM records stay far from the 2^32 records where they could repeat.
const DTLS_CIPHER_SUITES: [CipherSuiteId; 2] = [
    CipherSuiteId::Tls_Ecdhe_Ecdsa_With_Aes_128_Gcm_Sha256,
    CipherSuiteId::Tls_Ecdhe_Ecdsa_With_ChaCha20_Poly1305_Sha256,
];

/// SRTP protection for the media, best first: AES-GCM (authenticated encryption), then
/// AES-CM with an 80-bit HMAC tag for peers without GCM; never the 32-bit tag.
const SRTP_PROFILES: [SrtpProtectionProfile; 3] = [
    SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm,
    SrtpProtectionProfile::Srtp_Aead_Aes_256_Gcm,
    SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
];

/// A WebRTC operation failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("media connection: {0}")]
pub struct PeerError(String);

pub(crate) fn peer_error(error: impl std::fmt::Display) -> PeerError {
    PeerError(error.to_string())
}

/// Network settings for peer connections.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    /// Where to bind ICE sockets: `0.0.0.0:0` is one socket per LAN interface.
    pub ice_addrs: Vec<SocketAddr>,
    /// `stun:` / `turn:` URLs for networks beyond the LAN; empty on a LAN (host candidates only).
    pub ice_servers: Vec<String>,
    /// A simulated bad network for what we send (tests, benchmarks, `--impair`); `None`
    /// normally.
    pub impairment: Option<Arc<ImpairedRuntime>>,
    /// Where congestion control's estimate starts and the most it grows to.
    pub send: SendRange,
    /// Send the camera in layers too (to a forwarding host): two more video tracks, after
    /// the audio, for its half and quarter sizes.
    pub camera_layers: bool,
}

impl Default for PeerConfig {
    fn default() -> Self {
        Self {
            ice_addrs: vec![SocketAddr::from(([0, 0, 0, 0], 0))],
            ice_servers: Vec::new(),
            impairment: None,
            send: SendRange::default(),
            camera_layers: false,
        }
    }
}

/// Cumulative transport counters of one connection, and its current network figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LinkCounters {
    /// Round-trip time of the selected ICE pair, when measured.
    pub rtt_ms: Option<f64>,
    /// Payload bytes sent on all tracks.
    pub bytes_sent: u64,
    /// Payload bytes received on all tracks.
    pub bytes_received: u64,
    /// RTP packets received.
    pub packets_received: u64,
    /// RTP packets lost (from our receiver reports).
    pub packets_lost: u64,
    /// Largest interarrival jitter of the incoming streams.
    pub jitter_ms: f64,
    /// Everything heard on the path in use (media, and answers to and requests for ICE's
    /// checks every half second): while the path works this changes at least that often.
    pub heard: u64,
}

/// Which of a participant's two videos.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoFeed {
    /// The camera (or test pattern).
    Camera,
    /// The shared screen.
    Screen,
}

impl VideoFeed {
    /// What our track ids for the feed start with: readable in logs, meaningless to the
    /// receiver, which goes by the m-line.
    fn track_id(self) -> &'static str {
        match self {
            Self::Camera => "video",
            Self::Screen => "screen",
        }
    }

    /// The feed the video m-line `mid` of `sdp` carries, and its layer: the first video
    /// m-line is the camera, the second the screen, in both directions; a guest of a
    /// forwarding host sends its camera's half and quarter sizes on a third and fourth.
    /// Track ids carry no meaning: a browser cannot choose them.
    fn of_mline(sdp: &str, mid: &str) -> (Self, Layer) {
        let mut videos_seen = 0;
        let mut in_video = false;
        for line in sdp.lines() {
            if let Some(media) = line.strip_prefix("m=") {
                in_video = media.starts_with("video ");
                videos_seen += usize::from(in_video);
            } else if in_video && line.strip_prefix("a=mid:").is_some_and(|found| found.trim() == mid) {
                return match videos_seen {
                    1 => (Self::Camera, Layer::Full),
                    3 => (Self::Camera, Layer::Half),
                    4 => (Self::Camera, Layer::Quarter),
                    _ => (Self::Screen, Layer::Full),
                };
            }
        }
        (Self::Camera, Layer::Full)
    }
}

/// What a peer connection reports.
pub enum PeerEvent {
    /// A local ICE candidate for the other side.
    Candidate(Signal),
    /// ICE found a working path between us (before DTLS secures it).
    IceConnected,
    /// The connection's state changed.
    State(RTCPeerConnectionState),
    /// The other side's audio or video track arrived.
    Track(Arc<dyn TrackRemote>),
    /// The other side asked for a keyframe of one of our videos (it lost some or has just
    /// started), of that layer of it.
    KeyframeRequested(VideoFeed, Layer),
    /// The other side opened a data channel (to ask for a file: see [`crate::files`]).
    Channel(Arc<dyn DataChannel>),
}

fn h264() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.into(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: H264_FMTP.into(),
        rtcp_feedback: vec![RTCPFeedback {
            typ: "ccm".into(),
            parameter: "fir".into(),
        }],
    }
}

fn codec_of(kind: RtpCodecKind) -> RTCRtpCodec {
    match kind {
        RtpCodecKind::Audio => opus(),
        _ => h264(),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A track on which a forwarding host sends another participant's feed (see
/// [`crate::forward`]).
pub struct ForwardTrack(pub(crate) Arc<SendTrack<TrackLocalStaticRTP>>);

fn opus() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.into(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: OPUS_FMTP.into(),
        rtcp_feedback: Vec::new(),
    }
}

/// How often missing video packets are asked for again. webrtc's default (100 ms) allows one
/// request before the receiver gives a frame up ([`crate::receive`] waits 150 ms); a LAN
/// answers in a millisecond, so asking every 20 ms repairs a packet even when a request or
/// its answer is lost too. At 10 % loss both ways the default froze the video outright.
const NACK_INTERVAL: Duration = Duration::from_millis(20);

/// How many times one missing packet is asked for. Unlimited, a slow path (a 500 kbps
/// bottleneck with 200 ms of queue) turned every lost packet into ten requests and ten
/// copies before the first copy could arrive, and the copies, queued behind the same
/// bottleneck, pushed the sender's own traffic past 40 Mbps. Twice was too few: at 5 % loss
/// each lost packet stayed lost with odds of 1 in 400, and a picture forwarded for 4 s froze
/// for a third of a second (waiting for a keyframe) in 2 of 30 runs of the forwarding test;
/// with three tries in 60 ms (odds of 1 in 8000), in none of 30.
const NACKS_PER_PACKET: u16 = 3;

/// Retransmission of lost video packets (NACK), as `configure_nack` sets it up but with our
/// [`NACK_INTERVAL`] and [`NACKS_PER_PACKET`]. Call after registering the codecs: feedback applies to codecs present.
fn configure_retransmission(registry: Registry, media: &mut MediaEngine) -> Registry {
    for parameter in ["", "pli"] {
        media.register_feedback(
            RTCPFeedback {
                typ: "nack".into(),
                parameter: parameter.into(),
            },
            RtpCodecKind::Video,
        );
    }
    registry
        .with(Slot::NackResponder, NackResponderBuilder::new().build())
        .with(
            Slot::NackGenerator,
            NackGeneratorBuilder::new()
                .with_interval(NACK_INTERVAL)
                .with_max_nacks_per_packet(NACKS_PER_PACKET)
                .build(),
        )
}

/// SCTP's receive window: the most data channel bytes in flight towards us, 256 KiB instead
/// of webrtc's 1 MiB. A file arrives as fast as the window lets it; when more is in flight
/// than the UDP socket's kernel buffer holds (208 KiB on a stock Linux), a receiver busy for
/// a few milliseconds loses datagrams, SCTP halves its pace at each loss, and the call's
/// own packets in the same socket are lost with them. 500 MiB beside a 720p call moved at
/// 48-53 MB/s with 1 MiB and 4 MiB windows on stock socket limits, with a freeze and
/// concealed sound in the call; with 256 KiB at 75-93 MB/s, with nothing lost. A LAN's
/// round trip (under a millisecond) still lets 256 KiB carry more than a gigabit.
const SCTP_RECEIVE_WINDOW: u32 = 256 * 1024;

/// The three tracks that carry one other participant's feeds on a forwarding host's
/// connection to a guest.
struct ForwardedTracks {
    from: PeerId,
    tracks: Vec<(FeedKind, Arc<SendTrack<TrackLocalStaticRTP>>)>,
}

/// A WebRTC connection to one other participant.
pub struct PeerLink {
    pc: Arc<dyn PeerConnection>,
    video: SendTrack<TrackLocalStaticSample>,
    screen: SendTrack<TrackLocalStaticSample>,
    audio: SendTrack<TrackLocalStaticSample>,
    /// True once our own data channel is open, which says SCTP is up (see
    /// [`PeerLink::open_channel`]).
    sctp_up: tokio::sync::watch::Receiver<bool>,
    /// To a forwarding host: our camera's half and quarter sizes.
    layers: Option<[SendTrack<TrackLocalStaticSample>; 2]>,
    /// On a forwarding host's connection: the other participants' feeds we send.
    forwarded: tokio::sync::Mutex<Vec<ForwardedTracks>>,
    /// The other side's first offer had its camera in layers.
    remote_layers: std::sync::atomic::AtomicBool,
    /// From a forwarding host: which of its m-lines carry whose feeds (its latest offer).
    remote_feeds: Mutex<Vec<ForwardedFeed>>,
    /// Candidates that arrived before the remote description; applied with it. Bounded.
    early_candidates: Mutex<RemoteCandidates>,
    /// What the path to the other side carries, as congestion control estimates it.
    estimate: SendEstimate,
}

struct Handler {
    events: mpsc::Sender<PeerEvent>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            // webrtc-rs names no m-line (an empty mid), but a mid must name one. Everything
            // is bundled on the first m-line's transport, so the candidate is for that one.
            let sdp_mid = init.sdp_mid.filter(|mid| !mid.is_empty());
            let sdp_mline_index = init.sdp_mline_index.or(sdp_mid.is_none().then_some(0));
            let signal = Signal::Candidate {
                candidate: init.candidate,
                sdp_mid,
                sdp_mline_index,
            };
            // Runs on the connection's own task: never wait here.
            let _ = self.events.try_send(PeerEvent::Candidate(signal));
        }
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        if state == RTCIceConnectionState::Connected {
            let _ = self.events.try_send(PeerEvent::IceConnected);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.events.try_send(PeerEvent::State(state));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.events.try_send(PeerEvent::Track(track));
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let _ = self.events.try_send(PeerEvent::Channel(channel));
    }
}

impl PeerLink {
    /// A new connection with our tracks added; `events` receives what it reports.
    pub async fn new(config: &PeerConfig, events: mpsc::Sender<PeerEvent>) -> Result<Self, PeerError> {
        let mut media = MediaEngine::default();
        media
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: h264(),
                    payload_type: H264_PAYLOAD_TYPE,
                },
                RtpCodecKind::Video,
            )
            .map_err(peer_error)?;
        media
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: opus(),
                    payload_type: OPUS_PAYLOAD_TYPE,
                },
                RtpCodecKind::Audio,
            )
            .map_err(peer_error)?;
        // After the codecs: feedback settings apply to codecs already registered.
        let registry = configure_rtcp_reports(configure_retransmission(Registry::new(), &mut media))
            .with(Slot::from(keyframe_requests::SLOT), KeyframeRequestForwarder::default());
        let (registry, estimate) = bandwidth::configure(registry, &mut media, config.send).map_err(peer_error)?;
        let settings = SettingEngineBuilder::new()
            .with_dtls_cipher_suites(DTLS_CIPHER_SUITES.to_vec())
            .with_srtp_protection_profiles(SRTP_PROFILES.to_vec())
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            .with_network_types(vec![NetworkType::Udp4, NetworkType::Udp6])
            .with_sctp_max_receive_buffer_size(SCTP_RECEIVE_WINDOW)
            // A LAN answers in milliseconds: notice trouble in 2 s, give up after 6 s more.
            .with_ice_timeouts(
                Some(Duration::from_secs(2)),
                Some(Duration::from_secs(6)),
                Some(Duration::from_millis(500)),
            )
            .with_host_acceptance_min_wait(Some(Duration::ZERO))
            // The other side's checks often arrive before its candidates do (they come by
            // signaling); the address is then learned from the check as "peer-reflexive",
            // and webrtc waited a whole second before using such a pair: about two joins in
            // three took 1 s longer. On a LAN it is the other side's own address.
            .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
            // Check candidate pairs every 50 ms instead of 200 ms: on a LAN this alone took
            // join-to-first-frame from a 357 ms median to under 200 ms.
            .with_ice_connection_attempts(Some(Duration::from_millis(50)), Some(20))
            .build();
        let ice_servers = config
            .ice_servers
            .iter()
            .map(|url| RTCIceServer {
                urls: vec![url.clone()],
                ..Default::default()
            })
            .collect();
        let runtime: Arc<dyn Runtime> = match &config.impairment {
            Some(impaired) => Arc::clone(impaired) as Arc<dyn Runtime>,
            None => Arc::new(RoomyRuntime),
        };
        let pc = PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().with_ice_servers(ice_servers).build())
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .with_handler(Arc::new(Handler { events: events.clone() }))
            .with_data_channel_send_buffer_limit(crate::files::SEND_BUFFER)
            .with_udp_addrs(config.ice_addrs.clone())
            .with_runtime(runtime)
            .build()
            .await
            .map_err(peer_error)?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let own = |kind, prefix| TrackSpec {
            kind,
            codec: codec_of(kind),
            stream: "videomeet",
            prefix,
        };
        let video = SendTrack::frames(pc.as_ref(), &own(RtpCodecKind::Video, VideoFeed::Camera.track_id())).await?;
        let screen = SendTrack::frames(pc.as_ref(), &own(RtpCodecKind::Video, VideoFeed::Screen.track_id())).await?;
        let audio = SendTrack::frames(pc.as_ref(), &own(RtpCodecKind::Audio, "audio")).await?;
        // A data channel of our own puts SCTP in every offer and answer we make, so that
        // the channels files travel on can be opened later without a new negotiation.
        let data = pc.create_data_channel(DATA_CHANNEL, None).await.map_err(peer_error)?;
        let (sctp_up_tx, sctp_up) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            // Ends when the connection closes.
            while let Some(event) = data.poll().await {
                if matches!(event, DataChannelEvent::OnOpen) {
                    let _ = sctp_up_tx.send(true);
                }
            }
        });
        let layers = if config.camera_layers {
            Some([
                SendTrack::frames(pc.as_ref(), &own(RtpCodecKind::Video, "video-half")).await?,
                SendTrack::frames(pc.as_ref(), &own(RtpCodecKind::Video, "video-quarter")).await?,
            ])
        } else {
            None
        };
        let mut videos = vec![
            (VideoFeed::Camera, Layer::Full, &video.track),
            (VideoFeed::Screen, Layer::Full, &screen.track),
        ];
        if let Some([half, quarter]) = &layers {
            videos.push((VideoFeed::Camera, Layer::Half, &half.track));
            videos.push((VideoFeed::Camera, Layer::Quarter, &quarter.track));
        }
        for (feed, layer, track) in videos {
            let (track, events) = (Arc::clone(track), events.clone());
            tokio::spawn(async move {
                // Ends when the connection closes.
                while let Some(event) = track.poll().await {
                    if let TrackLocalEvent::OnRtcpPacket(_) = event {
                        let _ = events.try_send(PeerEvent::KeyframeRequested(feed, layer));
                    }
                }
            });
        }
        Ok(Self {
            pc,
            video,
            screen,
            audio,
            sctp_up,
            layers,
            forwarded: tokio::sync::Mutex::default(),
            remote_feeds: Mutex::default(),
            remote_layers: std::sync::atomic::AtomicBool::new(false),
            early_candidates: Mutex::default(),
            estimate,
        })
    }

    /// Whose feed `track` carries, which, and its layer: `None` for the other side's own,
    /// told apart by the m-line it arrived on (see [`VideoFeed::of_mline`]); a forwarding
    /// host's offer names the m-lines that carry others' feeds.
    pub async fn origin_of(&self, track: &Arc<dyn TrackRemote>) -> (Option<PeerId>, FeedKind, Layer) {
        let audio = track.kind().await == RtpCodecKind::Audio;
        let own = |feed: VideoFeed| match feed {
            _ if audio => FeedKind::Audio,
            VideoFeed::Camera => FeedKind::Camera,
            VideoFeed::Screen => FeedKind::Screen,
        };
        let Some(mid) = self.mid_of(track).await else {
            return (None, own(VideoFeed::Camera), Layer::Full);
        };
        let forwarded = lock(&self.remote_feeds)
            .iter()
            .find(|feed| feed.mid == mid)
            .map(|feed| (feed.from, feed.kind));
        if let Some((from, kind)) = forwarded {
            return (Some(from), kind, Layer::Full);
        }
        let (feed, layer) = match self.pc.remote_description().await {
            Some(remote) if !audio => VideoFeed::of_mline(&remote.sdp, &mid),
            _ => (VideoFeed::Camera, Layer::Full),
        };
        (None, own(feed), layer)
    }

    /// Whether the other side's first offer had its camera in layers (a third and fourth
    /// video m-line, see [`VideoFeed::of_mline`]); later offers of a forwarding host add
    /// m-lines of its own.
    pub fn sends_layers(&self) -> bool {
        self.remote_layers.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The mid of the m-line `track` arrives on.
    async fn mid_of(&self, track: &Arc<dyn TrackRemote>) -> Option<String> {
        for transceiver in self.pc.get_transceivers().await {
            let Ok(Some(receiver)) = transceiver.receiver().await else {
                continue;
            };
            if std::ptr::addr_eq(Arc::as_ptr(receiver.track()), Arc::as_ptr(track)) {
                return transceiver.mid().await.ok().flatten();
            }
        }
        None
    }

    /// The mid of the m-line `sender` sends on, once negotiated.
    async fn mid_of_sender(&self, sender: &Arc<dyn RtpSender>) -> Option<String> {
        self.transceiver_of(sender).await?.mid().await.ok().flatten()
    }

    /// The transceiver `sender` belongs to.
    async fn transceiver_of(&self, sender: &Arc<dyn RtpSender>) -> Option<Arc<dyn RtpTransceiver>> {
        for transceiver in self.pc.get_transceivers().await {
            if let Ok(Some(ours)) = transceiver.sender().await
                && Arc::ptr_eq(&ours, sender)
            {
                return Some(transceiver);
            }
        }
        None
    }

    /// Adds tracks for `from`'s sound, camera and screen, which a forwarding host sends on
    /// this connection; they go out with the next offer. Returns them, to be written.
    pub async fn forward_from(&self, from: PeerId) -> Result<Vec<(FeedKind, ForwardTrack)>, PeerError> {
        let stream = format!("participant-{from}");
        let mut tracks = Vec::new();
        for (kind, prefix) in [
            (FeedKind::Audio, "audio-of"),
            (FeedKind::Camera, "video-of"),
            (FeedKind::Screen, "screen-of"),
        ] {
            let media = match kind {
                FeedKind::Audio => RtpCodecKind::Audio,
                _ => RtpCodecKind::Video,
            };
            let spec = TrackSpec {
                kind: media,
                codec: codec_of(media),
                stream: &stream,
                prefix: &format!("{prefix}-{from}"),
            };
            let track = SendTrack::packets(self.pc.as_ref(), &spec).await?;
            tracks.push((kind, ForwardTrack(Arc::new(track))));
        }
        self.forwarded.lock().await.push(ForwardedTracks {
            from,
            tracks: tracks
                .iter()
                .map(|(kind, track)| (*kind, Arc::clone(&track.0)))
                .collect(),
        });
        Ok(tracks)
    }

    /// Removes the tracks that carried `from`'s feeds (it left); the next offer says so.
    pub async fn stop_forwarding(&self, from: PeerId) {
        let removed: Vec<ForwardedTracks> = {
            let mut forwarded = self.forwarded.lock().await;
            let (gone, kept) = std::mem::take(&mut *forwarded)
                .into_iter()
                .partition(|tracks| tracks.from == from);
            *forwarded = kept;
            gone
        };
        for (_, track) in removed.iter().flat_map(|tracks| &tracks.tracks) {
            if let Err(error) = self.pc.remove_track(&track.sender).await {
                tracing::debug!(%error, "a forwarded track not removed");
            }
        }
    }

    /// Whose feeds this connection forwards.
    pub async fn forwarded_sources(&self) -> Vec<PeerId> {
        self.forwarded.lock().await.iter().map(|tracks| tracks.from).collect()
    }

    /// The feeds a forwarding host's offer names: the negotiated m-lines of forwarded tracks.
    async fn forwarded_feeds(&self) -> Vec<ForwardedFeed> {
        let forwarded: Vec<(PeerId, FeedKind, Arc<dyn RtpSender>)> = self
            .forwarded
            .lock()
            .await
            .iter()
            .flat_map(|tracks| {
                tracks
                    .tracks
                    .iter()
                    .map(|(kind, track)| (tracks.from, *kind, Arc::clone(&track.sender)))
            })
            .collect();
        let mut feeds = Vec::with_capacity(forwarded.len());
        for (from, kind, sender) in forwarded {
            if let Some(mid) = self.mid_of_sender(&sender).await {
                feeds.push(ForwardedFeed { mid, from, kind });
            }
        }
        feeds
    }

    /// True while an offer of ours waits for its answer.
    pub async fn offer_outstanding(&self) -> bool {
        self.pc.pending_local_description().await.is_some()
    }

    /// True once an offer and its answer have been exchanged either way.
    pub async fn negotiated(&self) -> bool {
        self.pc.current_remote_description().await.is_some()
    }

    /// Starts negotiation: returns the offer to send.
    pub async fn create_offer(&self) -> Result<Signal, PeerError> {
        let offer = self.pc.create_offer(None).await.map_err(peer_error)?;
        self.pc.set_local_description(offer.clone()).await.map_err(peer_error)?;
        Ok(Signal::Offer {
            sdp: description::offer_to_send(&offer.sdp),
            feeds: self.forwarded_feeds().await,
        })
    }

    /// Restarts ICE (fresh credentials, candidates gathered again) after the path broke:
    /// returns the offer to send. The media keeps its tracks and encoders; nobody rejoins.
    pub async fn restart_ice(&self) -> Result<Signal, PeerError> {
        self.pc.restart_ice().await.map_err(peer_error)?;
        self.create_offer().await
    }

    /// Withdraws an offer of ours that the other side's crossed, so that theirs can be
    /// accepted (the side that gives way offers again afterwards). Returns whether there
    /// was one.
    pub async fn withdraw_offer(&self) -> Result<bool, PeerError> {
        if !self.offer_outstanding().await {
            return Ok(false);
        }
        let rollback = RTCSessionDescription::rollback(None).map_err(peer_error)?;
        self.pc.set_local_description(rollback).await.map_err(peer_error)?;
        Ok(true)
    }

    /// Applies the other side's offer: returns the answer to send. `feeds` are the m-lines
    /// that carry other participants' feeds, when the other side is a forwarding host.
    pub async fn accept_offer(&self, sdp: String, feeds: Vec<ForwardedFeed>) -> Result<Signal, PeerError> {
        let offer = RTCSessionDescription::offer(sdp).map_err(peer_error)?;
        let offered = offer.sdp.clone();
        if self.pc.current_remote_description().await.is_none() {
            let layered = offered.matches("\nm=video ").count() >= 4;
            self.remote_layers.store(layered, std::sync::atomic::Ordering::Relaxed);
        }
        self.pc.set_remote_description(offer).await.map_err(peer_error)?;
        *lock(&self.remote_feeds) = feeds;
        self.apply_early_candidates().await;
        let answer = self.pc.create_answer(None).await.map_err(peer_error)?;
        self.pc
            .set_local_description(answer.clone())
            .await
            .map_err(peer_error)?;
        self.follow_negotiation().await?;
        Ok(Signal::Answer {
            sdp: description::answer_to_send(&answer.sdp, &offered),
        })
    }

    /// Applies the other side's answer.
    pub async fn accept_answer(&self, sdp: String) -> Result<(), PeerError> {
        let answer = RTCSessionDescription::answer(sdp).map_err(peer_error)?;
        self.pc.set_remote_description(answer).await.map_err(peer_error)?;
        self.apply_early_candidates().await;
        self.follow_negotiation().await
    }

    /// Adds one of the other side's ICE candidates (kept until the description arrives);
    /// refused beyond [`crate::remote_candidates`]' bounds.
    pub async fn add_remote_candidate(
        &self,
        candidate: String,
        sdp_mid: Option<String>,
        sdp_mline_index: Option<u16>,
    ) -> Result<(), PeerError> {
        let init = RTCIceCandidateInit {
            candidate,
            sdp_mid,
            sdp_mline_index,
            ..Default::default()
        };
        let taken = self
            .early_candidates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(init);
        match taken.map_err(peer_error)? {
            Taken::Waiting => Ok(()),
            Taken::Apply(init) => self.pc.add_ice_candidate(init).await.map_err(peer_error),
        }
    }

    async fn apply_early_candidates(&self) {
        let queued = self
            .early_candidates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .described();
        for candidate in queued {
            if let Err(error) = self.pc.add_ice_candidate(candidate).await {
                tracing::debug!(%error, "ignoring a remote candidate");
            }
        }
    }

    /// Every track sends with the payload types just negotiated.
    async fn follow_negotiation(&self) -> Result<(), PeerError> {
        for track in [&self.video, &self.screen, &self.audio]
            .into_iter()
            .chain(self.layers.iter().flatten())
        {
            track.follow_negotiation().await?;
        }
        let forwarded: Vec<_> = self
            .forwarded
            .lock()
            .await
            .iter()
            .flat_map(|tracks| tracks.tracks.iter().map(|(_, track)| Arc::clone(track)))
            .collect();
        for track in forwarded {
            track.follow_negotiation().await?;
        }
        Ok(())
    }

    /// Sends one H.264 access unit (Annex B) of `feed`; `duration` is the time until the next
    /// frame. A smaller `layer` of the camera goes on its own track, when this connection
    /// has them.
    pub async fn send_video(
        &self,
        feed: VideoFeed,
        layer: Layer,
        unit: Bytes,
        duration: Duration,
    ) -> Result<(), PeerError> {
        match (feed, layer, &self.layers) {
            (VideoFeed::Screen, _, _) => self.screen.write(unit, duration).await,
            (VideoFeed::Camera, Layer::Half, Some([half, _])) => half.write(unit, duration).await,
            (VideoFeed::Camera, Layer::Quarter, Some([_, quarter])) => quarter.write(unit, duration).await,
            (VideoFeed::Camera, _, _) => self.video.write(unit, duration).await,
        }
    }

    /// Whether this connection carries our camera in layers.
    pub fn has_layers(&self) -> bool {
        self.layers.is_some()
    }

    /// Sends one 20 ms Opus packet.
    pub async fn send_audio(&self, packet: Bytes) -> Result<(), PeerError> {
        self.audio.write(packet, Duration::from_millis(20)).await
    }

    /// Opens a data channel labelled `label` (reliable and ordered), once SCTP is up: a
    /// channel made between the connection's DTLS handshake and SCTP's association was
    /// never announced to the other side (seen with webrtc 0.21.1).
    pub async fn open_channel(&self, label: &str) -> Result<Arc<dyn DataChannel>, PeerError> {
        let mut sctp_up = self.sctp_up.clone();
        tokio::time::timeout(SCTP_WAIT, sctp_up.wait_for(|up| *up))
            .await
            .map_err(|_| peer_error("the data connection did not come up"))?
            .map_err(|_| peer_error("the connection closed"))?;
        self.pc.create_data_channel(label, None).await.map_err(peer_error)
    }

    /// The DTLS cipher suite and SRTP protection profile protecting this connection, once
    /// its handshake is done: ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "SRTP_AEAD_AES_128_GCM").
    pub async fn ciphers(&self) -> Option<(String, String)> {
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let transport = report.transport()?;
        (!transport.dtls_cipher.is_empty()).then(|| (transport.dtls_cipher.clone(), transport.srtp_cipher.clone()))
    }

    /// The safety code of this connection, once both descriptions are applied (see
    /// [`crate::safety`]).
    pub async fn safety_code(&self) -> Option<String> {
        let local = self.pc.local_description().await?;
        let remote = self.pc.remote_description().await?;
        let (ours, theirs) = (safety::fingerprint(&local.sdp)?, safety::fingerprint(&remote.sdp)?);
        Some(safety::safety_code(&ours, &theirs))
    }

    /// What the path to the other side carries, in bits per second (congestion control's
    /// estimate; see [`crate::bandwidth`]).
    pub fn send_estimate_bps(&self) -> u64 {
        self.estimate.bps()
    }

    /// Transport counters and network figures right now: the connection's own, and apart
    /// from them the streams a forwarding host relays from others, by whose they are (their
    /// round trip is the connection's).
    pub async fn counters(&self) -> (LinkCounters, HashMap<PeerId, LinkCounters>) {
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let pair = report
            .transport()
            .and_then(|transport| report.get(&transport.selected_candidate_pair_id))
            .and_then(|entry| match entry {
                RTCStatsReportEntry::IceCandidatePair(pair) => Some(pair),
                _ => None,
            });
        let mut own = LinkCounters {
            rtt_ms: pair
                .map(|pair| pair.current_round_trip_time * 1000.0)
                .filter(|rtt| *rtt > 0.0),
            heard: pair.map_or(0, |pair| {
                pair.packets_received + pair.responses_received + pair.requests_received
            }),
            ..LinkCounters::default()
        };
        let origins: HashMap<String, PeerId> = lock(&self.remote_feeds)
            .iter()
            .map(|feed| (feed.mid.clone(), feed.from))
            .collect();
        let mut relayed: HashMap<PeerId, LinkCounters> = HashMap::new();
        for stream in report.inbound_rtp_streams() {
            let counters = match origins.get(&stream.mid) {
                Some(from) => relayed.entry(*from).or_insert(LinkCounters {
                    rtt_ms: own.rtt_ms,
                    ..LinkCounters::default()
                }),
                None => &mut own,
            };
            let received = &stream.received_rtp_stream_stats;
            counters.bytes_received += stream.bytes_received;
            counters.packets_received += received.packets_received;
            counters.packets_lost += received.packets_lost.max(0) as u64;
            let clock_rate = if received.rtp_stream_stats.kind == RtpCodecKind::Video {
                90_000.0
            } else {
                48_000.0
            };
            counters.jitter_ms = counters.jitter_ms.max(received.jitter / clock_rate * 1000.0);
        }
        for stream in report.outbound_rtp_streams() {
            own.bytes_sent += stream.sent_rtp_stream_stats.bytes_sent;
        }
        (own, relayed)
    }

    /// Closes the connection and its tasks.
    pub async fn close(&self) {
        if let Err(error) = self.pc.close().await {
            tracing::debug!(%error, "closing a peer connection");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Layer, VideoFeed};

    #[test]
    fn the_first_video_mline_is_the_camera_and_the_second_the_screen() {
        // Audio first, mids that are not numbers: order decides, not names.
        let sdp = "v=0\r\nm=audio 9 X 97\r\na=mid:sound\r\nm=video 9 X 96\r\na=mid:b\r\n\
            m=video 9 X 96\r\na=mid:a\r\n";
        assert_eq!(VideoFeed::of_mline(sdp, "b"), (VideoFeed::Camera, Layer::Full));
        assert_eq!(VideoFeed::of_mline(sdp, "a"), (VideoFeed::Screen, Layer::Full));
        assert_eq!(
            VideoFeed::of_mline(sdp, "sound"),
            (VideoFeed::Camera, Layer::Full),
            "not a video: the default"
        );
        let layered = format!("{sdp}m=video 9 X 96\r\na=mid:h\r\nm=video 9 X 96\r\na=mid:q\r\n");
        assert_eq!(VideoFeed::of_mline(&layered, "h"), (VideoFeed::Camera, Layer::Half));
        assert_eq!(VideoFeed::of_mline(&layered, "q"), (VideoFeed::Camera, Layer::Quarter));
    }
}

//! One outgoing track of a connection: its SSRC, its sender, and the payload type that
//! connection negotiated. Our own media is written as encoded frames
//! ([`TrackLocalStaticSample`]); media the host forwards is written as the RTP packets it
//! arrived in ([`TrackLocalStaticRTP`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::peer_connection::PeerConnection;
use webrtc::rtp_transceiver::RtpSender;

use crate::peer::{PeerError, peer_error};

/// No payload type negotiated yet: nothing is sent.
const NOT_NEGOTIATED: u16 = u16::MAX;

/// One outgoing track and what is needed to write to it.
pub(crate) struct SendTrack<T> {
    pub(crate) track: Arc<T>,
    pub(crate) sender: Arc<dyn RtpSender>,
    ssrc: u32,
    /// The payload type negotiated for this connection ([`NOT_NEGOTIATED`] before): the
    /// other side's numbering when it offered, which need not be ours.
    payload_type: AtomicU16,
}

/// What a new track is: its kind, codec, the stream it belongs to and how its id starts.
pub(crate) struct TrackSpec<'a> {
    pub(crate) kind: RtpCodecKind,
    pub(crate) codec: RTCRtpCodec,
    /// The `a=msid` stream id: readable in logs and by a page, never relied on.
    pub(crate) stream: &'a str,
    pub(crate) prefix: &'a str,
}

impl TrackSpec<'_> {
    /// The track's description, with a fresh SSRC.
    fn describe(&self) -> (MediaStreamTrack, u32) {
        let ssrc = u32::from_le_bytes(crate::secret::random_bytes());
        // The id is made unique: webrtc hands feedback about a sent track (keyframe requests)
        // to the track with that id, and looks among the received tracks first, so a sent
        // "video" beside a received "video" never heard a keyframe request.
        let id = format!("{}-{ssrc:08x}", self.prefix);
        let track = MediaStreamTrack::new(
            self.stream.to_owned(),
            id.clone(),
            id,
            self.kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: self.codec.clone(),
                ..Default::default()
            }],
        );
        (track, ssrc)
    }
}

impl<T: TrackLocal + 'static> SendTrack<T> {
    async fn add(pc: &dyn PeerConnection, track: Arc<T>, ssrc: u32) -> Result<Self, PeerError> {
        let sender = pc
            .add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
            .await
            .map_err(peer_error)?;
        Ok(Self {
            track,
            sender,
            ssrc,
            payload_type: AtomicU16::new(NOT_NEGOTIATED),
        })
    }

    /// Takes the payload type from the codecs both sides agreed on; call after each remote
    /// description. Before one, the sender's codecs are our own numbering, which a peer that
    /// numbers its codecs otherwise refuses, so nothing is sent until then.
    pub(crate) async fn follow_negotiation(&self) -> Result<(), PeerError> {
        let parameters = self.sender.get_parameters().await.map_err(peer_error)?;
        let payload_type = parameters
            .rtp_parameters
            .codecs
            .first()
            .map_or(NOT_NEGOTIATED, |codec| u16::from(codec.payload_type));
        self.payload_type.store(payload_type, Ordering::Relaxed);
        Ok(())
    }

    fn payload_type(&self) -> Option<u8> {
        u8::try_from(self.payload_type.load(Ordering::Relaxed)).ok()
    }
}

impl SendTrack<TrackLocalStaticSample> {
    /// A track for our own encoded media, added to `pc`.
    pub(crate) async fn frames(pc: &dyn PeerConnection, spec: &TrackSpec<'_>) -> Result<Self, PeerError> {
        let (track, ssrc) = spec.describe();
        let track = Arc::new(TrackLocalStaticSample::new(Instant::now(), track).map_err(peer_error)?);
        Self::add(pc, track, ssrc).await
    }

    /// Writes one encoded frame; dropped silently until the connection has negotiated.
    pub(crate) async fn write(&self, data: Bytes, duration: Duration) -> Result<(), PeerError> {
        let Some(payload_type) = self.payload_type() else {
            return Ok(());
        };
        let sample = Sample {
            data,
            duration,
            ..Sample::new(Instant::now())
        };
        self.track
            .write_sample(self.ssrc, payload_type, &sample, &[])
            .await
            .map_err(peer_error)
    }
}

impl SendTrack<TrackLocalStaticRTP> {
    /// A track for media forwarded as it arrived, added to `pc` on a send-only m-line of its
    /// own: never one the other side sends on (`add_track` would take any m-line of the kind
    /// without a track of ours, such as a guest's camera layers).
    pub(crate) async fn packets(pc: &dyn PeerConnection, spec: &TrackSpec<'_>) -> Result<Self, PeerError> {
        let (track, ssrc) = spec.describe();
        let track = Arc::new(TrackLocalStaticRTP::new(track));
        let init = RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Sendonly,
            streams: Vec::new(),
            send_encodings: Vec::new(),
        };
        let transceiver = pc
            .add_transceiver_from_track(Arc::clone(&track) as Arc<dyn TrackLocal>, Some(init))
            .await
            .map_err(peer_error)?;
        let sender = transceiver
            .sender()
            .await
            .map_err(peer_error)?
            .ok_or_else(|| peer_error("a forwarding track without a sender"))?;
        Ok(Self {
            track,
            sender,
            ssrc,
            payload_type: AtomicU16::new(NOT_NEGOTIATED),
        })
    }

    /// Sends a packet another participant sent us, as this track's: our SSRC and this
    /// connection's payload type. Its header extensions were negotiated on the connection it
    /// came by, not this one, so they are dropped; this connection's own are added on the
    /// way out. Sequence numbers and timestamps stay the sender's: one sender feeds a track.
    pub(crate) async fn forward(&self, mut packet: rtp::Packet) -> Result<(), PeerError> {
        let Some(payload_type) = self.payload_type() else {
            return Ok(());
        };
        packet.header.ssrc = self.ssrc;
        packet.header.payload_type = payload_type;
        packet.header.extension = false;
        packet.header.extensions.clear();
        packet.header.extensions_padding = 0;
        self.track.write_rtp(packet).await.map_err(peer_error)
    }
}

//! A peer that is not Video Meet: plain webrtc-rs that numbers its codecs otherwise (H.264 96,
//! Opus 97), puts its audio m-line first and receives audio, camera and screen, in that
//! order. What it receives is decoded (pictures) or counted (sound packets).

use std::net::SocketAddr;
use std::sync::Arc;

use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS};
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tokio::sync::mpsc;
use videomeet_media::audio::mixer::MixerInput;
use videomeet_media::decode_thread::VideoDecoderThread;
use videomeet_media::slot::VideoSlot;
use videomeet_net::receive::{receive_audio, receive_video};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCPeerConnectionIceEvent, Registry, configure_rtcp_reports,
};

const THEIR_H264: u8 = 96;
const THEIR_OPUS: u8 = 97;

/// The other stack's events: its candidates and the tracks it receives.
pub struct Theirs {
    pub candidates: mpsc::Sender<RTCIceCandidateInit>,
    pub tracks: mpsc::Sender<Arc<dyn TrackRemote>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Theirs {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let _ = self.candidates.try_send(init);
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tracks.try_send(track);
    }
}

/// A webrtc-rs connection on loopback with H.264 at 96 and Opus at 97 that receives audio,
/// camera and screen, in that order.
pub async fn other_stack(handler: Theirs) -> Arc<dyn PeerConnection> {
    let mut media = MediaEngine::default();
    let h264 = RTCRtpCodec {
        mime_type: MIME_TYPE_H264.into(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".into(),
        rtcp_feedback: Vec::new(),
    };
    let opus = RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.into(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
        rtcp_feedback: Vec::new(),
    };
    for (rtp_codec, payload_type, kind) in [
        (h264, THEIR_H264, RtpCodecKind::Video),
        (opus, THEIR_OPUS, RtpCodecKind::Audio),
    ] {
        media
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec,
                    payload_type,
                },
                kind,
            )
            .unwrap();
    }
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_interceptor_registry(configure_rtcp_reports(Registry::new()))
        .with_handler(Arc::new(handler))
        .with_udp_addrs(vec![SocketAddr::from(([127, 0, 0, 1], 0))])
        .build()
        .await
        .unwrap();
    let pc: Arc<dyn PeerConnection> = Arc::new(pc);
    for kind in [RtpCodecKind::Audio, RtpCodecKind::Video, RtpCodecKind::Video] {
        let init = RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Recvonly,
            streams: Vec::new(),
            send_encodings: Vec::new(),
        };
        pc.add_transceiver_from_kind(kind, Some(init)).await.unwrap();
    }
    pc
}

/// Takes in a track the other stack received: video is decoded into `pictures`, each sound
/// packet goes to `sound`. Returns the track's kind.
pub async fn receive(
    track: Arc<dyn TrackRemote>,
    pictures: &Arc<VideoSlot>,
    sound: &std::sync::mpsc::SyncSender<MixerInput>,
) -> RtpCodecKind {
    let kind = track.kind().await;
    match kind {
        RtpCodecKind::Video => {
            let decoder = VideoDecoderThread::start("decode-theirs", Arc::clone(pictures), || {}).unwrap();
            tokio::spawn(receive_video(track, decoder));
        }
        _ => drop(tokio::spawn(receive_audio(track, 1, sound.clone()))),
    }
    kind
}

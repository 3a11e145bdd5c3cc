//! A peer that is not Video Meet: plain webrtc-rs that numbers its codecs otherwise (H.264 96,
//! Opus 97) and puts its audio m-line first, then the camera's and the screen's video. It
//! receives on all three m-lines; the sending kind ([`other_stack_sending`]) also sends sound
//! and a camera of its own ([`send_media`]). What it receives is decoded (pictures) or counted
//! (sound packets). It joins as a later joiner does, offering: [`Offering`] applies the answer
//! and keeps the other side's candidates until then, and answers the offers a forwarding host
//! makes on the same connection afterwards.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use serde_json::Value;
use tokio::sync::mpsc;
use videomeet_media::audio::TestTone;
use videomeet_media::audio::mixer::MixerInput;
use videomeet_media::codec::{H264Config, H264Encoder, OpusConfig, OpusEncoder};
use videomeet_media::decode_thread::VideoDecoderThread;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::{TestPattern, VideoFormat};
use videomeet_media::{AudioFrame, EncodedVideoFrame, VideoFrame};
use videomeet_net::receive::{receive_audio, receive_video};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCPeerConnectionIceEvent, RTCSessionDescription, Registry, configure_rtcp_reports,
};
use webrtc::rtp_transceiver::RtpSender;

/// The other stack's number for H.264.
pub const THEIR_H264: u8 = 96;
/// The other stack's number for Opus.
pub const THEIR_OPUS: u8 = 97;

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

fn h264() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.into(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".into(),
        rtcp_feedback: Vec::new(),
    }
}

fn opus() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.into(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
        rtcp_feedback: Vec::new(),
    }
}

/// A webrtc-rs connection on loopback with H.264 at 96 and Opus at 97, and no m-lines yet.
async fn connection(handler: Theirs) -> Arc<dyn PeerConnection> {
    let mut media = MediaEngine::default();
    for (rtp_codec, payload_type, kind) in [
        (h264(), THEIR_H264, RtpCodecKind::Video),
        (opus(), THEIR_OPUS, RtpCodecKind::Audio),
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
    Arc::new(pc)
}

async fn add_recvonly(pc: &Arc<dyn PeerConnection>, kind: RtpCodecKind) {
    let init = RTCRtpTransceiverInit {
        direction: RTCRtpTransceiverDirection::Recvonly,
        streams: Vec::new(),
        send_encodings: Vec::new(),
    };
    pc.add_transceiver_from_kind(kind, Some(init)).await.unwrap();
}

/// A webrtc-rs connection on loopback with H.264 at 96 and Opus at 97 that receives audio,
/// camera and screen, in that order.
pub async fn other_stack(handler: Theirs) -> Arc<dyn PeerConnection> {
    let pc = connection(handler).await;
    for kind in [RtpCodecKind::Audio, RtpCodecKind::Video, RtpCodecKind::Video] {
        add_recvonly(&pc, kind).await;
    }
    pc
}

/// One track the other stack sends on.
pub struct Outgoing {
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
}

impl Outgoing {
    /// A track of `kind` in `codec`, sent on an m-line of its own, in both directions.
    async fn add(pc: &Arc<dyn PeerConnection>, kind: RtpCodecKind, codec: RTCRtpCodec, id: &str) -> Self {
        let mut ssrc = [0u8; 4];
        getrandom::fill(&mut ssrc).unwrap();
        let ssrc = u32::from_le_bytes(ssrc);
        let track = MediaStreamTrack::new(
            "other-stack".into(),
            id.into(),
            id.into(),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec,
                ..Default::default()
            }],
        );
        let track = Arc::new(TrackLocalStaticSample::new(Instant::now(), track).unwrap());
        let sender = pc.add_track(Arc::clone(&track) as Arc<dyn TrackLocal>).await.unwrap();
        Self { track, sender, ssrc }
    }

    /// The payload type the connection agreed on for this track, once it has.
    pub async fn payload_type(&self) -> Option<u8> {
        let parameters = self.sender.get_parameters().await.ok()?;
        parameters.rtp_parameters.codecs.first().map(|codec| codec.payload_type)
    }

    /// Sends one encoded frame or packet, lasting `duration`, numbered `payload_type`. What
    /// the connection cannot send yet is dropped.
    async fn write(&self, payload_type: u8, data: Bytes, duration: Duration) {
        let sample = Sample {
            data,
            duration,
            ..Sample::new(Instant::now())
        };
        let _ = self.track.write_sample(self.ssrc, payload_type, &sample, &[]).await;
    }
}

/// What the sending kind of the other stack sends on one connection.
pub struct Sends {
    /// Its sound, on the audio m-line.
    pub sound: Outgoing,
    /// Its camera, on the first video m-line.
    pub camera: Outgoing,
}

/// Like [`other_stack`], and it sends too: its sound on the audio m-line and its camera on
/// the first video m-line, both sendrecv; the screen's m-line stays recvonly.
pub async fn other_stack_sending(handler: Theirs) -> (Arc<dyn PeerConnection>, Sends) {
    let pc = connection(handler).await;
    let sound = Outgoing::add(&pc, RtpCodecKind::Audio, opus(), "sound").await;
    let camera = Outgoing::add(&pc, RtpCodecKind::Video, h264(), "camera").await;
    add_recvonly(&pc, RtpCodecKind::Video).await;
    (pc, Sends { sound, camera })
}

/// How often the other stack sends a keyframe: plain webrtc-rs keeps keyframe requests to
/// itself, so a receiver that starts late or loses a picture waits at most this long.
const KEYFRAME_EVERY: u32 = 15;

/// Sends from the other stack until the task is dropped, on every connection of `to` with the
/// payload types that connection agreed on (call once the answers are applied): the test
/// pattern of `format` at its rate, each picture stamped with its number and encoded by our
/// H.264 encoder at `bitrate_bps`, and a tone of `tone_hz` in 20 ms Opus packets. The same
/// encoded picture and packet go to every connection, as a participant of a meeting sends.
pub async fn send_media(to: Vec<Sends>, format: VideoFormat, bitrate_bps: u32, tone_hz: f32) {
    let mut numbered = Vec::new();
    for sends in to {
        let sound = sends
            .sound
            .payload_type()
            .await
            .expect("the sound's codec was agreed on");
        let camera = sends
            .camera
            .payload_type()
            .await
            .expect("the camera's codec was agreed on");
        numbered.push((sends, sound, camera));
    }
    let numbered = Arc::new(numbered);
    let pictures = {
        let numbered = Arc::clone(&numbered);
        async move {
            let pattern = TestPattern::new(format);
            let mut encoder = H264Encoder::new(H264Config {
                bitrate_bps,
                max_fps: format.fps,
                ..H264Config::CAMERA_720P
            })
            .unwrap();
            let (mut frame, mut unit) = (VideoFrame::default(), EncodedVideoFrame::default());
            let interval = Duration::from_secs(1) / format.fps;
            let mut ticks = tokio::time::interval(interval);
            for counter in 0u32.. {
                ticks.tick().await;
                pattern.draw(counter, videomeet_media::clock::now_us(), &mut frame);
                if counter % KEYFRAME_EVERY == 0 {
                    encoder.keyframe_request().request();
                }
                if encoder.encode(&frame, &mut unit).unwrap() {
                    let unit = Bytes::copy_from_slice(&unit.data);
                    for (sends, _, camera) in numbered.iter() {
                        sends.camera.write(*camera, unit.clone(), interval).await;
                    }
                }
            }
        }
    };
    let sound = async move {
        let tone = TestTone::new(tone_hz);
        let mut encoder = OpusEncoder::new(OpusConfig::default()).unwrap();
        let (mut audio, mut packet) = (AudioFrame::default(), Vec::new());
        let mut ticks = tokio::time::interval(Duration::from_millis(20));
        // One sample clock, so that the tone runs on across packets.
        let start_us = videomeet_media::clock::now_us();
        for index in 0u64.. {
            ticks.tick().await;
            tone.render(start_us + index * 20_000, &mut audio);
            encoder.encode(&audio, &mut packet).unwrap();
            let packet = Bytes::copy_from_slice(&packet);
            for (sends, sound, _) in numbered.iter() {
                sends
                    .sound
                    .write(*sound, packet.clone(), Duration::from_millis(20))
                    .await;
            }
        }
    };
    tokio::join!(pictures, sound);
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
            tokio::spawn(receive_video(track, decoder, None));
        }
        _ => drop(tokio::spawn(receive_audio(track, 1, sound.clone(), None))),
    }
    kind
}

/// The other stack's side of one connection's negotiation, as the later joiner: it offers,
/// applies the answer, and keeps the candidates that come before the answer until then. Once
/// answered, it answers the other side's offers (a forwarding host's).
pub struct Offering {
    pub pc: Arc<dyn PeerConnection>,
    offer: Option<String>,
    answer: Option<String>,
    early: Vec<RTCIceCandidateInit>,
}

impl Offering {
    pub fn new(pc: Arc<dyn PeerConnection>) -> Self {
        Self {
            pc,
            offer: None,
            answer: None,
            early: Vec::new(),
        }
    }

    /// Makes the offer and applies it here; returns its SDP, to send.
    pub async fn offer(&mut self) -> String {
        let offer = self.pc.create_offer(None).await.expect("an offer");
        self.pc.set_local_description(offer.clone()).await.unwrap();
        self.offer = Some(offer.sdp.clone());
        offer.sdp
    }

    /// The offer's SDP, once made.
    pub fn offered(&self) -> Option<&str> {
        self.offer.as_deref()
    }

    /// The answer has been applied.
    pub fn answered(&self) -> bool {
        self.answer.is_some()
    }

    /// The other side's answer to our offer, once applied.
    pub fn answer(&self) -> Option<&str> {
        self.answer.as_deref()
    }

    /// Applies the other side's answer, then the candidates that came before it.
    pub async fn take_answer(&mut self, sdp: String) {
        let answer = RTCSessionDescription::answer(sdp.clone()).expect("an answer");
        self.pc
            .set_remote_description(answer)
            .await
            .expect("the answer applies");
        self.answer = Some(sdp);
        for candidate in std::mem::take(&mut self.early) {
            self.apply(candidate).await;
        }
    }

    /// Applies an offer of the other side's and returns the answer to send. `None` while our
    /// own offer waits for its answer: offers crossed, and the other side (a forwarding host)
    /// withdraws its own when ours reaches it, answers, and offers again.
    pub async fn take_offer(&mut self, sdp: String) -> Option<String> {
        if !self.answered() {
            return None;
        }
        let offer = RTCSessionDescription::offer(sdp).expect("an offer");
        self.pc
            .set_remote_description(offer)
            .await
            .expect("the other side's offer applies");
        let answer = self.pc.create_answer(None).await.expect("an answer");
        self.pc
            .set_local_description(answer.clone())
            .await
            .expect("our answer applies");
        Some(answer.sdp)
    }

    /// Applies one of the other side's candidates, or keeps it until the answer.
    pub async fn take_candidate(&mut self, candidate: RTCIceCandidateInit) {
        if self.answered() {
            self.apply(candidate).await;
        } else {
            self.early.push(candidate);
        }
    }

    async fn apply(&self, candidate: RTCIceCandidateInit) {
        self.pc
            .add_ice_candidate(candidate)
            .await
            .expect("the other side's candidate applies");
    }
}

/// The candidate that a `signal` object of kind `candidate` carries.
pub fn candidate_of(signal: &Value) -> RTCIceCandidateInit {
    RTCIceCandidateInit {
        candidate: signal["candidate"].as_str().expect("a candidate").to_owned(),
        sdp_mid: signal["sdpMid"].as_str().map(str::to_owned),
        sdp_mline_index: signal["sdpMLineIndex"].as_u64().map(|index| index as u16),
        ..Default::default()
    }
}

/// The mid of the first m-line of `kind` ("audio", "video") in `sdp`.
pub fn first_mid(sdp: &str, kind: &str) -> Option<String> {
    let section = sdp
        .split("\r\nm=")
        .find(|section| section.starts_with(&format!("{kind} ")))?;
    let mid = section.lines().find_map(|line| line.strip_prefix("a=mid:"))?;
    Some(mid.trim().to_owned())
}

/// The mid of the m-line `track` arrived on.
pub async fn mid_of(pc: &Arc<dyn PeerConnection>, track: &Arc<dyn TrackRemote>) -> Option<String> {
    for transceiver in pc.get_transceivers().await {
        if let Ok(Some(receiver)) = transceiver.receiver().await
            && std::ptr::addr_eq(Arc::as_ptr(receiver.track()), Arc::as_ptr(track))
        {
            return transceiver.mid().await.ok().flatten();
        }
    }
    None
}

//! Reading the other side's tracks: RTP in, access units and Opus packets out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::media::io::sample_builder::SampleBuilder;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp::codec::h264::H264Packet;
use tokio::sync::mpsc;
use videomeet_media::decode_thread::VideoDecoderThread;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

/// Packets a partly received frame may wait for before it is given up.
const MAX_LATE_PACKETS: u16 = 128;
/// How long a partly received frame may wait for missing packets (retransmissions).
const MAX_FRAME_DELAY: Duration = Duration::from_millis(150);
/// Keyframe requests are at most this frequent.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);

/// Depacketizes a remote H.264 track into `decoder` until the track ends. Asks the sender
/// for a keyframe when frames were lost or the decoder fell behind.
pub async fn receive_video(track: Arc<dyn TrackRemote>, decoder: VideoDecoderThread) {
    let mut builder =
        SampleBuilder::new(MAX_LATE_PACKETS, H264Packet::default(), 90_000).with_max_time_delay(MAX_FRAME_DELAY);
    let mut last_request: Option<Instant> = None;
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                let media_ssrc = packet.header.ssrc;
                let now = Instant::now();
                builder.push(now, packet);
                let mut need_keyframe = false;
                while let Some(sample) = builder.pop(now) {
                    need_keyframe |= sample.prev_dropped_packets > 0;
                    need_keyframe |= !decoder.push(sample.data.to_vec());
                }
                if need_keyframe && last_request.is_none_or(|at| at.elapsed() >= KEYFRAME_REQUEST_INTERVAL) {
                    last_request = Some(now);
                    let pli = PictureLossIndication {
                        sender_ssrc: 0,
                        media_ssrc,
                    };
                    if let Err(error) = track.write_rtcp(vec![Box::new(pli)]).await {
                        tracing::debug!(%error, "keyframe request not sent");
                    }
                }
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
}

/// One received Opus packet with its RTP sequence number (gaps mean loss).
#[derive(Clone, Debug)]
pub struct AudioPacket {
    /// RTP sequence number.
    pub sequence: u16,
    /// The Opus packet.
    pub payload: Vec<u8>,
}

/// Forwards a remote Opus track's packets to `packets` until the track ends. A full
/// queue drops packets (the jitter buffer conceals them) rather than delaying the reader.
pub async fn receive_audio(track: Arc<dyn TrackRemote>, packets: mpsc::Sender<AudioPacket>) {
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                let audio = AudioPacket {
                    sequence: packet.header.sequence_number,
                    payload: packet.payload.to_vec(),
                };
                if let Err(mpsc::error::TrySendError::Closed(_)) = packets.try_send(audio) {
                    break;
                }
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
}

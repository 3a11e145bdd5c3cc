//! Reading the other side's tracks: RTP in, access units and Opus packets out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use std::sync::mpsc::{SyncSender, TrySendError};

use videomeet_media::audio::mixer::{MixerInput, SourceId};
use videomeet_media::decode_thread::VideoDecoderThread;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use crate::assemble::{Assembled, FrameAssembler};
use crate::forward::{Fanout, Subscription};

/// How long a partly received frame may wait for missing packets (retransmissions).
const MAX_FRAME_DELAY: Duration = Duration::from_millis(150);
/// Keyframe requests are at most this frequent.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);

/// H.264 packets in, pictures out through a decoder thread, and word when a keyframe is
/// needed: frames were lost, the decoder fell behind, or it refused a frame.
struct VideoReceiver {
    assembler: FrameAssembler,
    decoder: VideoDecoderThread,
    errors_seen: u64,
    last_request: Option<Instant>,
}

impl VideoReceiver {
    fn new(decoder: VideoDecoderThread) -> Self {
        Self {
            assembler: FrameAssembler::new(MAX_FRAME_DELAY),
            decoder,
            errors_seen: 0,
            last_request: None,
        }
    }

    /// Takes one packet; true when the sender should now be asked for a keyframe (at most
    /// every [`KEYFRAME_REQUEST_INTERVAL`]).
    fn take(&mut self, packet: rtp::Packet) -> bool {
        let now = Instant::now();
        self.assembler.push(now, packet);
        let errors = self.decoder.stats().errors();
        let mut need_keyframe = errors > self.errors_seen;
        self.errors_seen = errors;
        while let Some(assembled) = self.assembler.pop(now) {
            need_keyframe |= match assembled {
                Assembled::Frame(unit) => !self.decoder.push(unit.to_vec()),
                Assembled::Lost => true,
            };
        }
        if need_keyframe
            && self
                .last_request
                .is_none_or(|at| at.elapsed() >= KEYFRAME_REQUEST_INTERVAL)
        {
            self.last_request = Some(now);
            return true;
        }
        false
    }
}

/// Depacketizes a remote H.264 track into `decoder` until the track ends, asking the
/// sender for keyframes when needed. At a forwarding host, every packet also goes to
/// `fanout` first, as it came.
pub async fn receive_video(track: Arc<dyn TrackRemote>, decoder: VideoDecoderThread, fanout: Option<Arc<Fanout>>) {
    let mut receiver = VideoReceiver::new(decoder);
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                if let Some(fanout) = &fanout {
                    fanout.forward(&packet);
                }
                let media_ssrc = packet.header.ssrc;
                if receiver.take(packet) {
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

/// At a forwarding host: hands every packet of a remote track to `fanout` until the track
/// ends, decoding nothing.
pub async fn forward_track(track: Arc<dyn TrackRemote>, fanout: Arc<Fanout>) {
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => fanout.forward(&packet),
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
}

/// At a forwarding host: decodes its own share of a forwarded camera (the layer chosen for
/// its own window) into `decoder`, until the sender is gone.
pub async fn receive_forwarded_video(mut subscription: Subscription, decoder: VideoDecoderThread) {
    let mut receiver = VideoReceiver::new(decoder);
    while let Some(packet) = subscription.next().await {
        if receiver.take(packet) {
            subscription.request_keyframe().await;
        }
    }
}

/// Forwards a remote Opus track's packets to the mixer as participant `source` until the
/// track ends. A full mixer queue drops packets (the jitter buffer conceals them) rather than
/// delaying the reader. At a forwarding host, every packet also goes to `fanout` first.
pub async fn receive_audio(
    track: Arc<dyn TrackRemote>,
    source: SourceId,
    mixer: SyncSender<MixerInput>,
    fanout: Option<Arc<Fanout>>,
) {
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                if let Some(fanout) = &fanout {
                    fanout.forward(&packet);
                }
                let input = MixerInput::Packet {
                    source,
                    sequence: packet.header.sequence_number,
                    payload: packet.payload.to_vec(),
                };
                if let Err(TrySendError::Disconnected(_)) = mixer.try_send(input) {
                    break;
                }
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
}

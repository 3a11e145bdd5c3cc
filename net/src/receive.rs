//! Reading the other side's tracks: RTP in, access units and Opus packets out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use std::sync::mpsc::{SyncSender, TrySendError};

use videomeet_media::audio::mixer::{MixerInput, SourceId};
use videomeet_media::decode_thread::VideoDecoderThread;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use crate::assemble::{Assembled, FrameAssembler};
use crate::forward::Fanout;

/// How long a partly received frame may wait for missing packets (retransmissions).
const MAX_FRAME_DELAY: Duration = Duration::from_millis(150);
/// Keyframe requests are at most this frequent.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);

/// Depacketizes a remote H.264 track into `decoder` until the track ends. Asks the sender
/// for a keyframe when frames were lost, the decoder fell behind, or it refused a frame.
/// At a forwarding host, every packet also goes to `fanout` first, as it came.
pub async fn receive_video(track: Arc<dyn TrackRemote>, decoder: VideoDecoderThread, fanout: Option<Arc<Fanout>>) {
    let mut assembler = FrameAssembler::new(MAX_FRAME_DELAY);
    let mut last_request: Option<Instant> = None;
    let stats = decoder.stats();
    let mut errors_seen = 0;
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                if let Some(fanout) = &fanout {
                    fanout.forward(&packet);
                }
                let media_ssrc = packet.header.ssrc;
                let now = Instant::now();
                assembler.push(now, packet);
                let errors = stats.errors();
                let mut need_keyframe = errors > errors_seen;
                errors_seen = errors;
                while let Some(assembled) = assembler.pop(now) {
                    need_keyframe |= match assembled {
                        Assembled::Frame(unit) => !decoder.push(unit.to_vec()),
                        Assembled::Lost => true,
                    };
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

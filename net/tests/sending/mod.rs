//! What a participant sends in a call, for tests of the media path: the stamped test pattern
//! and a test tone, as a meeting would send them.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use videomeet_media::audio::TestTone;
use videomeet_media::codec::{H264Config, H264Encoder, OpusConfig, OpusEncoder};
use videomeet_media::video::{TestPattern, VideoFormat, VideoSource};
use videomeet_media::{AudioFrame, EncodedVideoFrame, VideoFrame};
use videomeet_net::peer::{Layer, PeerLink, VideoFeed};

/// Sends `frames` pictures of the test pattern in `format` at `bitrate_bps`, each with a
/// 20 ms packet of a 440 Hz tone, paced by the pattern's clock; a keyframe every
/// `keyframe_every` pictures when given. What `link` refuses (before the connection has
/// negotiated) is dropped, as in a meeting.
pub async fn send_call(
    link: Arc<PeerLink>,
    format: VideoFormat,
    bitrate_bps: u32,
    frames: u64,
    keyframe_every: Option<u64>,
) {
    let mut pattern = TestPattern::new(format);
    let mut encoder = H264Encoder::new(H264Config {
        bitrate_bps,
        max_fps: 30,
        ..H264Config::CAMERA_720P
    })
    .unwrap();
    let mut opus = OpusEncoder::new(OpusConfig::default()).unwrap();
    let tone = TestTone::new(440.0);
    let (mut frame, mut unit, mut audio, mut packet) = (
        VideoFrame::default(),
        EncodedVideoFrame::default(),
        AudioFrame::default(),
        Vec::new(),
    );
    for index in 0..frames {
        // Encoding is fast enough to stay on the pattern's time.
        tokio::task::block_in_place(|| pattern.next_frame(&mut frame)).unwrap();
        if keyframe_every.is_some_and(|every| index % every == 0) {
            encoder.keyframe_request().request();
        }
        if encoder.encode(&frame, &mut unit).unwrap() {
            let unit = Bytes::copy_from_slice(&unit.data);
            let _ = link
                .send_video(VideoFeed::Camera, Layer::Full, unit, Duration::from_millis(33))
                .await;
        }
        // One 20 ms sound packet per picture is enough here.
        tone.render(500_000 + index * 20_000, &mut audio);
        opus.encode(&audio, &mut packet).unwrap();
        let _ = link.send_audio(Bytes::copy_from_slice(&packet)).await;
    }
}

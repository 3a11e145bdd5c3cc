//! The checks behind the fuzz targets (`net/fuzz`), one per parser of input from others.
//!
//! Each takes arbitrary bytes, feeds them to the parser and panics only when a property
//! that must hold does not: the parsers themselves must never panic. The fuzz targets call
//! these, and `net/tests/fuzz_corpus.rs` replays the committed corpus through them on every
//! test run (and checks that corpus folders, targets and checks stay in step); the fuzz
//! targets themselves are built only by `cargo fuzz`.

use std::str::FromStr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::rtp::{Header, Packet};
use videomeet_media::codec::{H264Decoder, OpusDecoder};
use videomeet_media::{AudioFrame, VideoFrame};

use crate::address::JoinTarget;
use crate::assemble::{Assembled, FrameAssembler};
use crate::impair::Impairment;
use crate::protocol::{ClientMessage, ServerMessage};
use crate::text::{clean_text, is_hidden_format};

/// A check of arbitrary input: panics only when a property that must hold does not.
pub type Check = fn(&[u8]);

/// The fuzz targets, by name, with their checks.
pub const TARGETS: [(&str, Check); 8] = [
    ("client_message", client_message),
    ("server_message", server_message),
    ("join_target", join_target),
    ("impairment", impairment),
    ("announcement_text", announcement_text),
    ("frame_assembler", frame_assembler),
    ("h264_decoder", h264_decoder),
    ("opus_decoder", opus_decoder),
];

/// What a guest sends the host: a message that reads is written back as the same message.
pub fn client_message(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(message) = serde_json::from_str::<ClientMessage>(text) {
        let again: ClientMessage = serde_json::from_str(&message.to_json()).expect("our JSON reads back");
        assert_eq!(again, message);
    }
}

/// What the host sends a guest: a message that reads is written back as the same message.
pub fn server_message(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(message) = serde_json::from_str::<ServerMessage>(text) {
        let again: ServerMessage = serde_json::from_str(&message.to_json()).expect("our JSON reads back");
        assert_eq!(again, message);
    }
}

/// Addresses and links typed or pasted by people: one that reads is written as a link that
/// reads back the same.
pub fn join_target(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(target) = JoinTarget::parse(text) {
        let again = JoinTarget::parse(&target.to_string()).expect("our link reads back");
        assert_eq!(again, target);
    }
}

/// `--impair` settings: one that reads is written as settings that read back the same way.
pub fn impairment(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(impairment) = Impairment::from_str(text) {
        let written = impairment.to_string();
        let again = Impairment::from_str(&written).expect("our settings read back");
        assert_eq!(again.to_string(), written);
    }
}

/// Titles and names from mDNS announcements: cleaned text has no control or hidden format
/// characters and keeps to its length.
pub fn announcement_text(data: &[u8]) {
    let Some((&limit, text)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(text);
    let cleaned = clean_text(&text, usize::from(limit));
    assert!(
        !cleaned.chars().any(|c| c.is_control() || is_hidden_format(c)),
        "{cleaned:?}"
    );
    assert!(cleaned.chars().count() <= usize::from(limit), "{cleaned:?}");
}

/// RTP packets of a peer's video, as the bytes say: 2 bytes of sequence number, 1 of flags
/// (bit 0 the marker, the rest the timestamp step), 1 of payload length, then the payload.
/// Frames handed out are never larger than what went in (with start codes), and the
/// assembler holds a bounded number of packets.
pub fn frame_assembler(data: &[u8]) {
    let start = Instant::now();
    let mut assembler = FrameAssembler::new(Duration::from_millis(150));
    let (mut rest, mut timestamp, mut pushed_bytes, mut step) = (data, 0u32, 0usize, 0u64);
    while let [high, low, flags, length, tail @ ..] = rest {
        let length = usize::from(*length).min(tail.len());
        let (payload, after) = tail.split_at(length);
        rest = after;
        timestamp = timestamp.wrapping_add(u32::from(flags >> 1) * 3000);
        pushed_bytes += payload.len();
        step += 1;
        let now = start + Duration::from_millis(step * 10);
        assembler.push(
            now,
            Packet {
                header: Header {
                    sequence_number: u16::from_be_bytes([*high, *low]),
                    timestamp,
                    marker: flags & 1 == 1,
                    ..Default::default()
                },
                payload: Bytes::copy_from_slice(payload),
            },
        );
        while let Some(assembled) = assembler.pop(now) {
            if let Assembled::Frame(unit) = assembled {
                // Each NAL unit gains a four-byte start code; a fragment header is dropped.
                assert!(
                    unit.len() <= pushed_bytes * 5,
                    "{} bytes out of {pushed_bytes}",
                    unit.len()
                );
            }
        }
        assert!(assembler.buffered() <= crate::assemble::MAX_BUFFERED_PACKETS);
    }
}

/// A peer's H.264 data: decoded or refused, never a crash.
pub fn h264_decoder(data: &[u8]) {
    let Ok(mut decoder) = H264Decoder::new() else { return };
    let mut frame = VideoFrame::default();
    // The whole input as one unit (a committed keyframe is fed whole, though it may hold a
    // 0xFF), then the units that 0xFF bytes mark off, in a row as they would arrive.
    for unit in std::iter::once(data).chain(data.split(|&byte| byte == 0xFF)) {
        if let Ok(true) = decoder.decode(unit, &mut frame) {
            assert!(frame.width() > 0 && frame.height() > 0);
        }
    }
}

/// A peer's Opus packets: decoded or refused, never a crash, always a whole frame of
/// finite samples.
pub fn opus_decoder(data: &[u8]) {
    let Ok(mut decoder) = OpusDecoder::new() else { return };
    let mut frame = AudioFrame::default();
    for packet in data.split(|&byte| byte == 0xFF) {
        if decoder.decode(packet, &mut frame).is_ok() {
            assert!(frame.samples.iter().all(|sample| sample.is_finite()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use videomeet_media::EncodedVideoFrame;
    use videomeet_media::codec::{H264Config, H264Encoder, OpusConfig, OpusEncoder};
    use videomeet_media::video::{TestPattern, VideoFormat};

    /// A real keyframe, then the same damaged in every way a fuzzer starts with.
    #[test]
    fn real_and_damaged_media_pass_the_decoder_checks() {
        let mut encoder = H264Encoder::new(H264Config::CAMERA_720P).expect("an encoder");
        let (mut picture, mut encoded) = (VideoFrame::default(), EncodedVideoFrame::default());
        TestPattern::new(VideoFormat::new(64, 48, 30)).draw(1, 0, &mut picture);
        assert!(encoder.encode(&picture, &mut encoded).expect("encodes"));
        let mut opus = OpusEncoder::new(OpusConfig::default()).expect("an encoder");
        let (mut sound, mut packet) = (AudioFrame::default(), Vec::new());
        videomeet_media::audio::TestTone::new(440.0).render(0, &mut sound);
        opus.encode(&sound, &mut packet).expect("encodes");
        for (check, data) in [(h264_decoder as Check, &encoded.data), (opus_decoder, &packet)] {
            check(data);
            for cut in [1, data.len() / 2, data.len() - 1] {
                check(&data[..cut]);
            }
            let mut flipped = data.clone();
            for index in (0..flipped.len()).step_by(7) {
                flipped[index] ^= 0x5A;
            }
            check(&flipped);
        }
    }
}

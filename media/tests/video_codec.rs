//! H.264 round trips with the stamped test pattern.

use videomeet_media::codec::{CodecError, H264Config, H264Decoder, H264Encoder, VideoContent};
use videomeet_media::video::{TestPattern, VideoFormat, read_stamp};
use videomeet_media::{EncodedVideoFrame, VideoFrame};

fn config(bitrate_bps: u32) -> H264Config {
    H264Config {
        bitrate_bps,
        max_fps: 30,
        content: VideoContent::Camera,
    }
}

/// Encodes `frames` pattern frames and decodes them; returns the counters read back from the
/// stamps of the frames the encoder sent (it may skip frames to hold the bitrate) and the
/// bytes sent.
fn round_trip(width: u32, height: u32, bitrate_bps: u32, frames: u32) -> (Vec<u32>, usize) {
    let pattern = TestPattern::new(VideoFormat::new(width, height, 30));
    let mut encoder = H264Encoder::new(config(bitrate_bps)).unwrap();
    let mut decoder = H264Decoder::new().unwrap();
    let (mut source, mut decoded, mut packet) = (
        VideoFrame::default(),
        VideoFrame::default(),
        EncodedVideoFrame::default(),
    );
    let mut counters = Vec::new();
    let mut bytes = 0;
    for counter in 0..frames {
        let capture_time_us = 1_000_000 + u64::from(counter) * 33_333;
        pattern.draw(counter, capture_time_us, &mut source);
        if !encoder.encode(&source, &mut packet).unwrap() {
            continue;
        }
        if counter == 0 {
            assert!(packet.keyframe, "a stream starts with a keyframe");
        }
        bytes += packet.data.len();
        assert!(
            decoder.decode(&packet.data, &mut decoded).unwrap(),
            "frame {counter} not decoded"
        );
        assert_eq!((decoded.width(), decoded.height()), (width, height));
        let stamp = read_stamp(&decoded).unwrap_or_else(|| panic!("frame {counter}: stamp unreadable"));
        assert_eq!(stamp.counter, counter);
        assert_eq!(stamp.capture_time_us, capture_time_us);
        counters.push(stamp.counter);
    }
    (counters, bytes)
}

#[test]
fn stamps_survive_300_kbps_at_320x240() {
    let (counters, bytes) = round_trip(320, 240, 300_000, 90);
    assert!(counters.len() >= 85, "only {} of 90 frames sent", counters.len());
    // Three seconds at 300 kbps, with slack for the first keyframe.
    assert!(bytes < 3 * 300_000 / 8 * 3 / 2, "{bytes} bytes");
}

#[test]
fn stamps_survive_300_kbps_at_1280x720() {
    let (counters, bytes) = round_trip(1280, 720, 300_000, 60);
    // At 720p, 300 kbps is tight: the encoder may drop frames, but those it sends are readable.
    assert!(counters.len() >= 30, "only {} of 60 frames sent", counters.len());
    assert!(bytes < 2 * 300_000 / 8 * 3 / 2, "{bytes} bytes");
}

#[test]
fn a_keyframe_request_makes_the_next_frame_a_keyframe() {
    let pattern = TestPattern::new(VideoFormat::new(320, 240, 30));
    let mut encoder = H264Encoder::new(config(500_000)).unwrap();
    let request = encoder.keyframe_request();
    let (mut frame, mut packet) = (VideoFrame::default(), EncodedVideoFrame::default());
    let mut keyframes = Vec::new();
    for counter in 0..10 {
        if counter == 6 {
            request.request();
        }
        pattern.draw(counter, 0, &mut frame);
        encoder.encode(&frame, &mut packet).unwrap();
        keyframes.push(packet.keyframe);
    }
    let expected: Vec<bool> = (0..10).map(|i| i == 0 || i == 6).collect();
    assert_eq!(keyframes, expected);
}

#[test]
fn lowering_the_bitrate_while_running_shrinks_the_stream() {
    let pattern = TestPattern::new(VideoFormat::new(640, 360, 30));
    let mut encoder = H264Encoder::new(config(2_000_000)).unwrap();
    // As the network side does it: through the shared target, from another thread.
    let target = encoder.bitrate_target();
    let (mut frame, mut packet) = (VideoFrame::default(), EncodedVideoFrame::default());
    let mut bytes_per_phase = [0usize; 2];
    for counter in 0..120 {
        if counter == 60 {
            std::thread::scope(|scope| scope.spawn(|| target.set(100_000)).join().unwrap());
        }
        pattern.draw(counter, 0, &mut frame);
        encoder.encode(&frame, &mut packet).unwrap();
        // Skip each phase's first 20 frames while the rate control settles.
        if counter % 60 >= 20 {
            bytes_per_phase[(counter / 60) as usize] += packet.data.len();
        }
    }
    let [high, low] = bytes_per_phase;
    assert!(low * 2 < high, "2 Mbps phase {high} bytes, 100 kbps phase {low} bytes");
    // 40 frames at 30 fps and 100 kbps is about 17 kB; allow the rate control some slack.
    assert!(low < 25_000, "100 kbps phase {low} bytes");
    assert_eq!(encoder.config().bitrate_bps, 100_000);
}

#[test]
fn a_new_picture_size_starts_with_a_keyframe() {
    let mut encoder = H264Encoder::new(config(500_000)).unwrap();
    let mut decoder = H264Decoder::new().unwrap();
    let (mut decoded, mut packet) = (VideoFrame::default(), EncodedVideoFrame::default());
    for (width, height) in [(320, 240), (320, 240), (640, 360)] {
        let pattern = TestPattern::new(VideoFormat::new(width, height, 30));
        let mut frame = VideoFrame::default();
        pattern.draw(1, 5, &mut frame);
        encoder.encode(&frame, &mut packet).unwrap();
        assert!(decoder.decode(&packet.data, &mut decoded).unwrap());
        assert_eq!((decoded.width(), decoded.height()), (width, height));
    }
    assert!(packet.keyframe);
}

#[test]
fn screen_content_mode_encodes() {
    let mut encoder = H264Encoder::new(H264Config {
        bitrate_bps: 1_000_000,
        max_fps: 5,
        content: VideoContent::Screen,
    })
    .unwrap();
    let pattern = TestPattern::new(VideoFormat::new(1280, 720, 5));
    let (mut frame, mut packet, mut decoded) = (
        VideoFrame::default(),
        EncodedVideoFrame::default(),
        VideoFrame::default(),
    );
    let mut decoder = H264Decoder::new().unwrap();
    pattern.draw(3, 42, &mut frame);
    assert!(encoder.encode(&frame, &mut packet).unwrap());
    assert!(decoder.decode(&packet.data, &mut decoded).unwrap());
    assert_eq!(read_stamp(&decoded).map(|s| s.counter), Some(3));
}

#[test]
fn garbage_into_the_decoder_is_an_error_not_a_panic() {
    let mut decoder = H264Decoder::new().unwrap();
    let mut out = VideoFrame::default();
    assert!(matches!(
        decoder.decode(&[], &mut out),
        Err(CodecError::Malformed { .. })
    ));
    assert!(matches!(
        decoder.decode(b"hello, world", &mut out),
        Err(CodecError::Malformed { .. })
    ));
    // Start codes followed by junk, including junk that claims to be SPS/PPS/IDR units.
    let mut seed = 0x1234_5678u32;
    let mut errors = 0;
    for round in 0..200 {
        let mut junk = vec![0, 0, 0, 1, [0x67, 0x68, 0x65, 0x41][round % 4]];
        junk.extend((0..64 + round * 7).map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as u8
        }));
        match decoder.decode(&junk, &mut out) {
            Err(CodecError::Malformed { .. }) => errors += 1,
            Err(other) => panic!("unexpected error kind: {other}"),
            Ok(_) => {}
        }
    }
    assert!(errors > 100, "only {errors} of 200 junk units were reported as errors");
    // And the same decoder still works afterwards on a real stream: a viewer keeps one
    // decoder per stream, so one that stays broken after bad data shows nothing for good.
    let pattern = TestPattern::new(VideoFormat::new(320, 240, 30));
    let mut encoder = H264Encoder::new(config(500_000)).unwrap();
    let (mut frame, mut packet) = (VideoFrame::default(), EncodedVideoFrame::default());
    let (mut sent, mut decoded) = (Vec::new(), Vec::new());
    for counter in 7..17 {
        pattern.draw(counter, 1_000_000 + u64::from(counter) * 33_333, &mut frame);
        if !encoder.encode(&frame, &mut packet).unwrap() {
            continue;
        }
        assert_eq!(
            packet.keyframe,
            counter == 7,
            "frame {counter}: only the first is a keyframe"
        );
        let shown = decoder
            .decode(&packet.data, &mut out)
            .unwrap_or_else(|error| panic!("frame {counter} after the junk: {error}"));
        assert!(shown, "frame {counter} after the junk not decoded");
        assert_eq!((out.width(), out.height()), (320, 240));
        sent.push(Some(counter));
        decoded.push(read_stamp(&out).map(|s| s.counter));
    }
    assert!(sent.len() >= 8, "the encoder sent only {} of 10 frames", sent.len());
    assert_eq!(decoded, sent, "stamps read back after the junk");
}

#[test]
fn a_new_encoder_mid_stream_is_decoded_by_the_same_decoder() {
    // Switching cameras during a meeting starts a new encoder; the viewers keep their decoder.
    let pattern = TestPattern::new(VideoFormat::new(320, 240, 30));
    let mut decoder = H264Decoder::new().unwrap();
    let (mut source, mut decoded, mut packet) = (
        VideoFrame::default(),
        VideoFrame::default(),
        EncodedVideoFrame::default(),
    );
    for run in 0..3 {
        let mut encoder = H264Encoder::new(config(300_000)).unwrap();
        for counter in 0..10 {
            pattern.draw(counter, 1_000_000, &mut source);
            if !encoder.encode(&source, &mut packet).unwrap() {
                continue;
            }
            assert!(
                decoder.decode(&packet.data, &mut decoded).unwrap(),
                "encoder {run}, frame {counter} not decoded"
            );
            assert_eq!(read_stamp(&decoded).map(|s| s.counter), Some(counter));
        }
    }
}

/// Congestion control moves the target both ways, above the rate the encoder was built
/// with too: no change is refused and no picture lost. A refused raise used to leave the
/// encoder refusing every later change, so a share started on a thin estimate sent nothing.
#[test]
fn a_bitrate_sweep_loses_no_frame() {
    let pattern = TestPattern::new(VideoFormat::new(640, 360, 30));
    for content in [VideoContent::Camera, VideoContent::Screen] {
        let mut encoder = H264Encoder::new(H264Config {
            content,
            ..config(300_000)
        })
        .unwrap();
        let target = encoder.bitrate_target();
        let mut decoder = H264Decoder::new().unwrap();
        let (mut frame, mut decoded, mut packet) = (
            VideoFrame::default(),
            VideoFrame::default(),
            EncodedVideoFrame::default(),
        );
        let sweep = [
            2_500_000, 150_000, 3_000_000, 900_000, 900_000, 4_000_000, 64_000, 1_200_000,
        ];
        let (mut sent, mut last_decoded) = (0, None);
        for counter in 0..160u32 {
            if counter % 20 == 0 {
                target.set(sweep[(counter / 20) as usize]);
            }
            let capture_time_us = 1_000_000 + u64::from(counter) * 33_333;
            pattern.draw(counter, capture_time_us, &mut frame);
            let encoded = encoder
                .encode(&frame, &mut packet)
                .unwrap_or_else(|error| panic!("{content:?} frame {counter} at {} bps: {error}", target.get()));
            if encoded {
                sent += 1;
                assert!(
                    decoder.decode(&packet.data, &mut decoded).unwrap(),
                    "{content:?} frame {counter}"
                );
                last_decoded = read_stamp(&decoded).map(|stamp| stamp.counter);
            }
        }
        assert_eq!(encoder.config().bitrate_bps, 1_200_000);
        // Rate control may skip pictures on the thin steps, never for long.
        assert!(sent >= 100, "{content:?}: {sent} of 160 pictures sent");
        assert!(
            last_decoded >= Some(150),
            "{content:?}: last picture decoded {last_decoded:?}"
        );
    }
}

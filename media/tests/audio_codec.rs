//! Opus round trips with the test tone.

use videomeet_media::AudioFrame;
use videomeet_media::audio::TestTone;
use videomeet_media::audio::goertzel::amplitude;
use videomeet_media::codec::{CodecError, OpusConfig, OpusDecoder, OpusEncoder};

const TONE_HZ: f32 = 440.0;
/// Start half a second past a marker so no marker falls in the frames measured.
const START_US: u64 = 10_000_000 + 100_000;

/// Signal-to-noise ratio of a sine in `samples`: power at the tone against everything else.
fn snr_db(samples: &[f32], freq_hz: f32) -> f32 {
    let total = samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32;
    let tone = amplitude(samples, freq_hz).powi(2) / 2.0;
    10.0 * (tone / (total - tone).max(1e-12)).log10()
}

/// Encodes `frames` tone frames, dropping the packets for which `lost` is true.
fn transmit(frames: usize, lost: impl Fn(usize) -> bool) -> Vec<f32> {
    let tone = TestTone::new(TONE_HZ);
    let mut encoder = OpusEncoder::new(OpusConfig::default()).unwrap();
    let mut decoder = OpusDecoder::new().unwrap();
    let (mut input, mut output) = (AudioFrame::default(), AudioFrame::default());
    let mut packets = Vec::new();
    for index in 0..frames {
        tone.render(START_US + index as u64 * 20_000, &mut input);
        let mut packet = Vec::new();
        encoder.encode(&input, &mut packet).unwrap();
        packets.push(packet);
    }
    let mut received = Vec::new();
    for index in 0..frames {
        if lost(index) {
            match packets.get(index + 1) {
                Some(next) if !lost(index + 1) => decoder.recover(next, &mut output).unwrap(),
                _ => decoder.conceal(&mut output).unwrap(),
            }
        } else {
            decoder.decode(&packets[index], &mut output).unwrap();
        }
        received.extend_from_slice(&output.samples[..]);
    }
    received
}

/// Largest step between neighbouring samples: a click shows up as a jump.
fn largest_step(samples: &[f32]) -> f32 {
    samples.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max)
}

#[test]
fn the_tone_comes_through_clean() {
    let received = transmit(40, |_| false);
    // Skip the first 100 ms while the codec settles.
    let steady = &received[4_800..];
    assert!(
        amplitude(steady, TONE_HZ) > 0.25,
        "tone amplitude {}",
        amplitude(steady, TONE_HZ)
    );
    for other in [220.0, 880.0, 1_000.0] {
        assert!(
            amplitude(steady, other) < 0.02,
            "{other} Hz at {}",
            amplitude(steady, other)
        );
    }
    let snr = snr_db(steady, TONE_HZ);
    assert!(snr > 20.0, "SNR {snr:.1} dB");
}

#[test]
fn a_lost_packet_is_concealed_without_a_click() {
    let clean = transmit(40, |_| false);
    // The sine's own largest step: 0.3 * 2 pi * 440 / 48000 = 0.017.
    let natural = largest_step(&clean[4_800..]);
    for recovery in ["fec", "plc"] {
        let received = if recovery == "fec" {
            transmit(40, |i| i == 20)
        } else {
            transmit(40, |i| i == 20 || i == 21)
        };
        let around_loss = &received[19 * 960..23 * 960];
        let step = largest_step(around_loss);
        assert!(
            step < natural * 2.0,
            "{recovery}: step {step:.4} against {natural:.4} without loss"
        );
        // The gap is filled with tone, not silence.
        let filled = amplitude(&received[20 * 960..21 * 960], TONE_HZ);
        assert!(filled > 0.1, "{recovery}: concealed frame amplitude {filled}");
    }
}

#[test]
fn silence_is_sent_as_tiny_dtx_packets() {
    let mut encoder = OpusEncoder::new(OpusConfig::default()).unwrap();
    let silence = AudioFrame::default();
    let mut packet = Vec::new();
    let sizes: Vec<usize> = (0..50)
        .map(|_| {
            encoder.encode(&silence, &mut packet).unwrap();
            packet.len()
        })
        .collect();
    // After the first 200 ms, nearly every packet is a 1-2 byte DTX packet; Opus refreshes
    // the comfort noise every 400 ms with a slightly larger one.
    let tiny = sizes[10..].iter().filter(|&&size| size <= 2).count();
    assert!(tiny * 10 >= sizes[10..].len() * 9, "{sizes:?}");
}

#[test]
fn settings_change_while_running() {
    let mut encoder = OpusEncoder::new(OpusConfig::default()).unwrap();
    encoder.set_bitrate(64_000).unwrap();
    encoder.set_expected_loss(30).unwrap();
    assert_eq!(
        encoder.config(),
        OpusConfig {
            bitrate_bps: 64_000,
            expected_loss_pct: 30
        }
    );
    encoder.set_bitrate(1).unwrap();
    assert_eq!(encoder.config().bitrate_bps, 6_000);
}

#[test]
fn garbage_into_the_decoder_is_an_error_not_a_panic() {
    let mut decoder = OpusDecoder::new().unwrap();
    let mut out = AudioFrame::default();
    // Empty, a code-3 packet claiming zero frames, and a 60 ms packet.
    for bad in [&[][..], &[0x03, 0x00][..], &[0x18, 0x01, 0x02, 0x03][..]] {
        assert!(
            matches!(decoder.decode(bad, &mut out), Err(CodecError::Malformed { .. })),
            "{bad:?}"
        );
    }
    let mut seed = 0x9E37_79B9u32;
    for length in 1..300 {
        let junk: Vec<u8> = (0..length)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        // Many random byte strings are valid Opus (noise); what matters is no panic and
        // numbers a mixer can clamp.
        if decoder.decode(&junk, &mut out).is_ok() {
            assert!(out.samples.iter().all(|s| s.is_finite()));
        }
    }
}

//! Codec and conversion speed: `cargo bench -p videomeet-media`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jpeg_encoder::{ColorType, Encoder as JpegEncoder};
use videomeet_media::audio::{EchoReference, TestTone, VoiceProcessor, talking};
use videomeet_media::capture::LayeredEncoder;
use videomeet_media::codec::{H264Config, H264Decoder, H264Encoder, OpusConfig, OpusDecoder, OpusEncoder};
use videomeet_media::video::{Layer, LayerSet, PixelConverter, PixelFormat, TestPattern, VideoFormat};
use videomeet_media::{AudioFrame, EncodedVideoFrame, VideoFrame};

const SIZES: [(&str, VideoFormat); 2] = [("360p", VideoFormat::P360), ("720p", VideoFormat::P720)];
/// Frames in a looped clip: long enough for realistic P-frames, short enough to prepare fast.
const CLIP_FRAMES: u32 = 30;

fn pattern_clip(format: VideoFormat) -> Vec<VideoFrame> {
    let pattern = TestPattern::new(format);
    (0..CLIP_FRAMES)
        .map(|counter| {
            let mut frame = VideoFrame::default();
            pattern.draw(counter, u64::from(counter) * 33_333, &mut frame);
            frame
        })
        .collect()
}

fn h264(c: &mut Criterion) {
    let mut group = c.benchmark_group("h264");
    for (name, format) in SIZES {
        let clip = pattern_clip(format);
        let mut encoder = H264Encoder::new(H264Config::CAMERA_720P).unwrap();
        let mut packet = EncodedVideoFrame::default();
        let mut next = 0;
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("encode_{name}"), |b| {
            b.iter(|| {
                encoder.encode(&clip[next], &mut packet).unwrap();
                next = (next + 1) % clip.len();
            });
        });
        // A looped stream that starts with a keyframe decodes in order forever.
        let mut encoder = H264Encoder::new(H264Config::CAMERA_720P).unwrap();
        let request = encoder.keyframe_request();
        let packets: Vec<Vec<u8>> = clip
            .iter()
            .enumerate()
            .map(|(index, frame)| {
                if index == 0 {
                    request.request();
                }
                encoder.encode(frame, &mut packet).unwrap();
                packet.data.clone()
            })
            .collect();
        let mut decoder = H264Decoder::new().unwrap();
        let mut decoded = VideoFrame::default();
        let mut next = 0;
        group.bench_function(format!("decode_{name}"), |b| {
            b.iter(|| {
                decoder.decode(&packets[next], &mut decoded).unwrap();
                next = (next + 1) % packets.len();
            });
        });
    }
    group.finish();
}

/// One 1280x720 camera picture encoded in the layers wanted (see `LayeredEncoder`): the full
/// layer alone (as a camera was always sent), all three, or the quarter alone (a camera
/// nobody watches large). Shrinking is counted in; capture times advance 33 ms a picture, as
/// a camera's do, so the rate control sees real time.
fn camera_layers(c: &mut Criterion) {
    let mut group = c.benchmark_group("camera_layers_720p");
    let mut clip = pattern_clip(VideoFormat::P720);
    for (name, wanted) in [
        ("full", LayerSet::FULL),
        ("full_half_quarter", LayerSet::ALL),
        ("quarter", LayerSet::of(&[Layer::Quarter])),
    ] {
        let mut encoder = LayeredEncoder::new(H264Config::CAMERA_720P).unwrap();
        encoder.control().wanted.set(wanted);
        let mut next = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                let frame = &mut clip[(next % u64::from(CLIP_FRAMES)) as usize];
                frame.capture_time_us = next * 33_333;
                next += 1;
                encoder.encode(frame, |_, packet| {
                    std::hint::black_box(packet);
                });
            });
        });
        let stats = encoder.control().stats();
        let sent: Vec<String> = wanted
            .iter()
            .map(|layer| format!("{layer:?} {}/{}", stats.sent(layer), stats.encodes(layer)))
            .collect();
        eprintln!("{name}: pictures sent/encoded: {}", sent.join(", "));
    }
    group.finish();
}

fn camera_formats(c: &mut Criterion) {
    let (width, height) = (1280u32, 720u32);
    let pixels = (width * height) as usize;
    let rgb: Vec<u8> = (0..pixels * 3).map(|i| (i * 7 % 251) as u8).collect();
    let yuyv: Vec<u8> = (0..pixels * 2).map(|i| (i * 5 % 241) as u8).collect();
    let nv12: Vec<u8> = (0..pixels * 3 / 2).map(|i| (i * 3 % 239) as u8).collect();
    // A camera-like MJPEG picture: the test pattern, as RGB, compressed at quality 85.
    let mut mjpeg = Vec::new();
    let mut pattern_rgb = vec![0u8; pixels * 3];
    let mut frame = VideoFrame::default();
    TestPattern::new(VideoFormat::P720).draw(0, 0, &mut frame);
    let (y, _, _) = frame.planes();
    for (pixel, luma) in pattern_rgb.chunks_exact_mut(3).zip(y) {
        pixel.fill(*luma);
    }
    JpegEncoder::new(&mut mjpeg, 85)
        .encode(&pattern_rgb, width as u16, height as u16, ColorType::Rgb)
        .unwrap();

    let mut group = c.benchmark_group("to_i420_720p");
    let mut converter = PixelConverter::default();
    let mut out = VideoFrame::default();
    for (name, format, data) in [
        ("mjpeg", PixelFormat::Mjpeg, &mjpeg),
        ("yuyv", PixelFormat::Yuyv, &yuyv),
        ("nv12", PixelFormat::Nv12, &nv12),
        ("rgb24", PixelFormat::Rgb24, &rgb),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| converter.to_i420(format, data, (width, height), &mut out).unwrap());
        });
    }
    group.finish();
}

fn opus(c: &mut Criterion) {
    let mut group = c.benchmark_group("opus_20ms");
    let tone = TestTone::new(440.0);
    let mut frame = AudioFrame::default();
    tone.render(500_000, &mut frame);
    let mut encoder = OpusEncoder::new(OpusConfig::default()).unwrap();
    let mut packet = Vec::new();
    group.bench_function("encode", |b| b.iter(|| encoder.encode(&frame, &mut packet).unwrap()));
    let mut decoder = OpusDecoder::new().unwrap();
    let mut out = AudioFrame::default();
    group.bench_function("decode", |b| b.iter(|| decoder.decode(&packet, &mut out).unwrap()));
    group.bench_function("conceal", |b| b.iter(|| decoder.conceal(&mut out).unwrap()));
    group.finish();
}

/// The microphone's processing chain (echo canceller, noise suppressor): 20 ms of
/// far-end talk played and 20 ms of its echo with near-end talk heard, per iteration,
/// looping over 5 s of a call.
fn voice(c: &mut Criterion) {
    const FRAMES: usize = 250;
    let samples = AudioFrame::default().samples.len();
    let mut played = vec![0.0f32; FRAMES * samples];
    let mut heard = vec![0.0f32; FRAMES * samples];
    talking(0, 140.0, &mut played);
    talking(7_000, 230.0, &mut heard);
    for (h, p) in heard.iter_mut().zip(&played) {
        *h += 0.4 * p;
    }
    let mut group = c.benchmark_group("voice_20ms");
    let reference = EchoReference::default();
    let mut processor = VoiceProcessor::new(reference.clone()).unwrap();
    let mut frame = AudioFrame::default();
    let mut index = 0;
    group.bench_function("process", |b| {
        b.iter(|| {
            let at = (index % FRAMES) * samples;
            index += 1;
            reference.played(&played[at..at + samples]);
            frame.samples.copy_from_slice(&heard[at..at + samples]);
            processor.process(&mut frame);
        });
    });
    group.finish();
}

criterion_group!(benches, h264, camera_layers, camera_formats, opus, voice);
criterion_main!(benches);

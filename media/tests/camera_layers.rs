//! A camera sent in layers (full, half, quarter): each wanted layer is its own decodable
//! stream at its own size, and a layer nobody wants costs nothing.

use videomeet_media::EncodedVideoFrame;
use videomeet_media::VideoFrame;
use videomeet_media::capture::LayeredEncoder;
use videomeet_media::codec::{H264Config, H264Decoder};
use videomeet_media::video::{Layer, LayerSet, TestPattern, VideoFormat, read_stamp};

const CAPTURE: (u32, u32) = (1280, 720);

/// A 720p test pattern and its capture times, 30 a second.
struct Camera {
    pattern: TestPattern,
    frame: VideoFrame,
    counter: u32,
}

impl Camera {
    fn new() -> Self {
        Self {
            pattern: TestPattern::new(VideoFormat::new(CAPTURE.0, CAPTURE.1, 30)),
            frame: VideoFrame::default(),
            counter: 0,
        }
    }

    /// Captures the next picture and encodes it; returns its counter and what was delivered.
    fn next(&mut self, encoder: &mut LayeredEncoder) -> (u32, Vec<(Layer, EncodedVideoFrame)>) {
        let counter = self.counter;
        self.counter += 1;
        self.pattern
            .draw(counter, 1_000_000 + u64::from(counter) * 33_333, &mut self.frame);
        let mut delivered = Vec::new();
        encoder.encode(&self.frame, |layer, encoded| delivered.push((layer, encoded.clone())));
        (counter, delivered)
    }
}

fn layers(delivered: &[(Layer, EncodedVideoFrame)]) -> Vec<Layer> {
    delivered.iter().map(|(layer, _)| *layer).collect()
}

/// Decodes `encoded` of `layer` with `decoder` and checks its size and stamp.
fn decode(decoder: &mut H264Decoder, layer: Layer, encoded: &EncodedVideoFrame, counter: u32) {
    let mut picture = VideoFrame::default();
    let shown = decoder
        .decode(&encoded.data, &mut picture)
        .unwrap_or_else(|error| panic!("{layer:?} picture {counter}: {error}"));
    assert!(shown, "{layer:?} picture {counter} not decoded");
    let size = (picture.width(), picture.height());
    assert_eq!(size, layer.size(CAPTURE), "{layer:?} picture {counter}: size");
    assert_eq!(
        (encoded.width, encoded.height),
        size,
        "{layer:?} picture {counter}: size sent"
    );
    let stamp = read_stamp(&picture).unwrap_or_else(|| panic!("{layer:?} picture {counter}: stamp unreadable"));
    assert_eq!(stamp.counter, counter, "{layer:?} picture {counter}: stamp");
}

#[test]
fn every_picture_is_sent_in_each_wanted_layer_at_its_size() {
    let mut encoder = LayeredEncoder::new(H264Config::CAMERA_720P).unwrap();
    encoder.control().wanted.set(LayerSet::ALL);
    let mut decoders = Layer::ALL.map(|_| H264Decoder::new().unwrap());
    let mut camera = Camera::new();
    let mut decoded = [0; 3];
    for _ in 0..30 {
        let (counter, delivered) = camera.next(&mut encoder);
        assert_eq!(layers(&delivered), Layer::ALL, "picture {counter}: layers sent");
        for (layer, encoded) in &delivered {
            // One stream per layer: a keyframe to start, then pictures that build on it.
            assert_eq!(encoded.keyframe, counter == 0, "{layer:?} picture {counter}: keyframe");
            decode(&mut decoders[layer.index()], *layer, encoded, counter);
            decoded[layer.index()] += 1;
        }
    }
    assert_eq!(decoded, [30; 3], "pictures decoded per layer");
    let stats = encoder.control().stats();
    assert_eq!(
        Layer::ALL.map(|layer| stats.sent(layer)),
        [30; 3],
        "pictures sent per layer"
    );
}

#[test]
fn by_default_only_the_full_layer_is_encoded() {
    let mut encoder = LayeredEncoder::new(H264Config::CAMERA_720P).unwrap();
    assert_eq!(encoder.control().wanted.get(), LayerSet::FULL);
    let mut camera = Camera::new();
    for _ in 0..5 {
        let (counter, delivered) = camera.next(&mut encoder);
        assert_eq!(layers(&delivered), [Layer::Full], "picture {counter}");
        assert_eq!((delivered[0].1.width, delivered[0].1.height), CAPTURE);
    }
    let stats = encoder.control().stats();
    assert_eq!(Layer::ALL.map(|layer| stats.encodes(layer)), [5, 0, 0]);
}

#[test]
fn a_layer_nobody_wants_is_never_encoded() {
    let mut encoder = LayeredEncoder::new(H264Config::CAMERA_720P).unwrap();
    let control = encoder.control().clone();
    control.wanted.set(LayerSet::of(&[Layer::Full, Layer::Quarter]));
    let mut camera = Camera::new();
    let mut quarter = H264Decoder::new().unwrap();
    // At its sixteenth of the bits, the quarter layer's rate control may skip a picture or
    // two after its keyframe (it sends 27 of the first 30, then all).
    let mut quarters = 0;
    for _ in 0..10 {
        let (counter, delivered) = camera.next(&mut encoder);
        assert_eq!(layers(&delivered)[0], Layer::Full, "picture {counter}");
        if let Some((_, encoded)) = delivered.iter().find(|(layer, _)| *layer == Layer::Quarter) {
            decode(&mut quarter, Layer::Quarter, encoded, counter);
            quarters += 1;
        }
    }
    assert!(quarters >= 7, "{quarters} quarter pictures of 10");
    let encodes = |layer| control.stats().encodes(layer);
    assert_eq!(encodes(Layer::Half), 0, "the half layer was encoded");
    // Nobody watches large any more: the full layer stops with the next picture, while the
    // quarter layer goes on in the same stream.
    control.wanted.want(Layer::Full, false);
    let full_encodes = encodes(Layer::Full);
    let mut quarters = 0;
    for _ in 0..10 {
        let (counter, delivered) = camera.next(&mut encoder);
        if delivered.is_empty() {
            continue; // skipped by rate control, as above
        }
        assert_eq!(layers(&delivered), [Layer::Quarter], "picture {counter}");
        assert!(
            !delivered[0].1.keyframe,
            "picture {counter}: the quarter layer restarted"
        );
        decode(&mut quarter, Layer::Quarter, &delivered[0].1, counter);
        quarters += 1;
    }
    assert!(
        quarters >= 7,
        "{quarters} quarter pictures of 10 without the full layer"
    );
    assert_eq!(
        encodes(Layer::Full),
        full_encodes,
        "the full layer was encoded unwanted"
    );
    assert_eq!(encodes(Layer::Half), 0, "the half layer was encoded");
    assert_eq!(encodes(Layer::Quarter), 20);
    // Nobody watches at all: nothing is encoded.
    control.wanted.set(LayerSet::NONE);
    let (_, delivered) = camera.next(&mut encoder);
    assert!(delivered.is_empty(), "{:?} sent unwanted", layers(&delivered));
    assert_eq!(Layer::ALL.map(encodes), [full_encodes, 0, 20]);
}

#[test]
fn a_layer_wanted_again_starts_with_a_keyframe_a_new_viewer_decodes() {
    let mut encoder = LayeredEncoder::new(H264Config::CAMERA_720P).unwrap();
    let control = encoder.control().clone();
    control.wanted.set(LayerSet::ALL);
    let mut camera = Camera::new();
    for _ in 0..5 {
        camera.next(&mut encoder);
    }
    for layer in Layer::ALL {
        control.wanted.set(LayerSet::ALL.without(layer));
        for _ in 0..5 {
            let (counter, delivered) = camera.next(&mut encoder);
            assert!(
                !layers(&delivered).contains(&layer),
                "picture {counter}: {layer:?} sent unwanted"
            );
        }
        control.wanted.set(LayerSet::ALL);
        // A viewer that starts watching this layer now, with a decoder of its own.
        let mut viewer = H264Decoder::new().unwrap();
        for at in 0..5 {
            let (counter, delivered) = camera.next(&mut encoder);
            assert_eq!(layers(&delivered), Layer::ALL, "picture {counter}");
            for (sent, encoded) in &delivered {
                if *sent == layer {
                    assert_eq!(encoded.keyframe, at == 0, "{layer:?} picture {counter}: keyframe");
                    decode(&mut viewer, layer, encoded, counter);
                } else {
                    assert!(!encoded.keyframe, "{sent:?} restarted with {layer:?}");
                }
            }
        }
    }
}

#[test]
fn each_layer_has_its_own_keyframe_request_and_bitrate() {
    let config = H264Config::CAMERA_720P;
    let mut encoder = LayeredEncoder::new(config).unwrap();
    let control = encoder.control().clone();
    let bitrates = Layer::ALL.map(|layer| control.layer(layer).bitrate.get());
    let full = config.bitrate_bps;
    assert_eq!(bitrates, [full, full / 4, full / 16], "default split");
    assert_eq!(control.bitrate.get(), full, "the camera's bitrate is the full layer's");
    control.wanted.set(LayerSet::ALL);
    let mut camera = Camera::new();
    let mut bytes = [[0usize; 3]; 2];
    for _ in 0..60 {
        let (counter, delivered) = camera.next(&mut encoder);
        if counter == 40 {
            control.layer(Layer::Half).keyframes.request();
        }
        if counter == 30 {
            control.layer(Layer::Quarter).bitrate.set(full / 64);
        }
        for (layer, encoded) in &delivered {
            let keyframe = counter == 0 || (*layer == Layer::Half && counter == 41);
            // openh264 answers so steep a fall of its bitrate with a keyframe of its own, a
            // few pictures later (one stream does too); the other layers go on untouched.
            if *layer != Layer::Quarter || counter <= 30 {
                assert_eq!(encoded.keyframe, keyframe, "{layer:?} picture {counter}: keyframe");
            }
            // Each phase's first 10 pictures are left out while the rate control settles.
            if counter % 30 >= 10 && !encoded.keyframe {
                bytes[counter as usize / 30][layer.index()] += encoded.data.len();
            }
        }
    }
    let [before, after] = bytes;
    let quarter = Layer::Quarter.index();
    assert!(
        after[quarter] * 3 < before[quarter],
        "quarter layer at {} bps then {} bps: {} then {} bytes",
        full / 8,
        full / 64,
        before[quarter],
        after[quarter]
    );
    let full_index = Layer::Full.index();
    assert!(
        after[full_index] * 3 > before[full_index] * 2,
        "the full layer followed the quarter's bitrate: {} then {} bytes",
        before[full_index],
        after[full_index]
    );
}

//! Capture threads: a source feeding its encoder, one thread per source, stopped on drop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::thread::JoinHandle;

use crate::audio::{AudioLevel, EchoReference, VoiceProcessor};
use crate::codec::{BitrateTarget, CodecError, H264Config, H264Encoder, KeyframeRequest, OpusConfig, OpusEncoder};
use crate::devices::{MicrophoneChoice, VideoChoice};
use crate::frame::{AudioFrame, EncodedVideoFrame, VideoFrame};
use crate::screen::pace::MOVING_INTERVAL;
use crate::screen::{ChannelOrder, ScreenCapture, ScreenChoice, ScreenError, ScreenPace, ScreenPicture};
use crate::slot::VideoSlot;
use crate::video::scale::{fit_within, shrink};
use crate::video::size_ladder::SizeLadder;
use crate::video::{Layer, PixelConverter, PixelFormat, VideoError, VideoFormat, WantedLayers};

/// Why a capture thread could not start, for the user.
pub type CaptureError = String;

/// Shared switches between a capture thread and its owner.
#[derive(Clone, Debug)]
pub struct CaptureControl {
    /// Encode and deliver (true) or capture nothing (false: camera off, mic muted).
    pub enabled: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl CaptureControl {
    fn new(enabled: bool) -> Self {
        Self {
            enabled: Arc::new(AtomicBool::new(enabled)),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }

    fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Sleeps until enabled or stopped (the owner wakes the thread on either).
    fn wait_until_enabled(&self) {
        while self.running() && !self.enabled() {
            std::thread::park_timeout(std::time::Duration::from_millis(250));
        }
    }
}

/// A running capture thread; dropping it stops the thread after the frame in hand.
pub struct CaptureThread {
    control: CaptureControl,
    thread: JoinHandle<()>,
}

impl CaptureThread {
    /// Switches delivery on or off (a camera is also closed while off, see [`start_video`]).
    pub fn set_enabled(&self, enabled: bool) {
        self.control.enabled.store(enabled, Ordering::Relaxed);
        self.thread.thread().unpark();
    }

    /// False once the thread has ended (its device stopped or could not open again).
    pub fn is_running(&self) -> bool {
        !self.thread.is_finished()
    }
}

impl Drop for CaptureThread {
    fn drop(&mut self) {
        self.control.stop.store(true, Ordering::Relaxed);
        self.thread.thread().unpark();
    }
}

/// Spawns a capture thread named `name` that opens its source with `open` (on the thread:
/// device handles are not `Send` everywhere) and then runs `capture` until stopped.
/// Returns once the source is open, or with the reason it could not be.
fn spawn_capture<S, E: std::fmt::Display>(
    name: &str,
    enabled: bool,
    open: impl FnOnce() -> Result<S, E> + Send + 'static,
    capture: impl FnOnce(S, &CaptureControl) + Send + 'static,
) -> Result<CaptureThread, CaptureError> {
    let control = CaptureControl::new(enabled);
    let (opened_tx, opened) = sync_channel(1);
    let thread_control = control.clone();
    let thread = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || match open() {
            Ok(source) => {
                let _ = opened_tx.send(Ok(()));
                capture(source, &thread_control);
            }
            Err(error) => {
                let _ = opened_tx.send(Err(error.to_string()));
            }
        })
        .map_err(|e| e.to_string())?;
    opened.recv().map_err(|_| format!("the {name} thread ended"))??;
    Ok(CaptureThread { control, thread })
}

/// What the network side may ask of one layer's encoder.
#[derive(Clone, Debug)]
pub struct LayerControl {
    /// Raise it to make the layer's next picture a keyframe.
    pub keyframes: KeyframeRequest,
    /// The bitrate the layer aims at.
    pub bitrate: BitrateTarget,
}

/// What the network side may ask of a running encoder, and what it did.
///
/// A camera is sent in the [`Layer`]s that `wanted` says, each with a keyframe request and a
/// bitrate target of its own ([`EncoderControl::layer`]). A screen share is one stream: its
/// full layer, whatever `wanted` says.
#[derive(Clone, Debug)]
pub struct EncoderControl {
    /// Raise it to make the next picture of the full layer a keyframe (the full layer's
    /// [`LayerControl::keyframes`]).
    pub keyframes: KeyframeRequest,
    /// The bitrate the full layer aims at (its [`LayerControl::bitrate`]); the camera's full
    /// layer is also sent smaller when it is thin, see [`SizeLadder`].
    pub bitrate: BitrateTarget,
    /// The layers a camera encodes: the full one only until told otherwise.
    pub wanted: WantedLayers,
    layers: [LayerControl; 3],
    stats: Arc<LayerStats>,
}

impl EncoderControl {
    /// Controls for encoders made with `config`: the full layer aims at its bitrate, the
    /// others at their [`Layer::default_bitrate`] of it.
    fn new(config: H264Config) -> Self {
        let layers = Layer::ALL.map(|layer| LayerControl {
            keyframes: KeyframeRequest::default(),
            bitrate: BitrateTarget::new(layer.default_bitrate(config.bitrate_bps)),
        });
        let full = &layers[Layer::Full.index()];
        Self {
            keyframes: full.keyframes.clone(),
            bitrate: full.bitrate.clone(),
            wanted: WantedLayers::default(),
            layers,
            stats: Arc::default(),
        }
    }

    /// The keyframe request and bitrate target of `layer`.
    pub fn layer(&self, layer: Layer) -> &LayerControl {
        &self.layers[layer.index()]
    }

    /// What each layer's encoder did so far.
    pub fn stats(&self) -> &LayerStats {
        &self.stats
    }

    /// An encoder for `layer`, following that layer's controls.
    fn encoder(&self, config: H264Config, layer: Layer) -> Result<H264Encoder, CodecError> {
        let control = self.layer(layer);
        H264Encoder::with_controls(config, control.keyframes.clone(), control.bitrate.clone())
    }
}

/// Running totals of an encoder's layers, readable from any thread.
#[derive(Debug, Default)]
pub struct LayerStats {
    encodes: [AtomicU64; 3],
    sent: [AtomicU64; 3],
}

impl LayerStats {
    /// Pictures handed to `layer`'s encoder.
    pub fn encodes(&self, layer: Layer) -> u64 {
        self.encodes[layer.index()].load(Ordering::Relaxed)
    }

    /// Encoded pictures of `layer` delivered (the encoder skips some when the bitrate is thin).
    pub fn sent(&self, layer: Layer) -> u64 {
        self.sent[layer.index()].load(Ordering::Relaxed)
    }

    fn count(&self, layer: Layer, sent: bool) {
        self.encodes[layer.index()].fetch_add(1, Ordering::Relaxed);
        if sent {
            self.sent[layer.index()].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Encodes a camera's pictures in the layers its [`EncoderControl`] wants, each layer by an
/// H.264 encoder of its own.
///
/// A layer's encoder is made the first time the layer is wanted and dropped as soon as it is
/// not: a layer nobody wants costs neither encoding nor shrinking, and holds no reference
/// pictures. A layer wanted again gets a fresh encoder, whose first picture is a keyframe,
/// which its new viewers need anyway after the gap. The full layer is the captured picture,
/// sent smaller when its bitrate is thin (see [`SizeLadder`]); the half and quarter layers
/// are shrunk from it, the quarter from the half when both are wanted.
pub struct LayeredEncoder {
    config: H264Config,
    control: EncoderControl,
    /// Indexed by [`Layer::index`].
    encoders: [Option<H264Encoder>; 3],
    ladder: SizeLadder,
    /// The full layer shrunk by the ladder, the half layer and the quarter layer.
    pictures: [VideoFrame; 3],
    encoded: EncodedVideoFrame,
}

impl LayeredEncoder {
    /// An encoder wanting the full layer only, at `config` (the other layers at their
    /// [`Layer::default_bitrate`]). The full layer's encoder is made now, so that a broken
    /// codec library shows up here and not once the camera is on.
    pub fn new(config: H264Config) -> Result<Self, CodecError> {
        let control = EncoderControl::new(config);
        let full = control.encoder(config, Layer::Full)?;
        Ok(Self {
            config,
            control,
            encoders: [Some(full), None, None],
            ladder: SizeLadder::default(),
            pictures: Default::default(),
            encoded: EncodedVideoFrame::default(),
        })
    }

    /// Which layers to encode, their keyframes and bitrates, and what was encoded.
    pub fn control(&self) -> &EncoderControl {
        &self.control
    }

    /// Encodes `frame` in each layer wanted now and hands every encoded picture to `deliver`
    /// with its layer, largest layer first. Encoding errors are logged (the next picture may
    /// well encode).
    pub fn encode(&mut self, frame: &VideoFrame, mut deliver: impl FnMut(Layer, &EncodedVideoFrame)) {
        let wanted = self.control.wanted.get();
        let Self {
            config,
            control,
            encoders,
            ladder,
            pictures: [full, half, quarter],
            encoded,
        } = self;
        for layer in Layer::ALL {
            if !wanted.contains(layer) {
                encoders[layer.index()] = None;
            }
        }
        let mut encode = |layer: Layer, picture: &VideoFrame| {
            let encoder = match &mut encoders[layer.index()] {
                Some(encoder) => encoder,
                none => match control.encoder(*config, layer) {
                    Ok(encoder) => none.insert(encoder),
                    Err(error) => {
                        tracing::warn!(%error, ?layer, "no encoder for a layer");
                        return;
                    }
                },
            };
            match encoder.encode(picture, encoded) {
                Ok(sent) => {
                    control.stats.count(layer, sent);
                    if sent {
                        deliver(layer, encoded);
                    }
                }
                Err(error) => {
                    control.stats.count(layer, false);
                    tracing::warn!(%error, ?layer, "encoding failed");
                }
            }
        };
        let capture = (frame.width(), frame.height());
        if wanted.contains(Layer::Full) {
            let bitrate = control.bitrate.get();
            let (width, height) = ladder.size(std::time::Instant::now(), capture, config.max_fps, bitrate);
            let picture = if (width, height) == capture {
                frame
            } else {
                shrink(frame, width, height, full);
                &*full
            };
            encode(Layer::Full, picture);
        }
        let half = if wanted.contains(Layer::Half) {
            let (width, height) = Layer::Half.size(capture);
            shrink(frame, width, height, half);
            Some(&*half)
        } else {
            None
        };
        if let Some(picture) = half {
            encode(Layer::Half, picture);
        }
        if wanted.contains(Layer::Quarter) {
            let (width, height) = Layer::Quarter.size(capture);
            // From the half layer when there is one: a quarter of the pixels to read.
            shrink(half.unwrap_or(frame), width, height, quarter);
            encode(Layer::Quarter, quarter);
        }
    }
}

/// Starts the camera (or test pattern) thread: while enabled, every frame goes to `preview`
/// (then `on_preview` is called, to ask for a repaint), is encoded in each layer the
/// returned control wants (the full one only unless told otherwise; see [`LayeredEncoder`])
/// and handed to `deliver` with its layer. While disabled the camera is closed, so its light
/// goes out, and opened again when enabled. When the camera stops (unplugged, taken away) or
/// cannot be opened again, `ended` is called with the reason and the thread ends. Returns
/// once the source is open (at once when starting disabled), with the encoder's controls.
// The camera thread reports to four places (preview, repaint, network, end); bundling them
// would only move the same arguments into a struct built once at each of two call sites.
#[allow(clippy::too_many_arguments)]
pub fn start_video(
    choice: VideoChoice,
    format: VideoFormat,
    config: H264Config,
    enabled: bool,
    preview: Arc<VideoSlot>,
    on_preview: impl Fn() + Send + 'static,
    mut deliver: impl FnMut(Layer, &EncodedVideoFrame) + Send + 'static,
    ended: impl FnOnce(VideoError) + Send + 'static,
) -> Result<(CaptureThread, EncoderControl), CaptureError> {
    let mut encoder = LayeredEncoder::new(config).map_err(|e| e.to_string())?;
    let encoder_control = encoder.control().clone();
    let first_open = {
        let choice = choice.clone();
        move || {
            if enabled {
                choice.open(format).map(Some)
            } else {
                Ok(None)
            }
        }
    };
    let capture = spawn_capture("video-capture", enabled, first_open, move |mut source, control| {
        let mut frame = VideoFrame::default();
        while control.running() {
            if !control.enabled() {
                // Camera off: the device goes (and its light with it) until wanted again.
                source = None;
                control.wait_until_enabled();
                continue;
            }
            let camera = match &mut source {
                Some(camera) => camera,
                None => match choice.open(format) {
                    Ok(camera) => source.insert(camera),
                    Err(error) => {
                        tracing::warn!(%error, "camera did not open again");
                        ended(error);
                        break;
                    }
                },
            };
            if let Err(error) = camera.next_frame(&mut frame) {
                tracing::warn!(%error, "camera stopped");
                ended(error);
                break;
            }
            encoder.encode(&frame, &mut deliver);
            preview.publish(&mut frame);
            on_preview();
        }
    })?;
    Ok((capture, encoder_control))
}

/// Starts a camera (or test pattern) thread that only shows what it sees: every frame goes
/// to `preview`, then `on_preview` is called (to ask for a repaint). Nothing is encoded. When
/// the camera stops, the thread logs why and ends. Returns once the camera is open.
pub fn start_preview(
    choice: VideoChoice,
    format: VideoFormat,
    preview: Arc<VideoSlot>,
    on_preview: impl Fn() + Send + 'static,
) -> Result<CaptureThread, CaptureError> {
    spawn_capture(
        "camera-preview",
        true,
        move || choice.open(format),
        move |mut camera, control| {
            let mut frame = VideoFrame::default();
            while control.running() {
                if let Err(error) = camera.next_frame(&mut frame) {
                    tracing::warn!(%error, "camera stopped");
                    break;
                }
                preview.publish(&mut frame);
                on_preview();
            }
        },
    )
}

/// Starts the microphone (or test tone) thread: every 20 ms frame moves `level` (muted or
/// not, so a meter can show it); while enabled, the frame is encoded and the Opus packet
/// handed to `deliver` with its capture time. A real microphone's sound first goes through
/// [`VoiceProcessor`], which takes out the echo of what `echo` says the speaker played
/// (synthetic sources are clean and go as they are), and the packet goes with the sound it
/// was made from. When the microphone stops
/// (unplugged), `ended` is called with the reason and the thread ends. Returns once the
/// source is open.
pub fn start_audio(
    choice: MicrophoneChoice,
    config: OpusConfig,
    enabled: bool,
    level: Arc<AudioLevel>,
    echo: Option<EchoReference>,
    mut deliver: impl FnMut(&[u8], &AudioFrame) + Send + 'static,
    ended: impl FnOnce(crate::audio::AudioError) + Send + 'static,
) -> Result<CaptureThread, CaptureError> {
    let mut encoder = OpusEncoder::new(config).map_err(|e| e.to_string())?;
    let echo = echo.filter(|_| matches!(choice, MicrophoneChoice::Device(_)));
    spawn_capture(
        "audio-capture",
        enabled,
        move || choice.open(),
        move |mut source, control| {
            let (mut frame, mut packet) = (AudioFrame::default(), Vec::new());
            let mut voice = echo.and_then(|echo| {
                VoiceProcessor::new(echo)
                    .inspect_err(|error| tracing::warn!(%error, "sending the microphone as heard"))
                    .ok()
            });
            while control.running() {
                if let Err(error) = source.next_frame(&mut frame) {
                    tracing::warn!(%error, "microphone stopped");
                    level.reset();
                    ended(error);
                    break;
                }
                if let Some(voice) = &mut voice {
                    voice.process(&mut frame);
                }
                level.update(&frame.samples[..]);
                if !control.enabled() {
                    continue;
                }
                match encoder.encode(&frame, &mut packet) {
                    Ok(()) => deliver(&packet, &frame),
                    Err(error) => tracing::warn!(%error, "audio encoding failed"),
                }
            }
        },
    )
}

/// The largest picture a shared screen is sent at; larger screens are shrunk to fit.
pub const SCREEN_MAX: (u32, u32) = (1920, 1080);

/// Running totals of a screen share, readable from any thread.
#[derive(Debug, Default)]
pub struct ScreenCaptureStats {
    looks: AtomicU64,
    sent: AtomicU64,
    grab_us: AtomicU64,
    encode_us: AtomicU64,
}

impl ScreenCaptureStats {
    /// Pictures taken of the screen.
    pub fn looks(&self) -> u64 {
        self.looks.load(Ordering::Relaxed)
    }

    /// Pictures encoded and sent.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Time spent taking pictures, in microseconds.
    pub fn grab_us(&self) -> u64 {
        self.grab_us.load(Ordering::Relaxed)
    }

    /// Time spent converting, shrinking and encoding sent pictures, in microseconds.
    pub fn encode_us(&self) -> u64 {
        self.encode_us.load(Ordering::Relaxed)
    }
}

/// A running screen share.
pub struct ScreenShare {
    /// Stops the share when dropped.
    pub thread: CaptureThread,
    /// The newest picture sent, at the size it was taken (what a recording shows).
    pub picture: Arc<VideoSlot>,
    /// Keyframes and bitrate.
    pub control: EncoderControl,
    /// Figures of the share so far.
    pub stats: Arc<ScreenCaptureStats>,
}

/// Starts sharing `choice`: pictures are taken as fast as the content changes (up to 30 a
/// second, down to a 2 fps heartbeat while still), shrunk to fit [`SCREEN_MAX`], encoded for
/// screen content and handed to `deliver`. When the window closes or the capture fails,
/// `ended` is called with the reason and the thread ends. Returns once the source is open.
pub fn start_screen(
    choice: ScreenChoice,
    config: H264Config,
    mut deliver: impl FnMut(&EncodedVideoFrame) + Send + 'static,
    ended: impl FnOnce(ScreenError) + Send + 'static,
) -> Result<ScreenShare, CaptureError> {
    let control = EncoderControl::new(config);
    let mut encoder = control.encoder(config, Layer::Full).map_err(|e| e.to_string())?;
    let (wanted, layer_stats) = (control.keyframes.clone(), Arc::clone(&control.stats));
    let stats = Arc::new(ScreenCaptureStats::default());
    let totals = Arc::clone(&stats);
    let picture_slot = Arc::new(VideoSlot::default());
    let sent_pictures = Arc::clone(&picture_slot);
    let thread = spawn_capture(
        "screen-capture",
        true,
        move || ScreenCapture::open(&choice),
        move |mut source, control| {
            let (mut picture, mut previous) = (ScreenPicture::default(), ScreenPicture::default());
            let (mut converter, mut full, mut scaled) =
                (PixelConverter::default(), VideoFrame::default(), VideoFrame::default());
            let mut encoded = EncodedVideoFrame::default();
            let mut pace = ScreenPace::new(std::time::Instant::now());
            while control.running() {
                let looked_at = std::time::Instant::now();
                let capture_time_us = crate::clock::now_us();
                if let Err(error) = source.grab(&mut picture) {
                    tracing::info!(%error, "screen share ended");
                    ended(error);
                    return;
                }
                let grabbed = std::time::Instant::now();
                totals.looks.fetch_add(1, Ordering::Relaxed);
                add_us(&totals.grab_us, grabbed - looked_at);
                let changed = picture != previous;
                if pace.should_send(grabbed, changed, wanted.is_requested()) {
                    let format = match picture.order {
                        ChannelOrder::Bgra => PixelFormat::Bgra,
                        ChannelOrder::Rgba => PixelFormat::Rgba,
                    };
                    match converter.to_i420(format, &picture.data, (picture.width, picture.height), &mut full) {
                        Ok(()) => {
                            full.capture_time_us = capture_time_us;
                            let (width, height) = fit_within(full.width(), full.height(), SCREEN_MAX.0, SCREEN_MAX.1);
                            let frame = if (width, height) == (full.width(), full.height()) {
                                &full
                            } else {
                                shrink(&full, width, height, &mut scaled);
                                &scaled
                            };
                            let sent = encoder
                                .encode(frame, &mut encoded)
                                .inspect_err(|error| tracing::warn!(%error, "screen encoding failed"))
                                .unwrap_or(false);
                            layer_stats.count(Layer::Full, sent);
                            if sent {
                                deliver(&encoded);
                                totals.sent.fetch_add(1, Ordering::Relaxed);
                                // Swapped, not copied: the next picture is converted into
                                // the buffer given back.
                                sent_pictures.publish(&mut full);
                            }
                        }
                        Err(error) => tracing::warn!(%error, "screen picture not converted"),
                    }
                    add_us(&totals.encode_us, grabbed.elapsed());
                }
                std::mem::swap(&mut picture, &mut previous);
                // At most 30 looks a second; then wait for the screen to change (or, where the
                // system cannot tell, for the next look at the pace's rate).
                crate::clock::sleep_until(looked_at + MOVING_INTERVAL);
                let now = std::time::Instant::now();
                source.wait_for_change(looked_at + pace.next_look(now), pace.heartbeat_at(now), &|| {
                    wanted.is_requested()
                });
            }
        },
    )?;
    Ok(ScreenShare {
        thread,
        picture: picture_slot,
        control,
        stats,
    })
}

fn add_us(total: &AtomicU64, elapsed: std::time::Duration) {
    total.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::{Duration, Instant};

    /// Whether `done` becomes true within 2 s.
    fn eventually(done: impl Fn() -> bool) -> bool {
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until {
            if done() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        done()
    }

    #[test]
    fn a_camera_turned_off_is_closed_and_opened_again_when_turned_on() {
        let preview = Arc::new(VideoSlot::default());
        let (sent, ended) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let config = H264Config {
            bitrate_bps: 300_000,
            max_fps: 30,
            ..H264Config::CAMERA_720P
        };
        // A camera that stops after 30 frames from opening: only a camera closed while off
        // and opened afresh gets through two sessions of 12 frames with 20 frames' wait between.
        let (camera, _controls) = start_video(
            VideoChoice::TestPatternUnplugging { after_frames: 30 },
            VideoFormat::new(320, 180, 30),
            config,
            false,
            Arc::clone(&preview),
            || {},
            {
                let sent = Arc::clone(&sent);
                move |_, _| {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            },
            {
                let ended = Arc::clone(&ended);
                move |_| ended.store(true, Ordering::Relaxed)
            },
        )
        .expect("the test pattern starts");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(preview.generation(), 0, "nothing is captured while the camera is off");
        camera.set_enabled(true);
        assert!(
            eventually(|| sent.load(Ordering::Relaxed) >= 12),
            "on: pictures are sent"
        );
        camera.set_enabled(false);
        std::thread::sleep(Duration::from_millis(100));
        let (captured, sent_before) = (preview.generation(), sent.load(Ordering::Relaxed));
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(preview.generation(), captured, "off: the camera is not read");
        camera.set_enabled(true);
        assert!(
            eventually(|| sent.load(Ordering::Relaxed) >= sent_before + 12),
            "on again: pictures are sent"
        );
        assert!(!ended.load(Ordering::Relaxed), "the camera was opened afresh");
    }

    #[test]
    fn the_camera_thread_sends_the_layers_wanted_and_stops_one_within_a_couple_of_pictures() {
        let capture = (640, 360);
        let sent = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (_camera, control) = start_video(
            VideoChoice::TestPattern,
            VideoFormat::new(capture.0, capture.1, 30),
            H264Config::CAMERA_720P,
            true,
            Arc::new(VideoSlot::default()),
            || {},
            {
                let sent = Arc::clone(&sent);
                move |layer, frame| {
                    let size = (frame.width, frame.height);
                    sent.lock().unwrap().push((layer, size, frame.keyframe));
                }
            },
            |error| panic!("the test pattern ended: {error}"),
        )
        .expect("the test pattern starts");
        let stats = control.stats();
        assert!(eventually(|| stats.sent(Layer::Full) >= 5), "the full layer is sent");
        assert_eq!(
            (stats.encodes(Layer::Half), stats.encodes(Layer::Quarter)),
            (0, 0),
            "smaller layers encoded before anyone wanted them"
        );
        control.wanted.set(crate::video::LayerSet::ALL);
        assert!(
            eventually(|| Layer::ALL.iter().all(|&layer| stats.sent(layer) >= 10)),
            "every layer is sent once wanted: {:?}",
            Layer::ALL.map(|layer| stats.sent(layer))
        );
        control.wanted.want(Layer::Full, false);
        let (full, quarter) = (stats.encodes(Layer::Full), stats.sent(Layer::Quarter));
        assert!(
            eventually(|| stats.sent(Layer::Quarter) >= quarter + 10),
            "the quarter layer goes on"
        );
        let late = stats.encodes(Layer::Full) - full;
        assert!(
            late <= 2,
            "{late} pictures of the full layer encoded after it was unwanted"
        );
        let sent = sent.lock().unwrap();
        for layer in Layer::ALL {
            let of_layer: Vec<_> = sent.iter().filter(|(sent, ..)| *sent == layer).collect();
            assert!(
                of_layer.iter().all(|(_, size, _)| *size == layer.size(capture)),
                "{layer:?} sent at {:?}",
                of_layer.iter().map(|(_, size, _)| size).collect::<Vec<_>>()
            );
            assert!(of_layer[0].2, "{layer:?} starts with a keyframe");
        }
    }
}

//! Capture threads: a source feeding its encoder, one thread per source, stopped on drop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::thread::JoinHandle;

use crate::audio::AudioLevel;
use crate::codec::{H264Config, H264Encoder, KeyframeRequest, OpusConfig, OpusEncoder};
use crate::devices::{MicrophoneChoice, VideoChoice};
use crate::frame::{AudioFrame, EncodedVideoFrame, VideoFrame};
use crate::slot::VideoSlot;
use crate::video::VideoFormat;

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
}

/// A running capture thread; dropping it stops the thread after the frame in hand.
pub struct CaptureThread {
    control: CaptureControl,
    _thread: JoinHandle<()>,
}

impl CaptureThread {
    /// Switches delivery on or off without closing the device.
    pub fn set_enabled(&self, enabled: bool) {
        self.control.enabled.store(enabled, Ordering::Relaxed);
    }
}

impl Drop for CaptureThread {
    fn drop(&mut self) {
        self.control.stop.store(true, Ordering::Relaxed);
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
    Ok(CaptureThread {
        control,
        _thread: thread,
    })
}

/// Starts the camera (or test pattern) thread: every frame goes to `preview` (then
/// `on_preview` is called, to ask for a repaint); while enabled it is also encoded and
/// handed to `deliver`. Returns once the source is open, with the
/// flag that makes the encoder send a keyframe.
pub fn start_video(
    choice: VideoChoice,
    format: VideoFormat,
    config: H264Config,
    enabled: bool,
    preview: Arc<VideoSlot>,
    on_preview: impl Fn() + Send + 'static,
    mut deliver: impl FnMut(&EncodedVideoFrame) + Send + 'static,
) -> Result<(CaptureThread, KeyframeRequest), CaptureError> {
    let mut encoder = H264Encoder::new(config).map_err(|e| e.to_string())?;
    let keyframes = encoder.keyframe_request();
    let capture = spawn_capture(
        "video-capture",
        enabled,
        move || choice.open(format),
        move |mut source, control| {
            let (mut frame, mut encoded) = (VideoFrame::default(), EncodedVideoFrame::default());
            while control.running() {
                if let Err(error) = source.next_frame(&mut frame) {
                    tracing::warn!(%error, "camera stopped");
                    break;
                }
                if control.enabled.load(Ordering::Relaxed) {
                    match encoder.encode(&frame, &mut encoded) {
                        Ok(true) => deliver(&encoded),
                        Ok(false) => {}
                        Err(error) => tracing::warn!(%error, "encoding failed"),
                    }
                }
                preview.publish(&mut frame);
                on_preview();
            }
        },
    )?;
    Ok((capture, keyframes))
}

/// Starts the microphone (or test tone) thread: every 20 ms frame moves `level` (muted or
/// not, so a meter can show it); while enabled, the frame is encoded and the Opus packet
/// handed to `deliver` with its capture time. Returns once the source is open.
pub fn start_audio(
    choice: MicrophoneChoice,
    config: OpusConfig,
    enabled: bool,
    level: Arc<AudioLevel>,
    mut deliver: impl FnMut(&[u8], u64) + Send + 'static,
) -> Result<CaptureThread, CaptureError> {
    let mut encoder = OpusEncoder::new(config).map_err(|e| e.to_string())?;
    spawn_capture(
        "audio-capture",
        enabled,
        move || choice.open(),
        move |mut source, control| {
            let (mut frame, mut packet) = (AudioFrame::default(), Vec::new());
            while control.running() {
                if let Err(error) = source.next_frame(&mut frame) {
                    tracing::warn!(%error, "microphone stopped");
                    level.reset();
                    break;
                }
                level.update(&frame.samples[..]);
                if !control.enabled.load(Ordering::Relaxed) {
                    continue;
                }
                match encoder.encode(&frame, &mut packet) {
                    Ok(()) => deliver(&packet, frame.capture_time_us),
                    Err(error) => tracing::warn!(%error, "audio encoding failed"),
                }
            }
        },
    )
}

//! Our own devices in the meeting: opening the camera and microphone for it, and the queues
//! on which their encoded output reaches the meeting.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use videomeet_media::audio::{AudioLevels, EchoReference};
use videomeet_media::capture::{self, CaptureThread, EncoderControl};
use videomeet_media::codec::{H264Config, OpusConfig};
use videomeet_media::record::SoundTap;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::{Layer, VideoFormat};
use videomeet_media::{EncodedVideoFrame, MicrophoneChoice, VideoChoice};

use crate::peer::VideoFeed;

use super::{Device, Problem};

/// Where the capture threads hand over what they make: sound in order (up to a second of
/// it), video frames, and devices that stopped, each on a queue of its own, so that a burst
/// of video never pushes sound out and the meeting takes sound first.
#[derive(Clone)]
pub(super) struct Outbound {
    pub(super) sound: mpsc::Sender<Bytes>,
    pub(super) video: mpsc::Sender<OutFrame>,
    /// Set when a video frame found its queue full and was dropped: the viewers' decoders
    /// miss a reference, so that stream's next frame asks its encoder for a keyframe. One
    /// for each camera layer, then the screen.
    pub(super) video_dropped: Arc<[AtomicBool; 4]>,
    pub(super) devices: mpsc::Sender<DeviceEnded>,
}

/// The other ends of [`Outbound`], read by the meeting.
pub(super) struct Inbound {
    pub(super) sound: mpsc::Receiver<Bytes>,
    pub(super) video: mpsc::Receiver<OutFrame>,
    pub(super) devices: mpsc::Receiver<DeviceEnded>,
}

/// One encoded picture of ours, on its way to the others.
pub(super) struct OutFrame {
    pub(super) feed: VideoFeed,
    /// Which layer of the camera (a screen is always whole).
    pub(super) layer: Layer,
    pub(super) data: Bytes,
    /// A decoder can start here.
    pub(super) keyframe: bool,
}

/// The stream `feed` and `layer` name, as an index of [`Outbound::video_dropped`].
fn stream_index(feed: VideoFeed, layer: Layer) -> usize {
    match feed {
        VideoFeed::Camera => layer.index(),
        VideoFeed::Screen => 3,
    }
}

/// 20 ms sound packets queued at most: a second.
pub(super) const SOUND_QUEUE: usize = 50;
/// Video frames queued at most, all feeds together.
pub(super) const VIDEO_QUEUE: usize = 16;

impl Outbound {
    pub(super) fn new() -> (Self, Inbound) {
        let (sound, sound_rx) = mpsc::channel(SOUND_QUEUE);
        let (video, video_rx) = mpsc::channel(VIDEO_QUEUE);
        let (devices, devices_rx) = mpsc::channel(16);
        let outbound = Self {
            sound,
            video,
            video_dropped: Arc::default(),
            devices,
        };
        let inbound = Inbound {
            sound: sound_rx,
            video: video_rx,
            devices: devices_rx,
        };
        (outbound, inbound)
    }

    /// Hands over one encoded video frame of `feed`'s `layer`, from a capture thread (never
    /// waits).
    pub(super) fn video_frame(&self, feed: VideoFeed, layer: Layer, frame: &EncodedVideoFrame) {
        let frame = OutFrame {
            feed,
            layer,
            data: Bytes::copy_from_slice(&frame.data),
            keyframe: frame.keyframe,
        };
        if self.video.try_send(frame).is_err() {
            self.video_dropped[stream_index(feed, layer)].store(true, Ordering::Relaxed);
        }
    }

    /// Whether a frame of `feed`'s `layer` was dropped since the last call.
    pub(super) fn take_dropped(&self, feed: VideoFeed, layer: Layer) -> bool {
        self.video_dropped[stream_index(feed, layer)].swap(false, Ordering::Relaxed)
    }
}

/// A device that stopped on its own.
pub(super) enum DeviceEnded {
    /// Screen share number `share` ended on its own (window closed, capture failed).
    Screen { share: u64, reason: String },
    /// Camera number `camera` stopped on its own (unplugged, taken by another program).
    Camera { camera: u64, reason: String },
    /// Microphone number `microphone` stopped on its own (unplugged).
    Microphone { microphone: u64, reason: String },
    /// The speaker stopped on its own (unplugged); the others are still heard in the mix.
    Speaker { reason: String },
}

/// How long opening a device may take before we give up on it.
pub(super) const DEVICE_TIMEOUT: Duration = Duration::from_secs(5);

/// What our capture threads need, kept so a device can be swapped during the meeting.
pub(super) struct CaptureSetup {
    pub(super) format: VideoFormat,
    pub(super) h264: H264Config,
    /// Our own picture, for the self view.
    pub(super) slot: Arc<VideoSlot>,
    pub(super) levels: Arc<AudioLevels>,
    /// What the speaker played, for the microphone's echo canceller.
    pub(super) echo: EchoReference,
    /// Whether a real microphone's sound goes through the echo canceller.
    pub(super) voice_processing: bool,
    pub(super) outbound: Outbound,
    /// Our microphone's sound, as sent, for a recording while one runs.
    pub(super) microphone_tap: SoundTap,
}

impl CaptureSetup {
    /// Opens `camera` (off the runtime: devices can take a moment) and starts encoding for
    /// the meeting, or says plainly why it could not.
    /// `number` tells its end from an earlier camera's.
    pub(super) async fn open_camera(
        &self,
        camera: VideoChoice,
        number: u64,
        enabled: bool,
    ) -> Result<(CaptureThread, EncoderControl), Problem> {
        let (format, h264, slot, frames) = (self.format, self.h264, Arc::clone(&self.slot), self.outbound.clone());
        let ended = self.outbound.devices.clone();
        let label = camera.label().to_owned();
        let started = tokio::task::spawn_blocking(move || {
            capture::start_video(
                camera,
                format,
                h264,
                enabled,
                slot,
                // Our own picture does not wake the screen: it is drawn whenever the screen
                // is (with the others' video, which does wake it), so it costs no extra frames.
                || {},
                // Every layer encoded goes to the meeting, which sends each where it is wanted.
                move |layer, frame| frames.video_frame(VideoFeed::Camera, layer, frame),
                move |error| {
                    // From the capture thread, never the runtime: waiting here is fine.
                    let reason = error.to_string();
                    let _ = ended.blocking_send(DeviceEnded::Camera { camera: number, reason });
                },
            )
        })
        .await;
        opened(Device::Camera, label, started)
    }

    /// Opens `microphone` and starts encoding for the meeting. `number` tells its end from an
    /// earlier microphone's.
    pub(super) async fn open_microphone(
        &self,
        microphone: MicrophoneChoice,
        number: u64,
        enabled: bool,
    ) -> Result<CaptureThread, Problem> {
        let (level, echo, tx, ended) = (
            Arc::clone(&self.levels.local),
            self.voice_processing.then(|| self.echo.clone()),
            self.outbound.sound.clone(),
            self.outbound.devices.clone(),
        );
        let tap = self.microphone_tap.clone();
        let label = microphone.label();
        let started = tokio::task::spawn_blocking(move || {
            capture::start_audio(
                microphone,
                OpusConfig::default(),
                enabled,
                level,
                echo,
                move |packet, sound| {
                    tap.send(sound);
                    // Full only when the meeting is a second behind; then this packet is lost
                    // and the listeners' decoders conceal it.
                    let _ = tx.try_send(Bytes::copy_from_slice(packet));
                },
                move |error| {
                    // From the capture thread, never the runtime: waiting here is fine.
                    let reason = error.to_string();
                    let _ = ended.blocking_send(DeviceEnded::Microphone {
                        microphone: number,
                        reason,
                    });
                },
            )
        })
        .await;
        opened(Device::Microphone, label, started)
    }
}

/// What came of opening `device` (called `name`) on a blocking thread: it, or the problem
/// that says why not.
pub(super) fn opened<T, E: std::fmt::Display>(
    device: Device,
    name: String,
    started: Result<Result<T, E>, tokio::task::JoinError>,
) -> Result<T, Problem> {
    let reason = match started {
        Ok(Ok(opened)) => return Ok(opened),
        Ok(Err(error)) => error.to_string(),
        Err(error) => error.to_string(),
    };
    Err(Problem::DeviceFailed { device, name, reason })
}

/// A bitrate that looks good for the picture size on a LAN.
pub fn bitrate_for(format: VideoFormat) -> u32 {
    let pixels = u64::from(format.width) * u64::from(format.height) * u64::from(format.fps.max(1));
    // About 0.1 bit per pixel, between 300 kbps and 4 Mbps.
    (pixels / 10).clamp(300_000, 4_000_000) as u32
}

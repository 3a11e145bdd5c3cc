//! H.264 through openh264: constrained baseline, real-time rate control, one thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use openh264::OpenH264API;
use openh264::decoder::{DecodedYUV, Decoder, DecoderConfig};
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Profile, RateControlMode,
    SpsPpsStrategy, UsageType,
};
use openh264::formats::YUVSource;

use super::CodecError;
use crate::frame::{EncodedVideoFrame, VideoFrame};

const CODEC: &str = "H.264";

/// What the encoder is tuned for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VideoContent {
    /// Camera pictures: natural motion.
    Camera,
    /// Screen content: sharp text, long static stretches.
    Screen,
}

/// Encoder settings; bitrate and frame rate can change while running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct H264Config {
    /// Target bitrate in bits per second.
    pub bitrate_bps: u32,
    /// Highest frame rate the rate control plans for.
    pub max_fps: u32,
    /// Camera or screen tuning.
    pub content: VideoContent,
}

impl H264Config {
    /// Defaults that look good for a 720p30 camera on a LAN.
    pub const CAMERA_720P: Self = Self {
        bitrate_bps: 2_500_000,
        max_fps: 30,
        content: VideoContent::Camera,
    };

    /// A shared screen up to 1920x1080: enough bits for sharp text while it scrolls; a still
    /// screen costs almost nothing, since unchanged frames encode to a few bytes.
    pub const SCREEN: Self = Self {
        bitrate_bps: 2_500_000,
        max_fps: 30,
        content: VideoContent::Screen,
    };
}

/// A flag any thread can raise to ask the encoder for a keyframe on its next frame.
///
/// The network side raises it when a peer sends a picture-loss indication; the encoder
/// thread clears it when it encodes the keyframe. Cloning shares the flag.
#[derive(Clone, Debug, Default)]
pub struct KeyframeRequest(Arc<AtomicBool>);

impl KeyframeRequest {
    /// Asks for a keyframe.
    pub fn request(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// True while a keyframe is asked for and not yet encoded.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn take(&self) -> bool {
        self.0.swap(false, Ordering::Relaxed)
    }
}

/// The bitrate an encoder aims at, settable from any thread: the network side lowers it
/// when the path to a viewer is congested and raises it again when the path clears. The
/// encoder takes a new value at its next frame. Cloning shares it.
#[derive(Clone, Debug)]
pub struct BitrateTarget(Arc<AtomicU32>);

impl BitrateTarget {
    /// A target of `bitrate_bps`, for an encoder made later with [`H264Encoder::with_controls`].
    pub fn new(bitrate_bps: u32) -> Self {
        Self(Arc::new(AtomicU32::new(bitrate_bps)))
    }

    /// Aims at `bitrate_bps` from the next frame on.
    pub fn set(&self, bitrate_bps: u32) {
        self.0.store(bitrate_bps, Ordering::Relaxed);
    }

    /// The bitrate aimed at, in bits per second.
    pub fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Encodes I420 frames to H.264 constrained baseline (what every WebRTC peer decodes).
pub struct H264Encoder {
    /// Built for the current picture size on the first frame of that size.
    encoder: Option<(Encoder, (u32, u32))>,
    config: H264Config,
    keyframe_request: KeyframeRequest,
    bitrate_target: BitrateTarget,
    /// For a file: every picture encoded, a keyframe every this many (seeking starts
    /// there). `None` for a call.
    file_keyframes: Option<u32>,
}

impl H264Encoder {
    /// An encoder for a file rather than a call: no picture is skipped to hold the bitrate
    /// (a file has no queue to keep short), and every `keyframe_interval`th picture is a
    /// keyframe, where a player can seek to.
    pub fn for_file(config: H264Config, keyframe_interval: u32) -> Result<Self, CodecError> {
        let file_keyframes = Some(keyframe_interval.max(1));
        build_encoder(config, file_keyframes)?;
        Ok(Self {
            encoder: None,
            config,
            keyframe_request: KeyframeRequest::default(),
            bitrate_target: BitrateTarget::new(config.bitrate_bps),
            file_keyframes,
        })
    }

    /// An encoder with `config`; the picture size comes from the first frame.
    pub fn new(config: H264Config) -> Result<Self, CodecError> {
        Self::with_controls(
            config,
            KeyframeRequest::default(),
            BitrateTarget::new(config.bitrate_bps),
        )
    }

    /// An encoder that follows controls made before it (and kept after it): `keyframes` and
    /// `bitrate`, whose current value replaces `config`'s. Its first picture is a keyframe.
    pub fn with_controls(
        config: H264Config,
        keyframes: KeyframeRequest,
        bitrate: BitrateTarget,
    ) -> Result<Self, CodecError> {
        let config = H264Config {
            bitrate_bps: bitrate.get(),
            ..config
        };
        // Build one now so that a broken codec library shows up here, not mid-call.
        build_encoder(config, None)?;
        Ok(Self {
            encoder: None,
            config,
            keyframe_request: keyframes,
            bitrate_target: bitrate,
            file_keyframes: None,
        })
    }

    /// The shared target the encoder follows from its next frame on.
    pub fn bitrate_target(&self) -> BitrateTarget {
        self.bitrate_target.clone()
    }

    /// The shared flag that makes the next frame a keyframe.
    pub fn keyframe_request(&self) -> KeyframeRequest {
        self.keyframe_request.clone()
    }

    /// Current settings.
    pub fn config(&self) -> H264Config {
        self.config
    }

    /// Changes the target bitrate from the next frame on (the shared [`BitrateTarget`] too).
    pub fn set_bitrate(&mut self, bitrate_bps: u32) -> Result<(), CodecError> {
        self.config.bitrate_bps = bitrate_bps;
        self.bitrate_target.set(bitrate_bps);
        match &mut self.encoder {
            Some((encoder, _)) => native::set_bitrate(encoder, bitrate_bps),
            None => Ok(()),
        }
    }

    /// Changes the frame rate the rate control plans for.
    pub fn set_max_fps(&mut self, max_fps: u32) -> Result<(), CodecError> {
        self.config.max_fps = max_fps.max(1);
        match &mut self.encoder {
            Some((encoder, _)) => native::set_frame_rate(encoder, self.config.max_fps as f32),
            None => Ok(()),
        }
    }

    /// Encodes `frame` into `out` (its buffer reused). Returns false when the encoder
    /// produced nothing for this frame.
    pub fn encode(&mut self, frame: &VideoFrame, out: &mut EncodedVideoFrame) -> Result<bool, CodecError> {
        let wanted = self.bitrate_target.get();
        if wanted != self.config.bitrate_bps
            && let Err(error) = self.set_bitrate(wanted)
        {
            // Never seen since the settings are applied in a valid order, but a refused
            // rate must not cost pictures: a fresh encoder is built at it (with a keyframe).
            tracing::warn!(%error, bitrate_bps = wanted, "encoder rebuilt for a new bitrate");
            self.encoder = None;
        }
        let size = (frame.width(), frame.height());
        let encoder = match &mut self.encoder {
            Some((encoder, built_for)) if *built_for == size => encoder,
            slot => {
                // A new size starts a new stream (with a keyframe) at the current settings.
                &mut slot.insert((build_encoder(self.config, self.file_keyframes)?, size)).0
            }
        };
        if self.keyframe_request.take() {
            encoder.force_intra_frame();
        }
        let timestamp = openh264::Timestamp::from_millis(frame.capture_time_us / 1000);
        let bitstream = encoder
            .encode_at(&I420View(frame), timestamp)
            .map_err(|e| CodecError::Encode {
                codec: CODEC,
                reason: e.to_string(),
            })?;
        out.data.clear();
        let frame_type = bitstream.frame_type();
        if matches!(frame_type, FrameType::Skip | FrameType::Invalid) {
            return Ok(false);
        }
        bitstream.write_vec(&mut out.data);
        out.keyframe = frame_type == FrameType::IDR;
        out.capture_time_us = frame.capture_time_us;
        out.width = frame.width();
        out.height = frame.height();
        Ok(!out.data.is_empty())
    }
}

fn build_encoder(config: H264Config, file_keyframes: Option<u32>) -> Result<Encoder, CodecError> {
    let usage = match config.content {
        VideoContent::Camera => UsageType::CameraVideoRealTime,
        VideoContent::Screen => UsageType::ScreenContentRealTime,
    };
    let camera = config.content == VideoContent::Camera;
    let encoder_config = EncoderConfig::new()
        .usage_type(usage)
        // openh264 supports these for camera content only.
        .adaptive_quantization(camera)
        .background_detection(camera)
        .profile(Profile::Baseline)
        .rate_control_mode(RateControlMode::Bitrate)
        .bitrate(BitRate::from_bps(config.bitrate_bps))
        .max_frame_rate(FrameRate::from_hz(config.max_fps.max(1) as f32))
        .complexity(Complexity::Low)
        // Real rate control: when a frame would overshoot the budget the encoder skips it
        // (lower frame rate) rather than letting a queue, and so delay, build up.
        .skip_frames(file_keyframes.is_none())
        // No periodic keyframes in a call: receivers ask for one when they need it.
        .intra_frame_period(IntraFramePeriod::from_num_frames(file_keyframes.unwrap_or(0)))
        // Parameter sets come with every IDR, so a late joiner can start from any of them.
        .sps_pps_strategy(SpsPpsStrategy::ConstantId)
        .num_threads(1);
    Encoder::with_api_config(OpenH264API::from_source(), encoder_config).map_err(|e| CodecError::Setup {
        codec: CODEC,
        reason: e.to_string(),
    })
}

/// Lets openh264 read a [`VideoFrame`] in place.
struct I420View<'a>(&'a VideoFrame);

impl YUVSource for I420View<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width() as usize, self.0.height() as usize)
    }

    fn strides(&self) -> (usize, usize, usize) {
        (self.0.y_stride(), self.0.uv_stride(), self.0.uv_stride())
    }

    fn y(&self) -> &[u8] {
        self.0.planes().0
    }

    fn u(&self) -> &[u8] {
        self.0.planes().1
    }

    fn v(&self) -> &[u8] {
        self.0.planes().2
    }
}

/// Decodes H.264 (Annex B) into I420 frames.
pub struct H264Decoder {
    decoder: Decoder,
}

impl H264Decoder {
    /// A decoder waiting for its first keyframe.
    pub fn new() -> Result<Self, CodecError> {
        let decoder = Decoder::with_api_config(OpenH264API::from_source(), DecoderConfig::new()).map_err(|e| {
            CodecError::Setup {
                codec: CODEC,
                reason: e.to_string(),
            }
        })?;
        Ok(Self { decoder })
    }

    /// Decodes one access unit into `out`. Returns false when it completed no picture
    /// (parameter sets only, or waiting for a keyframe).
    pub fn decode(&mut self, data: &[u8], out: &mut VideoFrame) -> Result<bool, CodecError> {
        if !has_start_code(data) {
            return Err(CodecError::Malformed {
                codec: CODEC,
                reason: "no NAL unit start code".into(),
            });
        }
        let decoded = self.decoder.decode(data).map_err(|e| CodecError::Malformed {
            codec: CODEC,
            reason: e.to_string(),
        })?;
        let Some(picture) = decoded else {
            return Ok(false);
        };
        copy_picture(&picture, out);
        Ok(true)
    }
}

fn copy_picture(picture: &DecodedYUV<'_>, out: &mut VideoFrame) {
    let (width, height) = picture.dimensions();
    let (y_stride, uv_stride, _) = picture.strides();
    out.copy_from_planes(
        (width as u32, height as u32),
        (picture.y(), picture.u(), picture.v()),
        (y_stride, uv_stride),
    );
}

/// True when `data` holds at least one Annex B start code (00 00 01).
fn has_start_code(data: &[u8]) -> bool {
    data.windows(3).any(|w| w == [0, 0, 1])
}

/// The two encoder options the safe wrapper does not expose.
#[allow(unsafe_code)]
mod native {
    use openh264::encoder::Encoder;
    use openh264_sys2::{
        ENCODER_OPTION, ENCODER_OPTION_BITRATE, ENCODER_OPTION_FRAME_RATE, ENCODER_OPTION_MAX_BITRATE, SBitrateInfo,
        SPATIAL_LAYER_0, SPATIAL_LAYER_ALL,
    };

    use super::{CODEC, CodecError};

    /// Sets the target and the ceiling of our one spatial layer to `bitrate_bps`.
    ///
    /// openh264 refuses any setting that leaves the layer's ceiling below its target, and
    /// the ceiling of `SPATIAL_LAYER_ALL` is not the layer's: a target raised above the
    /// bitrate the encoder was built with was refused, and from then on every later change
    /// too, so a share whose encoder started while the estimate was low never sent again.
    /// So the layer's own ceiling is set, above the target while raising and after it while
    /// lowering.
    pub fn set_bitrate(encoder: &mut Encoder, bitrate_bps: u32) -> Result<(), CodecError> {
        let bitrate = i32::try_from(bitrate_bps).unwrap_or(i32::MAX);
        let mut current = SBitrateInfo {
            iLayer: SPATIAL_LAYER_0,
            iBitrate: 0,
        };
        get_option(encoder, ENCODER_OPTION_BITRATE, (&raw mut current).cast())?;
        let (target, ceiling) = (
            (ENCODER_OPTION_BITRATE, SPATIAL_LAYER_ALL),
            (ENCODER_OPTION_MAX_BITRATE, SPATIAL_LAYER_0),
        );
        let order = if bitrate > current.iBitrate {
            [ceiling, target]
        } else {
            [target, ceiling]
        };
        for (option, layer) in order {
            let mut info = SBitrateInfo {
                iLayer: layer,
                iBitrate: bitrate,
            };
            set_option(encoder, option, (&raw mut info).cast())?;
        }
        Ok(())
    }

    fn get_option(
        encoder: &mut Encoder,
        option: ENCODER_OPTION,
        value: *mut std::ffi::c_void,
    ) -> Result<(), CodecError> {
        // SAFETY: as in `set_option`; openh264 writes the current value into `value`.
        let status = unsafe { encoder.raw_api().get_option(option, value) };
        checked(status, "reading", option)
    }

    pub fn set_frame_rate(encoder: &mut Encoder, fps: f32) -> Result<(), CodecError> {
        let mut fps = fps;
        set_option(encoder, ENCODER_OPTION_FRAME_RATE, (&raw mut fps).cast())
    }

    fn set_option(
        encoder: &mut Encoder,
        option: ENCODER_OPTION,
        value: *mut std::ffi::c_void,
    ) -> Result<(), CodecError> {
        // SAFETY: the encoder is initialised (created by `with_api_config`), `value` points to
        // the type openh264 documents for `option` (SBitrateInfo or float) and lives for the
        // duration of the call, which copies it.
        let status = unsafe { encoder.raw_api().set_option(option, value) };
        checked(status, "setting", option)
    }

    /// openh264's status for `doing` (reading, setting) `option`, as a result.
    fn checked(status: i32, doing: &str, option: ENCODER_OPTION) -> Result<(), CodecError> {
        if status == 0 {
            Ok(())
        } else {
            Err(CodecError::Encode {
                codec: CODEC,
                reason: format!("{doing} option {option} failed with status {status}"),
            })
        }
    }
}

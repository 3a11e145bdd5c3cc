//! Real cameras through nokhwa (V4L2, Media Foundation, AVFoundation).

use std::borrow::Cow;

use nokhwa::NokhwaError;
use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
};

use super::convert::{PixelConverter, PixelFormat};
use super::{VideoError, VideoFormat, VideoSource};
use crate::clock;
use crate::frame::VideoFrame;

/// A connected camera as the system lists it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CameraInfo {
    /// Identifier to open it with; stable while the camera stays plugged in the same port.
    pub id: String,
    /// Name to show people.
    pub name: String,
}

/// Lists connected cameras. A system without cameras gives an empty list, not an error.
pub fn list_cameras() -> Result<Vec<CameraInfo>, VideoError> {
    #[cfg(target_os = "macos")]
    nokhwa::nokhwa_initialize(|_granted| {});
    match nokhwa::query(ApiBackend::Auto) {
        Ok(cameras) => Ok(cameras
            .into_iter()
            .map(|info| CameraInfo {
                id: info.index().as_string(),
                name: info.human_name(),
            })
            .collect()),
        // Linux without /dev/video* and friends report "nothing to query" as an error.
        Err(NokhwaError::GetPropertyError { .. } | NokhwaError::StructureError { .. }) => Ok(Vec::new()),
        Err(error) => Err(VideoError::Backend(error.to_string())),
    }
}

/// An open camera delivering I420 pictures.
pub struct Camera {
    camera: nokhwa::Camera,
    name: String,
    format: VideoFormat,
    pixel_format: PixelFormat,
    converter: PixelConverter,
}

impl Camera {
    /// Opens the camera `id` as close to `wanted` as it supports.
    pub fn open(id: &str, wanted: VideoFormat) -> Result<Self, VideoError> {
        let index = id
            .parse::<u32>()
            .map_or_else(|_| CameraIndex::String(id.to_owned()), CameraIndex::Index);
        let request = RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(CameraFormat::new(
            Resolution::new(wanted.width, wanted.height),
            FrameFormat::MJPEG,
            wanted.fps,
        )));
        let mut camera = nokhwa::Camera::new(index, request).map_err(|e| open_error(id, e))?;
        let name = camera.info().human_name();
        camera.open_stream().map_err(|e| open_error(&name, e))?;
        let actual = camera.camera_format();
        let pixel_format = match actual.format() {
            FrameFormat::MJPEG => PixelFormat::Mjpeg,
            FrameFormat::YUYV => PixelFormat::Yuyv,
            FrameFormat::NV12 => PixelFormat::Nv12,
            FrameFormat::RAWRGB => PixelFormat::Rgb24,
            FrameFormat::RAWBGR => PixelFormat::Bgr24,
            FrameFormat::GRAY => PixelFormat::Gray,
        };
        Ok(Self {
            camera,
            name,
            format: VideoFormat::new(actual.width(), actual.height(), actual.frame_rate()),
            pixel_format,
            converter: PixelConverter::default(),
        })
    }
}

impl VideoSource for Camera {
    fn name(&self) -> &str {
        &self.name
    }

    fn format(&self) -> VideoFormat {
        self.format
    }

    fn next_frame(&mut self, frame: &mut VideoFrame) -> Result<(), VideoError> {
        let data: Cow<'_, [u8]> = self
            .camera
            .frame_raw()
            .map_err(|_| VideoError::Disconnected(self.name.clone()))?;
        let capture_time_us = clock::now_us();
        let size = (self.format.width, self.format.height);
        self.converter.to_i420(self.pixel_format, &data, size, frame)?;
        frame.capture_time_us = capture_time_us;
        Ok(())
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        if let Err(error) = self.camera.stop_stream() {
            tracing::debug!(camera = %self.name, %error, "stopping the camera stream failed");
        }
    }
}

/// Sorts backend errors into the cases a person can act on.
fn open_error(name: &str, error: NokhwaError) -> VideoError {
    let text = error.to_string();
    let lower = text.to_lowercase();
    if lower.contains("busy") {
        VideoError::Busy(name.to_owned())
    } else if lower.contains("permission") || lower.contains("denied") || lower.contains("not authorized") {
        VideoError::PermissionDenied(name.to_owned())
    } else if lower.contains("no such") || lower.contains("not found") || lower.contains("out of range") {
        VideoError::NotFound(name.to_owned())
    } else {
        VideoError::Backend(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_cameras_never_fails_for_lack_of_cameras() {
        // On machines without cameras this is the empty list; with cameras, named entries.
        let cameras = list_cameras().expect("camera listing");
        assert!(cameras.iter().all(|camera| !camera.id.is_empty()));
    }

    #[test]
    fn opening_a_missing_camera_is_a_typed_error() {
        let error = Camera::open("4242", VideoFormat::P360).err().expect("no camera 4242");
        assert!(
            matches!(error, VideoError::NotFound(_) | VideoError::Backend(_)),
            "unexpected: {error}"
        );
        assert!(!error.to_string().is_empty());
    }
}

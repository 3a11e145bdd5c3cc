//! Video sources: real cameras and the synthetic test pattern, behind one trait.

mod camera;
pub mod convert;
pub mod layer;
pub mod scale;
pub mod size_ladder;
pub mod stamp;
mod test_pattern;

pub use camera::{Camera, CameraInfo, list_cameras};
pub use convert::{ConvertError, PixelConverter, PixelFormat};
pub use layer::{Layer, LayerSet, WantedLayers};
pub use stamp::{FoundStamp, Stamp, find_stamps, read_stamp};
pub use test_pattern::TestPattern;

use crate::frame::VideoFrame;

/// Picture size and rate a source is asked for or delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VideoFormat {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
}

impl VideoFormat {
    /// 640x360 at 30 fps.
    pub const P360: Self = Self::new(640, 360, 30);
    /// 1280x720 at 30 fps.
    pub const P720: Self = Self::new(1280, 720, 30);
    /// 1920x1080 at 30 fps.
    pub const P1080: Self = Self::new(1920, 1080, 30);

    /// A format from its parts.
    pub const fn new(width: u32, height: u32, fps: u32) -> Self {
        Self { width, height, fps }
    }
}

impl std::fmt::Display for VideoFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{} at {} fps", self.width, self.height, self.fps)
    }
}

/// Something that delivers I420 pictures at a steady rate.
///
/// Sources are opened on the thread that reads them (camera handles are not `Send` on
/// every platform), and [`VideoSource::next_frame`] blocks until the next picture is due.
pub trait VideoSource {
    /// A name to show people.
    fn name(&self) -> &str;
    /// What the source actually delivers (may differ from what was asked for).
    fn format(&self) -> VideoFormat;
    /// Waits for the next picture and writes it, with its capture time, into `frame`.
    fn next_frame(&mut self, frame: &mut VideoFrame) -> Result<(), VideoError>;
}

/// Why a video source could not be opened or read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum VideoError {
    /// No camera with this id is connected.
    #[error("the camera \"{0}\" was not found; it may have been unplugged")]
    NotFound(String),
    /// Another program holds the camera.
    #[error("the camera \"{0}\" is in use by another program")]
    Busy(String),
    /// The camera stopped delivering pictures.
    #[error("the camera \"{0}\" stopped sending pictures; it may have been unplugged")]
    Disconnected(String),
    /// The operating system refused access.
    #[error("access to the camera \"{0}\" was denied; check the system's privacy settings")]
    PermissionDenied(String),
    /// The camera only offers pixel formats we cannot read.
    #[error("the camera \"{name}\" sends {format} pictures, which cannot be read")]
    UnsupportedFormat {
        /// Camera name.
        name: String,
        /// The format it offered.
        format: String,
    },
    /// One picture was damaged; the next one may be fine.
    #[error("a camera picture could not be read: {0}")]
    BadFrame(#[from] ConvertError),
    /// Anything else the camera backend reported.
    #[error("camera error: {0}")]
    Backend(String),
}

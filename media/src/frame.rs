//! Frame types passed between capture, codecs, network and display.

/// Audio is carried at one rate everywhere inside the program.
pub const AUDIO_SAMPLE_RATE_HZ: u32 = 48_000;
/// Samples in one 20 ms mono audio frame at [`AUDIO_SAMPLE_RATE_HZ`].
pub const AUDIO_FRAME_SAMPLES: usize = 960;
/// Duration of one audio frame.
pub const AUDIO_FRAME_DURATION_US: u64 = 20_000;

/// A planar I420 picture (Y full size, U and V half size in both directions).
///
/// The planes are reused: [`VideoFrame::resize`] only allocates when the picture grows, so a
/// capture or decode loop that keeps one frame around allocates nothing per frame.
///
/// ```text
///  width
/// +-----------+
/// |     Y     | height        y_stride >= width
/// +-----+-----+
/// |  U  |  V  | height/2      uv_stride >= width/2 (rounded up)
/// +-----+-----+
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct VideoFrame {
    width: u32,
    height: u32,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
    /// Capture time in microseconds (see [`crate::clock::now_us`]).
    pub capture_time_us: u64,
}

impl std::fmt::Debug for VideoFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoFrame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("capture_time_us", &self.capture_time_us)
            .finish_non_exhaustive()
    }
}

impl VideoFrame {
    /// A black frame of the given size. Odd sizes are rounded up to even.
    pub fn new(width: u32, height: u32) -> Self {
        let mut frame = Self::default();
        frame.resize(width, height);
        frame
    }

    /// Makes the frame `width` x `height` (rounded up to even), reusing the planes' memory.
    ///
    /// The content is unspecified afterwards; callers overwrite every plane.
    pub fn resize(&mut self, width: u32, height: u32) {
        let width = width.max(2).next_multiple_of(2);
        let height = height.max(2).next_multiple_of(2);
        if (width, height) == (self.width, self.height) {
            return;
        }
        self.width = width;
        self.height = height;
        let luma = (width * height) as usize;
        self.y.resize(luma, 16);
        self.u.resize(luma / 4, 128);
        self.v.resize(luma / 4, 128);
    }

    /// Width in pixels (even).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels (even).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes per row of the Y plane.
    pub fn y_stride(&self) -> usize {
        self.width as usize
    }

    /// Bytes per row of the U and V planes.
    pub fn uv_stride(&self) -> usize {
        self.width as usize / 2
    }

    /// The three planes, read-only.
    pub fn planes(&self) -> (&[u8], &[u8], &[u8]) {
        (&self.y, &self.u, &self.v)
    }

    /// The three planes, writable.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        (&mut self.y, &mut self.u, &mut self.v)
    }

    /// The colour at (`x`, `y`) as red, green, blue (BT.601 limited range, as decoded
    /// H.264 without colour information is shown), for checking pictures.
    pub fn rgb_at(&self, x: u32, y: u32) -> (u8, u8, u8) {
        let (luma, u, v) = self.planes();
        let (x, y) = (
            x.min(self.width.saturating_sub(1)) as usize,
            y.min(self.height.saturating_sub(1)) as usize,
        );
        let c = f32::from(luma[y * self.y_stride() + x]) - 16.0;
        let chroma = (y / 2) * self.uv_stride() + x / 2;
        let (d, e) = (f32::from(u[chroma]) - 128.0, f32::from(v[chroma]) - 128.0);
        let clamp = |value: f32| value.round().clamp(0.0, 255.0) as u8;
        (
            clamp(1.164 * c + 1.596 * e),
            clamp(1.164 * c - 0.392 * d - 0.813 * e),
            clamp(1.164 * c + 2.017 * d),
        )
    }

    /// Copies planes with arbitrary strides into this frame (resizing it first).
    pub fn copy_from_planes(
        &mut self,
        (width, height): (u32, u32),
        (y, u, v): (&[u8], &[u8], &[u8]),
        (y_stride, uv_stride): (usize, usize),
    ) {
        self.resize(width, height);
        copy_plane(y, y_stride, &mut self.y, self.width as usize);
        let half = self.width as usize / 2;
        copy_plane(u, uv_stride, &mut self.u, half);
        copy_plane(v, uv_stride, &mut self.v, half);
    }
}

/// Row-by-row copy from a strided plane into a packed one; short sources leave rows untouched.
fn copy_plane(src: &[u8], src_stride: usize, dst: &mut [u8], width: usize) {
    for (dst_row, src_row) in dst.chunks_exact_mut(width).zip(src.chunks(src_stride)) {
        let n = width.min(src_row.len());
        dst_row[..n].copy_from_slice(&src_row[..n]);
    }
}

/// One encoded H.264 access unit in Annex B form (start codes between NAL units).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedVideoFrame {
    /// The NAL units, each preceded by a start code.
    pub data: Vec<u8>,
    /// Capture time of the source frame in microseconds.
    pub capture_time_us: u64,
    /// True for an IDR frame: a decoder can start here.
    pub keyframe: bool,
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
}

/// 20 ms of mono audio at 48 kHz, samples in -1.0..=1.0.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioFrame {
    /// The samples; always exactly [`AUDIO_FRAME_SAMPLES`] long.
    pub samples: Box<[f32; AUDIO_FRAME_SAMPLES]>,
    /// Capture time of the first sample in microseconds.
    pub capture_time_us: u64,
}

impl Default for AudioFrame {
    fn default() -> Self {
        Self {
            samples: Box::new([0.0; AUDIO_FRAME_SAMPLES]),
            capture_time_us: 0,
        }
    }
}

impl AudioFrame {
    /// Root mean square level, 0.0 for silence, about 0.707 for a full-scale sine.
    pub fn rms(&self) -> f32 {
        let sum: f32 = self.samples.iter().map(|s| s * s).sum();
        (sum / AUDIO_FRAME_SAMPLES as f32).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_rounds_up_to_even_and_reuses_memory() {
        let mut frame = VideoFrame::new(641, 479);
        assert_eq!((frame.width(), frame.height()), (642, 480));
        let (y, u, v) = frame.planes();
        assert_eq!((y.len(), u.len(), v.len()), (642 * 480, 321 * 240, 321 * 240));
        let y_ptr = frame.planes().0.as_ptr();
        frame.resize(320, 240);
        frame.resize(642, 480);
        assert_eq!(
            frame.planes().0.as_ptr(),
            y_ptr,
            "shrinking and growing back reallocated"
        );
    }

    #[test]
    fn copy_from_strided_planes_drops_padding() {
        let y: Vec<u8> = (0..4 * 8).map(|i| i as u8).collect(); // 4 wide, stride 8, 4 rows
        let uv = vec![7u8; 2 * 4]; // 2 wide, stride 4, 2 rows
        let mut frame = VideoFrame::default();
        frame.copy_from_planes((4, 4), (&y, &uv, &uv), (8, 4));
        assert_eq!(&frame.planes().0[..8], &[0, 1, 2, 3, 8, 9, 10, 11]);
        assert!(frame.planes().1.iter().all(|&b| b == 7));
    }
}

//! The test pattern camera: a moving picture with a readable stamp, paced like a camera.

use std::time::{Duration, Instant};

use super::stamp::{Stamp, area_px, draw_stamp};
use super::{VideoError, VideoFormat, VideoSource};
use crate::clock;
use crate::frame::VideoFrame;

/// Horizontal period of the background in luma pixels; the picture scrolls through it.
const PERIOD_PX: usize = 256;
/// How far the background scrolls per frame.
const SCROLL_PX_PER_FRAME: usize = 4;

/// A synthetic camera: scrolling colour background, a bouncing box, and a [`Stamp`] with
/// the frame counter and capture time in every frame.
///
/// Each frame is assembled from row copies of a background rendered once, so a 720p30
/// pattern costs well under a millisecond per frame.
pub struct TestPattern {
    format: VideoFormat,
    name: String,
    background: VideoFrame,
    started: Instant,
    frame_interval: Duration,
    next_index: u64,
    counter: u32,
    /// Frames after which the pattern acts unplugged, if it does.
    unplug_after: Option<u32>,
}

impl TestPattern {
    /// Display name of the synthetic camera.
    pub const NAME: &'static str = "Test pattern";

    /// A test pattern of the given size and rate (size rounded up to even, fps at least 1).
    pub fn new(format: VideoFormat) -> Self {
        let format = VideoFormat {
            width: format.width.max(2).next_multiple_of(2),
            height: format.height.max(2).next_multiple_of(2),
            fps: format.fps.max(1),
        };
        Self {
            format,
            name: Self::NAME.to_owned(),
            background: render_background(format.width as usize + PERIOD_PX, format.height),
            started: Instant::now(),
            frame_interval: Duration::from_secs(1) / format.fps,
            next_index: 0,
            counter: 0,
            unplug_after: None,
        }
    }

    /// The same pattern that stops after `frames` frames with [`VideoError::Disconnected`],
    /// as a camera does when its cable is pulled.
    pub fn unplugging_after(mut self, frames: u32) -> Self {
        self.unplug_after = Some(frames);
        self
    }

    /// Draws frame number `counter` stamped with `capture_time_us`, without waiting.
    pub fn draw(&self, counter: u32, capture_time_us: u64, frame: &mut VideoFrame) {
        let (width, height) = (self.format.width as usize, self.format.height as usize);
        frame.resize(self.format.width, self.format.height);
        let offset = (counter as usize * SCROLL_PX_PER_FRAME) % PERIOD_PX;
        let (bg_y, bg_u, bg_v) = self.background.planes();
        let (bg_y_stride, bg_uv_stride) = (self.background.y_stride(), self.background.uv_stride());
        let (y_stride, uv_stride) = (frame.y_stride(), frame.uv_stride());
        let (y, u, v) = frame.planes_mut();
        for row in 0..height {
            let src = row * bg_y_stride + offset;
            y[row * y_stride..row * y_stride + width].copy_from_slice(&bg_y[src..src + width]);
        }
        for row in 0..height / 2 {
            let src = row * bg_uv_stride + offset / 2;
            let dst = row * uv_stride;
            u[dst..dst + width / 2].copy_from_slice(&bg_u[src..src + width / 2]);
            v[dst..dst + width / 2].copy_from_slice(&bg_v[src..src + width / 2]);
        }
        self.draw_box(counter, frame);
        frame.capture_time_us = capture_time_us;
        draw_stamp(
            frame,
            Stamp {
                counter,
                capture_time_us,
            },
        );
    }

    /// An orange box bouncing below the stamp.
    fn draw_box(&self, counter: u32, frame: &mut VideoFrame) {
        let (width, height) = (self.format.width as usize, self.format.height as usize);
        let side = (height / 5).max(2) & !1;
        let top_min = area_px(self.format.height).1 as usize + 2;
        if side >= width || top_min + side >= height {
            return;
        }
        let bounce = |span: usize, speed: usize| {
            let travel = (counter as usize * speed) % (2 * span.max(1));
            (if travel > span { 2 * span - travel } else { travel }) & !1
        };
        let left = bounce(width - side, 6);
        let top = top_min + bounce(height - side - top_min, 3);
        let (y_stride, uv_stride) = (frame.y_stride(), frame.uv_stride());
        let (y, u, v) = frame.planes_mut();
        for row in top..top + side {
            y[row * y_stride + left..row * y_stride + left + side].fill(170);
        }
        for row in top / 2..(top + side) / 2 {
            let start = row * uv_stride + left / 2;
            u[start..start + side / 2].fill(54);
            v[start..start + side / 2].fill(200);
        }
    }
}

impl VideoSource for TestPattern {
    fn name(&self) -> &str {
        &self.name
    }

    fn format(&self) -> VideoFormat {
        self.format
    }

    fn next_frame(&mut self, frame: &mut VideoFrame) -> Result<(), VideoError> {
        if self.unplug_after.is_some_and(|frames| self.counter >= frames) {
            return Err(VideoError::Disconnected(self.name.clone()));
        }
        let due = self.started + self.frame_interval * self.next_index as u32;
        let now = Instant::now();
        if due > now {
            clock::sleep_until(due);
            self.next_index += 1;
        } else {
            // Running late (a slow consumer): like a camera, skip ahead instead of bursting.
            let behind = (now - self.started).as_micros() / self.frame_interval.as_micros().max(1);
            self.next_index = behind as u64 + 1;
        }
        self.draw(self.counter, clock::now_us(), frame);
        self.counter = self.counter.wrapping_add(1);
        Ok(())
    }
}

/// Renders the scrolling background once: luma ramps diagonally, chroma cycles through hues
/// with a period of [`PERIOD_PX`] so that any horizontal offset into it tiles seamlessly.
fn render_background(width: usize, height: u32) -> VideoFrame {
    let mut background = VideoFrame::new(width as u32, height);
    let (y_stride, uv_stride) = (background.y_stride(), background.uv_stride());
    let (y, u, v) = background.planes_mut();
    for (row, line) in y.chunks_exact_mut(y_stride).enumerate() {
        for (column, pixel) in line.iter_mut().enumerate() {
            let phase = (column + row / 2) % PERIOD_PX;
            let triangle = if phase < PERIOD_PX / 2 {
                phase
            } else {
                PERIOD_PX - phase
            };
            *pixel = 40 + triangle as u8;
        }
    }
    let chroma_rows = height as usize / 2;
    for (row, (line_u, line_v)) in u
        .chunks_exact_mut(uv_stride)
        .zip(v.chunks_exact_mut(uv_stride))
        .enumerate()
    {
        let tilt = row as f32 / chroma_rows.max(1) as f32;
        for (column, (pu, pv)) in line_u.iter_mut().zip(line_v.iter_mut()).enumerate() {
            let angle = std::f32::consts::TAU * (column as f32 / (PERIOD_PX / 2) as f32 + tilt * 0.25);
            *pu = (128.0 + 70.0 * angle.cos()) as u8;
            *pv = (128.0 + 70.0 * angle.sin()) as u8;
        }
    }
    background
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::read_stamp;

    #[test]
    fn frames_carry_increasing_counters_and_times() {
        let mut pattern = TestPattern::new(VideoFormat::new(320, 240, 60));
        let mut frame = VideoFrame::default();
        let mut last_time = 0;
        for expected in 0..3 {
            pattern.next_frame(&mut frame).unwrap();
            let stamp = read_stamp(&frame).expect("stamp readable");
            assert_eq!(stamp.counter, expected);
            assert!(stamp.capture_time_us > last_time);
            assert_eq!(stamp.capture_time_us, frame.capture_time_us);
            last_time = stamp.capture_time_us;
        }
    }

    #[test]
    fn the_picture_moves() {
        let pattern = TestPattern::new(VideoFormat::new(320, 240, 30));
        let (mut first, mut second) = (VideoFrame::default(), VideoFrame::default());
        pattern.draw(10, 0, &mut first);
        pattern.draw(11, 0, &mut second);
        let (area_w, area_h) = area_px(240);
        let below_stamp = area_h as usize * first.y_stride() + area_w as usize;
        assert_ne!(first.planes().0[below_stamp..], second.planes().0[below_stamp..]);
    }

    #[test]
    fn paces_at_the_requested_rate() {
        let mut pattern = TestPattern::new(VideoFormat::new(160, 120, 50));
        let mut frame = VideoFrame::default();
        let start = Instant::now();
        for _ in 0..6 {
            pattern.next_frame(&mut frame).unwrap();
        }
        // Frames 0..=5 are due at 0, 20, .., 100 ms.
        assert!(start.elapsed() >= Duration::from_millis(95), "{:?}", start.elapsed());
    }
}

//! A hand-off for video between a decoder thread and the screen: the newest frame wins.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::frame::VideoFrame;

/// Holds the latest decoded frame of one video stream.
///
/// The writer swaps its freshly decoded frame in (no copy, no allocation once sizes are
/// stable); a reader that is slower than the stream simply skips frames. The lock is held
/// only for a swap or a copy, never across decoding or drawing.
#[derive(Default)]
pub struct VideoSlot {
    frame: Mutex<VideoFrame>,
    /// Frames published so far; 0 means none yet.
    published: AtomicU64,
}

impl VideoSlot {
    /// Publishes `frame`, handing back the previous buffer in it for reuse.
    pub fn publish(&self, frame: &mut VideoFrame) {
        let mut slot = self.frame.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::swap(&mut *slot, frame);
        self.published.fetch_add(1, Ordering::Release);
    }

    /// How many frames have been published; changes when there is something new to show.
    pub fn generation(&self) -> u64 {
        self.published.load(Ordering::Acquire)
    }

    /// Size of the newest frame, without copying it; `None` before the first.
    pub fn frame_size(&self) -> Option<(u32, u32)> {
        if self.generation() == 0 {
            return None;
        }
        let slot = self.frame.lock().unwrap_or_else(PoisonError::into_inner);
        Some((slot.width(), slot.height()))
    }

    /// Copies the newest frame into `out` if it is newer than `seen`; returns its generation.
    pub fn read_if_newer(&self, seen: u64, out: &mut VideoFrame) -> Option<u64> {
        let generation = self.generation();
        if generation == 0 || generation == seen {
            return None;
        }
        let slot = self.frame.lock().unwrap_or_else(PoisonError::into_inner);
        out.clone_from(&slot);
        Some(generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_frame_wins_and_buffers_are_recycled() {
        let slot = VideoSlot::default();
        let mut out = VideoFrame::default();
        assert_eq!(slot.read_if_newer(0, &mut out), None);
        let mut frame = VideoFrame::new(64, 48);
        for time in 1..=3 {
            frame.capture_time_us = time;
            slot.publish(&mut frame);
        }
        assert_eq!(slot.frame_size(), Some((64, 48)));
        let seen = slot.read_if_newer(0, &mut out).expect("a frame");
        assert_eq!((seen, out.capture_time_us), (3, 3));
        assert_eq!(slot.read_if_newer(seen, &mut out), None, "nothing newer");
        // The writer got the previous frame back to decode into.
        assert_eq!(frame.capture_time_us, 2);
    }
}

//! The picture size to send at a given bitrate.
//!
//! Below some bits per pixel a full-size picture turns to blocks and the rate control starts
//! skipping frames; the same bits spent on a picture half as wide and half as high keep it
//! sharp and moving. The ladder steps down (halving each side) when the bitrate gets too thin
//! for the current size, and back up only once the larger size would be comfortably fed, and
//! not sooner than [`STEP_UP_AFTER`] after the last change, so a bitrate hovering near a step
//! does not rebuild the encoder (and send a keyframe) again and again.

use std::time::{Duration, Instant};

/// Below this many bits per pixel (per frame) the picture is halved.
const STEP_DOWN_BITS_PER_PIXEL: f64 = 0.03;
/// A halved picture goes back up once the larger size would get this many bits per pixel.
const STEP_UP_BITS_PER_PIXEL: f64 = 0.05;
/// The most the picture is halved: 1280x720 goes down to 320x180.
const MAX_HALVINGS: u32 = 2;
/// The least time between a change and a step up.
pub const STEP_UP_AFTER: Duration = Duration::from_secs(3);

/// Chooses the size to encode a camera's pictures at for the bitrate available.
#[derive(Debug, Default)]
pub struct SizeLadder {
    halvings: u32,
    changed_at: Option<Instant>,
}

impl SizeLadder {
    /// The size to send a `width` x `height` picture at, `fps` times a second, with
    /// `bitrate_bps`: the picture's own, or a smaller one in even numbers.
    pub fn size(&mut self, now: Instant, (width, height): (u32, u32), fps: u32, bitrate_bps: u32) -> (u32, u32) {
        let bits_per_pixel = |halvings: u32| {
            let (w, h) = halved(width, height, halvings);
            f64::from(bitrate_bps) / (f64::from(w) * f64::from(h) * f64::from(fps.max(1)))
        };
        let before = self.halvings;
        while self.halvings < MAX_HALVINGS
            && bits_per_pixel(self.halvings) < STEP_DOWN_BITS_PER_PIXEL
            && halved(width, height, self.halvings + 1) != halved(width, height, self.halvings)
        {
            self.halvings += 1;
        }
        let settled = self.changed_at.is_none_or(|at| now - at >= STEP_UP_AFTER);
        if self.halvings == before && settled {
            while self.halvings > 0 && bits_per_pixel(self.halvings - 1) >= STEP_UP_BITS_PER_PIXEL {
                self.halvings -= 1;
            }
        }
        if self.halvings != before {
            self.changed_at = Some(now);
        }
        halved(width, height, self.halvings)
    }
}

/// `width` x `height` halved `times` times, in even numbers of at least 2 (or as it is).
fn halved(width: u32, height: u32, times: u32) -> (u32, u32) {
    if times == 0 {
        return (width, height);
    }
    let side = |length: u32| ((length >> times) & !1).max(2);
    (side(width), side(height))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HD: (u32, u32) = (1280, 720);

    #[test]
    fn a_thin_bitrate_halves_the_picture_and_a_rich_one_restores_it() {
        let start = Instant::now();
        let mut ladder = SizeLadder::default();
        // (seconds after the start, bitrate, size, why)
        let steps = [
            (0, 2_500_000, HD, "plenty"),
            (0, 900_000, HD, "720p30 is halved below about 830 kbps"),
            (0, 450_000, (640, 360), "halved"),
            (0, 100_000, (320, 180), "quartered"),
            (0, 10_000, (320, 180), "never below a quarter"),
            (3, 300_000, (320, 180), "300 kbps: not yet 360p"),
            (3, 400_000, (640, 360), "400 kbps feeds 360p, 3 s after the last change"),
            (6, 1_000_000, (640, 360), "1 Mbps: not yet 720p"),
            (6, 1_500_000, HD, "1.5 Mbps feeds 720p"),
        ];
        for (seconds, bitrate, size, why) in steps {
            let now = start + Duration::from_secs(seconds);
            assert_eq!(ladder.size(now, HD, 30, bitrate), size, "{why}");
        }
        assert_eq!(STEP_UP_AFTER, Duration::from_secs(3));
    }

    #[test]
    fn a_bitrate_hovering_near_a_step_does_not_flip_the_size() {
        let start = Instant::now();
        let mut ladder = SizeLadder::default();
        let sizes: Vec<(u32, u32)> = (0..40)
            .map(|tick| {
                let bitrate = if tick % 2 == 0 { 800_000 } else { 1_400_000 };
                ladder.size(start + Duration::from_millis(200) * tick, HD, 30, bitrate)
            })
            .collect();
        let changes = sizes.windows(2).filter(|pair| pair[0] != pair[1]).count();
        assert!(changes <= 4, "{changes} size changes in 8 s: {sizes:?}");
    }

    #[test]
    fn small_pictures_stay_even_and_whole() {
        let mut ladder = SizeLadder::default();
        assert_eq!(ladder.size(Instant::now(), (4, 2), 30, 1), (2, 2));
        assert_eq!(ladder.size(Instant::now(), (642, 362), 30, 100_000), (320, 180));
    }
}

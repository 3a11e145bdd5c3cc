//! How much we can send each participant, and how it is shared between our streams.
//!
//! Every connection runs Google Congestion Control (webrtc-rs' `Gcc`) on transport-wide
//! congestion feedback: the receiver reports when each packet arrived, and the estimate
//! falls when packets queue (growing delay) or get lost, and rises while the path is clear.
//! Our cameras and screens are encoded once for everyone, so the meeting follows the
//! slowest path ([`Allocation::for_estimate`]), sound first: its bits are set aside before
//! the videos share the rest. No pacer: the encoders follow the estimate instead, so frames
//! leave as soon as they are encoded.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rtc::interceptor::{
    BandwidthEstimator, CongestionControlBuilder, EstimatorStats, GCC_MIN_BITRATE, Gcc, PacketReport, Slot,
};
use videomeet_media::codec::H264Config;
use webrtc::peer_connection::{MediaEngine, Registry, configure_twcc};

/// Where the estimate starts and the most it grows to.
///
/// It starts at what our encoders send at most (camera, shared screen and sound), not at a
/// cautious guess: a LAN carries that easily, and a low start would take a call a minute to
/// climb out of. A screen counts from the start even before one is shared: a share that
/// began at the camera's figure found the estimate there and climbed out of it at a few
/// percent a second, so scrolling text went at 10 pictures a second for many seconds. It
/// grows no further than that either, so that when the path narrows it has little to come
/// down from: the loss-based half falls by at most a fifth every 200 ms, and a full
/// bottleneck queue no longer grows, so its delay stops telling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendRange {
    /// Where the estimate starts.
    pub start_bps: u64,
    /// The most it grows to.
    pub max_bps: u64,
}

impl SendRange {
    /// For a camera encoded at most at `camera_bps`.
    pub fn for_camera(camera_bps: u32) -> Self {
        let most = u64::from(camera_bps) + AUDIO_BPS + u64::from(H264Config::SCREEN.bitrate_bps);
        Self {
            start_bps: most,
            max_bps: most,
        }
    }
}

impl SendRange {
    /// For a forwarding host's connection to a guest, which carries everyone's streams: up
    /// to the others of a meeting at the protocol's limit, each camera whole, and a screen.
    /// It starts there too, as a LAN carries it; a narrower path brings it down within a
    /// second or two (the delay-based half falls to what the path delivers), and the host
    /// sends that guest smaller layers.
    pub fn forwarding(self) -> Self {
        let screen = u64::from(H264Config::SCREEN.bitrate_bps);
        let camera_and_sound = self.start_bps.saturating_sub(screen);
        let most = camera_and_sound * (crate::protocol::limits::MAX_PARTICIPANTS as u64 - 1) + screen;
        Self {
            start_bps: most,
            max_bps: most,
        }
    }
}

impl Default for SendRange {
    /// For a 720p30 camera.
    fn default() -> Self {
        Self::for_camera(H264Config::CAMERA_720P.bitrate_bps)
    }
}

/// Set aside for sound before the videos share the rest: Opus at 32 kbps with room for its
/// FEC and the packet headers of 50 packets a second.
pub const AUDIO_BPS: u64 = 64_000;

/// The least a video is sent at; below it the encoder skips frames rather than stopping.
pub const MIN_VIDEO_BPS: u64 = 50_000;

/// Share of the video bits a shared screen gets while the camera runs beside it: the screen
/// carries the text people read.
const SCREEN_SHARE: f64 = 0.75;

/// The estimate of one connection, readable from any thread.
#[derive(Clone, Debug)]
pub struct SendEstimate(Arc<AtomicU64>);

impl SendEstimate {
    /// What the path to this participant carries, in bits per second.
    pub fn bps(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Registers transport-wide congestion feedback (both ways: we report what we receive, the
/// other side reports what we send) and the estimator; returns the estimate's handle.
pub(crate) fn configure(
    registry: Registry,
    media: &mut MediaEngine,
    range: SendRange,
) -> Result<(Registry, SendEstimate), String> {
    let registry = configure_twcc(registry, media).map_err(|error| error.to_string())?;
    let estimate = SendEstimate(Arc::new(AtomicU64::new(range.start_bps)));
    let estimator = Published {
        gcc: Gcc::new(range.start_bps as f64, GCC_MIN_BITRATE, range.max_bps as f64),
        estimate: estimate.clone(),
    };
    let registry = registry.with(
        Slot::CongestionControl,
        CongestionControlBuilder::new(estimator).build(),
    );
    Ok((registry, estimate))
}

/// GCC, with its estimate published where the meeting can read it.
struct Published {
    gcc: Gcc,
    estimate: SendEstimate,
}

impl Published {
    fn publish(&self) {
        self.estimate
            .0
            .store(self.gcc.target_bitrate() as u64, Ordering::Relaxed);
    }
}

impl BandwidthEstimator for Published {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        self.gcc.on_reports(now, reports);
        self.publish();
    }

    fn target_bitrate(&self) -> f64 {
        self.gcc.target_bitrate()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.gcc.handle_timeout(now);
        self.publish();
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.gcc.poll_timeout()
    }

    fn stats(&self) -> EstimatorStats {
        self.gcc.stats()
    }
}

/// What each of our videos is encoded at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// The camera's bitrate.
    pub camera_bps: u32,
    /// The shared screen's bitrate.
    pub screen_bps: u32,
}

impl Allocation {
    /// Shares `estimate_bps` (the slowest path's estimate) between the camera, at most
    /// `camera_max`, and the screen, at most `screen_max`, after sound; `sharing` when a
    /// screen is shared.
    pub fn for_estimate(estimate_bps: u64, sharing: bool, camera_max: u32, screen_max: u32) -> Self {
        let video = estimate_bps.saturating_sub(AUDIO_BPS);
        let (camera, screen) = if sharing {
            // What the screen does not need of its share goes to the camera.
            let screen = ((video as f64 * SCREEN_SHARE) as u64).min(u64::from(screen_max));
            (video - screen, screen)
        } else {
            (video, 0)
        };
        let fit = |bps: u64, max: u32| bps.clamp(MIN_VIDEO_BPS, u64::from(max).max(MIN_VIDEO_BPS)) as u32;
        Self {
            camera_bps: fit(camera, camera_max),
            screen_bps: fit(screen, screen_max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_path_gives_each_video_its_most() {
        let fast = Allocation::for_estimate(10_000_000, true, 2_700_000, 2_500_000);
        assert_eq!(
            fast,
            Allocation {
                camera_bps: 2_700_000,
                screen_bps: 2_500_000
            }
        );
        let alone = Allocation::for_estimate(10_000_000, false, 2_700_000, 2_500_000);
        assert_eq!(alone.camera_bps, 2_700_000);
    }

    #[test]
    fn a_thin_path_keeps_room_for_sound_and_favours_the_screen() {
        let thin = Allocation::for_estimate(500_000, false, 2_700_000, 2_500_000);
        assert_eq!(thin.camera_bps, 436_000);
        let sharing = Allocation::for_estimate(500_000, true, 2_700_000, 2_500_000);
        assert_eq!(sharing.screen_bps, 327_000);
        assert_eq!(sharing.camera_bps, 109_000);
        assert!(u64::from(sharing.screen_bps + sharing.camera_bps) + AUDIO_BPS <= 500_000);
    }

    #[test]
    fn the_estimate_starts_at_what_a_camera_a_screen_and_sound_send() {
        let range = SendRange::for_camera(690_000);
        assert_eq!(range.start_bps, 754_000 + u64::from(H264Config::SCREEN.bitrate_bps));
        assert_eq!(range.max_bps, range.start_bps);
    }

    #[test]
    fn a_starved_path_still_sends_a_little_video() {
        let starved = Allocation::for_estimate(20_000, true, 2_700_000, 2_500_000);
        assert_eq!(starved.camera_bps as u64, MIN_VIDEO_BPS);
        assert_eq!(starved.screen_bps as u64, MIN_VIDEO_BPS);
        assert_eq!(
            Allocation::for_estimate(1_000_000, false, 0, 0).camera_bps as u64,
            MIN_VIDEO_BPS
        );
    }
}

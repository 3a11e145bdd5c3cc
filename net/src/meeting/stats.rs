//! Per-second figures for each other participant, from running totals.

use std::sync::Arc;

use videomeet_media::audio::playout_stats::PlayoutCounts;

use super::api::PeerStats;
use crate::peer::LinkCounters;
use crate::protocol::PeerId;

/// The previous reading, to turn running totals into rates.
#[derive(Default)]
pub(super) struct Meter {
    pub(super) decode: Option<Arc<videomeet_media::decode_thread::DecodeStats>>,
    pub(super) last: Option<(std::time::Instant, LinkCounters, u64, u64, PlayoutCounts)>,
}

impl Meter {
    pub(super) fn read(&mut self, id: PeerId, counters: LinkCounters, playout: PlayoutCounts) -> PeerStats {
        let now = std::time::Instant::now();
        let (frames, decode_us, (width, height)) = self
            .decode
            .as_ref()
            .map_or((0, 0, (0, 0)), |d| (d.frames(), d.decode_time_us(), d.frame_size()));
        let mut stats = PeerStats {
            id,
            rtt_ms: counters.rtt_ms,
            jitter_ms: counters.jitter_ms,
            width,
            height,
            ..PeerStats::default()
        };
        if let Some((at, before, frames_before, decode_us_before, playout_before)) = self.last {
            stats.audio_concealed_pct = playout.since(&playout_before).concealed_pct();
            let seconds = now.duration_since(at).as_secs_f64().max(1e-3);
            let kbps = |after: u64, before: u64| after.saturating_sub(before) as f64 * 8.0 / 1000.0 / seconds;
            stats.send_kbps = kbps(counters.bytes_sent, before.bytes_sent);
            stats.receive_kbps = kbps(counters.bytes_received, before.bytes_received);
            let lost = counters.packets_lost.saturating_sub(before.packets_lost) as f64;
            let received = counters.packets_received.saturating_sub(before.packets_received) as f64;
            stats.loss_pct = if lost + received > 0.0 {
                100.0 * lost / (lost + received)
            } else {
                0.0
            };
            let decoded = frames.saturating_sub(frames_before);
            stats.fps = decoded as f64 / seconds;
            if decoded > 0 {
                stats.decode_ms = decode_us.saturating_sub(decode_us_before) as f64 / decoded as f64 / 1000.0;
            }
        }
        self.last = Some((now, counters, frames, decode_us, playout));
        stats
    }
}

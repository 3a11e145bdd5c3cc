//! When to look at the screen and when to send: the frame rate follows the content.

use std::time::{Duration, Instant};

/// Looks while the picture changes: up to 30 a second.
pub const MOVING_INTERVAL: Duration = Duration::from_millis(33);
/// Looks while the picture has been still for [`STILL_AFTER`]: 4 a second.
pub const STILL_INTERVAL: Duration = Duration::from_millis(250);
/// How long without a change before the screen counts as still.
pub const STILL_AFTER: Duration = Duration::from_secs(1);
/// A still screen is still sent this often (2 fps), so viewers see it is alive and a lost
/// packet is repaired without waiting for the next change.
pub const HEARTBEAT: Duration = Duration::from_millis(500);

/// Decides, look after look, whether to send and when to look next.
#[derive(Clone, Copy, Debug)]
pub struct ScreenPace {
    last_change: Instant,
    last_sent: Option<Instant>,
}

impl ScreenPace {
    /// A pace that starts out moving.
    pub fn new(now: Instant) -> Self {
        Self {
            last_change: now,
            last_sent: None,
        }
    }

    /// After a look at `now`: whether to encode and send this picture.
    pub fn should_send(&mut self, now: Instant, changed: bool, keyframe_wanted: bool) -> bool {
        if changed {
            self.last_change = now;
        }
        // A look that comes a little early still counts, so sleeping late never halves the rate.
        let due = self
            .last_sent
            .is_none_or(|sent| now.duration_since(sent) + MOVING_INTERVAL >= HEARTBEAT);
        let send = changed || keyframe_wanted || due;
        if send {
            self.last_sent = Some(now);
        }
        send
    }

    /// When the next heartbeat is due: a still screen is sent then even if nothing changed.
    pub fn heartbeat_at(&self, now: Instant) -> Instant {
        self.last_sent
            .map_or(now, |sent| sent + HEARTBEAT.saturating_sub(MOVING_INTERVAL))
    }

    /// How long after the look at `now` to look again.
    pub fn next_look(&self, now: Instant) -> Duration {
        if now.duration_since(self.last_change) >= STILL_AFTER {
            STILL_INTERVAL
        } else {
            MOVING_INTERVAL
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_screens_go_at_30_fps_and_still_ones_at_2() {
        let start = Instant::now();
        let mut pace = ScreenPace::new(start);
        assert!(
            pace.should_send(start, false, false),
            "the first picture is always sent"
        );
        let mut now = start;
        let mut sent = 0;
        // One second of change at the moving rate: every look is sent.
        while now < start + Duration::from_secs(1) {
            now += pace.next_look(now);
            sent += usize::from(pace.should_send(now, true, false));
        }
        assert_eq!(pace.next_look(now), MOVING_INTERVAL);
        assert!((29..=31).contains(&sent), "{sent} sent while moving");
        // Then ten seconds without change: looks slow down, sends are heartbeats.
        let (still_from, mut looks) = (now, 0);
        sent = 0;
        while now < still_from + Duration::from_secs(10) {
            now += pace.next_look(now);
            looks += 1;
            sent += usize::from(pace.should_send(now, false, false));
        }
        assert_eq!(pace.next_look(now), STILL_INTERVAL);
        assert!((19..=21).contains(&sent), "{sent} heartbeats in 10 s");
        // The first still second is looked at 30 times, the other nine 4 times a second.
        assert!(looks <= 70, "{looks} looks in 10 still seconds");
        // A keyframe request is answered at the next look, and a change speeds up at once.
        now += pace.next_look(now);
        assert!(pace.should_send(now, false, true));
        now += pace.next_look(now);
        assert!(pace.should_send(now, true, false));
        assert_eq!(pace.next_look(now), MOVING_INTERVAL);
    }
}

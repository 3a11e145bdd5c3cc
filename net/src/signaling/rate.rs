//! A token bucket: a sustained rate with room for bursts.

use std::time::Instant;

/// Allows `per_second` events per second on average and `burst` at once.
pub(crate) struct TokenBucket {
    tokens: f64,
    per_second: f64,
    burst: f64,
    refilled: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            tokens: f64::from(burst),
            per_second: f64::from(per_second),
            burst: f64::from(burst),
            refilled: Instant::now(),
        }
    }

    /// Takes one token at `now`; false when the bucket is empty.
    pub fn take(&mut self, now: Instant) -> bool {
        self.take_many(1, now)
    }

    /// Whether a token is there at `now`, taking none.
    pub fn has_one(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= 1.0
    }

    /// Takes `count` tokens at `now` (one per byte, say); false, taking none, when fewer are left.
    pub fn take_many(&mut self, count: u32, now: Instant) -> bool {
        self.refill(now);
        let count = f64::from(count);
        if self.tokens >= count {
            self.tokens -= count;
            true
        } else {
            false
        }
    }
}

impl TokenBucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.refilled = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allows_the_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 5);
        assert_eq!((0..20).filter(|_| bucket.take(start)).count(), 5);
        // One second later, ten more.
        let later = start + Duration::from_secs(1);
        assert_eq!((0..20).filter(|_| bucket.take(later)).count(), 5, "capped at the burst");
        let much_later = later + Duration::from_millis(300);
        assert_eq!((0..20).filter(|_| bucket.take(much_later)).count(), 3);
    }

    #[test]
    fn takes_many_at_once_or_none() {
        let start = Instant::now();
        let mut bytes = TokenBucket::new(1000, 4000);
        assert!(bytes.take_many(3000, start));
        assert!(!bytes.take_many(1500, start), "only 1000 left");
        assert!(
            bytes.take_many(1000, start),
            "a refused take leaves the bucket as it was"
        );
        assert!(bytes.take_many(1500, start + Duration::from_millis(1500)));
    }
}

//! A bad network on demand: loss, delay, jitter, reordering and a rate cap for the media a
//! participant sends, and optionally for what it receives, decided by a seeded generator so
//! a run can be repeated.
//!
//! The kernel's `netem` needs privileges and modules that test machines and users' laptops
//! often lack; this layer sits in the process instead, between WebRTC and its UDP sockets
//! (see [`ImpairedRuntime`]). It shapes what leaves the socket, like `netem` on egress, and
//! with [`ImpairedRuntime::with_download`] what arrives too (a participant on a narrow
//! Wi-Fi, whatever the others send it).

mod socket;

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

pub use socket::ImpairedRuntime;

/// How the network misbehaves. Written and read as `loss=10%,delay=40ms,jitter=10ms,
/// reorder=5%,rate=500kbps,seed=7` (every part optional).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Impairment {
    /// Share of datagrams dropped at random, 0 to 1.
    pub loss: f64,
    /// Fixed one-way delay added to every datagram.
    pub delay: Duration,
    /// Random extra delay, uniform between zero and this.
    pub jitter: Duration,
    /// Share of datagrams held back by a further `delay + jitter` (at least 5 ms), so later
    /// ones overtake them, 0 to 1.
    pub reorder: f64,
    /// Bottleneck rate; datagrams queue behind it and are dropped once the queue holds more
    /// than [`MAX_QUEUE`] of sending.
    pub rate_bps: Option<u64>,
    /// Seed of the random choices: the same seed drops and delays the same datagrams.
    pub seed: u64,
}

/// The most a rate-capped queue holds, in time to send it; beyond that datagrams are dropped
/// (a router's tail drop).
pub const MAX_QUEUE: Duration = Duration::from_millis(200);

/// An impairment description that could not be read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error(
    "cannot read the network impairment \"{part}\": {reason} (example: loss=10%,delay=40ms,jitter=10ms,reorder=2%,rate=500kbps,seed=7)"
)]
pub struct ImpairmentError {
    part: String,
    reason: &'static str,
}

impl FromStr for Impairment {
    type Err = ImpairmentError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut impairment = Self::default();
        for part in text.split(',').map(str::trim).filter(|part| !part.is_empty()) {
            let error = |reason| ImpairmentError {
                part: part.to_owned(),
                reason,
            };
            let (key, value) = part.split_once('=').ok_or_else(|| error("expected key=value"))?;
            let value = value.trim();
            match key.trim() {
                "loss" => impairment.loss = parse_share(value).ok_or_else(|| error("expected a percentage"))?,
                "reorder" => impairment.reorder = parse_share(value).ok_or_else(|| error("expected a percentage"))?,
                "delay" => impairment.delay = parse_duration(value).ok_or_else(|| error("expected a time in ms"))?,
                "jitter" => impairment.jitter = parse_duration(value).ok_or_else(|| error("expected a time in ms"))?,
                "rate" => impairment.rate_bps = Some(parse_rate(value).ok_or_else(|| error("expected a rate"))?),
                "seed" => impairment.seed = value.parse().map_err(|_| error("expected a whole number"))?,
                _ => return Err(error("unknown setting; use loss, delay, jitter, reorder, rate or seed")),
            }
        }
        Ok(impairment)
    }
}

impl fmt::Display for Impairment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "loss={}%,delay={}ms,jitter={}ms,reorder={}%",
            self.loss * 100.0,
            self.delay.as_millis(),
            self.jitter.as_millis(),
            self.reorder * 100.0
        )?;
        if let Some(rate) = self.rate_bps {
            write!(f, ",rate={}kbps", rate as f64 / 1000.0)?;
        }
        write!(f, ",seed={}", self.seed)
    }
}

/// `10%` or `0.1`, between 0 and 1.
fn parse_share(value: &str) -> Option<f64> {
    let share = match value.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().ok()? / 100.0,
        None => value.parse::<f64>().ok()?,
    };
    (0.0..=1.0).contains(&share).then_some(share)
}

/// `40ms`, `1.5s` or a bare number of milliseconds, up to a minute.
fn parse_duration(value: &str) -> Option<Duration> {
    let (number, scale) = if let Some(ms) = value.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = value.strip_suffix('s') {
        (s, 1.0)
    } else {
        (value, 1e-3)
    };
    let seconds = number.trim().parse::<f64>().ok()? * scale;
    (0.0..=60.0)
        .contains(&seconds)
        .then(|| Duration::from_secs_f64(seconds))
}

/// `500kbps`, `2mbps`, `64000bps` or bare bits per second; at least 8 kbps.
fn parse_rate(value: &str) -> Option<u64> {
    let lower = value.to_ascii_lowercase();
    let (number, scale) = [("mbps", 1e6), ("mbit", 1e6), ("kbps", 1e3), ("kbit", 1e3), ("bps", 1.0)]
        .iter()
        .find_map(|(unit, scale)| lower.strip_suffix(unit).map(|n| (n.to_owned(), *scale)))
        .unwrap_or((lower, 1.0));
    let bps = number.trim().parse::<f64>().ok()? * scale;
    // Rounded: `33257.664kbps` is 33257663.99… bps in floating point.
    (8_000.0..=1e11).contains(&bps).then_some(bps.round() as u64)
}

/// A small, fast generator (SplitMix64): its own code so a seed means the same run in every
/// version, whatever happens to random-number crates.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One direction of an impaired link: decides, datagram by datagram, whether it is lost and
/// when it arrives.
#[derive(Clone, Debug)]
pub struct ImpairedLink {
    random: SplitMix64,
    /// When the bottleneck finishes sending what is queued.
    busy_until: Option<Instant>,
}

impl ImpairedLink {
    /// A link drawing from `seed`; `stream` tells links sharing a seed apart.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut random = SplitMix64(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        random.next_u64();
        Self {
            random,
            busy_until: None,
        }
    }

    /// When a datagram of `bytes` sent at `now` arrives under `impairment`, or `None` when
    /// it is lost.
    pub fn admit(&mut self, impairment: &Impairment, now: Instant, bytes: usize) -> Option<Instant> {
        // Every datagram draws the same numbers whatever happens to it, so one setting
        // changing does not shift the others' choices.
        let (lost, jitter, reordered) = (
            self.random.next_unit(),
            self.random.next_unit(),
            self.random.next_unit(),
        );
        let mut leaves = now;
        if let Some(rate) = impairment.rate_bps {
            let start = self.busy_until.filter(|busy| *busy > now).unwrap_or(now);
            if start - now > MAX_QUEUE {
                return None;
            }
            let sending = Duration::from_secs_f64(bytes as f64 * 8.0 / rate as f64);
            self.busy_until = Some(start + sending);
            leaves = start + sending;
        }
        if lost < impairment.loss {
            return None;
        }
        let Impairment {
            delay, jitter: spread, ..
        } = *impairment;
        let mut arrives = leaves + delay + spread.mul_f64(jitter);
        if reordered < impairment.reorder {
            arrives += (delay + spread).max(Duration::from_millis(5));
        }
        Some(arrives)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_the_flag_syntax() {
        let read: Impairment = "loss=10%, delay=40ms,jitter=10,reorder=0.02,rate=500kbps,seed=7"
            .parse()
            .expect("valid");
        let expected = Impairment {
            loss: 0.1,
            delay: Duration::from_millis(40),
            jitter: Duration::from_millis(10),
            reorder: 0.02,
            rate_bps: Some(500_000),
            seed: 7,
        };
        assert_eq!(read, expected);
        assert_eq!(read.to_string().parse::<Impairment>().expect("round trip"), expected);
        assert_eq!("".parse::<Impairment>().expect("empty"), Impairment::default());
        assert_eq!(
            "rate=2Mbps".parse::<Impairment>().expect("rate").rate_bps,
            Some(2_000_000)
        );
        // Found by fuzzing: written as kbps, it read back one bit per second less.
        let odd = "rate=33257664".parse::<Impairment>().expect("rate");
        assert_eq!(
            odd.to_string().parse::<Impairment>().expect("again").rate_bps,
            Some(33_257_664)
        );
    }

    #[test]
    fn bad_descriptions_say_what_is_wrong() {
        for (text, complaint) in [
            ("loss=150%", "percentage"),
            ("loss", "key=value"),
            ("delay=fast", "time"),
            ("delay=5min", "time"),
            ("rate=1bps", "rate"),
            ("seed=-1", "whole number"),
            ("bandwidth=1mbps", "unknown setting"),
        ] {
            let error = text.parse::<Impairment>().expect_err(text).to_string();
            assert!(error.contains(complaint), "{text}: {error}");
        }
    }

    fn losses(impairment: Impairment, packets: usize) -> Vec<bool> {
        let mut link = ImpairedLink::new(impairment.seed, 0);
        let start = Instant::now();
        (0..packets)
            .map(|i| {
                link.admit(&impairment, start + Duration::from_millis(i as u64 * 20), 200)
                    .is_none()
            })
            .collect()
    }

    #[test]
    fn loss_follows_the_share_and_the_seed() {
        let ten = Impairment {
            loss: 0.1,
            seed: 7,
            ..Impairment::default()
        };
        let first = losses(ten, 20_000);
        let share = first.iter().filter(|lost| **lost).count() as f64 / first.len() as f64;
        assert!((0.09..0.11).contains(&share), "{share}");
        assert_eq!(first, losses(ten, 20_000), "the same seed loses the same datagrams");
        assert_ne!(first, losses(Impairment { seed: 8, ..ten }, 20_000));
        assert!(!losses(Impairment::default(), 1000).contains(&true));
    }

    #[test]
    fn delay_and_jitter_stay_in_their_range_and_reordering_overtakes() {
        let impairment = Impairment {
            delay: Duration::from_millis(40),
            jitter: Duration::from_millis(10),
            reorder: 0.05,
            seed: 3,
            ..Impairment::default()
        };
        let mut link = ImpairedLink::new(impairment.seed, 1);
        let start = Instant::now();
        let arrivals: Vec<Instant> = (0..2000)
            .map(|i| {
                let sent = start + Duration::from_millis(i * 10);
                let arrives = link.admit(&impairment, sent, 1000).expect("no loss configured");
                let late = arrives - sent;
                assert!(
                    late >= Duration::from_millis(40) && late <= Duration::from_millis(100),
                    "{late:?}"
                );
                arrives
            })
            .collect();
        let overtaken = arrivals.windows(2).filter(|pair| pair[1] < pair[0]).count();
        assert!((50..=200).contains(&overtaken), "{overtaken} datagrams overtaken");
    }

    #[test]
    fn a_rate_cap_spaces_datagrams_and_drops_what_overflows_its_queue() {
        let capped = Impairment {
            rate_bps: Some(800_000),
            ..Impairment::default()
        };
        let mut link = ImpairedLink::new(capped.seed, 0);
        let now = Instant::now();
        // 1000 bytes at 800 kbps take 10 ms each: a burst leaves one every 10 ms.
        let first = link.admit(&capped, now, 1000).expect("sent");
        let second = link.admit(&capped, now, 1000).expect("queued");
        assert_eq!(second - first, Duration::from_millis(10));
        // A 1 s burst at once: only about MAX_QUEUE of it fits.
        let kept = (0..100).filter(|_| link.admit(&capped, now, 1000).is_some()).count();
        assert!((19..=22).contains(&kept), "{kept} of 100 kept");
        // Once the queue has drained, datagrams pass again.
        assert!(link.admit(&capped, now + Duration::from_secs(1), 1000).is_some());
    }
}

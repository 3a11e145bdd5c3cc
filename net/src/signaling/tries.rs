//! Wrong passcodes, counted per address: the first few are free, then every further try
//! from that address must wait longer (1, 2, 4 s, then 6 s each), so guessing runs at about
//! ten tries a minute at most while people at other addresses are not slowed at all.
//!
//! Guessing from many addresses at once is slowed as a whole: the meeting takes
//! [`MEETING_BURST`] wrong passcodes at once and one a second after that; beyond them, an
//! address that has already been wrong waits for the meeting's next turn, while an address's
//! first try is always checked, so someone with the right passcode still gets in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::rate::TokenBucket;

/// Wrong tries an address gets before it has to wait.
pub(crate) const FREE_TRIES: u32 = 5;
/// The longest wait between tries: 6 s is ten tries a minute.
const LONGEST_WAIT: Duration = Duration::from_secs(6);
/// Addresses remembered at most; beyond it, those allowed to try again are forgotten first.
const MAX_ADDRESSES: usize = 4096;
/// Wrong passcodes the whole meeting takes at once...
pub(crate) const MEETING_BURST: u32 = 30;
/// ...and per second after that.
const MEETING_PER_SECOND: u32 = 1;
/// The host is told at most this often that guessing is being slowed.
const TELL_HOST_EVERY: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug)]
struct Record {
    wrong: u32,
    next_try: Instant,
}

/// The wrong passcodes seen, per address and in the whole meeting.
pub(crate) struct PasscodeTries {
    by_address: HashMap<IpAddr, Record>,
    /// When addresses allowed to try again were last forgotten (at most once a second).
    pruned_at: Option<Instant>,
    /// The meeting's turns for addresses that have been wrong before.
    meeting: TokenBucket,
    /// When the host was last told that guessing is slowed.
    told_host_at: Option<Instant>,
}

impl Default for PasscodeTries {
    fn default() -> Self {
        Self {
            by_address: HashMap::new(),
            pruned_at: None,
            meeting: TokenBucket::new(MEETING_PER_SECOND, MEETING_BURST),
            told_host_at: None,
        }
    }
}

impl PasscodeTries {
    /// How long `address` must still wait before its passcode is checked, if at all.
    pub fn wait(&mut self, address: IpAddr, now: Instant) -> Option<Duration> {
        let record = self.by_address.get(&address)?;
        if record.next_try > now {
            return Some(record.next_try - now);
        }
        // Been wrong before, and the meeting has no turn free: the next comes within 1 s.
        (!self.meeting.has_one(now)).then_some(Duration::from_secs(1))
    }

    /// A wrong passcode from `address` at `now`; true when the host should be told that
    /// the meeting as a whole now slows guessing (at most once a minute).
    #[must_use]
    pub fn wrong(&mut self, address: IpAddr, now: Instant) -> bool {
        self.count_wrong(address, now);
        // A first try may be checked with no turn free; then there is none to take.
        let _ = self.meeting.take(now);
        if self.meeting.has_one(now) {
            return false;
        }
        let tell = self
            .told_host_at
            .is_none_or(|at| now.duration_since(at) >= TELL_HOST_EVERY);
        if tell {
            self.told_host_at = Some(now);
        }
        tell
    }

    fn count_wrong(&mut self, address: IpAddr, now: Instant) {
        if self.by_address.len() >= MAX_ADDRESSES && !self.by_address.contains_key(&address) {
            if self
                .pruned_at
                .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
            {
                self.pruned_at = Some(now);
                self.by_address.retain(|_, record| record.next_try > now);
            }
            if self.by_address.len() >= MAX_ADDRESSES {
                return; // a flood from that many addresses is met by the connection limits
            }
        }
        let record = self.by_address.entry(address).or_insert(Record {
            wrong: 0,
            next_try: now,
        });
        record.wrong += 1;
        record.next_try = now + wait_after(record.wrong);
    }

    /// The right passcode from `address`: its count starts again.
    pub fn right(&mut self, address: IpAddr) {
        self.by_address.remove(&address);
    }
}

/// The wait before the next try after `wrong` wrong ones.
fn wait_after(wrong: u32) -> Duration {
    match wrong.checked_sub(FREE_TRIES) {
        None => Duration::ZERO,
        Some(extra) => Duration::from_secs(1u64 << extra.min(3)).min(LONGEST_WAIT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_tries_are_free_then_waits_grow_to_six_seconds() {
        let waits: Vec<u64> = (1..=10).map(|n| wait_after(n).as_secs()).collect();
        assert_eq!(waits, [0, 0, 0, 0, 1, 2, 4, 6, 6, 6]);
    }

    /// Guesses from `address` as fast as allowed for a minute from `now`: how many were
    /// checked, and the time at the end.
    fn guess_for_a_minute(tries: &mut PasscodeTries, address: IpAddr, mut now: Instant) -> (u32, Instant) {
        let (end, mut checked) = (now + Duration::from_secs(60), 0);
        while now < end {
            match tries.wait(address, now) {
                Some(wait) => now += wait,
                None => {
                    let _ = tries.wrong(address, now);
                    checked += 1;
                }
            }
        }
        (checked, now)
    }

    #[test]
    fn a_guesser_gets_about_ten_tries_a_minute_and_others_are_not_slowed() {
        let (guesser, other) = (IpAddr::from([10, 0, 0, 9]), IpAddr::from([10, 0, 0, 7]));
        let mut tries = PasscodeTries::default();
        let (first, now) = guess_for_a_minute(&mut tries, guesser, Instant::now());
        assert!(
            (10..=18).contains(&first),
            "{first} passcodes checked in the first minute"
        );
        let (second, now) = guess_for_a_minute(&mut tries, guesser, now);
        assert!(second <= 11, "{second} in the second minute");
        assert_eq!(tries.wait(other, now), None, "another address is not slowed");
        tries.right(guesser);
        assert_eq!(tries.wait(guesser, now), None, "the right passcode clears the count");
    }

    #[test]
    fn memory_stays_bounded_under_many_addresses() {
        let mut tries = PasscodeTries::default();
        let now = Instant::now();
        for n in 0..20_000u32 {
            for _ in 0..6 {
                let _ = tries.wrong(IpAddr::from(n.to_be_bytes()), now);
            }
        }
        assert!(tries.by_address.len() <= MAX_ADDRESSES);
    }

    #[test]
    fn guessing_from_many_addresses_is_slowed_as_a_whole_and_the_host_told_once() {
        let mut tries = PasscodeTries::default();
        let start = Instant::now();
        let guessers: Vec<IpAddr> = (1..=40u8).map(|n| IpAddr::from([10, 0, 1, n])).collect();
        let (mut checked, mut told) = (0, 0);
        // Every guesser tries every 10 ms for a minute.
        for tick in 0..6000u32 {
            let now = start + Duration::from_millis(u64::from(tick) * 10);
            for guesser in &guessers {
                if tries.wait(*guesser, now).is_none() {
                    checked += 1;
                    told += u32::from(tries.wrong(*guesser, now));
                }
            }
        }
        // Per address alone, 40 addresses would get about 600 checked in a minute.
        assert!(
            checked <= 40 + MEETING_BURST + 61,
            "{checked} passcodes checked in a minute from 40 addresses"
        );
        assert_eq!(told, 1, "the host is told once a minute");
        let newcomer = IpAddr::from([10, 0, 2, 1]);
        let now = start + Duration::from_secs(60);
        assert_eq!(tries.wait(newcomer, now), None, "a first try is checked at once");
    }
}

//! Wrong passcodes, counted per address: the first few are free, then every further try
//! from that address must wait longer (1, 2, 4 s, then 6 s each), so guessing runs at about
//! ten tries a minute at most while people at other addresses are not slowed at all.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Wrong tries an address gets before it has to wait.
pub(crate) const FREE_TRIES: u32 = 5;
/// The longest wait between tries: 6 s is ten tries a minute.
const LONGEST_WAIT: Duration = Duration::from_secs(6);
/// Addresses remembered at most; beyond it, those allowed to try again are forgotten first.
const MAX_ADDRESSES: usize = 4096;

#[derive(Clone, Copy, Debug)]
struct Record {
    wrong: u32,
    next_try: Instant,
}

/// The wrong passcodes seen, per address.
#[derive(Debug, Default)]
pub(crate) struct PasscodeTries {
    by_address: HashMap<IpAddr, Record>,
    /// When addresses allowed to try again were last forgotten (at most once a second).
    pruned_at: Option<Instant>,
}

impl PasscodeTries {
    /// How long `address` must still wait before its passcode is checked, if at all.
    pub fn wait(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        let record = self.by_address.get(&address)?;
        (record.next_try > now).then(|| record.next_try - now)
    }

    /// A wrong passcode from `address` at `now`.
    pub fn wrong(&mut self, address: IpAddr, now: Instant) {
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
                    tries.wrong(address, now);
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
                tries.wrong(IpAddr::from(n.to_be_bytes()), now);
            }
        }
        assert!(tries.by_address.len() <= MAX_ADDRESSES);
    }
}

//! Whether the media path to one participant works, from what is heard on it and what
//! webrtc reports, and when to try an ICE restart. Time is passed in, so the rules are
//! tested without a clock.

use std::time::{Duration, Instant};

/// Nothing heard on a working path for this long means it broke: ICE checks it every
/// half second.
pub(super) const SILENCE: Duration = Duration::from_millis(2500);

/// How long an ICE restart may take before the next is tried.
pub(super) const ICE_RESTART_INTERVAL: Duration = Duration::from_secs(4);

/// The path to one participant.
#[derive(Debug, Default)]
pub(super) struct PathHealth {
    /// The last reading of everything heard on the path, and when it last changed.
    heard: Option<(u64, Instant)>,
    /// Broken: since then, ICE was last restarted at this time, if at all.
    broken: Option<Option<Instant>>,
}

/// What a reading of the path says.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum PathNews {
    /// It has just stopped working.
    Broke,
    /// It works again after being broken.
    Works,
    /// Nothing changed.
    Same,
}

impl PathHealth {
    /// Takes a reading of the path's `heard` counter at `now`: a path that heard something
    /// before and nothing for [`SILENCE`] broke; one that hears again works.
    pub fn heard(&mut self, heard: u64, now: Instant) -> PathNews {
        match &mut self.heard {
            Some((last, changed)) if *last != heard => {
                (*last, *changed) = (heard, now);
                self.works()
            }
            Some((last, changed)) if *last > 0 && now.duration_since(*changed) >= SILENCE => self.broke(),
            Some(_) => PathNews::Same,
            None => {
                self.heard = Some((heard, now));
                PathNews::Same
            }
        }
    }

    /// webrtc says the path broke (or our own reading did).
    pub fn broke(&mut self) -> PathNews {
        if self.broken.is_some() {
            return PathNews::Same;
        }
        self.broken = Some(None);
        PathNews::Broke
    }

    /// webrtc says the path works (or we heard from it again).
    pub fn works(&mut self) -> PathNews {
        match self.broken.take() {
            Some(_) => PathNews::Works,
            None => PathNews::Same,
        }
    }

    /// Whether the path is broken now.
    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// Whether an ICE restart is due at `now` (broken, and the last restart has had its
    /// time); when it is, it counts as done.
    pub fn restart_due(&mut self, now: Instant) -> bool {
        match &mut self.broken {
            Some(last) if last.is_none_or(|at| now.duration_since(at) >= ICE_RESTART_INTERVAL) => {
                *last = Some(now);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_breaks_a_path_that_worked_and_hearing_again_mends_it() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut path = PathHealth::default();
        assert_eq!(path.heard(0, at(0)), PathNews::Same);
        // Nothing ever heard: still setting up, not broken.
        assert_eq!(path.heard(0, at(5_000)), PathNews::Same);
        assert_eq!(path.heard(7, at(5_100)), PathNews::Same);
        assert_eq!(path.heard(7, at(5_100 + 2_400)), PathNews::Same);
        assert_eq!(path.heard(7, at(5_100 + 2_500)), PathNews::Broke);
        assert_eq!(path.heard(7, at(9_000)), PathNews::Same, "told once");
        assert!(path.is_broken());
        assert_eq!(path.heard(8, at(9_500)), PathNews::Works);
        assert!(!path.is_broken());
    }

    #[test]
    fn restarts_are_spaced_while_the_path_stays_broken() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut path = PathHealth::default();
        assert!(!path.restart_due(at(0)), "a working path is not restarted");
        assert_eq!(path.broke(), PathNews::Broke);
        assert_eq!(path.broke(), PathNews::Same);
        assert!(path.restart_due(at(0)));
        assert!(!path.restart_due(at(3)));
        assert!(path.restart_due(at(4)));
        assert_eq!(path.works(), PathNews::Works);
        assert!(!path.restart_due(at(20)));
    }
}

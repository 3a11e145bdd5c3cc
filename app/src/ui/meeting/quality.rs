//! How well a participant's connection carries them, in one glance: the bars on their tile,
//! from the figures the statistics show in full.

use videomeet_net::meeting::PeerStats;

/// A connection's quality as the tile shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Quality {
    /// Something the user notices: frozen or blocky pictures, broken sound.
    Poor,
    /// Noticeable now and then.
    Fair,
    /// Nothing to notice.
    Good,
}

impl Quality {
    /// Bars lit, of three.
    pub fn bars(self) -> usize {
        match self {
            Self::Poor => 1,
            Self::Fair => 2,
            Self::Good => 3,
        }
    }

    /// Its word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Poor => "poor",
            Self::Fair => "fair",
            Self::Good => "good",
        }
    }
}

/// Above these, a connection is fair (first) or poor (second).
const LOSS_PCT: (f64, f64) = (2.0, 8.0);
const RTT_MS: (f64, f64) = (150.0, 400.0);
const CONCEALED_PCT: (f64, f64) = (3.0, 10.0);
/// Below these, a camera that is on is fair or poor.
const FPS: (f64, f64) = (20.0, 10.0);

/// The quality of a participant's connection from its `stats`, with the figures that set
/// it, in words; `camera_on` when their camera should be moving.
pub fn judge(stats: &PeerStats, camera_on: bool) -> (Quality, String) {
    let mut quality = Quality::Good;
    let mut reasons = Vec::new();
    let mut above = |value: f64, (fair, poor): (f64, f64), what: String| {
        let found = if value > poor {
            Quality::Poor
        } else if value > fair {
            Quality::Fair
        } else {
            return;
        };
        quality = quality.min(found);
        reasons.push(what);
    };
    above(
        stats.loss_pct,
        LOSS_PCT,
        format!("{:.1} % of packets lost", stats.loss_pct),
    );
    if let Some(rtt) = stats.rtt_ms {
        above(rtt, RTT_MS, format!("{rtt:.0} ms round trip"));
    }
    above(
        stats.audio_concealed_pct,
        CONCEALED_PCT,
        format!("{:.1} % of sound filled in", stats.audio_concealed_pct),
    );
    // A picture still arriving; none at all is said by "connecting video…" instead.
    if camera_on && stats.fps > 0.0 {
        above(
            -stats.fps,
            (-FPS.0, -FPS.1),
            format!("{:.0} pictures a second", stats.fps),
        );
    }
    let words = if reasons.is_empty() {
        format!("Connection: {}", quality.word())
    } else {
        format!("Connection: {} ({})", quality.word(), reasons.join(", "))
    };
    (quality, words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats() -> PeerStats {
        PeerStats {
            id: 2,
            rtt_ms: Some(3.0),
            send_kbps: 900.0,
            estimate_kbps: 5000.0,
            receive_kbps: 900.0,
            loss_pct: 0.0,
            jitter_ms: 1.0,
            fps: 30.0,
            width: 1280,
            height: 720,
            decode_ms: 2.0,
            audio_concealed_pct: 0.0,
        }
    }

    #[test]
    fn a_clean_path_is_good_and_the_worst_figure_decides_with_its_reason() {
        assert_eq!(judge(&stats(), true), (Quality::Good, "Connection: good".to_owned()));
        let lossy = PeerStats {
            loss_pct: 4.0,
            ..stats()
        };
        assert_eq!(
            judge(&lossy, true),
            (Quality::Fair, "Connection: fair (4.0 % of packets lost)".to_owned())
        );
        let far_and_lossy = PeerStats {
            loss_pct: 4.0,
            rtt_ms: Some(600.0),
            ..stats()
        };
        let (quality, words) = judge(&far_and_lossy, true);
        assert_eq!(quality, Quality::Poor);
        assert_eq!(words, "Connection: poor (4.0 % of packets lost, 600 ms round trip)");
        let broken_sound = PeerStats {
            audio_concealed_pct: 12.0,
            ..stats()
        };
        assert_eq!(judge(&broken_sound, true).0, Quality::Poor);
    }

    #[test]
    fn a_slow_picture_counts_only_while_the_camera_is_on_and_moving() {
        let slow = PeerStats { fps: 12.0, ..stats() };
        assert_eq!(judge(&slow, true).0, Quality::Fair);
        assert_eq!(judge(&PeerStats { fps: 5.0, ..stats() }, true).0, Quality::Poor);
        assert_eq!(judge(&slow, false).0, Quality::Good, "camera off");
        assert_eq!(
            judge(&PeerStats { fps: 0.0, ..stats() }, true).0,
            Quality::Good,
            "no picture yet"
        );
        assert_eq!(
            judge(
                &PeerStats {
                    rtt_ms: None,
                    ..stats()
                },
                true
            )
            .0,
            Quality::Good
        );
    }
}

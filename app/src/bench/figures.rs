//! Percentiles and the other small sums the scenarios report.

use serde::Serialize;
use serde_json::Value;

/// p50, p95 and p99 of a set of readings, and how many there were.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    /// Number of readings.
    pub count: usize,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Smallest.
    pub min: Option<f64>,
    /// Largest.
    pub max: Option<f64>,
}

impl Spread {
    /// The spread of `values` (nearest-rank percentiles, rounded to 0.1).
    pub fn of(mut values: Vec<f64>) -> Self {
        values.retain(|v| v.is_finite());
        values.sort_by(f64::total_cmp);
        let rank = |p: usize| {
            let index = (values.len() * p).div_ceil(100).saturating_sub(1);
            values.get(index).copied().map(round1)
        };
        Self {
            count: values.len(),
            p50: rank(50),
            p95: rank(95),
            p99: rank(99),
            min: values.first().copied().map(round1),
            max: values.last().copied().map(round1),
        }
    }
}

/// Rounded to one decimal.
pub fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The mean, or `None` without values.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| round1(values.iter().sum::<f64>() / values.len() as f64))
}

/// A figure for a table cell: one decimal, or a dash when missing.
pub fn cell(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
}

/// How smoothly pictures came, as the `video_stats` lines among `events` tell it.
#[derive(Debug, Serialize)]
pub struct Smoothness {
    /// Frames decoded per second, mean over every incoming video and second.
    pub fps: Option<f64>,
    /// Waits over 150 ms between two decoded pictures, over all incoming videos.
    pub freezes: u64,
    /// Longest wait between two decoded pictures, ms.
    pub max_gap_ms: Option<f64>,
}

impl Smoothness {
    /// The figures of the `video_stats` lines among `events`.
    pub fn of(events: &[Value]) -> Self {
        let numbers = |key: &str| {
            events
                .iter()
                .filter(|event| event["event"] == "video_stats")
                .filter_map(|event| event[key].as_f64())
                .collect::<Vec<_>>()
        };
        Self {
            fps: mean(&numbers("fps")),
            freezes: numbers("freezes").iter().sum::<f64>() as u64,
            max_gap_ms: numbers("max_gap_ms").into_iter().reduce(f64::max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let spread = Spread::of((1..=100).map(f64::from).collect());
        assert_eq!(
            (spread.p50, spread.p95, spread.p99),
            (Some(50.0), Some(95.0), Some(99.0))
        );
        assert_eq!((spread.min, spread.max, spread.count), (Some(1.0), Some(100.0), 100));
        let one = Spread::of(vec![7.25]);
        assert_eq!((one.p50, one.p99), (Some(7.3), Some(7.3)));
        assert_eq!(Spread::of(vec![f64::NAN]), Spread::default());
        assert_eq!(mean(&[]), None);
        assert_eq!(cell(None), "-");
        assert_eq!(cell(mean(&[1.0, 2.0])), "1.5");
    }
}

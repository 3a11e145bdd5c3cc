//! How the history's times read: in the computer's time zone, or a fixed one (tests).

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Local, TimeZone, Utc};

/// The time zone times are shown in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Zone(Option<FixedOffset>);

impl Zone {
    /// The computer's own.
    pub const LOCAL: Self = Self(None);

    /// Always this offset from UTC, whatever the computer says.
    #[cfg(test)]
    pub fn fixed(offset: FixedOffset) -> Self {
        Self(Some(offset))
    }

    fn at(self, ms: i64) -> DateTime<FixedOffset> {
        let utc = Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
        match self.0 {
            Some(offset) => utc.with_timezone(&offset),
            None => utc.with_timezone(&Local).fixed_offset(),
        }
    }

    /// "Mon 3 Mar 2025, 14:05".
    pub fn date_time(self, ms: i64) -> String {
        self.at(ms).format("%a %-d %b %Y, %H:%M").to_string()
    }

    /// "14:05".
    pub fn time(self, ms: i64) -> String {
        self.at(ms).format("%H:%M").to_string()
    }

    /// "2025-03-03 14-05", for file names.
    pub fn file_stamp(self, ms: i64) -> String {
        self.at(ms).format("%Y-%m-%d %H-%M").to_string()
    }
}

/// "1 h 05 min", "12 min", "under a minute".
pub fn duration_text(duration: Duration) -> String {
    let minutes = duration.as_secs() / 60;
    match (minutes / 60, minutes % 60) {
        (0, 0) => "under a minute".to_owned(),
        (0, minutes) => format!("{minutes} min"),
        (hours, minutes) => format!("{hours} h {minutes:02} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_the_zone_given() {
        // 2025-03-03 14:05:00 UTC.
        let ms = 1_741_010_700_000;
        let utc = Zone::fixed(FixedOffset::east_opt(0).expect("offset"));
        assert_eq!(utc.date_time(ms), "Mon 3 Mar 2025, 14:05");
        assert_eq!(utc.file_stamp(ms), "2025-03-03 14-05");
        let paris = Zone::fixed(FixedOffset::east_opt(3600).expect("offset"));
        assert_eq!(paris.time(ms), "15:05");
    }

    #[test]
    fn durations_read_in_hours_and_minutes() {
        assert_eq!(duration_text(Duration::from_secs(59)), "under a minute");
        assert_eq!(duration_text(Duration::from_secs(12 * 60 + 30)), "12 min");
        assert_eq!(duration_text(Duration::from_secs(3600 + 5 * 60)), "1 h 05 min");
    }
}

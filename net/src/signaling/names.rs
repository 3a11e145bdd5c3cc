//! Names as the meeting shows them: each participant's differs from everyone else's, and the
//! host's name belongs to the host.

use crate::protocol::limits;

/// What a guest who asked for `wanted` is called, given the names `taken` by the host and
/// the others: `wanted` itself, or with " (2)", " (3)"... added, compared without regard to
/// case. A guest does not get to call themselves the host.
pub(crate) fn guest_name<'a>(wanted: &str, taken: impl Iterator<Item = &'a str> + Clone) -> String {
    let base = without_host_mark(wanted);
    let is_taken = |name: &str| {
        let name = name.to_lowercase();
        taken.clone().any(|other| other.to_lowercase() == name)
    };
    if !is_taken(base) {
        return base.to_owned();
    }
    // There are fewer names taken than numbers tried, so one of them is free.
    let mut number = 2;
    loop {
        let suffix = format!(" ({number})");
        let kept = limits::MAX_NAME_CHARS.saturating_sub(suffix.chars().count());
        let cut: String = base.chars().take(kept).collect();
        let name = format!("{}{suffix}", cut.trim_end());
        if !is_taken(&name) {
            return name;
        }
        number += 1;
    }
}

/// `name` without a trailing "(host)": guests are marked as the host by the meeting, not by
/// themselves.
fn without_host_mark(name: &str) -> &str {
    const MARK: &str = "(host)";
    let trimmed = name.trim_end();
    let cut = trimmed.len().checked_sub(MARK.len());
    match cut {
        Some(cut) if trimmed.is_char_boundary(cut) && trimmed[cut..].eq_ignore_ascii_case(MARK) => {
            let rest = trimmed[..cut].trim_end();
            if rest.is_empty() { "Guest" } else { rest }
        }
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(wanted: &str, taken: &[&str]) -> String {
        guest_name(wanted, taken.iter().copied())
    }

    #[test]
    fn a_free_name_is_kept() {
        assert_eq!(named("Ada", &["Grace", "Bob"]), "Ada");
    }

    #[test]
    fn an_equal_name_gets_a_number() {
        assert_eq!(named("Ada", &["Grace", "Ada"]), "Ada (2)");
        assert_eq!(named("ada", &["Grace", "Ada", "Ada (2)"]), "ada (3)");
        assert_eq!(
            named("ADA", &["Grace", "ada"]),
            "ADA (2)",
            "case does not tell names apart"
        );
    }

    #[test]
    fn the_hosts_name_is_the_hosts() {
        assert_eq!(named("Grace", &["Grace"]), "Grace (2)");
        assert_eq!(named("Grace (host)", &["Grace"]), "Grace (2)");
        assert_eq!(named("Hana (HOST) ", &["Grace"]), "Hana");
        assert_eq!(named("(host)", &["Grace"]), "Guest");
    }

    #[test]
    fn a_numbered_name_keeps_to_the_length_limit() {
        let long = "x".repeat(limits::MAX_NAME_CHARS);
        let name = named(&long, &[&long]);
        assert_eq!(name.chars().count(), limits::MAX_NAME_CHARS);
        assert!(name.ends_with(" (2)"), "{name}");
    }

    #[test]
    fn a_full_meeting_still_finds_a_name() {
        let taken: Vec<String> = std::iter::once("Ada".to_owned())
            .chain((2..=limits::MAX_PARTICIPANTS + limits::MAX_WAITING).map(|n| format!("Ada ({n})")))
            .collect();
        let name = guest_name("Ada", taken.iter().map(String::as_str));
        assert!(!taken.contains(&name), "{name}");
    }
}

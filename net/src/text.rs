//! Text from other people made fit to show: names, titles and chat keep what can be seen and
//! lose what would change how the text around them looks (escapes, line breaks in a name,
//! right-to-left overrides, invisible characters that make two names look alike).

use crate::protocol::limits;

/// Trims a display name and cuts it to [`limits::MAX_NAME_CHARS`]; control and format
/// characters go, and runs of spaces become one.
pub fn clean_name(name: &str) -> String {
    let cleaned = clean_text(&spaced(name), limits::MAX_NAME_CHARS);
    if cleaned.is_empty() { "Guest".into() } else { cleaned }
}

/// A display name cleaned as [`clean_name`] cleans it, but neither cut nor replaced when
/// empty: for a participant renaming, who is told when it is too long or empty instead.
pub fn uncut_name(name: &str) -> String {
    clean_text(&spaced(name), usize::MAX)
}

/// `text` with every run of white space made one space.
fn spaced(text: &str) -> String {
    text.split(char::is_whitespace)
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text from elsewhere made fit to show on one line: control characters (line breaks,
/// escapes) and invisible format characters go, spaces around it are trimmed, and it is cut
/// to `max_chars` characters.
pub fn clean_text(text: &str, max_chars: usize) -> String {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_control() && !is_hidden_format(*c) && !is_line_separator(*c))
        .collect();
    cleaned
        .trim()
        .chars()
        .take(max_chars)
        .collect::<String>()
        .trim_end()
        .to_owned()
}

/// A chat message made fit to show: printable text and line breaks. Escapes, bells, NULs,
/// carriage returns and the characters that reverse or isolate the direction of the text
/// around them go; tabs become spaces. Zero-width joiners stay: emoji and some scripts need
/// them. Not cut: the room refuses messages that are too long.
pub fn clean_chat(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .filter_map(|c| match c {
            '\n' => Some('\n'),
            '\t' => Some(' '),
            c if is_line_separator(c) => Some('\n'),
            c if c.is_control() || is_direction_control(c) || matches!(c, '\u{200B}' | '\u{FEFF}') => None,
            c => Some(c),
        })
        .collect();
    cleaned.trim().to_owned()
}

/// Characters that change the direction of the text after them (embeddings, overrides,
/// isolates): a name ending in one turns what follows it around.
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Format characters nobody sees: the direction controls and marks, zero-width spaces and
/// joiners, the byte order mark, soft hyphens and the like. In a name they only serve to
/// make two names look alike.
pub(crate) fn is_hidden_format(c: char) -> bool {
    is_direction_control(c)
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2060}'..='\u{2064}'
                | '\u{206A}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// Unicode's line and paragraph separators: line breaks by another name.
fn is_line_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("  Ada\u{7}\n "), "Ada");
        assert_eq!(clean_name(""), "Guest");
        assert_eq!(clean_name(&"x".repeat(500)).chars().count(), limits::MAX_NAME_CHARS);
    }

    #[test]
    fn names_lose_what_makes_them_look_like_another() {
        // Right-to-left override: "Eve" followed by a reversed "exe.gnp".
        assert_eq!(clean_name("Eve\u{202E}gnp.exe"), "Evegnp.exe");
        assert_eq!(clean_name("\u{2066}Grace\u{2069}"), "Grace");
        assert_eq!(clean_name("A\u{200B}na\u{200D}"), "Ana");
        assert_eq!(clean_name("\u{FEFF}Ana\u{200E}\u{200F}"), "Ana");
        assert_eq!(
            clean_name("Ana\u{1B}[31m"),
            "Ana[31m",
            "the escape goes, the rest is plain text"
        );
        assert_eq!(clean_name("Ana\u{85}\u{9B}"), "Ana", "C1 controls");
        assert_eq!(clean_name("  Ana \u{A0}  \u{3000} Lima\u{2028}"), "Ana Lima");
        assert_eq!(clean_name("\u{202E}\u{200B}"), "Guest");
        assert_eq!(clean_name("Zoë 李 😀"), "Zoë 李 😀", "letters and emoji stay");
    }

    #[test]
    fn chat_keeps_printable_text_and_line_breaks() {
        assert_eq!(clean_chat("one\r\ntwo\n\nthree"), "one\ntwo\n\nthree");
        assert_eq!(clean_chat("bell\u{7} nul\u{0} esc\u{1B}[2J"), "bell nul esc[2J");
        assert_eq!(clean_chat("a\tb"), "a b");
        assert_eq!(clean_chat("\u{202E}txt.exe\u{202C} \u{2067}x\u{2069}"), "txt.exe x");
        assert_eq!(clean_chat("para\u{2029}line\u{2028}end"), "para\nline\nend");
        assert_eq!(clean_chat("\u{FEFF}zero\u{200B}width"), "zerowidth");
        assert_eq!(clean_chat("👩\u{200D}💻 کتاب\u{200C}ها"), "👩\u{200D}💻 کتاب\u{200C}ها");
        assert_eq!(clean_chat("\u{9B}31m\u{85}"), "31m", "C1 controls");
        assert_eq!(clean_chat(" \n\u{7}\n "), "");
    }
}

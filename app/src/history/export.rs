//! A meeting's chat as a text file: readable lines, and a file name made safe from the
//! title and the date.

use std::path::{Path, PathBuf};

use super::Answer;
use super::records::{ChatLine, Direction, FileLine, MeetingDetails, Said};
use super::times::Zone;

/// Longest title kept in a file name, in characters.
const TITLE_IN_NAME: usize = 60;

/// The chat as text: a heading, then one line per message ("14:06 Ada: hello") and per file
/// offered ("Grace sent a file: notes.txt (12 KB)"), in the host's order.
pub fn chat_text(details: &MeetingDetails, zone: Zone) -> String {
    let summary = &details.summary;
    let mut text = format!(
        "Chat of \"{}\", hosted by {}, {}\n\n",
        summary.title,
        summary.host_name,
        zone.date_time(summary.started_at_ms)
    );
    for said in details.conversation() {
        match said {
            Said::Message(line) => text.push_str(&chat_line(line, zone)),
            Said::File(file) => text.push_str(&file_line(file)),
        }
        text.push('\n');
    }
    text
}

/// "Grace sent a file: notes.txt (12 KB)", or "You sent a file: ...".
pub fn file_line(file: &FileLine) -> String {
    let who = match file.direction {
        Direction::Sent => "You",
        Direction::Received => file.sender_name.as_str(),
    };
    format!(
        "{who} sent a file: {} ({})",
        file.name,
        videomeet_net::files::size_text(file.size)
    )
}

/// "14:06 Ada: hello", or "14:07 Grace to Ada, privately: psst".
pub fn chat_line(line: &ChatLine, zone: Zone) -> String {
    let to = line
        .private_to
        .as_ref()
        .map(|to| format!(" to {to}, privately"))
        .unwrap_or_default();
    format!("{} {}{to}: {}", zone.time(line.sent_at_ms), line.sender_name, line.text)
}

/// "Standup 2025-03-03 14-05 chat.txt": nothing in it a file system could take for a
/// folder, a device or a hidden file.
pub fn file_name(details: &MeetingDetails, zone: Zone) -> String {
    let title: String = details
        .summary
        .title
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if c.is_alphanumeric() || " -_()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(TITLE_IN_NAME)
        .collect();
    let title = title.trim_matches(|c: char| c == ' ' || c == '_');
    let title = if title.is_empty() { "Meeting" } else { title };
    format!("{title} {} chat.txt", zone.file_stamp(details.summary.started_at_ms))
}

/// `folder/name`, or `folder/name (2)` and so on when that is taken.
fn free_path(folder: &Path, name: &str) -> PathBuf {
    let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
    let mut path = folder.join(name);
    let mut number = 2;
    while path.exists() {
        path = folder.join(format!("{stem} ({number}).{extension}"));
        number += 1;
    }
    path
}

/// Writes the chat into a new file in `folder`; its path, or why not in words.
pub fn write_chat(details: &MeetingDetails, folder: &Path) -> Answer<PathBuf> {
    let zone = Zone::LOCAL;
    let failed = |error: std::io::Error| format!("The chat could not be saved in {}: {error}", folder.display());
    std::fs::create_dir_all(folder).map_err(failed)?;
    let path = free_path(folder, &file_name(details, zone));
    std::fs::write(&path, chat_text(details, zone)).map_err(failed)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::records::MeetingSummary;
    use crate::history::testing::temp_folder;

    fn utc() -> Zone {
        Zone::fixed(chrono::FixedOffset::east_opt(0).expect("offset"))
    }

    fn details(title: &str) -> MeetingDetails {
        let chat = |seq, from_id, sender: &str, text: &str, private_to: Option<&str>| ChatLine {
            seq,
            from_id,
            sender_name: sender.into(),
            text: text.into(),
            sent_at_ms: 1_741_010_700_000 + 60_000 * i64::try_from(seq).expect("small"),
            private_to: private_to.map(Into::into),
        };
        MeetingDetails {
            summary: MeetingSummary {
                id: 1,
                title: title.into(),
                host_name: "Grace".into(),
                code: "K7QX3MZP".into(),
                address: "192.168.1.20:47800".into(),
                hosted: false,
                started_at_ms: 1_741_010_700_000,
                ended_at_ms: None,
                end_reason: None,
                last_seen_at_ms: 1_741_010_700_000,
                people: 2,
            },
            people: Vec::new(),
            chat: vec![
                chat(1, 2, "Ada", "hello", None),
                chat(3, 1, "Grace", "psst", Some("Ada")),
            ],
            files: vec![FileLine {
                seq: 2,
                sender_name: "Grace".into(),
                name: "notes.txt".into(),
                size: 12_400,
                direction: Direction::Received,
                saved_path: None,
                state: "done".into(),
            }],
            recordings: Vec::new(),
        }
    }

    #[test]
    fn the_chat_reads_in_order_with_files_in_their_place_and_private_messages_marked() {
        assert_eq!(
            chat_text(&details("Standup"), utc()),
            "Chat of \"Standup\", hosted by Grace, Mon 3 Mar 2025, 14:05\n\n\
             14:06 Ada: hello\n\
             Grace sent a file: notes.txt (12 KB)\n\
             14:08 Grace to Ada, privately: psst\n"
        );
    }

    #[test]
    fn file_names_are_safe_whatever_the_title() {
        assert_eq!(
            file_name(&details("Standup"), utc()),
            "Standup 2025-03-03 14-05 chat.txt"
        );
        assert_eq!(
            file_name(&details("../../etc/passwd\u{0}\u{202e}"), utc()),
            "etc_passwd 2025-03-03 14-05 chat.txt"
        );
        assert_eq!(file_name(&details("..."), utc()), "Meeting 2025-03-03 14-05 chat.txt");
        assert_eq!(
            file_name(&details("C:\\CON"), utc()),
            "C__CON 2025-03-03 14-05 chat.txt"
        );
        let long = file_name(&details(&"x".repeat(4096)), utc());
        assert!(long.len() < 100, "{long}");
    }

    #[test]
    fn an_export_never_overwrites_an_earlier_one() {
        let folder = temp_folder("export");
        let first = write_chat(&details("Standup"), &folder).expect("written");
        let second = write_chat(&details("Standup"), &folder).expect("written again");
        assert_ne!(first, second);
        assert!(
            second.to_string_lossy().ends_with("chat (2).txt"),
            "{}",
            second.display()
        );
        assert!(std::fs::read_to_string(&second).expect("read").contains("Ada: hello"));
    }
}

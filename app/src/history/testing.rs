//! Helpers for the history's tests and the home screen's.

use std::path::{Path, PathBuf};

use super::History;
use super::records::{ChatLine, Direction, Record};
use super::{schema, store};

/// An empty folder of its own for one test, under the system's temporary folder.
pub fn temp_folder(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("videomeet-history-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("a test folder");
    folder
}

/// 2025-03-03 14:05 UTC, in ms since the Unix epoch.
const MARCH_3_1405: i64 = 1_741_010_700_000;
const MINUTE: i64 = 60_000;

/// A history in `folder` with three meetings at fixed times (UTC): "Design review" on
/// 3 March 2025 (Grace Hopper's, with Alan Turing; chat, a private message, two files),
/// "Standup" the day before (hosted by us), and "Lab sync" on 28 February, whose program
/// was killed (no end).
pub fn sample_history(folder: &Path) -> History {
    let path = folder.join("history.sqlite3");
    let connection = schema::open(&path).expect("a history");
    let mut meeting = None;
    let mut write = |record: Record| {
        // Each Started begins the next meeting; the rest are about the latest.
        let about = if matches!(record, Record::Started { .. }) {
            None
        } else {
            meeting
        };
        meeting = store::write(&connection, about, &record).expect("written");
        meeting
    };
    let started = |title: &str, host: &str, code: &str, address: &str, hosted: bool, at_ms: i64| Record::Started {
        title: title.into(),
        host_name: host.into(),
        code: code.into(),
        address: address.into(),
        hosted,
        at_ms,
    };
    let person = |peer_id: u32, name: &str, at_ms: i64| Record::PersonJoined {
        peer_id,
        name: name.into(),
        at_ms,
    };
    let chat = |seq: u64, from_id: u32, sender: &str, text: &str, at_ms: i64, private_to: Option<&str>| {
        Record::Chat(ChatLine {
            seq,
            from_id,
            sender_name: sender.into(),
            text: text.into(),
            sent_at_ms: at_ms,
            private_to: private_to.map(Into::into),
        })
    };

    let day = 24 * 60 * MINUTE;
    let lab = MARCH_3_1405 - 3 * day + 135 * MINUTE;
    write(started(
        "Lab sync",
        "Alan Turing",
        "QW3E4R5T",
        "192.168.1.31:47800",
        false,
        lab,
    ));
    write(person(4, "Ada Lovelace", lab));
    let lab_id = write(person(1, "Alan Turing", lab)).expect("a meeting");

    let standup = MARCH_3_1405 - day - 305 * MINUTE;
    write(started(
        "Standup",
        "Ada Lovelace",
        "ZX8C7V6B",
        "192.168.1.12:47800",
        true,
        standup,
    ));
    for (id, name) in [
        (1, "Ada Lovelace"),
        (2, "Grace Hopper"),
        (3, "Alan Turing"),
        (4, "Edsger Dijkstra"),
    ] {
        write(person(id, name, standup + MINUTE));
    }
    write(Record::Ended {
        at_ms: standup + 15 * MINUTE,
        reason: "left".into(),
    });

    let review = MARCH_3_1405;
    write(started(
        "Design review",
        "Grace Hopper",
        "K7QX3MZP",
        "192.168.1.20:47800",
        false,
        review,
    ));
    write(person(2, "Ada Lovelace", review));
    write(person(1, "Grace Hopper", review));
    write(person(3, "Alan Turing", review + 5 * MINUTE));
    write(chat(1, 1, "Grace Hopper", "Welcome, everyone.", review + MINUTE, None));
    write(chat(
        2,
        2,
        "Ada Lovelace",
        "The slides are on their way.",
        review + 2 * MINUTE,
        None,
    ));
    write(Record::FileOffered {
        seq: 3,
        sender_name: "Ada Lovelace".into(),
        name: "slides.pdf".into(),
        size: 1_900_000,
        direction: Direction::Sent,
    });
    write(Record::FileState {
        seq: 3,
        state: "done".into(),
    });
    write(chat(
        4,
        3,
        "Alan Turing",
        "Can you send me the notes after?",
        review + 4 * MINUTE,
        Some("Ada Lovelace"),
    ));
    write(chat(
        5,
        2,
        "Ada Lovelace",
        "Sure.",
        review + 7 * MINUTE,
        Some("Alan Turing"),
    ));
    write(Record::FileOffered {
        seq: 6,
        sender_name: "Grace Hopper".into(),
        name: "notes.txt".into(),
        size: 12_400,
        direction: Direction::Received,
    });
    write(Record::FileSaved {
        seq: 6,
        path: folder.join("notes.txt"),
    });
    write(Record::FileState {
        seq: 6,
        state: "done".into(),
    });
    write(Record::PersonLeft {
        peer_id: 3,
        at_ms: review + 35 * MINUTE,
    });
    write(Record::Ended {
        at_ms: review + 47 * MINUTE,
        reason: "host_ended".into(),
    });
    store::touch(&connection, lab_id, lab + 25 * MINUTE).expect("seen");
    drop(connection);
    History::open(path).expect("the history")
}

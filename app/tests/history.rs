//! The history survives the program being killed: a headless host with `--history` is
//! killed (SIGKILL) in the middle of a meeting, and its database still holds the meeting,
//! both people and the chat in order.

// Of its ways to start a host, this test uses the one that sets its environment.
#[allow(dead_code)]
mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::{Running, read_lines, start_host_with_env, videomeet};
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

/// An empty folder for this test's data.
fn data_folder(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("videomeet-history-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("a data folder");
    folder
}

/// The first line of `lines` that is `wanted`, within 10 s; panics naming `what` otherwise.
fn wait_for(lines: &Receiver<String>, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Ok(line) = lines.recv_timeout(left) else { break };
        if let Ok(event) = serde_json::from_str::<Value>(&line)
            && wanted(&event)
        {
            return event;
        }
    }
    panic!("never saw {what}")
}

/// Rows of `sql` on the database, each as its columns in text (NULL as "-").
fn rows(database: &Connection, sql: &str) -> Vec<Vec<String>> {
    let mut statement = database.prepare(sql).expect("a query");
    let columns = statement.column_count();
    statement
        .query_map([], |row| {
            (0..columns)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => "-".to_owned(),
                        rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                        rusqlite::types::ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
                        other => format!("{other:?}"),
                    })
                })
                .collect()
        })
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("readable rows")
}

fn open_read_only(path: &Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("the history opens")
}

#[test]
fn a_host_killed_mid_meeting_keeps_the_meeting_its_people_and_its_chat() {
    let host_data = data_folder("host");
    let (mut host, host_lines, joined) = start_host_with_env(
        &["--history", "--size", "320x240"],
        [("VIDEOMEET_DATA_DIR", &host_data)],
    );
    let mut host_input = host.0.stdin.take().expect("the host's input");
    let link = joined["link"].as_str().expect("a link");

    // Ada joins (keeping no history of her own) and writes first; Grace answers, once to
    // everyone and once to Ada alone.
    let mut ada = Running(
        videomeet(&["join", "--headless", link, "--name", "Ada", "--size", "320x240"])
            .env("VIDEOMEET_DATA_DIR", data_folder("guest"))
            .stdin(Stdio::piped())
            .spawn()
            .expect("Ada starts"),
    );
    let mut ada_input = ada.0.stdin.take().expect("Ada's input");
    let ada_lines = read_lines("ada-output", ada.0.stdout.take().expect("Ada's output"));
    let ada_id = wait_for(&ada_lines, "Ada in the meeting", |e| e["event"] == "joined")["you"].clone();
    wait_for(&host_lines, "Ada joining", |e| {
        e["event"] == "peer_joined" && e["peer"]["name"] == "Ada"
    });
    writeln!(ada_input, r#"{{"command":"chat","text":"hello from Ada"}}"#).expect("Ada writes");
    wait_for(&host_lines, "Ada's message", |e| {
        e["event"] == "chat" && e["text"] == "hello from Ada"
    });
    writeln!(host_input, r#"{{"command":"chat","text":"hello Ada"}}"#).expect("Grace writes");
    wait_for(&host_lines, "Grace's message", |e| {
        e["event"] == "chat" && e["text"] == "hello Ada"
    });
    writeln!(host_input, r#"{{"command":"chat","text":"psst","to":{ada_id}}}"#).expect("Grace whispers");
    wait_for(&host_lines, "Grace's private message", |e| {
        e["event"] == "chat" && e["text"] == "psst"
    });
    // The next of the host's once-a-second reports: the meeting goes on a while after the
    // last message, as it would for a user.
    wait_for(&host_lines, "a report after the messages", |e| {
        e["event"] == "audio_stats"
    });

    // Killed at once: no chance to say goodbye or to write anything more.
    host.0.kill().expect("the host is killed");
    host.0.wait().expect("the host is gone");

    let database = open_read_only(&host_data.join("history.sqlite3"));
    let meetings = rows(
        &database,
        "SELECT title, host_name, hosted, ended_at, last_seen_at >= started_at FROM meetings",
    );
    assert_eq!(meetings, [["Test", "Grace", "1", "-", "1"]], "the meeting, not ended");
    let people = rows(&database, "SELECT name FROM people ORDER BY joined_at, id");
    assert_eq!(people, [["Grace"], ["Ada"]]);
    let chat = rows(
        &database,
        "SELECT seq, sender_name, text, private_to FROM chat ORDER BY seq",
    );
    assert_eq!(
        chat,
        [
            ["1", "Ada", "hello from Ada", "-"],
            ["2", "Grace", "hello Ada", "-"],
            ["3", "Grace", "psst", "Ada"],
        ]
    );
}

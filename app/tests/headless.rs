//! Three `videomeet` processes meet without windows, seen through their JSON events.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// Kills the process when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn videomeet(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_videomeet"));
    command.args(args).stdout(Stdio::piped()).stderr(Stdio::null());
    command
}

fn events(output: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")))
        .collect()
}

#[test]
fn a_host_and_two_guest_processes_see_each_other() {
    let mut host = Running(
        videomeet(&[
            "host",
            "--headless",
            "--title",
            "Test",
            "--name",
            "Grace",
            "--port",
            "0",
            "--no-announce",
        ])
        .args(["--size", "320x240", "--duration", "30"])
        .spawn()
        .expect("host starts"),
    );
    let (lines_tx, lines) = mpsc::sync_channel(256);
    let stdout = host.0.stdout.take().expect("host stdout");
    std::thread::Builder::new()
        .name("host-output".into())
        .spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        })
        .unwrap();
    let joined: Value = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("the host reports joining");
        let event: Value = serde_json::from_str(&line).expect("JSON line");
        if event["event"] == "joined" {
            break event;
        }
    };
    assert_eq!(joined["meeting"]["title"], "Test");
    let link = joined["link"].as_str().expect("a link").to_owned();
    let guest = |name: &str| {
        videomeet(&[
            "join",
            &link,
            "--headless",
            "--name",
            name,
            "--size",
            "320x240",
            "--duration",
            "6",
        ])
        .spawn()
        .expect("guest starts")
    };
    let (ada, bob) = (guest("Ada"), guest("Bob"));
    for (name, guest) in [("Ada", ada), ("Bob", bob)] {
        let output = guest.wait_with_output().expect("guest runs");
        assert!(output.status.success(), "{name} failed");
        let events = events(&output.stdout);
        assert_eq!(
            events.first().map(|e| e["event"].clone()),
            Some("joined".into()),
            "{name}: {events:?}"
        );
        assert_eq!(
            events.last().map(|e| e["event"].clone()),
            Some("ended".into()),
            "{name}: {events:?}"
        );
        // Steady video from both other participants, with stamp latencies.
        let smooth: HashSet<u64> = events
            .iter()
            .filter(|e| e["event"] == "video_stats" && e["fps"].as_f64() >= Some(20.0))
            .filter(|e| e["latency_ms_p50"].as_f64().is_some())
            .filter_map(|e| e["id"].as_u64())
            .collect();
        assert_eq!(
            smooth.len(),
            2,
            "{name} did not get smooth video from both others: {events:?}"
        );
    }
    let mut host_events = Vec::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_millis(500)) {
        host_events.push(serde_json::from_str::<Value>(&line).expect("JSON line"));
    }
    let left = host_events.iter().filter(|e| e["event"] == "peer_left").count();
    assert_eq!(left, 2, "the host saw both guests leave: {host_events:?}");
}

#[test]
fn list_and_bad_arguments_behave() {
    let list = videomeet(&["list", "--wait", "0.5"]).output().expect("list runs");
    assert!(list.status.success());
    events(&list.stdout); // zero or more JSON lines
    // Bad addresses and devices are refused before any window opens.
    for (args, said) in [
        (&["join", "not an address"][..], "not a meeting address"),
        (&["host", "--camera", "no-such-camera"][..], "unknown camera"),
    ] {
        let refused = Command::new(env!("CARGO_BIN_EXE_videomeet"))
            .args(args)
            .output()
            .expect("runs");
        assert!(!refused.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&refused.stderr).contains(said), "{args:?}");
    }
}

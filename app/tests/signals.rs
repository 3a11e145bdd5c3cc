//! Ctrl+C (SIGINT) and SIGTERM leave the meeting as the Leave button does: a host's guests
//! see the meeting end, a guest's host sees it leave, the announcement goes at once, and the
//! program exits with success.
#![cfg(unix)]

mod common;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc::Receiver;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use common::{Running, read_lines, start_host, videomeet};
use serde_json::Value;
use videomeet_media::testing;

/// One meeting at a time, so the timings are not those of a crowded machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How long a program asked to stop may take to leave and exit.
const EXIT_WITHIN: Duration = Duration::from_secs(2);

/// Sends `signal` (`INT`, `TERM`) to the process.
fn send(signal: &str, process: &Child) {
    let sent = Command::new("kill")
        .args(["-s", signal, &process.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -s {signal} failed");
}

/// The process's exit status and how long it took, if it exits within `limit`.
fn exits_within(process: &mut Child, limit: Duration) -> Option<(ExitStatus, Duration)> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = process.try_wait().expect("process status") {
            return Some((status, start.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Reads JSON lines into `seen` until one satisfies `wanted` (returned) or `limit` passes.
fn wait_for(
    lines: &Receiver<String>,
    seen: &mut Vec<Value>,
    limit: Duration,
    wanted: impl Fn(&Value) -> bool,
) -> Option<Value> {
    let deadline = Instant::now() + limit;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let line = lines.recv_timeout(left).ok()?;
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        seen.push(event.clone());
        if wanted(&event) {
            return Some(event);
        }
    }
    None
}

/// Starts `videomeet` with `args` and without camera or microphone, and waits for its
/// `joined` event; returns it, its output lines and that event.
fn start_joined(args: &[&str]) -> (Running, Receiver<String>, Value) {
    let mut process = Running(
        videomeet(args)
            .args(["--camera-off", "--mic", "silence"])
            .spawn()
            .expect("videomeet starts"),
    );
    let lines = read_lines("meeting-output", process.0.stdout.take().expect("its output"));
    let joined = wait_for(&lines, &mut Vec::new(), Duration::from_secs(10), |e| {
        e["event"] == "joined"
    });
    (
        process,
        lines,
        joined.unwrap_or_else(|| panic!("{args:?} did not join")),
    )
}

/// A headless guest joining `address`.
fn start_guest(address: &str, name: &str) -> (Running, Receiver<String>, Value) {
    start_joined(&["join", address, "--headless", "--name", name])
}

/// Sends SIGTERM to `host` (called `who`), which must exit with success within `limit`;
/// its guest must then see the meeting end, not the host lost, and exit with success.
fn terminate_host(who: &str, host: &mut Running, limit: Duration, guest: &mut Running, guest_lines: &Receiver<String>) {
    send("TERM", &host.0);
    let (status, took) =
        exits_within(&mut host.0, limit).unwrap_or_else(|| panic!("{who} did not exit within {limit:?} of SIGTERM"));
    println!("{who} exited {took:?} after SIGTERM");
    assert!(status.success(), "{who} exited with {status}");
    let mut events = Vec::new();
    let ended = wait_for(guest_lines, &mut events, EXIT_WITHIN, |e| e["event"] == "ended");
    let ended = ended.unwrap_or_else(|| panic!("the guest did not see the meeting end: {events:?}"));
    assert_eq!(
        ended["reason"], "host_ended",
        "the guest lost the host instead: {events:?}"
    );
    let (status, _) = exits_within(&mut guest.0, EXIT_WITHIN).expect("the guest exits once the meeting ended");
    assert!(status.success(), "the guest exited with {status}");
}

#[test]
fn sigint_leaves_and_sigterm_ends_a_headless_meeting() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let (mut host, host_lines, joined) = start_host(&["--camera-off", "--mic", "silence"]);
    let link = joined["link"].as_str().expect("a link").to_owned();
    let (mut ada, ada_lines, ada_joined) = start_guest(&link, "Ada");
    let (mut bob, bob_lines, _) = start_guest(&link, "Bob");

    // A guest asked to stop leaves: the host sees it leave, not lose it.
    send("INT", &ada.0);
    let (status, took) = exits_within(&mut ada.0, EXIT_WITHIN).expect("Ada exits within 2 s of SIGINT");
    println!("Ada exited {took:?} after SIGINT");
    assert!(status.success(), "Ada exited with {status}");
    let ada_events: Vec<Value> = ada_lines
        .try_iter()
        .map(|l| serde_json::from_str(&l).expect("JSON"))
        .collect();
    assert_eq!(
        ada_events.last().map(|e| e["event"].clone()),
        Some("ended".into()),
        "{ada_events:?}"
    );
    let mut host_events = Vec::new();
    let left = wait_for(&host_lines, &mut host_events, Duration::from_secs(2), |e| {
        e["event"] == "peer_left" && e["id"] == ada_joined["you"]
    });
    let left = left.unwrap_or_else(|| panic!("the host did not see Ada leave: {host_events:?}"));
    assert_eq!(left["reason"], "left", "{left}");

    // The host asked to stop ends the meeting for Bob, and exits.
    terminate_host("the host", &mut host, EXIT_WITHIN, &mut bob, &bob_lines);
}

#[test]
fn a_meeting_stopped_by_sigint_leaves_the_list_at_once() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let mut list = Running(videomeet(&["list", "--wait", "6"]).spawn().expect("list starts"));
    let listed = read_lines("list-output", list.0.stdout.take().expect("list stdout"));
    let (mut host, _host_output, joined) = start_joined(&[
        "host",
        "--headless",
        "--title",
        "Stopped by a signal",
        "--name",
        "Grace",
        "--port",
        "0",
    ]);
    let code = joined["meeting"]["code"].clone();
    let ours = |event: &'static str| {
        let code = code.clone();
        move |e: &Value| e["event"] == event && e["code"] == code
    };

    let mut list_events = Vec::new();
    let found = wait_for(&listed, &mut list_events, Duration::from_secs(4), ours("found"));
    let found = found.unwrap_or_else(|| panic!("the list did not show the meeting while listening: {list_events:?}"));
    assert_eq!(found["title"], "Stopped by a signal", "{found}");
    assert_eq!(found["host_name"], "Grace", "{found}");
    assert!(
        found["link"].as_str().is_some_and(|l| l.starts_with("videomeet://")),
        "{found}"
    );

    send("INT", &host.0);
    let stopped = Instant::now();
    let (status, took) = exits_within(&mut host.0, EXIT_WITHIN).expect("the host exits within 2 s of SIGINT");
    println!("the host exited {took:?} after SIGINT");
    assert!(status.success(), "the host exited with {status}");
    // Its goodbye takes the meeting off the list in about a second (records said goodbye
    // to are dropped one second later), long before the list's wait is over.
    let gone = wait_for(&listed, &mut list_events, Duration::from_secs(3), ours("gone"));
    assert!(gone.is_some(), "the meeting stayed listed: {list_events:?}");
    println!("the list saw the meeting go {:?} after SIGINT", stopped.elapsed());
    assert!(
        list.0.try_wait().expect("list status").is_none(),
        "the list had already finished"
    );
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn sigterm_closes_the_window_and_ends_its_meeting() {
    if !testing::expect_display("sigterm_closes_the_window_and_ends_its_meeting") {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let config = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("signals-config");
    let port = free_port();
    let mut window = Running(
        videomeet(&[
            "host",
            "--title",
            "Window",
            "--name",
            "Grace",
            "--port",
            &port.to_string(),
            "--no-announce",
            "--camera-off",
            "--mic",
            "silence",
        ])
        .env("VIDEOMEET_CONFIG_DIR", &config)
        .spawn()
        .expect("the window starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(
            window.0.try_wait().expect("status").is_none(),
            "the window exited before hosting"
        );
        assert!(Instant::now() < deadline, "the meeting was not hosted within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (mut guest, guest_lines, _) = start_guest(&format!("127.0.0.1:{port}"), "Ada");

    // Closing waits up to 2 s for the meeting to end, then up to 1 s for the network side.
    terminate_host(
        "the window",
        &mut window,
        Duration::from_secs(4),
        &mut guest,
        &guest_lines,
    );
}

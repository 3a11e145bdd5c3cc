//! A guest cannot end the meeting: while two `videomeet` programs hold a real call, a
//! client written from PROTOCOL.md attacks the host from inside the LAN (loopback
//! addresses play the machines). After each attack the host is alive, its memory is back
//! near where it was, the call's video never stayed below 20 fps for more than a second,
//! nobody was thrown out, and a newcomer with the passcode joins within 2 s.

mod common;

use std::net::Ipv4Addr;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Running, read_lines, start_host, videomeet};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{WebSocketStream, client_async};
use videomeet_net::protocol::{ClientMessage, MediaState, PROTOCOL_VERSION, ServerMessage, Signal};

const PASSCODE: &str = "s3cret";

/// What a program printed, with when it was read.
type Lines = Arc<Mutex<Vec<(Instant, Value)>>>;

/// Keeps reading `lines` (a full pipe would stall the program) into a shared list.
fn collect(lines: Receiver<String>) -> Lines {
    let seen: Lines = Arc::default();
    let list = Arc::clone(&seen);
    let reading = std::thread::Builder::new()
        .name("collect-output".into())
        .spawn(move || {
            for line in lines {
                if let Ok(event) = serde_json::from_str(&line) {
                    list.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((Instant::now(), event));
                }
            }
        });
    reading.expect("a thread starts");
    seen
}

/// Resident memory of process `pid`, MB.
fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the host is alive");
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .expect("VmRSS");
    kb / 1024.0
}

/// A raw WebSocket to the host from `source` that has said `hello` with `passcode`.
async fn connect(port: u16, source: Ipv4Addr, name: &str, passcode: &str) -> Option<WebSocketStream<TcpStream>> {
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    socket.bind((source, 0).into()).ok()?;
    let stream = socket.connect(([127, 0, 0, 1], port).into()).await.ok()?;
    let (mut socket, _) = client_async(format!("ws://127.0.0.1:{port}/"), stream).await.ok()?;
    let hello = ClientMessage::Hello {
        version: PROTOCOL_VERSION,
        name: name.into(),
        passcode: Some(passcode.into()),
        code: None,
        host_token: None,
        session: None,
        media: MediaState::default(),
    };
    socket.send(Message::text(hello.to_json())).await.ok()?;
    Some(socket)
}

/// The first message the host sends `socket`, within `limit`.
async fn first_answer(socket: &mut WebSocketStream<TcpStream>, limit: Duration) -> Option<ServerMessage> {
    let deadline = tokio::time::Instant::now() + limit;
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, socket.next()).await {
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).ok();
        }
    }
    None
}

/// How long a newcomer with the passcode takes to be welcomed (it leaves again at once).
async fn newcomer_joins(port: u16) -> Duration {
    let started = Instant::now();
    let mut socket = connect(port, Ipv4Addr::LOCALHOST, "Newcomer", PASSCODE)
        .await
        .expect("the newcomer connects");
    let answer = first_answer(&mut socket, Duration::from_secs(2)).await;
    assert!(
        matches!(answer, Some(ServerMessage::Welcome { .. })),
        "the newcomer was not let in within 2 s: {answer:?}"
    );
    let took = started.elapsed();
    let _ = socket.send(Message::text(ClientMessage::Leave.to_json())).await;
    took
}

/// Four connections from one address, each sending 200 short chats at once.
async fn chat_burst(port: u16) {
    let mut sockets = Vec::new();
    for n in 0..4 {
        if let Some(mut socket) = connect(port, Ipv4Addr::new(127, 0, 2, 1), &format!("Chatter {n}"), PASSCODE).await {
            let _ = first_answer(&mut socket, Duration::from_secs(2)).await;
            sockets.push(socket);
        }
    }
    for socket in &mut sockets {
        for _ in 0..200 {
            let chat = ClientMessage::Chat {
                text: "0123456789".into(),
            };
            let _ = socket.feed(Message::text(chat.to_json())).await;
        }
        let _ = socket.flush().await;
    }
    drain_for(&mut sockets, Duration::from_secs(2)).await;
}

/// An admitted guest that never offers, sending the host candidates as fast as allowed.
async fn candidate_flood(port: u16) {
    let Some(mut socket) = connect(port, Ipv4Addr::new(127, 0, 2, 2), "Candidates", PASSCODE).await else {
        panic!("the attacker could not connect");
    };
    let _ = first_answer(&mut socket, Duration::from_secs(2)).await;
    let padding = "x".repeat(900);
    let started = Instant::now();
    let mut sent = 0u32;
    while started.elapsed() < Duration::from_secs(3) {
        let candidate = ClientMessage::Signal {
            to: 1,
            signal: Signal::Candidate {
                candidate: format!(
                    "candidate:{sent} 1 udp 1 10.0.0.1 {} typ host {padding}",
                    1000 + sent % 60000
                ),
                sdp_mid: Some("0".into()),
                sdp_mline_index: Some(0),
            },
        };
        if socket.send(Message::text(candidate.to_json())).await.is_err() {
            break;
        }
        sent += 1;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    drain_for(&mut [socket], Duration::from_millis(500)).await;
}

/// Every connection slot held by idle connections from eight addresses; kept open.
async fn idle_slots(port: u16) -> Vec<TcpStream> {
    let mut idle = Vec::new();
    for address in 1..=8 {
        for _ in 0..8 {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind((Ipv4Addr::new(127, 0, 3, address), 0).into()).unwrap();
            if let Ok(stream) = socket.connect(([127, 0, 0, 1], port).into()).await {
                idle.push(stream);
            }
        }
    }
    idle
}

/// Five wrong passcodes from each of 40 addresses.
async fn passcode_guessing(port: u16) {
    for address in 1..=40 {
        for guess in 0..5 {
            if let Some(mut socket) = connect(
                port,
                Ipv4Addr::new(127, 0, 4, address),
                "Guesser",
                &format!("guess{guess}"),
            )
            .await
            {
                let _ = first_answer(&mut socket, Duration::from_secs(2)).await;
            }
        }
    }
}

/// Reads what the host sends `sockets` for `duration`, as a client that keeps up would.
async fn drain_for(sockets: &mut [WebSocketStream<TcpStream>], duration: Duration) {
    let deadline = tokio::time::Instant::now() + duration;
    for socket in sockets.iter_mut() {
        while let Ok(Some(Ok(_))) = tokio::time::timeout_at(deadline, socket.next()).await {}
    }
}

/// Checks the call since `since`: Ada still decodes the host's camera (never below 20 fps
/// for more than one report in a row), and nobody left.
fn check_call(attack: &str, since: Instant, host: &Lines, ada: &Lines) {
    let ada = ada.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let rates: Vec<f64> = ada
        .iter()
        .filter(|(at, event)| *at >= since && event["event"] == "video_stats" && event["feed"] == "camera")
        .map(|(_, event)| event["fps"].as_f64().expect("fps"))
        .collect();
    assert!(rates.len() >= 2, "{attack}: Ada reported no video: {rates:?}");
    let low_in_a_row = rates.windows(2).any(|pair| pair[0] < 20.0 && pair[1] < 20.0);
    assert!(!low_in_a_row, "{attack}: the call's video fell below 20 fps: {rates:?}");
    let ada_id = ada
        .iter()
        .find(|(_, event)| event["event"] == "joined")
        .map(|(_, event)| event["you"].clone())
        .expect("Ada joined");
    let ended = ada
        .iter()
        .any(|(_, event)| event["event"] == "ended" || (event["event"] == "peer_left" && event["id"] == 1));
    assert!(!ended, "{attack}: Ada lost the meeting");
    let host = host.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let problems: Vec<&Value> = host
        .iter()
        .filter(|(at, event)| *at >= since && event["event"] == "problem")
        .map(|(_, event)| event)
        .collect();
    assert!(
        problems.len() <= 1,
        "{attack}: the host was told of {} problems, the first: {:?}",
        problems.len(),
        problems.first()
    );
    let lost = host
        .iter()
        .any(|(_, event)| event["event"] == "peer_left" && event["id"] == ada_id);
    assert!(!lost, "{attack}: the host lost Ada");
    println!("{attack}: Ada decoded the host at {rates:?} fps");
}

#[test]
fn attacks_from_inside_the_lan_end_nothing() {
    let (host, host_lines, joined) = start_host(&["--passcode", PASSCODE, "--size", "320x240", "--duration", "90"]);
    let link = joined["link"].as_str().expect("a link").to_owned();
    let port: u16 = link
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|port| port.parse().ok())
        .expect("a port in the link");
    let host_pid = host.0.id();
    let host_lines = collect(host_lines);
    let mut ada = Running(
        videomeet(&[
            "join",
            &format!("127.0.0.1:{port}"),
            "--headless",
            "--name",
            "Ada",
            "--passcode",
            PASSCODE,
            "--size",
            "320x240",
            "--duration",
            "90",
        ])
        .spawn()
        .expect("Ada starts"),
    );
    let ada_lines = collect(read_lines("ada-output", ada.0.stdout.take().expect("Ada's output")));
    // The call settles: both see each other, memory stops growing from the start.
    std::thread::sleep(Duration::from_secs(4));
    check_call(
        "before any attack",
        Instant::now() - Duration::from_secs(3),
        &host_lines,
        &ada_lines,
    );
    let (baseline, ada_baseline) = (rss_mb(host_pid), rss_mb(ada.0.id()));
    println!("memory with the call running: host {baseline:.1} MB, Ada {ada_baseline:.1} MB");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut held = Vec::new();
    for attack in ["chat burst", "candidate flood", "idle slots", "passcode guessing"] {
        let since = Instant::now();
        runtime.block_on(async {
            match attack {
                "chat burst" => chat_burst(port).await,
                "candidate flood" => candidate_flood(port).await,
                "idle slots" => held = idle_slots(port).await,
                _ => passcode_guessing(port).await,
            }
        });
        let joined_in = runtime.block_on(newcomer_joins(port));
        std::thread::sleep(Duration::from_secs(2));
        check_call(attack, since, &host_lines, &ada_lines);
        let (memory, ada_memory) = (rss_mb(host_pid), rss_mb(ada.0.id()));
        println!(
            "{attack}: a newcomer joined in {:.1} ms; memory: host {memory:.1} MB ({:+.1}), Ada {ada_memory:.1} MB ({:+.1})",
            joined_in.as_secs_f64() * 1000.0,
            memory - baseline,
            ada_memory - ada_baseline
        );
        assert!(
            memory < baseline + 16.0 && ada_memory < ada_baseline + 16.0,
            "{attack}: memory grew: host {baseline:.1} -> {memory:.1} MB, Ada {ada_baseline:.1} -> {ada_memory:.1} MB"
        );
        held.clear();
    }
}

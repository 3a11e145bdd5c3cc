//! A guest cannot end the meeting: while two `videomeet` programs hold a real call, a
//! client written from PROTOCOL.md attacks the host from inside the LAN (loopback
//! addresses play the machines). After each attack the host is alive, its memory is back
//! near where it was, the call's video never stayed below 20 fps for more than a second,
//! nobody was thrown out, and a newcomer with the passcode joins within 2 s. Attacks on
//! what people see (names, chat) are checked in what Ada's program printed.

mod common;

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::ChildStdin;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Running, read_lines, start_host, videomeet};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{WebSocketStream, client_async};
use videomeet_net::protocol::{ClientMessage, DenyReason, MediaState, PROTOCOL_VERSION, ServerMessage, Signal, limits};

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
        rejoin: None,
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
                to: None,
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

/// The first line `lines` got since `since` that `wanted` picks, waiting up to `limit`.
async fn printed(lines: &Lines, since: Instant, limit: Duration, wanted: impl Fn(&Value) -> bool) -> Option<Value> {
    let deadline = Instant::now() + limit;
    loop {
        let found = lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|(at, event)| *at >= since && wanted(event))
            .map(|(_, event)| event.clone());
        if found.is_some() || Instant::now() >= deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Gives the headless host `command` on its input and waits for it to be carried out.
async fn host_command(input: &mut ChildStdin, host: &Lines, command: Value) {
    let line = command.to_string();
    let sent = Instant::now();
    writeln!(input, "{line}").expect("the host reads commands");
    let reply = printed(host, sent, Duration::from_secs(2), |event| {
        event["event"] == "reply" && event["line"] == line.as_str()
    })
    .await;
    assert!(
        reply.as_ref().is_some_and(|reply| reply["ok"] == true),
        "the host did not carry out {line}: {reply:?}"
    );
}

/// The knock the host was told of since `since` for a guest called `name`.
async fn knock_heard(host: &Lines, since: Instant, name: &str) -> u64 {
    let knocking = printed(host, since, Duration::from_secs(2), |event| {
        event["event"] == "knocking" && event["name"] == name
    })
    .await;
    knocking
        .and_then(|event| event["knock"].as_u64())
        .unwrap_or_else(|| panic!("the host was not told that {name} knocks"))
}

/// Addresses the knock flood comes from: more than the waiting room has places, so every
/// place can be held by an address of its own; a newcomer from an address with no knock
/// waiting still takes the place of the oldest knock (PROTOCOL.md, Limits).
const FLOOD_ADDRESSES: u8 = limits::MAX_WAITING as u8 + 4;

/// With guests asked to wait: knocks from many addresses, each one more than an address
/// may have waiting, fill what they can of the waiting room. A newcomer still gets to wait
/// and is let in by the host; a guest the host turned away, knocking again without a
/// session token, stays out. Returns how long the newcomer took from knocking to being
/// let in.
async fn knock_flood(port: u16, host_input: &mut ChildStdin, host: &Lines) -> Duration {
    host_command(
        host_input,
        host,
        serde_json::json!({"command": "ask_to_join", "on": true}),
    )
    .await;
    let mut flood = Vec::new();
    let (mut waiting, mut refused) = (0, 0);
    for address in 1..=FLOOD_ADDRESSES {
        for n in 0..=limits::WAITING_PER_ADDRESS {
            let from = Ipv4Addr::new(127, 0, 5, address);
            let Some(mut socket) = connect(port, from, &format!("Flood {address}.{n}"), PASSCODE).await else {
                continue;
            };
            match first_answer(&mut socket, Duration::from_secs(2)).await {
                Some(ServerMessage::Waiting { .. }) => waiting += 1,
                Some(ServerMessage::Denied {
                    reason: DenyReason::TooManyConnections,
                    ..
                }) => refused += 1,
                other => panic!("knock flood: a knock from {from} was answered {other:?}"),
            }
            flood.push(socket);
        }
    }
    println!("knock flood: {waiting} knocks were told to wait, {refused} were refused");
    assert!(
        waiting >= limits::MAX_WAITING,
        "knock flood: the flood did not fill the waiting room: {waiting} knocks waited"
    );

    let knocked = Instant::now();
    let mut newcomer = connect(port, Ipv4Addr::LOCALHOST, "Newcomer", PASSCODE)
        .await
        .expect("the newcomer connects");
    let answer = first_answer(&mut newcomer, Duration::from_secs(2)).await;
    assert!(
        matches!(answer, Some(ServerMessage::Waiting { .. })),
        "knock flood: a newcomer was not let wait while {FLOOD_ADDRESSES} addresses flooded the waiting room: {answer:?}"
    );
    let knock = knock_heard(host, knocked, "Newcomer").await;
    host_command(
        host_input,
        host,
        serde_json::json!({"command": "admit", "knock": knock}),
    )
    .await;
    let answer = first_answer(&mut newcomer, Duration::from_secs(2)).await;
    assert!(
        matches!(answer, Some(ServerMessage::Welcome { .. })),
        "knock flood: the newcomer the host let in was not welcomed: {answer:?}"
    );
    let let_in = knocked.elapsed();
    let _ = newcomer.send(Message::text(ClientMessage::Leave.to_json())).await;

    // Turned away, then back without a session token: the address keeps it out.
    let from = Ipv4Addr::new(127, 0, 5, 200);
    let since = Instant::now();
    let mut turned_away = connect(port, from, "Turned away", PASSCODE).await.expect("connects");
    let answer = first_answer(&mut turned_away, Duration::from_secs(2)).await;
    assert!(
        matches!(answer, Some(ServerMessage::Waiting { .. })),
        "knock flood: a guest from a fresh address could not wait: {answer:?}"
    );
    let knock = knock_heard(host, since, "Turned away").await;
    host_command(host_input, host, serde_json::json!({"command": "deny", "knock": knock})).await;
    let answer = first_answer(&mut turned_away, Duration::from_secs(2)).await;
    assert!(
        matches!(
            answer,
            Some(ServerMessage::Denied {
                reason: DenyReason::NotAdmitted,
                ..
            })
        ),
        "knock flood: the guest the host turned away was told {answer:?}"
    );
    let mut again = connect(port, from, "Turned away", PASSCODE).await.expect("connects");
    let answer = first_answer(&mut again, Duration::from_secs(2)).await;
    assert!(
        matches!(
            answer,
            Some(ServerMessage::Denied {
                reason: DenyReason::NotAdmitted,
                ..
            })
        ),
        "knock flood: a guest the host turned away, knocking again without a session token, was told {answer:?}"
    );

    for socket in &mut flood {
        let _ = socket.send(Message::text(ClientMessage::Leave.to_json())).await;
    }
    drop(flood);
    host_command(
        host_input,
        host,
        serde_json::json!({"command": "ask_to_join", "on": false}),
    )
    .await;
    let_in
}

/// Names that try to pass for the host, for Ada or for each other.
const LOOK_ALIKES: [&str; 6] = [
    "Grace",
    "grace (HOST)",
    "Ada",
    "\u{202E}Ada\u{200B}",
    "\u{2066}Grace\u{2069}\u{FEFF}",
    "Eve\u{1B}[31m\u{0}\u{7}\r",
];
/// Chat full of terminal escapes, bells, NULs, carriage returns and direction overrides.
const RAW_CHAT: &str = "\u{202E}gnp.exe\u{202C} line\r\nnext\u{7}\u{1B}[2J\u{0} \u{2066}x\u{2069}\u{FEFF}y\u{200B}z";

/// The characters of `text` nobody should be shown: controls (but line breaks where
/// `lines` allows them) and invisible format characters.
fn unshowable(text: &str, lines: bool) -> Vec<String> {
    text.chars()
        .filter(|c| {
            (c.is_control() && !(lines && *c == '\n'))
                || matches!(
                    c,
                    '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
                )
        })
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect()
}

/// The names `who`'s program showed since `since` for the participants `ids`, as they joined.
async fn names_shown(who: &str, lines: &Lines, since: Instant, ids: &[u64]) -> Vec<String> {
    let mut names = Vec::new();
    for id in ids {
        let joined = printed(lines, since, Duration::from_secs(2), |event| {
            event["event"] == "peer_joined" && event["peer"]["id"] == *id
        })
        .await;
        let name = joined.as_ref().and_then(|event| event["peer"]["name"].as_str());
        names.push(
            name.unwrap_or_else(|| panic!("names and raw chat: {who} was not told that {id} joined"))
                .to_owned(),
        );
    }
    names
}

/// Guests join with look-alike names and one chats raw text: Ada is shown names told apart
/// from hers, the host's and each other's, and text without controls or format characters.
async fn names_and_raw_chat(port: u16, host: &Lines, ada: &Lines) {
    let since = Instant::now();
    let mut guests = Vec::new();
    for (n, name) in LOOK_ALIKES.iter().enumerate() {
        let from = Ipv4Addr::new(127, 0, 6, n as u8 + 1);
        let mut socket = connect(port, from, name, PASSCODE).await.expect("connects");
        let answer = first_answer(&mut socket, Duration::from_secs(2)).await;
        let Some(ServerMessage::Welcome { you, .. }) = answer else {
            panic!("names and raw chat: {name:?} was not let in: {answer:?}");
        };
        guests.push((you, socket));
    }
    let (chatter, socket) = &mut guests[0];
    let chat = ClientMessage::Chat {
        text: RAW_CHAT.into(),
        to: None,
    };
    socket.send(Message::text(chat.to_json())).await.expect("sends");
    let chatter = *chatter;
    let chat = printed(ada, since, Duration::from_secs(2), |event| {
        event["event"] == "chat" && event["from"] == chatter
    })
    .await
    .expect("names and raw chat: Ada was not shown the chat message");

    let ids: Vec<u64> = guests.iter().map(|(id, _)| u64::from(*id)).collect();
    let names = names_shown("Ada", ada, since, &ids).await;
    for (wanted, name) in LOOK_ALIKES.iter().zip(&names) {
        let bad = unshowable(name, false);
        assert!(
            bad.is_empty(),
            "names and raw chat: Ada was shown the name {name:?} (asked for {wanted:?}) with {bad:?}"
        );
        for taken in ["Grace", "Ada"] {
            assert!(
                !name.eq_ignore_ascii_case(taken),
                "names and raw chat: a guest who asked for {wanted:?} was shown to Ada as {name:?}, like {taken}"
            );
        }
        assert!(
            !name.to_lowercase().ends_with("(host)"),
            "names and raw chat: a guest who asked for {wanted:?} was shown to Ada as the host, {name:?}"
        );
    }
    let mut lowered: Vec<String> = names.iter().map(|name| name.to_lowercase()).collect();
    lowered.sort();
    lowered.dedup();
    assert_eq!(
        lowered.len(),
        names.len(),
        "names and raw chat: Ada was shown names that cannot be told apart: {names:?}"
    );
    assert_eq!(
        names_shown("the host", host, since, &ids).await,
        names,
        "names and raw chat: the host and Ada were shown different names"
    );

    let text = chat["text"].as_str().expect("chat text");
    let bad = unshowable(text, true);
    assert!(
        bad.is_empty(),
        "names and raw chat: Ada was shown the chat message {text:?} with {bad:?}"
    );
    assert_eq!(chat["name"], names[0].as_str(), "names and raw chat: the chat's sender");
    assert_eq!(text, "gnp.exe line\nnext[2J xyz", "names and raw chat: the chat's text");
    println!("names and raw chat: Ada was shown the names {names:?} and the chat {text:?}");

    for (_, socket) in &mut guests {
        let _ = socket.send(Message::text(ClientMessage::Leave.to_json())).await;
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
    let (mut host, host_lines, joined) = start_host(&["--passcode", PASSCODE, "--size", "320x240", "--duration", "90"]);
    let link = joined["link"].as_str().expect("a link").to_owned();
    let port: u16 = link
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|port| port.parse().ok())
        .expect("a port in the link");
    let host_pid = host.0.id();
    let mut host_input = host.0.stdin.take().expect("the host's input");
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
    for attack in [
        "chat burst",
        "candidate flood",
        "idle slots",
        "passcode guessing",
        "knock flood",
        "names and raw chat",
    ] {
        let since = Instant::now();
        runtime.block_on(async {
            match attack {
                "chat burst" => chat_burst(port).await,
                "candidate flood" => candidate_flood(port).await,
                "idle slots" => held = idle_slots(port).await,
                "passcode guessing" => passcode_guessing(port).await,
                "knock flood" => {
                    let let_in = knock_flood(port, &mut host_input, &host_lines).await;
                    println!(
                        "knock flood: a newcomer who waited was let in {:.1} ms after knocking",
                        let_in.as_secs_f64() * 1000.0
                    );
                }
                _ => names_and_raw_chat(port, &host_lines, &ada_lines).await,
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

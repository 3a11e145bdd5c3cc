//! The signaling server and client together, over real WebSockets on loopback.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::{answer_from, everything_received, first_answer, guest, hello, hello_from, host, next, raw, say, target};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use videomeet_net::JoinTarget;
use videomeet_net::protocol::{
    ClientMessage, DenyReason, LeaveReason, MediaState, PROTOCOL_VERSION, ServerMessage, Signal, limits,
};
use videomeet_net::signaling::{HelloParams, JoinError, join};

#[tokio::test]
async fn a_guest_joins_sees_the_host_and_the_host_sees_the_guest() {
    let (server, mut host) = host(Some("s3cret")).await;
    assert!(host.peers.is_empty());
    let ada = guest(&server, "Ada", Some("s3cret")).await.expect("joins");
    assert_eq!(ada.meeting.title, "Standup");
    assert!(ada.meeting.passcode_required);
    assert_eq!(ada.peers.len(), 1);
    assert!(ada.peers[0].is_host && ada.peers[0].name == "Grace");
    match next(&mut host.events).await {
        ServerMessage::PeerJoined { peer } => {
            assert_eq!((peer.id, peer.name.as_str(), peer.is_host), (ada.you, "Ada", false));
            assert!(peer.media.mic && peer.media.camera);
        }
        other => panic!("expected peer_joined, got {other:?}"),
    }
    assert_eq!(server.participant_count(), 2);
}

#[tokio::test]
async fn a_wrong_passcode_is_denied_and_reveals_nothing() {
    let (server, host) = host(Some("s3cret")).await;
    // Someone already in the meeting chats: a rejected client must not see it.
    host.client.send(ClientMessage::Chat {
        text: "private".into(),
        to: None,
    });
    let error = guest(&server, "Mallory", Some("guess")).await.err().expect("denied");
    assert!(
        matches!(
            error,
            JoinError::Denied {
                reason: DenyReason::WrongPasscode,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(error.to_string(), "The passcode is wrong.");
    assert!(matches!(
        guest(&server, "Mallory", None).await,
        Err(JoinError::Denied { .. })
    ));

    let mut socket = raw(&server).await;
    let hello = ClientMessage::Hello {
        version: PROTOCOL_VERSION,
        name: "Mallory".into(),
        passcode: Some("S3CRET".into()),
        code: None,
        host_token: Some("0".repeat(64)),
        session: None,
        media: MediaState::default(),
        rejoin: None,
    };
    socket.send(Message::text(hello.to_json())).await.unwrap();
    let received = everything_received(&mut socket).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(matches!(
        received[0],
        ServerMessage::Denied {
            reason: DenyReason::WrongPasscode,
            ..
        }
    ));
    assert_eq!(server.participant_count(), 1);
}

#[tokio::test]
async fn passcode_guessing_is_slowed_per_address_and_others_still_get_in() {
    let (server, _host) = host(Some("s3cret")).await;
    let reason = |message: ServerMessage| match message {
        ServerMessage::Denied { reason, .. } => Some(reason),
        ServerMessage::Welcome { .. } => None,
        other => panic!("unexpected {other:?}"),
    };
    let guesser = Ipv4Addr::new(127, 0, 0, 3);
    for attempt in 0..5 {
        let answer = reason(answer_from(&server, guesser, &format!("guess{attempt}")).await);
        assert_eq!(answer, Some(DenyReason::WrongPasscode), "try {attempt}");
    }
    // The sixth comes too early: refused without being checked, even when it is right.
    assert_eq!(
        reason(answer_from(&server, guesser, "s3cret").await),
        Some(DenyReason::TooManyTries)
    );
    // Someone at another address gets in at once.
    assert_eq!(
        reason(answer_from(&server, Ipv4Addr::new(127, 0, 0, 4), "s3cret").await),
        None
    );
    // After the wait, the guesser's next try is checked again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(reason(answer_from(&server, guesser, "s3cret").await), None);
}

#[tokio::test]
async fn a_locked_meeting_lets_nobody_new_in_until_the_host_opens_it() {
    let (server, mut host) = host(None).await;
    let ada = guest(&server, "Ada", None).await.expect("Ada joins before the lock");
    // Only the host may lock.
    ada.client.send(ClientMessage::LockMeeting { locked: true });
    host.client.send(ClientMessage::LockMeeting { locked: true });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let error = guest(&server, "Bob", None).await.err().expect("locked out");
    assert!(
        matches!(
            error,
            JoinError::Denied {
                reason: DenyReason::Locked,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("locked"), "{error}");
    // The room saw nobody: the host heard only Ada join.
    match next(&mut host.events).await {
        ServerMessage::PeerJoined { peer } => assert_eq!(peer.name, "Ada"),
        other => panic!("expected Ada, got {other:?}"),
    }
    host.client.send(ClientMessage::LockMeeting { locked: false });
    tokio::time::sleep(Duration::from_millis(100)).await;
    guest(&server, "Bob", None)
        .await
        .expect("Bob joins once the meeting is open");
    assert_eq!(server.participant_count(), 3);
}

#[tokio::test]
async fn a_removed_participant_is_told_and_cannot_come_back() {
    let (server, mut host) = host(None).await;
    let mut mallory = guest(&server, "Mallory", None).await.expect("joins");
    let ada = guest(&server, "Ada", None).await.expect("joins");
    for _ in 0..2 {
        assert!(matches!(next(&mut host.events).await, ServerMessage::PeerJoined { .. }));
    }
    // A guest cannot remove anyone.
    ada.client.send(ClientMessage::Remove { id: mallory.you });
    match next(&mut mallory.events).await {
        ServerMessage::PeerJoined { peer } => assert_eq!(peer.name, "Ada"),
        other => panic!("expected Ada joining, got {other:?}"),
    }
    host.client.send(ClientMessage::Remove { id: mallory.you });
    assert_eq!(next(&mut mallory.events).await, ServerMessage::Removed);
    match next(&mut host.events).await {
        ServerMessage::PeerLeft { id, reason } => assert_eq!((id, reason), (mallory.you, LeaveReason::Removed)),
        other => panic!("expected Mallory leaving, got {other:?}"),
    }
    // Coming back from the same address is refused, with the reason.
    let error = guest(&server, "Mallory again", None).await.err().expect("kept out");
    assert!(
        matches!(
            error,
            JoinError::Denied {
                reason: DenyReason::Removed,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(server.participant_count(), 2);
}

#[tokio::test]
async fn version_mismatch_and_wrong_meeting_code_get_clear_reasons() {
    let (server, _host) = host(None).await;
    let mut socket = raw(&server).await;
    socket
        .send(Message::text(r#"{"type":"hello","version":99,"name":"Future"}"#))
        .await
        .unwrap();
    let received = everything_received(&mut socket).await;
    match &received[..] {
        [
            ServerMessage::Denied {
                reason: DenyReason::VersionMismatch,
                message,
                version,
            },
        ] => {
            assert_eq!(*version, PROTOCOL_VERSION);
            assert!(message.contains("version"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let mut wrong = target(&server);
    wrong.code = Some("ZZZZZZZZ".into());
    let error = join(&wrong, HelloParams::default()).await.err().expect("denied");
    assert!(
        matches!(
            error,
            JoinError::Denied {
                reason: DenyReason::WrongMeeting,
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn chat_reaches_everyone_in_one_order_with_sender_and_time() {
    let (server, mut host) = host(None).await;
    let mut ada = guest(&server, "Ada", None).await.unwrap();
    let _ = next(&mut host.events).await; // peer_joined
    let before_ms = videomeet_media::clock::now_us() / 1000;
    ada.client.send(ClientMessage::Chat {
        text: "hello".into(),
        to: None,
    });
    host.client.send(ClientMessage::Chat {
        text: "  welcome  ".into(),
        to: None,
    });
    ada.client.send(ClientMessage::Chat {
        text: "x".repeat(limits::MAX_CHAT_CHARS + 1),
        to: None,
    });
    let mut seen = [Vec::new(), Vec::new()];
    let mut errors = [0, 0];
    for (index, events) in [&mut host.events, &mut ada.events].into_iter().enumerate() {
        while seen[index].len() < 2 {
            match next(events).await {
                ServerMessage::Chat {
                    from,
                    name,
                    text,
                    sent_at_ms,
                    seq,
                    to,
                } => {
                    assert!(sent_at_ms >= before_ms);
                    assert_eq!(to, None, "to everyone");
                    seen[index].push((seq, from, name, text));
                }
                ServerMessage::Error { .. } => errors[index] += 1,
                _ => {}
            }
        }
    }
    assert_eq!(seen[0], seen[1], "both see the same chat in the same order");
    assert_eq!(seen[0].iter().map(|m| m.0).collect::<Vec<_>>(), [1, 2]);
    assert!(seen[0].iter().any(|m| m.2 == "Ada" && m.3 == "hello"));
    assert!(seen[0].iter().any(|m| m.2 == "Grace" && m.3 == "welcome"));
    // The oversized message came back as an error to its sender only, and reached nobody.
    if errors[1] == 0 {
        assert!(matches!(next(&mut ada.events).await, ServerMessage::Error { .. }));
    }
    assert_eq!(errors[0], 0);
}

#[tokio::test]
async fn names_are_told_apart_and_chat_shows_only_printable_text() {
    let (server, mut host) = host(None).await;
    let mut guests = Vec::new();
    let mut seen = Vec::new();
    for wanted in [
        "Ada",
        "ada",
        "Grace",
        "Grace (host)",
        "\u{202E}Ada\u{200B}",
        "Eve\u{1B}[31m\u{0}",
    ] {
        guests.push(guest(&server, wanted, None).await.expect("joins"));
        match next(&mut host.events).await {
            ServerMessage::PeerJoined { peer } => seen.push(peer.name),
            other => panic!("expected peer_joined, got {other:?}"),
        }
    }
    assert_eq!(seen, ["Ada", "ada (2)", "Grace (2)", "Grace (3)", "Ada (3)", "Eve[31m"]);
    // Everyone sees the same names: a newcomer's roster has them too.
    let late = guest(&server, "Zoë", None).await.expect("joins");
    let mut roster: Vec<String> = late.peers.iter().map(|peer| peer.name.clone()).collect();
    roster.sort();
    let mut expected: Vec<String> = seen.iter().cloned().chain(["Grace".to_owned()]).collect();
    expected.sort();
    assert_eq!(roster, expected);

    guests[0].client.send(ClientMessage::Chat {
        text: "\u{202E}gnp.exe\u{202C} line\r\nnext\u{7}\u{1B}[2J\u{0}".into(),
        to: None,
    });
    loop {
        if let ServerMessage::Chat { name, text, .. } = next(&mut host.events).await {
            assert_eq!((name.as_str(), text.as_str()), ("Ada", "gnp.exe line\nnext[2J"));
            break;
        }
    }
}

#[tokio::test]
async fn signals_and_media_states_go_to_the_right_participant() {
    let (server, mut host) = host(None).await;
    let mut ada = guest(&server, "Ada", None).await.unwrap();
    let mut bob = guest(&server, "Bob", None).await.unwrap();
    let offer = Signal::Offer {
        sdp: "v=0".into(),
        feeds: Vec::new(),
    };
    bob.client.send(ClientMessage::Signal {
        to: ada.you,
        signal: offer.clone(),
    });
    loop {
        if let ServerMessage::Signal { from, signal } = next(&mut ada.events).await {
            assert_eq!((from, signal), (bob.you, offer));
            break;
        }
    }
    bob.client.send(ClientMessage::Signal {
        to: 999,
        signal: Signal::Answer { sdp: String::new() },
    });
    loop {
        if let ServerMessage::Error { message } = next(&mut bob.events).await {
            assert!(message.contains("999"), "{message}");
            break;
        }
    }
    let muted = MediaState {
        mic: false,
        camera: true,
        screen: false,
        hand: None,
        camera_size: None,
        recording: false,
    };
    ada.client.send(ClientMessage::MediaState { media: muted });
    loop {
        if let ServerMessage::MediaState { id, media } = next(&mut host.events).await {
            assert_eq!((id, media), (ada.you, muted));
            break;
        }
    }
}

#[tokio::test]
async fn leaving_is_seen_at_once_and_the_host_leaving_ends_the_meeting() {
    let (server, mut host) = host(None).await;
    let ada = guest(&server, "Ada", None).await.unwrap();
    let mut bob = guest(&server, "Bob", None).await.unwrap();
    let ada_id = ada.you;
    let left_at = Instant::now();
    ada.client.leave().await;
    loop {
        if let ServerMessage::PeerLeft { id, reason } = next(&mut bob.events).await {
            assert_eq!((id, reason), (ada_id, LeaveReason::Left));
            break;
        }
    }
    assert!(left_at.elapsed() < Duration::from_secs(2));
    // A participant whose program dies (connection dropped without leave).
    let crashing = guest(&server, "Crash", None).await.unwrap();
    let crash_id = crashing.you;
    drop(crashing);
    loop {
        if let ServerMessage::PeerLeft { id, reason } = next(&mut host.events).await
            && id == crash_id
        {
            assert_eq!(reason, LeaveReason::ConnectionLost);
            break;
        }
    }
    host.client.leave().await;
    loop {
        if next(&mut bob.events).await == ServerMessage::Ended {
            break;
        }
    }
    drop(server);
}

#[tokio::test]
async fn hostile_messages_are_refused_without_harm() {
    let (server, mut host) = host(None).await;
    let mut socket = raw(&server).await;
    let hello = ClientMessage::Hello {
        version: PROTOCOL_VERSION,
        name: "\u{202e}Eve\u{0}".repeat(40),
        passcode: None,
        code: None,
        host_token: None,
        session: None,
        media: MediaState::default(),
        rejoin: None,
    };
    socket.send(Message::text(hello.to_json())).await.unwrap();
    let welcome = socket.next().await.unwrap().unwrap();
    assert!(welcome.to_text().unwrap().contains("welcome"));
    // The host hears of Eve under her name made fit to show, whatever came before.
    let eve = loop {
        if let ServerMessage::PeerJoined { peer } = next(&mut host.events).await {
            break peer;
        }
    };
    let cleaned: String = "Eve".repeat(40).chars().take(limits::MAX_NAME_CHARS).collect();
    assert_eq!(eve.name, cleaned);
    for bad in [
        Message::binary(vec![0u8; 10]),
        Message::text("{not json"),
        Message::text(r#"{"type":"teleport"}"#),
        Message::text(r#"{"type":"signal","to":"everyone"}"#),
        Message::text(r#"{"type":"turn_off","device":"speaker"}"#),
        Message::text(r#"{"type":"turn_off","id":-1,"device":"mic"}"#),
        Message::text(r#"{"type":"ask_to_turn_on","device":"mic"}"#),
        Message::text(r#"{"type":"make_cohost","id":1}"#),
        Message::text(r#"{"type":"rename","name":null}"#),
        Message::text(r#"{"type":"chat","text":"hi","to":"Grace"}"#),
        // Read, but not hers to do, or to nobody: refused by the room.
        Message::text(r#"{"type":"turn_off","device":"mic"}"#),
        Message::text(r#"{"type":"make_cohost","id":1,"cohost":true}"#),
        Message::text(r#"{"type":"chat","text":"hi","to":4294967295}"#),
        Message::text(r#"{"type":"rename","name":"\u0000\u202e"}"#),
    ] {
        socket.send(bad).await.unwrap();
        let reply = socket.next().await.unwrap().unwrap();
        assert!(reply.to_text().unwrap().contains(r#""type":"error""#), "{reply:?}");
    }
    // Too large: refused and closed.
    let huge = format!(
        r#"{{"type":"chat","text":"{}"}}"#,
        "a".repeat(limits::MAX_MESSAGE_BYTES + 10)
    );
    let _ = socket.send(Message::text(huge)).await;
    let rest = everything_received(&mut socket).await;
    assert!(
        rest.iter()
            .all(|m| matches!(m, ServerMessage::Error { .. } | ServerMessage::Pong { .. }))
    );
    loop {
        if let ServerMessage::PeerLeft { reason, .. } = next(&mut host.events).await {
            assert_eq!(reason, LeaveReason::Misbehaved);
            break;
        }
    }
    // The meeting goes on for the others.
    let ada = guest(&server, "Ada", None).await.expect("still joinable");
    assert_eq!(ada.peers.len(), 1);
}

#[tokio::test]
async fn a_message_flood_is_cut_off() {
    let (server, mut host) = host(None).await;
    let mut socket = raw(&server).await;
    socket
        .send(Message::text(r#"{"type":"hello","version":1,"name":"Flood"}"#))
        .await
        .unwrap();
    let chat = Message::text(r#"{"type":"chat","text":"spam"}"#);
    for _ in 0..10_000 {
        if socket.send(chat.clone()).await.is_err() {
            break;
        }
    }
    let mut chats = 0;
    loop {
        match next(&mut host.events).await {
            ServerMessage::Chat { .. } => chats += 1,
            ServerMessage::PeerLeft { reason, .. } => {
                assert_eq!(reason, LeaveReason::Misbehaved);
                break;
            }
            _ => {}
        }
    }
    assert!(
        chats <= limits::MESSAGE_BURST as usize + limits::MESSAGES_PER_SECOND as usize,
        "{chats} chats got through"
    );
}

/// Everything `events` receives up to and including the chat `marker`, which must come.
async fn until_chat(events: &mut tokio::sync::mpsc::Receiver<ServerMessage>, marker: &str) -> Vec<ServerMessage> {
    let mut received = Vec::new();
    loop {
        let message = next(events).await;
        let done = matches!(&message, ServerMessage::Chat { text, .. } if text == marker);
        received.push(message);
        if done {
            return received;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_burst_from_one_address_throws_nobody_out() {
    let (server, mut host) = host(None).await;
    let mut ada = guest(&server, "Ada", None).await.expect("joins");
    // Eight connections from one address (as many as are allowed), each within every
    // per-connection limit: 200 short chats is its burst allowance.
    let attacker = Ipv4Addr::new(127, 0, 0, 11);
    let mut bursts = Vec::new();
    let mut first_burst_id = None;
    for n in 0..limits::CONNECTIONS_PER_ADDRESS {
        let mut socket = hello_from(&server, attacker, &hello(&format!("Burst {n}"), None, None)).await;
        let ServerMessage::Welcome { you, .. } = first_answer(&mut socket).await else {
            panic!("not let in");
        };
        first_burst_id.get_or_insert(you);
        bursts.push(socket);
    }
    let chat = Message::text(
        ClientMessage::Chat {
            text: "0123456789".into(),
            to: None,
        }
        .to_json(),
    );
    let started = Instant::now();
    let sending = bursts.iter_mut().map(|socket| async {
        for _ in 0..limits::MESSAGE_BURST {
            socket.feed(chat.clone()).await.expect("the host reads the burst");
        }
        socket.flush().await.expect("the host reads the burst");
    });
    futures_util::future::join_all(sending).await;
    ada.client.send(ClientMessage::Chat {
        text: "still here".into(),
        to: None,
    });
    let seen_by_host = until_chat(&mut host.events, "still here").await;
    let seen_by_ada = until_chat(&mut ada.events, "still here").await;
    let burst_secs = started.elapsed().as_secs() + 1;
    for seen in [&seen_by_host, &seen_by_ada] {
        assert!(
            !seen.iter().any(|message| matches!(
                message,
                ServerMessage::PeerLeft { .. } | ServerMessage::Removed | ServerMessage::Ended
            )),
            "someone was thrown out: {:?}",
            seen.iter()
                .filter(|m| !matches!(m, ServerMessage::Chat { .. }))
                .collect::<Vec<_>>()
        );
        let burst_chats = seen
            .iter()
            .filter(|m| matches!(m, ServerMessage::Chat { text, .. } if text == "0123456789"))
            .count();
        let allowed = bursts.len() * (limits::CHAT_BURST + limits::CHATS_PER_SECOND * burst_secs as u32) as usize;
        assert!(
            burst_chats <= allowed,
            "{burst_chats} chats of the burst got through, {allowed} allowed"
        );
    }
    // Each chat of a burst was either delivered or refused to its sender, none lost silently.
    let (mut delivered, mut refused) = (0, 0);
    while delivered + refused < limits::MESSAGE_BURST {
        match first_answer(&mut bursts[0]).await {
            ServerMessage::Chat { from, .. } if Some(from) == first_burst_id => delivered += 1,
            ServerMessage::Error { .. } => refused += 1,
            _ => {}
        }
    }
    assert!(delivered <= limits::CHAT_BURST + limits::CHATS_PER_SECOND * burst_secs as u32);
    assert!(refused > 0, "the sender was not told its chats were refused");
    // The meeting goes on: the host's chat reaches Ada.
    host.client.send(ClientMessage::Chat {
        text: "welcome back".into(),
        to: None,
    });
    until_chat(&mut ada.events, "welcome back").await;
    assert_eq!(server.participant_count(), 2 + limits::CONNECTIONS_PER_ADDRESS);
}

#[tokio::test]
async fn a_silent_connection_is_denied_after_the_handshake_timeout() {
    let (server, _host) = host(None).await;
    let started = Instant::now();
    let mut socket = raw(&server).await;
    let received = everything_received(&mut socket).await;
    assert!(
        matches!(
            received[..],
            [ServerMessage::Denied {
                reason: DenyReason::HandshakeTimeout,
                ..
            }]
        ),
        "{received:?}"
    );
    assert!(started.elapsed() >= limits::HANDSHAKE_TIMEOUT && started.elapsed() < limits::HANDSHAKE_TIMEOUT * 2);
}

#[tokio::test]
async fn guests_joining_from_addresses_of_their_own_are_not_counted_as_one() {
    let (server, _host) = host(None).await;
    let mut guests = Vec::new();
    for n in 0..limits::CONNECTIONS_PER_ADDRESS + 2 {
        let params = HelloParams {
            name: format!("Guest {n}"),
            local_ip: Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10 + n as u8))),
            ..Default::default()
        };
        let joined = join(&target(&server), params).await;
        guests.push(joined.unwrap_or_else(|error| panic!("guest {n} was refused: {error}")));
    }
    assert_eq!(server.participant_count(), 1 + guests.len());
    let bad = HelloParams {
        name: "Nowhere".into(),
        local_ip: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254))),
        ..Default::default()
    };
    let error = join(&target(&server), bad).await.map(|_| ()).unwrap_err();
    assert!(
        error.to_string().contains("cannot connect from 192.0.2.254"),
        "an address we do not have: {error}"
    );
}

#[tokio::test]
async fn connections_from_one_address_are_limited() {
    let (server, _host) = host(None).await;
    // The host's own connection counts too.
    let mut open = Vec::new();
    for _ in 0..limits::CONNECTIONS_PER_ADDRESS - 1 {
        open.push(raw(&server).await);
    }
    let mut one_too_many = raw(&server).await;
    let answer = first_answer(&mut one_too_many).await;
    assert!(
        matches!(
            answer,
            ServerMessage::Denied {
                reason: DenyReason::TooManyConnections,
                ..
            }
        ),
        "one too many was not told: {answer:?}"
    );
    let url = format!("ws://127.0.0.1:{}/", server.local_addr().port());
    drop(open.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        tokio_tungstenite::connect_async(url).await.is_ok(),
        "a freed slot can be used again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_and_a_join_flood_do_not_keep_a_real_participant_out() {
    use tokio::io::AsyncReadExt;
    let (server, _host) = host(Some("s3cret")).await;
    let attacker = Ipv4Addr::new(127, 0, 0, 9);
    // 500 idle connections from one address: all but the per-address allowance are closed.
    let mut idle = Vec::new();
    for _ in 0..500 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind((attacker, 0).into()).unwrap();
        if let Ok(stream) = socket.connect(server.local_addr()).await {
            idle.push(stream);
        }
    }
    // A few of them are offered a handshake to be told why (given up after a second).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut closed = 0;
    for stream in &mut idle {
        let mut byte = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(20), stream.read(&mut byte)).await {
            closed += 1;
        }
    }
    assert!(
        closed >= 500 - limits::CONNECTIONS_PER_ADDRESS,
        "{closed} of 500 closed"
    );

    // While the rest stay open, the same address floods joins with wrong passcodes, and a
    // real participant elsewhere gets in within 2 s all the same.
    let flood = async {
        let mut answers = Vec::new();
        for attempt in 0..100 {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind((Ipv4Addr::new(127, 0, 0, 10), 0).into()).unwrap();
            let Ok(stream) = socket.connect(server.local_addr()).await else {
                continue;
            };
            let url = format!("ws://127.0.0.1:{}/", server.local_addr().port());
            let Ok((mut socket, _)) = tokio_tungstenite::client_async(url, stream).await else {
                continue;
            };
            let hello = ClientMessage::Hello {
                version: PROTOCOL_VERSION,
                name: "Flood".into(),
                passcode: Some(format!("guess{attempt}")),
                code: None,
                host_token: None,
                session: None,
                media: MediaState::default(),
                rejoin: None,
            };
            let _ = socket.send(Message::text(hello.to_json())).await;
            answers.extend(everything_received(&mut socket).await);
        }
        answers
    };
    let real = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        let joined = guest(&server, "Ada", Some("s3cret")).await;
        (joined, started.elapsed())
    };
    let (answers, (joined, took)) = tokio::join!(flood, real);
    // Kept until the end: dropping it would leave the meeting.
    let _ada = joined.expect("the real participant was kept out");
    assert!(took < Duration::from_secs(2), "joining took {took:?} during the attack");
    assert!(
        answers.iter().all(|a| matches!(a, ServerMessage::Denied { .. })),
        "the flood got only refusals"
    );
    assert!(
        answers.iter().any(|a| matches!(
            a,
            ServerMessage::Denied {
                reason: DenyReason::TooManyTries,
                ..
            }
        )),
        "the flood was slowed"
    );
    assert_eq!(server.participant_count(), 2);
}

#[tokio::test]
async fn an_unreachable_address_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let target = JoinTarget::parse(&format!("127.0.0.1:{port}")).unwrap();
    let error = join(&target, HelloParams::default()).await.err().expect("nobody there");
    assert!(matches!(error, JoinError::Unreachable { .. }));
    assert!(error.to_string().contains(&format!("127.0.0.1:{port}")), "{error}");
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_told_apart_from_a_host_that_does_not_answer() {
    // `.invalid` never resolves (RFC 6761).
    let target = JoinTarget::parse("meeting-room.invalid:47800").unwrap();
    let error = join(&target, HelloParams::default())
        .await
        .err()
        .expect("no such computer");
    assert_eq!(
        error,
        JoinError::UnknownHost {
            host: "meeting-room.invalid".into()
        }
    );
}

/// Sends `message` on a raw socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_sent_the_instant_welcome_arrives_are_relayed() {
    let (server, mut host) = host(None).await;
    for join in 0..200 {
        let mut socket = raw(&server).await;
        say(&mut socket, &hello(&format!("Guest {join}"), None, None)).await;
        let ServerMessage::Welcome { peers, .. } = first_answer(&mut socket).await else {
            panic!("join {join}: no welcome");
        };
        let to = peers.iter().find(|peer| peer.is_host).expect("the host is listed").id;
        let offer = Signal::Offer {
            sdp: format!("v=0 join {join}"),
            feeds: Vec::new(),
        };
        say(
            &mut socket,
            &ClientMessage::Signal {
                to,
                signal: offer.clone(),
            },
        )
        .await;
        // The answer to this ping comes after any refusal of the offer.
        say(&mut socket, &ClientMessage::Ping { nonce: join }).await;
        loop {
            match first_answer(&mut socket).await {
                ServerMessage::Pong { nonce } if nonce == join => break,
                ServerMessage::Error { message } => panic!("join {join}: the offer was refused: {message}"),
                _ => {}
            }
        }
        loop {
            if let ServerMessage::Signal { signal, .. } = next(&mut host.events).await
                && signal == offer
            {
                break;
            }
        }
        say(&mut socket, &ClientMessage::Leave).await;
    }
}

/// A raw WebSocket whose handshake carries `origin`, as a browser's does, that has said `hello`.
async fn hello_with_origin(server: &videomeet_net::signaling::SignalingServer, origin: &str) -> common::RawSocket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://127.0.0.1:{}/", server.local_addr().port())
        .into_client_request()
        .unwrap();
    request.headers_mut().insert("origin", origin.parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("upgrades");
    say(&mut socket, &hello("Page", None, None)).await;
    socket
}

#[tokio::test]
async fn a_page_from_another_site_is_denied_and_one_from_an_allowed_origin_joins() {
    let mut config = videomeet_net::signaling::HostConfig::new("Standup", "Grace");
    config.allowed_origins = vec!["https://192.168.1.5:47800/".into()];
    let (server, _host) = common::host_with(config).await;
    for origin in ["http://evil.example", "null", "https://192.168.1.5:47801"] {
        let mut socket = hello_with_origin(&server, origin).await;
        let received = everything_received(&mut socket).await;
        assert!(
            matches!(
                received.as_slice(),
                [ServerMessage::Denied {
                    reason: DenyReason::ForbiddenOrigin,
                    ..
                }]
            ),
            "{origin}: {received:?}"
        );
    }
    let mut allowed = hello_with_origin(&server, "https://192.168.1.5:47800").await;
    assert!(matches!(
        first_answer(&mut allowed).await,
        ServerMessage::Welcome { .. }
    ));
    // A program sends no origin and is let in.
    let mut native = raw(&server).await;
    say(&mut native, &hello("Program", None, None)).await;
    assert!(matches!(first_answer(&mut native).await, ServerMessage::Welcome { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_from_many_addresses_cannot_keep_a_newcomer_out() {
    let (server, _host) = host(None).await;
    // Every slot held by connections that never say anything, from enough addresses.
    let mut idle = Vec::new();
    for address in 2..=(1 + limits::MAX_CONNECTIONS / limits::CONNECTIONS_PER_ADDRESS) as u8 {
        for _ in 0..limits::CONNECTIONS_PER_ADDRESS {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind((Ipv4Addr::new(127, 0, 0, address), 0).into()).unwrap();
            idle.push(socket.connect(server.local_addr()).await.expect("connects"));
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for round in 0..3 {
        let started = Instant::now();
        let joined = tokio::time::timeout(Duration::from_secs(2), guest(&server, &format!("Ada {round}"), None))
            .await
            .expect("joining took more than 2 s")
            .expect("a newcomer was kept out");
        println!("joined past {} idle connections in {:?}", idle.len(), started.elapsed());
        drop(joined);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_from_many_addresses_is_slowed_as_a_whole_and_the_host_told() {
    let (server, mut host) = host(Some("s3cret")).await;
    let mut checked = 0;
    for address in 1..=40u8 {
        for guess in 0..5 {
            let answer = answer_from(&server, Ipv4Addr::new(127, 0, 1, address), &format!("guess{guess}")).await;
            match answer {
                ServerMessage::Denied {
                    reason: DenyReason::WrongPasscode,
                    ..
                } => checked += 1,
                ServerMessage::Denied {
                    reason: DenyReason::TooManyTries,
                    ..
                } => {}
                other => panic!("a guess got {other:?}"),
            }
        }
    }
    println!("{checked} of 200 guesses from 40 addresses were checked");
    // Per address alone, all 200 would have been.
    assert!(checked <= 40 + 30 + 10, "{checked} of 200 guesses were checked");
    loop {
        if next(&mut host.events).await == ServerMessage::PasscodeGuessing {
            break;
        }
    }
    let started = Instant::now();
    let _ada = guest(&server, "Ada", Some("s3cret"))
        .await
        .expect("the right passcode still gets in");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// The media state the host next tells `events` about `whose`.
async fn media_of(
    events: &mut tokio::sync::mpsc::Receiver<ServerMessage>,
    whose: videomeet_net::protocol::PeerId,
) -> MediaState {
    loop {
        if let ServerMessage::MediaState { id, media } = next(events).await
            && id == whose
        {
            return media;
        }
    }
}

#[tokio::test]
async fn hands_go_up_in_order_for_everyone_and_only_the_host_lowers_others() {
    let (server, mut host) = host(None).await;
    let mut ada = guest(&server, "Ada", None).await.unwrap();
    let mut bob = guest(&server, "Bob", None).await.unwrap();
    let raised = MediaState {
        mic: true,
        camera: true,
        screen: false,
        // Any number says "up": the host gives the place.
        hand: Some(77),
        camera_size: None,
        recording: false,
    };
    ada.client.send(ClientMessage::MediaState { media: raised });
    assert_eq!(
        media_of(&mut ada.events, ada.you).await.hand,
        Some(1),
        "Ada learns her place"
    );
    assert_eq!(media_of(&mut host.events, ada.you).await.hand, Some(1));
    bob.client.send(ClientMessage::MediaState { media: raised });
    assert_eq!(
        media_of(&mut ada.events, bob.you).await.hand,
        Some(2),
        "Bob's went up second"
    );
    // Muting with the hand still up keeps its place.
    let muted = MediaState { mic: false, ..raised };
    ada.client.send(ClientMessage::MediaState { media: muted });
    assert_eq!(media_of(&mut bob.events, ada.you).await.hand, Some(1));
    // A guest cannot lower someone else's hand; the host can, and everyone sees it, Ada too.
    bob.client.send(ClientMessage::LowerHand { id: ada.you });
    loop {
        if let ServerMessage::Error { message } = next(&mut bob.events).await {
            assert!(message.contains("only the host"), "{message}");
            break;
        }
    }
    host.client.send(ClientMessage::LowerHand { id: ada.you });
    for events in [&mut ada.events, &mut bob.events, &mut host.events] {
        // Past the states sent before (the host has not read Ada's mute yet).
        let mut media = media_of(events, ada.you).await;
        while media.hand.is_some() {
            media = media_of(events, ada.you).await;
        }
        assert_eq!(media, MediaState { hand: None, ..muted });
    }
    // A newcomer sees the hands that are up, with their places; one cannot come in with a
    // hand up and a place of its own choosing.
    let carol = join(
        &common::target(&server),
        HelloParams {
            name: "Carol".into(),
            media: raised,
            ..HelloParams::default()
        },
    )
    .await
    .unwrap();
    loop {
        if let ServerMessage::PeerJoined { peer } = next(&mut host.events).await
            && peer.id == carol.you
        {
            assert_eq!(peer.media.hand, None, "no place taken");
            break;
        }
    }
    let hands: Vec<_> = carol
        .peers
        .iter()
        .map(|peer| (peer.name.as_str(), peer.media.hand))
        .collect();
    assert!(
        hands.contains(&("Bob", Some(2))) && hands.contains(&("Ada", None)),
        "{hands:?}"
    );
}

#[tokio::test]
async fn reactions_reach_everyone_and_carry_no_text() {
    let (server, mut host) = host(None).await;
    let mut ada = guest(&server, "Ada", None).await.unwrap();
    ada.client.send(ClientMessage::React { emoji: "👍".into() });
    for events in [&mut host.events, &mut ada.events] {
        loop {
            if let ServerMessage::Reaction { from, emoji } = next(events).await {
                assert_eq!((from, emoji.as_str()), (ada.you, "👍"), "the sender sees it too");
                break;
            }
        }
    }
    // Anything but the few reactions is refused, and nobody sees it.
    for text in ["visit evil.example", "", "👍👍", "\u{202e}👍"] {
        ada.client.send(ClientMessage::React { emoji: text.into() });
        loop {
            match next(&mut ada.events).await {
                ServerMessage::Error { message } => {
                    assert!(message.contains("a reaction is one of"), "{message}");
                    break;
                }
                ServerMessage::Reaction { emoji, .. } => panic!("{emoji:?} was shown"),
                _ => {}
            }
        }
    }
    // A burst is cut off as chat is.
    for _ in 0..videomeet_net::protocol::limits::CHAT_BURST + 5 {
        ada.client.send(ClientMessage::React { emoji: "🎉".into() });
    }
    loop {
        if let ServerMessage::Error { message } = next(&mut ada.events).await {
            assert!(message.contains("too fast"), "{message}");
            break;
        }
    }
}

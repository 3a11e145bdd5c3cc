//! "Ask to join": guests wait until the host lets them in, and learn nothing meanwhile.

mod common;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use common::{everything_received, first_answer, guest, hello, hello_from, host_with, next, target};
use futures_util::SinkExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use videomeet_net::protocol::{ClientMessage, DenyReason, KnockId, ServerMessage, Signal};
use videomeet_net::signaling::{HelloParams, HostConfig, JoinError, Joined, SignalingServer, WaitingHook, join};

/// A meeting whose guests wait for the host, and its host.
async fn waiting_room() -> (SignalingServer, Joined) {
    let mut config = HostConfig::new("Exam", "Grace");
    config.ask_to_join = true;
    host_with(config).await
}

/// The next knock the host hears of, with the guest's name.
async fn knock_heard(host: &mut Joined) -> (KnockId, String) {
    loop {
        match next(&mut host.events).await {
            ServerMessage::Knocking { knock, name } => return (knock, name),
            ServerMessage::KnockEnded { .. } => {}
            other => panic!("expected a knock, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_waiting_guest_is_told_so_and_gets_in_when_the_host_admits_them() {
    let (server, mut host) = waiting_room().await;
    let (told, mut waiting) = mpsc::unbounded_channel();
    let params = HelloParams {
        name: "Ada".into(),
        session: Some("ada-session".into()),
        on_waiting: Some(WaitingHook(Arc::new(move |message| {
            let _ = told.send(message.to_owned());
        }))),
        ..Default::default()
    };
    let target = target(&server);
    let ada = tokio::spawn(async move { join(&target, params).await });
    let (knock, name) = knock_heard(&mut host).await;
    assert_eq!(name, "Ada");
    let message = waiting.recv().await.expect("Ada is told she waits");
    assert!(message.contains("host to let you in"), "{message}");
    // Waiting longer than the idle timeout: the guest's pings keep the knock alive.
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert!(!ada.is_finished(), "still waiting");
    assert_eq!(server.participant_count(), 1);

    host.client.send(ClientMessage::Admit { knock });
    let ada = ada.await.unwrap().expect("Ada is let in");
    assert_eq!(ada.meeting.title, "Exam");
    assert_eq!(ada.peers.len(), 1);
    assert_eq!(next(&mut host.events).await, ServerMessage::KnockEnded { knock });
    match next(&mut host.events).await {
        ServerMessage::PeerJoined { peer } => assert_eq!(peer.name, "Ada"),
        other => panic!("expected Ada joining, got {other:?}"),
    }
    assert_eq!(server.participant_count(), 2);
}

#[tokio::test]
async fn a_denied_guest_receives_nothing_of_the_meeting_and_its_session_stays_out() {
    let (server, mut host) = waiting_room().await;
    let mallory_address = Ipv4Addr::new(127, 0, 0, 21);
    let mut mallory = hello_from(&server, mallory_address, &hello("Mallory", None, Some("mallory-1"))).await;
    let (mallory_knock, _) = knock_heard(&mut host).await;

    // While Mallory waits, the meeting goes on: Ada is let in, people chat, negotiate and
    // change their media.
    let ada = admitted(&server, &mut host, "Ada").await;
    host.client.send(ClientMessage::Chat {
        text: "private".into(),
        to: None,
    });
    ada.client.send(ClientMessage::Chat {
        text: "secret".into(),
        to: None,
    });
    ada.client.send(ClientMessage::Signal {
        to: host.you,
        signal: Signal::Offer {
            sdp: "v=0".into(),
            feeds: Vec::new(),
        },
    });
    ada.client.send(ClientMessage::MediaState {
        media: Default::default(),
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    host.client.send(ClientMessage::Deny { knock: mallory_knock });
    let received = everything_received(&mut mallory).await;
    assert!(
        matches!(
            &received[..],
            [
                ServerMessage::Waiting { .. },
                ServerMessage::Denied {
                    reason: DenyReason::NotAdmitted,
                    ..
                }
            ]
        ),
        "a denied guest received {received:?}"
    );

    // The same session is turned away at once, even from elsewhere, and the host is not
    // asked again.
    let mut again = hello_from(
        &server,
        Ipv4Addr::new(127, 0, 0, 22),
        &hello("Mallory", None, Some("mallory-1")),
    )
    .await;
    assert!(matches!(
        everything_received(&mut again).await[..],
        [ServerMessage::Denied {
            reason: DenyReason::NotAdmitted,
            ..
        }]
    ));
    // A new session from the same address is turned away too (a session token is
    // optional, the address is not)...
    let mut new = hello_from(&server, mallory_address, &hello("Mallory", None, Some("mallory-2"))).await;
    assert!(matches!(
        first_answer(&mut new).await,
        ServerMessage::Denied {
            reason: DenyReason::NotAdmitted,
            ..
        }
    ));
    // ...and from elsewhere, the host decides once more.
    let mut new = hello_from(
        &server,
        Ipv4Addr::new(127, 0, 0, 23),
        &hello("Mallory", None, Some("mallory-2")),
    )
    .await;
    assert!(matches!(first_answer(&mut new).await, ServerMessage::Waiting { .. }));
    loop {
        match next(&mut host.events).await {
            ServerMessage::Knocking { name, .. } => {
                assert_eq!(name, "Mallory");
                break;
            }
            ServerMessage::KnockEnded { .. } | ServerMessage::PeerJoined { .. } | ServerMessage::Chat { .. } => {}
            ServerMessage::Signal { .. } | ServerMessage::MediaState { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(server.participant_count(), 2);
}

#[tokio::test]
async fn a_removed_session_cannot_come_back_from_another_address() {
    let (server, mut host) = host_with(HostConfig::new("Standup", "Grace")).await;
    let mut mallory = hello_from(
        &server,
        Ipv4Addr::new(127, 0, 0, 31),
        &hello("Mallory", None, Some("m-1")),
    )
    .await;
    let id = match first_answer(&mut mallory).await {
        ServerMessage::Welcome { you, .. } => you,
        other => panic!("expected welcome, got {other:?}"),
    };
    let _ = next(&mut host.events).await; // peer_joined
    host.client.send(ClientMessage::Remove { id });
    assert_eq!(first_answer(&mut mallory).await, ServerMessage::Removed);
    let mut back = hello_from(
        &server,
        Ipv4Addr::new(127, 0, 0, 32),
        &hello("Mallory", None, Some("m-1")),
    )
    .await;
    assert!(matches!(
        first_answer(&mut back).await,
        ServerMessage::Denied {
            reason: DenyReason::Removed,
            ..
        }
    ));
    // Someone else from that other address is welcome.
    let mut other = hello_from(&server, Ipv4Addr::new(127, 0, 0, 32), &hello("Ada", None, Some("a-1"))).await;
    assert!(matches!(first_answer(&mut other).await, ServerMessage::Welcome { .. }));
}

#[tokio::test]
async fn locking_turns_waiting_guests_away_and_a_guest_who_gives_up_is_withdrawn() {
    let (server, mut host) = waiting_room().await;
    let mut ada = hello_from(&server, Ipv4Addr::new(127, 0, 0, 41), &hello("Ada", None, Some("a"))).await;
    let (ada_knock, _) = knock_heard(&mut host).await;
    let mut bob = hello_from(&server, Ipv4Addr::new(127, 0, 0, 42), &hello("Bob", None, Some("b"))).await;
    let (bob_knock, _) = knock_heard(&mut host).await;

    // A guest cannot let anyone in.
    let mut carol = admitted(&server, &mut host, "Carol").await;
    carol.client.send(ClientMessage::Admit { knock: ada_knock });
    match next(&mut carol.events).await {
        ServerMessage::Error { message } => assert!(message.contains("only the host"), "{message}"),
        other => panic!("expected an error, got {other:?}"),
    }

    // Ada gives up: the host's list loses her.
    ada.send(Message::text(ClientMessage::Leave.to_json())).await.unwrap();
    drop(ada);
    assert_eq!(
        next(&mut host.events).await,
        ServerMessage::KnockEnded { knock: ada_knock }
    );

    host.client.send(ClientMessage::LockMeeting { locked: true });
    let received = everything_received(&mut bob).await;
    assert!(
        matches!(
            received.last(),
            Some(ServerMessage::Denied {
                reason: DenyReason::Locked,
                ..
            })
        ),
        "{received:?}"
    );
    assert_eq!(
        next(&mut host.events).await,
        ServerMessage::KnockEnded { knock: bob_knock }
    );
    // Newcomers are turned away at once while it is locked, without a knock.
    let error = guest(&server, "Eve", None).await.err().expect("locked out");
    assert!(matches!(
        error,
        JoinError::Denied {
            reason: DenyReason::Locked,
            ..
        }
    ));
    assert_eq!(server.participant_count(), 2);
}

/// A guest called `name`, let in by the host.
async fn admitted(server: &SignalingServer, host: &mut Joined, name: &str) -> Joined {
    let target = target(server);
    let params = HelloParams {
        name: name.into(),
        ..Default::default()
    };
    let joining = tokio::spawn(async move { join(&target, params).await });
    loop {
        let (knock, knocking) = knock_heard(host).await;
        if knocking == name {
            host.client.send(ClientMessage::Admit { knock });
            break;
        }
    }
    let joined = joining.await.unwrap().expect("let in");
    loop {
        if let ServerMessage::PeerJoined { peer } = next(&mut host.events).await {
            assert_eq!(peer.name, name);
            return joined;
        }
    }
}

#[tokio::test]
async fn waiting_guests_with_look_alike_names_are_told_apart() {
    let (server, mut host) = waiting_room().await;
    let mut knocks = Vec::new();
    for (n, wanted) in ["Ana", "Ana", "ANA\u{200B}", "Grace (host)"].into_iter().enumerate() {
        let session = format!("look-alike-{n}");
        let socket = hello_from(
            &server,
            Ipv4Addr::new(127, 0, 0, 51 + n as u8),
            &hello(wanted, None, Some(&session)),
        )
        .await;
        knocks.push(socket);
    }
    let mut names = Vec::new();
    for _ in 0..knocks.len() {
        names.push(knock_heard(&mut host).await.1);
    }
    // They knock at once, so the order in which they are numbered may vary.
    let mut lowered: Vec<String> = names.iter().map(|name| name.to_lowercase()).collect();
    lowered.sort();
    assert_eq!(lowered, ["ana", "ana (2)", "ana (3)", "grace (2)"], "{names:?}");
}

#[tokio::test]
async fn a_turn_away_holds_without_a_session_until_the_host_lets_people_back() {
    let (server, mut host) = waiting_room().await;
    let from = Ipv4Addr::new(127, 0, 3, 7);
    let mut first = hello_from(&server, from, &hello("Mallory", None, None)).await;
    assert!(matches!(first_answer(&mut first).await, ServerMessage::Waiting { .. }));
    let (knock, _) = knock_heard(&mut host).await;
    host.client.send(ClientMessage::Deny { knock });
    assert!(matches!(
        first_answer(&mut first).await,
        ServerMessage::Denied {
            reason: DenyReason::NotAdmitted,
            ..
        }
    ));
    // No session token to bar: the address keeps the turn-away.
    let mut again = hello_from(&server, from, &hello("Mallory", None, None)).await;
    assert!(
        matches!(
            first_answer(&mut again).await,
            ServerMessage::Denied {
                reason: DenyReason::NotAdmitted,
                ..
            }
        ),
        "came straight back to the waiting room"
    );
    host.client.send(ClientMessage::AllowBack);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut later = hello_from(&server, from, &hello("Mallory", None, None)).await;
    assert!(matches!(first_answer(&mut later).await, ServerMessage::Waiting { .. }));
}

#[tokio::test]
async fn knocks_from_a_few_addresses_cannot_fill_the_waiting_room_for_others() {
    use videomeet_net::protocol::limits;
    let (server, mut host) = waiting_room().await;
    let addresses = (limits::MAX_WAITING / limits::WAITING_PER_ADDRESS) as u8;
    let mut flood = Vec::new();
    for address in 1..=addresses {
        for n in 0..limits::WAITING_PER_ADDRESS {
            let from = Ipv4Addr::new(127, 0, 4, address);
            let mut socket = hello_from(&server, from, &hello(&format!("Flood {address}.{n}"), None, None)).await;
            assert!(matches!(first_answer(&mut socket).await, ServerMessage::Waiting { .. }));
            flood.push(socket);
        }
    }
    // One more from a flooding address is refused...
    let mut more = hello_from(&server, Ipv4Addr::new(127, 0, 4, 1), &hello("Flood more", None, None)).await;
    assert!(matches!(
        first_answer(&mut more).await,
        ServerMessage::Denied {
            reason: DenyReason::TooManyConnections,
            ..
        }
    ));
    // ...while a guest from elsewhere still waits, in place of a flooding address's oldest.
    let mut ada = hello_from(&server, Ipv4Addr::new(127, 0, 5, 1), &hello("Ada", None, None)).await;
    assert!(matches!(first_answer(&mut ada).await, ServerMessage::Waiting { .. }));
    let mut heard = Vec::new();
    while !heard.contains(&"Ada".to_owned()) {
        heard.push(knock_heard(&mut host).await.1);
    }
    let given_way = flood.iter_mut().next().expect("the first knock");
    assert!(matches!(
        first_answer(given_way).await,
        ServerMessage::Denied {
            reason: DenyReason::TooManyConnections,
            ..
        }
    ));
}

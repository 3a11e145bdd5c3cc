//! The room on its own, with outboxes of chosen sizes standing in for connections.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::*;
use crate::signaling::allowance::OUTBOX_CAPACITY;

/// A room task for a meeting without passcode, and the way to talk to it.
fn room() -> mpsc::Sender<RoomEvent> {
    let meeting = MeetingInfo {
        code: "K7QX3MZP".into(),
        title: "Standup".into(),
        host_name: "Grace".into(),
        passcode_required: false,
        started_at_ms: None,
        forwarding: false,
        max_file_bytes: Some(1_000_000),
        no_guest_recording: false,
    };
    let (events, inbox) = mpsc::channel(64);
    tokio::spawn(Room::new(meeting, Arc::default(), false).run(inbox));
    events
}

/// Joins `name` with an outbox of `capacity`; its id and what it is sent (welcome read).
async fn join(room: &mpsc::Sender<RoomEvent>, name: &str, is_host: bool, capacity: usize) -> (PeerId, Outbox) {
    let (outbox, mut received) = mpsc::channel(capacity);
    let (reply, joined) = oneshot::channel();
    let joining = Joining {
        name: name.into(),
        media: MediaState::default(),
        is_host,
        browser: false,
        address: Ipv4Addr::LOCALHOST.into(),
        session: None,
        rejoin_id: None,
        ticket: 0,
        outbox,
    };
    room.send(RoomEvent::Join { joining, reply }).await.unwrap();
    let id = joined.await.unwrap().expect("admitted");
    assert!(matches!(received.recv().await, Some(ServerMessage::Welcome { .. })));
    (id, received)
}

type Outbox = mpsc::Receiver<ServerMessage>;

async fn say(room: &mpsc::Sender<RoomEvent>, from: PeerId, message: ClientMessage) {
    room.send(RoomEvent::Message { from, message }).await.unwrap();
}

/// The next message in `outbox`, within two seconds.
async fn next(outbox: &mut Outbox) -> ServerMessage {
    tokio::time::timeout(Duration::from_secs(2), outbox.recv())
        .await
        .expect("a message within 2 s")
        .expect("still a member")
}

#[tokio::test]
async fn a_host_that_falls_behind_is_waited_for_and_misses_nothing() {
    let room = room();
    // The host's program reads slowly: its outbox takes two messages at a time.
    let (_grace, mut grace_sees) = join(&room, "Grace", true, 2).await;
    let (ada, mut ada_sees) = join(&room, "Ada", false, OUTBOX_CAPACITY).await;
    let chats = limits::CHAT_BURST as usize;
    let sending = async {
        for n in 0..chats {
            say(
                &room,
                ada,
                ClientMessage::Chat {
                    text: format!("{n}"),
                    to: None,
                },
            )
            .await;
        }
    };
    let reading = async {
        assert!(matches!(next(&mut grace_sees).await, ServerMessage::PeerJoined { .. }));
        let mut texts = Vec::new();
        while texts.len() < chats {
            match next(&mut grace_sees).await {
                ServerMessage::Chat { text, .. } => texts.push(text),
                other => panic!("expected a chat, got {other:?}"),
            }
            tokio::task::yield_now().await;
        }
        texts
    };
    let ((), texts) = tokio::join!(sending, reading);
    let expected: Vec<String> = (0..chats).map(|n| n.to_string()).collect();
    assert_eq!(texts, expected, "every chat, in order");
    // The meeting goes on: Ada heard her own chats and nothing about anyone leaving.
    for n in 0..chats {
        assert!(matches!(next(&mut ada_sees).await, ServerMessage::Chat { seq, .. } if seq == n as u64 + 1));
    }
    say(&room, ada, ClientMessage::Ping { nonce: 1 }).await;
    assert_eq!(next(&mut ada_sees).await, ServerMessage::Pong { nonce: 1 });
}

#[tokio::test(start_paused = true)]
async fn a_host_program_that_stops_reading_ends_the_meeting_for_everyone() {
    let room = room();
    let (_grace, _grace_unread) = join(&room, "Grace", true, 2).await;
    let (ada, mut ada_sees) = join(&room, "Ada", false, OUTBOX_CAPACITY).await;
    for n in 0..4 {
        say(
            &room,
            ada,
            ClientMessage::Chat {
                text: format!("{n}"),
                to: None,
            },
        )
        .await;
    }
    let mut seen = Vec::new();
    loop {
        let message = tokio::time::timeout(HOST_STALL * 2, ada_sees.recv())
            .await
            .expect("the meeting ended within twice the host's allowance");
        match message {
            Some(ServerMessage::Ended) | None => break,
            Some(other) => seen.push(other),
        }
    }
    assert!(seen.iter().all(|m| matches!(m, ServerMessage::Chat { .. })), "{seen:?}");
}

#[tokio::test]
async fn a_guest_that_does_not_read_is_dropped_and_nobody_else() {
    let room = room();
    let (_grace, mut grace_sees) = join(&room, "Grace", true, OUTBOX_CAPACITY).await;
    let (ada, mut ada_sees) = join(&room, "Ada", false, OUTBOX_CAPACITY).await;
    // Bob never reads: his outbox holds what it can and then he is too slow.
    let (bob, _bob_unread) = join(&room, "Bob", false, 2).await;
    for n in 0..3 {
        say(
            &room,
            ada,
            ClientMessage::Chat {
                text: format!("{n}"),
                to: None,
            },
        )
        .await;
    }
    let mut left = Vec::new();
    for sees in [&mut grace_sees, &mut ada_sees] {
        loop {
            match next(sees).await {
                ServerMessage::PeerLeft { id, reason } => {
                    left.push((id, reason));
                    break;
                }
                ServerMessage::Ended => panic!("the meeting ended"),
                _ => {}
            }
        }
    }
    assert_eq!(left, [(bob, LeaveReason::ConnectionLost); 2]);
}

#[tokio::test]
async fn media_states_beyond_the_allowance_are_merged_into_the_latest() {
    let room = room();
    let (_grace, mut grace_sees) = join(&room, "Grace", true, OUTBOX_CAPACITY).await;
    let (ada, _ada_sees) = join(&room, "Ada", false, OUTBOX_CAPACITY).await;
    assert!(matches!(next(&mut grace_sees).await, ServerMessage::PeerJoined { .. }));
    // Fifty changes at once, the last unlike any before it.
    let states = 50;
    let state = |n: usize| MediaState {
        mic: n.is_multiple_of(2),
        camera: n + 1 == states,
        screen: false,
        hand: None,
        camera_size: None,
        recording: false,
    };
    for n in 0..states {
        say(&room, ada, ClientMessage::MediaState { media: state(n) }).await;
    }
    let last = state(states - 1);
    let mut heard = 0;
    loop {
        let ServerMessage::MediaState { id, media } = next(&mut grace_sees).await else {
            continue;
        };
        assert_eq!(id, ada);
        heard += 1;
        if media == last {
            break;
        }
    }
    assert!(
        heard < states / 2,
        "{heard} of {states} changes were passed on one by one"
    );
}

#[tokio::test]
async fn a_guest_who_records_against_the_hosts_choice_is_refused_and_shown_not_recording() {
    let room = room();
    let (grace, mut grace_sees) = join(&room, "Grace", true, OUTBOX_CAPACITY).await;
    let (ada, mut ada_sees) = join(&room, "Ada", false, OUTBOX_CAPACITY).await;
    assert!(matches!(next(&mut grace_sees).await, ServerMessage::PeerJoined { .. }));
    say(&room, grace, ClientMessage::AllowGuestRecording { allowed: false }).await;
    for sees in [&mut grace_sees, &mut ada_sees] {
        assert_eq!(next(sees).await, ServerMessage::GuestRecording { allowed: false });
    }
    // Ada's program ignores the choice: the host takes her state without the recording.
    let recording = MediaState {
        recording: true,
        ..MediaState::default()
    };
    say(&room, ada, ClientMessage::MediaState { media: recording }).await;
    assert_eq!(
        next(&mut ada_sees).await,
        ServerMessage::RecordingRefused {
            message: crate::signaling::GUESTS_MAY_NOT_RECORD.into()
        }
    );
    let ServerMessage::MediaState { id, media } = next(&mut grace_sees).await else {
        panic!("Grace is told Ada's state");
    };
    assert_eq!((id, media.recording), (ada, false));
    // A co-host may record.
    say(&room, grace, ClientMessage::MakeCohost { id: ada, cohost: true }).await;
    say(&room, ada, ClientMessage::MediaState { media: recording }).await;
    loop {
        if let ServerMessage::MediaState { id, media } = next(&mut grace_sees).await {
            assert_eq!((id, media.recording), (ada, true));
            break;
        }
    }
    // The host records, whatever it chose for guests.
    say(&room, grace, ClientMessage::MediaState { media: recording }).await;
    loop {
        if let ServerMessage::MediaState { id, media } = next(&mut ada_sees).await
            && id == grace
        {
            assert!(media.recording);
            break;
        }
    }
}

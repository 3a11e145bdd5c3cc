//! The host and its co-hosts moderating, over real WebSockets on loopback: devices turned
//! off (never on: that is asked for), co-hosts made and unmade, and every attempt by
//! someone not allowed refused with an error that changes nothing.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{host, next, sent_so_far, target};
use videomeet_net::protocol::{ClientMessage, KnockId, LeaveReason, MediaDevice, MediaState, PeerId, ServerMessage};
use videomeet_net::signaling::{HelloParams, Joined, SignalingServer, join};

/// Microphone, camera and screen as given; no hand.
fn media(mic: bool, camera: bool, screen: bool) -> MediaState {
    MediaState {
        mic,
        camera,
        screen,
        hand: None,
        camera_size: None,
        recording: false,
    }
}

/// A guest called `name` sending `media`, from `address` (any 127.x.y.z reaches the host).
async fn guest_from(server: &SignalingServer, name: &str, media: MediaState, address: Ipv4Addr) -> Joined {
    join(
        &target(server),
        HelloParams {
            name: name.into(),
            media,
            local_ip: Some(IpAddr::V4(address)),
            ..HelloParams::default()
        },
    )
    .await
    .unwrap_or_else(|error| panic!("{name} joins: {error}"))
}

/// What the host sent each of `everyone` (the first last of all) because of what the
/// first just sent, moderation only: once the first's own messages have been taken, what
/// they made the host send the others is queued before the others' markers.
async fn moderation_after(everyone: &mut [&mut Joined]) -> Vec<Vec<ServerMessage>> {
    let (first, others) = everyone.split_first_mut().expect("someone");
    let from_first = sent_so_far(first).await;
    let mut seen = Vec::new();
    for other in others {
        seen.push(moderation(sent_so_far(other).await));
    }
    seen.push(moderation(from_first));
    seen
}

/// The moderation among `messages`: devices turned off or asked for, and errors.
fn moderation(messages: Vec<ServerMessage>) -> Vec<ServerMessage> {
    messages
        .into_iter()
        .filter(|message| {
            matches!(
                message,
                ServerMessage::TurnedOff { .. } | ServerMessage::AskedToTurnOn { .. } | ServerMessage::Error { .. }
            )
        })
        .collect()
}

/// The one error in `messages`, which must say `words`.
fn refused(messages: &[ServerMessage], words: &str) {
    match messages {
        [ServerMessage::Error { message }] => assert!(message.contains(words), "{message:?} does not say {words:?}"),
        other => panic!("expected one error saying {words:?}, got {other:?}"),
    }
}

const ADA: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 31);
const BOB: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 32);
const CAROL: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 33);
const DAVE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 34);

#[tokio::test]
async fn the_host_turns_off_exactly_what_it_names_and_only_asks_to_turn_on() {
    let (server, mut host) = host(None).await;
    let mut ada = guest_from(&server, "Ada", media(true, true, true), ADA).await;
    let mut bob = guest_from(&server, "Bob", media(true, true, false), BOB).await;
    let mut carol = guest_from(&server, "Carol", media(false, true, false), CAROL).await;
    let (grace, ada_id, bob_id, carol_id) = (host.you, ada.you, bob.you, carol.you);
    let turned_off = |device| ServerMessage::TurnedOff { device, by: grace };
    let act = async |host: &mut Joined, message, everyone: [&mut Joined; 3]| {
        host.client.send(message);
        let [ada, bob, carol] = everyone;
        moderation_after(&mut [host, ada, bob, carol]).await
    };

    // Mute one: only Ada is told, and she turns her microphone off as Video Meet does.
    let mute_ada = ClientMessage::TurnOff {
        id: Some(ada_id),
        device: MediaDevice::Mic,
    };
    let seen = act(&mut host, mute_ada, [&mut ada, &mut bob, &mut carol]).await;
    assert_eq!(seen, [vec![turned_off(MediaDevice::Mic)], vec![], vec![], vec![]]);
    ada.client.send(ClientMessage::MediaState {
        media: media(false, true, true),
    });
    // Mute everyone: everyone but the host whose microphone is still on, which is Bob.
    let mute_everyone = ClientMessage::TurnOff {
        id: None,
        device: MediaDevice::Mic,
    };
    let seen = act(&mut host, mute_everyone, [&mut ada, &mut bob, &mut carol]).await;
    assert_eq!(seen, [vec![], vec![turned_off(MediaDevice::Mic)], vec![], vec![]]);
    // Stop a video, a share; a share that is not on is not stopped.
    for (id, device, told) in [
        (bob_id, MediaDevice::Camera, Some(1)),
        (ada_id, MediaDevice::Screen, Some(0)),
        (carol_id, MediaDevice::Screen, None),
    ] {
        let stop = ClientMessage::TurnOff { id: Some(id), device };
        let seen = act(&mut host, stop, [&mut ada, &mut bob, &mut carol]).await;
        for (index, messages) in seen.iter().enumerate() {
            let expected = if Some(index) == told {
                vec![turned_off(device)]
            } else {
                vec![]
            };
            assert_eq!(*messages, expected, "{device:?} of participant {id}, seen by {index}");
        }
    }
    // Nobody's microphone is turned on by anyone but themselves: the host asks Carol.
    let ask_carol = ClientMessage::AskToTurnOn {
        id: carol_id,
        device: MediaDevice::Mic,
    };
    let seen = act(&mut host, ask_carol, [&mut ada, &mut bob, &mut carol]).await;
    let asked = ServerMessage::AskedToTurnOn {
        device: MediaDevice::Mic,
        by: grace,
    };
    assert_eq!(seen, [vec![], vec![], vec![asked], vec![]]);
    // Bad requests are refused and reach nobody.
    for (bad, words) in [
        (
            ClientMessage::AskToTurnOn {
                id: carol_id,
                device: MediaDevice::Screen,
            },
            "only a microphone or a camera",
        ),
        (
            ClientMessage::TurnOff {
                id: Some(99),
                device: MediaDevice::Mic,
            },
            "no participant 99",
        ),
        (
            ClientMessage::TurnOff {
                id: Some(grace),
                device: MediaDevice::Camera,
            },
            "yourself",
        ),
        (
            ClientMessage::AskToTurnOn {
                id: 99,
                device: MediaDevice::Camera,
            },
            "no participant 99",
        ),
    ] {
        let seen = act(&mut host, bad, [&mut ada, &mut bob, &mut carol]).await;
        assert!(seen[..3].iter().all(Vec::is_empty), "{seen:?}");
        refused(&seen[3], words);
    }
    // A flood is cut off as chat is.
    for _ in 0..20 {
        host.client.send(ClientMessage::TurnOff {
            id: Some(bob_id),
            device: MediaDevice::Screen,
        });
    }
    let seen = moderation_after(&mut [&mut host, &mut bob]).await;
    assert!(seen[0].is_empty(), "{seen:?}");
    let errors = seen[1].len();
    // The burst (10) less what was done above, and what refilled meanwhile, went through.
    assert!((10..20).contains(&errors), "{errors} of 20 refused: {seen:?}");
    refused(&seen[1][..1], "too fast");
}

#[tokio::test]
async fn a_guest_may_not_moderate_and_changes_nothing() {
    let (server, mut host) = host(None).await;
    let mut ada = guest_from(&server, "Ada", media(true, true, false), ADA).await;
    let mut bob = guest_from(&server, "Bob", media(false, true, true), BOB).await;
    let bob_id = bob.you;
    for attempt in [
        ClientMessage::TurnOff {
            id: Some(bob_id),
            device: MediaDevice::Camera,
        },
        ClientMessage::TurnOff {
            id: None,
            device: MediaDevice::Screen,
        },
        ClientMessage::AskToTurnOn {
            id: bob_id,
            device: MediaDevice::Mic,
        },
        ClientMessage::MakeCohost {
            id: bob_id,
            cohost: true,
        },
        ClientMessage::MakeCohost {
            id: ada.you,
            cohost: true,
        },
        ClientMessage::Remove { id: bob_id },
        ClientMessage::LowerHand { id: bob_id },
        ClientMessage::LockMeeting { locked: true },
        ClientMessage::Admit { knock: 1 },
        ClientMessage::Deny { knock: 1 },
    ] {
        ada.client.send(attempt.clone());
        let seen = moderation_after(&mut [&mut ada, &mut bob, &mut host]).await;
        assert!(
            seen[..2].iter().all(Vec::is_empty),
            "{attempt:?} reached someone: {seen:?}"
        );
        refused(&seen[2], "only the host");
    }
    // Nothing changed: Bob is still in with his camera and share on, nobody is a co-host,
    // and the meeting is open.
    let carol = guest_from(&server, "Carol", media(true, true, false), CAROL).await;
    let bob_seen = carol.peers.iter().find(|peer| peer.id == bob_id).expect("Bob is in");
    assert_eq!(bob_seen.media, media(false, true, true));
    assert!(carol.peers.iter().all(|peer| !peer.cohost), "{:?}", carol.peers);
}

/// The next knock `moderator` hears of.
async fn knock_heard(moderator: &mut Joined, name: &str) -> KnockId {
    loop {
        if let ServerMessage::Knocking { knock, name: knocker } = next(&mut moderator.events).await
            && knocker == name
        {
            return knock;
        }
    }
}

/// Whether `messages` say that `id`'s co-host rights are now `cohost`.
fn cohost_told(messages: &[ServerMessage], id: PeerId, cohost: bool) -> bool {
    messages.contains(&ServerMessage::Cohost { id, cohost })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cohost_lets_guests_in_and_mutes_but_cannot_touch_the_host_and_loses_it_when_told() {
    let (server, mut host) = host(None).await;
    let mut ada = guest_from(&server, "Ada", media(true, true, false), ADA).await;
    let mut bob = guest_from(&server, "Bob", media(true, true, false), BOB).await;
    let (grace, ada_id, bob_id) = (host.you, ada.you, bob.you);
    // The host's microphone and camera are on, for co-hosts to leave alone.
    host.client.send(ClientMessage::MediaState {
        media: media(true, true, false),
    });
    host.client.send(ClientMessage::AskToJoin { required: true });
    sent_so_far(&mut host).await;
    // Carol knocks before Ada is a co-host: Ada hears of her knock once she is one.
    let knocking = target(&server);
    let carol = tokio::spawn(async move {
        let params = HelloParams {
            name: "Carol".into(),
            media: media(true, true, false),
            local_ip: Some(IpAddr::V4(CAROL)),
            ..HelloParams::default()
        };
        join(&knocking, params).await
    });
    let carol_knock = knock_heard(&mut host, "Carol").await;
    host.client.send(ClientMessage::MakeCohost {
        id: ada_id,
        cohost: true,
    });
    sent_so_far(&mut host).await;
    let ada_seen = sent_so_far(&mut ada).await;
    assert!(cohost_told(&ada_seen, ada_id, true), "{ada_seen:?}");
    assert!(
        ada_seen.contains(&ServerMessage::Knocking {
            knock: carol_knock,
            name: "Carol".into()
        }),
        "the knock already waiting: {ada_seen:?}"
    );
    assert!(
        cohost_told(&sent_so_far(&mut bob).await, ada_id, true),
        "everyone is told"
    );

    // The co-host lets Carol in; newcomers see who co-hosts.
    ada.client.send(ClientMessage::Admit { knock: carol_knock });
    let mut carol = carol.await.unwrap().expect("Carol is let in");
    let ada_as_seen = carol.peers.iter().find(|peer| peer.id == ada_id).expect("Ada");
    assert!(ada_as_seen.cohost);
    assert!(
        sent_so_far(&mut host)
            .await
            .contains(&ServerMessage::KnockEnded { knock: carol_knock })
    );

    // The co-host mutes Bob, and then everyone: never the host.
    ada.client.send(ClientMessage::TurnOff {
        id: Some(bob_id),
        device: MediaDevice::Mic,
    });
    let seen = moderation_after(&mut [&mut ada, &mut bob, &mut carol, &mut host]).await;
    let by_ada = ServerMessage::TurnedOff {
        device: MediaDevice::Mic,
        by: ada_id,
    };
    assert_eq!(seen, [vec![by_ada.clone()], vec![], vec![], vec![]]);
    ada.client.send(ClientMessage::TurnOff {
        id: None,
        device: MediaDevice::Mic,
    });
    let seen = moderation_after(&mut [&mut ada, &mut bob, &mut carol, &mut host]).await;
    assert_eq!(
        seen,
        [vec![by_ada.clone()], vec![by_ada], vec![], vec![]],
        "not the host"
    );
    // The host is beyond a co-host's reach, and only the host makes co-hosts.
    for (attempt, words) in [
        (
            ClientMessage::TurnOff {
                id: Some(grace),
                device: MediaDevice::Camera,
            },
            "nobody may turn off the host",
        ),
        (ClientMessage::Remove { id: grace }, "nobody may remove the host"),
        (
            ClientMessage::MakeCohost {
                id: bob_id,
                cohost: true,
            },
            "only the host may make co-hosts",
        ),
    ] {
        ada.client.send(attempt);
        let seen = moderation_after(&mut [&mut ada, &mut host, &mut bob]).await;
        assert!(seen[..2].iter().all(Vec::is_empty), "{seen:?}");
        refused(&seen[2], words);
    }
    assert_eq!(server.participant_count(), 4, "the host is still in");

    // A co-host removes a guest.
    ada.client.send(ClientMessage::Remove { id: carol.you });
    assert_eq!(next(&mut carol.events).await, ServerMessage::Removed);
    let removed = ServerMessage::PeerLeft {
        id: carol.you,
        reason: LeaveReason::Removed,
    };
    assert!(sent_so_far(&mut host).await.contains(&removed));

    // Dave knocks while Ada co-hosts; the host takes her rights away: she is told his knock
    // needs no answer from her, and may do nothing more.
    let knocking = target(&server);
    let dave = tokio::spawn(async move {
        let params = HelloParams {
            name: "Dave".into(),
            local_ip: Some(IpAddr::V4(DAVE)),
            ..HelloParams::default()
        };
        join(&knocking, params).await
    });
    let dave_knock = knock_heard(&mut ada, "Dave").await;
    host.client.send(ClientMessage::MakeCohost {
        id: ada_id,
        cohost: false,
    });
    sent_so_far(&mut host).await;
    let ada_seen = sent_so_far(&mut ada).await;
    assert!(cohost_told(&ada_seen, ada_id, false), "{ada_seen:?}");
    assert!(ada_seen.contains(&ServerMessage::KnockEnded { knock: dave_knock }));
    assert!(cohost_told(&sent_so_far(&mut bob).await, ada_id, false));
    for attempt in [
        ClientMessage::TurnOff {
            id: Some(bob_id),
            device: MediaDevice::Camera,
        },
        ClientMessage::Admit { knock: dave_knock },
        ClientMessage::Remove { id: bob_id },
    ] {
        ada.client.send(attempt);
        let seen = moderation_after(&mut [&mut ada, &mut bob]).await;
        assert!(seen[0].is_empty(), "{seen:?}");
        refused(&seen[1], "only the host or a co-host");
    }
    assert!(!dave.is_finished(), "Dave still waits for the host");
    host.client.send(ClientMessage::Admit { knock: dave_knock });
    dave.await.unwrap().expect("the host lets Dave in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_and_cohosts_are_told_whether_the_meeting_is_locked() {
    let (server, mut host) = host(None).await;
    let mut ada = guest_from(&server, "Ada", media(true, true, false), ADA).await;
    let mut bob = guest_from(&server, "Bob", media(true, true, false), BOB).await;
    host.client.send(ClientMessage::LockMeeting { locked: true });
    assert!(
        sent_so_far(&mut host)
            .await
            .contains(&ServerMessage::Locked { locked: true }),
        "the host's own lock, confirmed"
    );
    // A new co-host learns the state at once, so its window shows it right.
    host.client.send(ClientMessage::MakeCohost {
        id: ada.you,
        cohost: true,
    });
    sent_so_far(&mut host).await;
    let ada_seen = sent_so_far(&mut ada).await;
    assert!(
        ada_seen.contains(&ServerMessage::Locked { locked: true }),
        "{ada_seen:?}"
    );
    // The co-host unlocks: the host hears it; a guest who may not change it hears nothing.
    // (Ada's own messages are through the room before the host asks what it was sent.)
    ada.client.send(ClientMessage::LockMeeting { locked: false });
    sent_so_far(&mut ada).await;
    assert!(
        sent_so_far(&mut host)
            .await
            .contains(&ServerMessage::Locked { locked: false })
    );
    let bob_seen = sent_so_far(&mut bob).await;
    assert!(
        !bob_seen
            .iter()
            .any(|message| matches!(message, ServerMessage::Locked { .. })),
        "{bob_seen:?}"
    );
}

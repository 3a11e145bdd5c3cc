//! The host leaves and hands the meeting over: a co-host (else the program that came first)
//! hosts it from then on, everyone's program follows, and the meeting goes on with its code,
//! passcode and ids.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use videomeet_net::JoinTarget;
use videomeet_net::meeting::{Command, EndReason, Event, Meeting, MeetingConfig, Problem, Role};
use videomeet_net::protocol::PeerId;
use videomeet_net::signaling::HostConfig;

#[macro_use]
mod participant;
use participant::*;

const PASSCODE: &str = "4711";

/// Waits until `from`'s camera moves at `viewer` again (new pictures for a quarter second),
/// within `seconds`.
async fn until_moving_again(viewer: &Participant, from: PeerId, seconds: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if viewer
            .seen
            .lock()
            .unwrap()
            .video(from, videomeet_net::peer::VideoFeed::Camera)
            .is_some()
            && viewer.watch(from, Duration::from_millis(250)).await.pictures >= 4
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: no moving picture within {seconds} s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_who_leaves_hands_the_meeting_over_and_it_goes_on() {
    let _machine = shared_machine().await;
    let mut config = HostConfig::new("Lab", "Grace");
    config.bind_ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    config.port = 0;
    config.passcode = Some(PASSCODE.into());
    let grace = Participant::start(Role::Host(config), "Grace", 440).await;
    let link = grace.seen.lock().unwrap().link.clone().expect("a link");
    let mut target = JoinTarget::parse(&link).unwrap();
    target.host = "127.0.0.1".into();
    let join = |target: &JoinTarget| Role::Join {
        target: target.clone(),
        passcode: Some(PASSCODE.into()),
    };
    let ada = Participant::start(join(&target), "Ada", 660).await;
    let bob = Participant::start(join(&target), "Bob", 880).await;
    let (grace_id, ada_id, bob_id) = (grace.id(), ada.id(), bob.id());
    until_moving_again(&ada, bob_id, 10, "Bob at Ada before").await;

    // Bob is a co-host, so he hosts next (before Ada, who came first).
    assert!(grace.handle.send(Command::MakeCohost {
        id: bob_id,
        cohost: true
    }));
    until!(bob, 5, |seen| seen.cohost);
    assert!(ada.handle.send(Command::Chat("before the move".into())));
    until!(bob, 5, |seen| seen.chat.iter().any(|line| line.seq == 1));
    let handed = Instant::now();
    grace
        .handle
        .ask(Command::HandOver)
        .await
        .expect("the meeting is handed over");
    until!(
        grace,
        10,
        |seen| matches!(&seen.ended, Some(EndReason::HandedOver { to }) if to == "Bob")
    );
    until!(ada, 10, |seen| seen
        .people
        .get(&bob_id)
        .is_some_and(|bob| bob.info.is_host)
        && !seen.people.contains_key(&grace_id));
    println!("Ada follows the meeting to Bob after {:?}", handed.elapsed());

    // Media both ways again, through the new host.
    until_moving_again(&ada, bob_id, 10, "Bob at Ada after the handover").await;
    until_moving_again(&bob, ada_id, 10, "Ada at Bob after the handover").await;
    println!("pictures both ways again {:?} after handing over", handed.elapsed());
    ada.sees_moving(bob_id, "Bob at Ada").await;
    bob.sees_moving(ada_id, "Ada at Bob").await;
    // The chat goes on numbering where the old host stopped.
    assert!(ada.handle.send(Command::Chat("after the move".into())));
    until!(bob, 5, |seen| seen
        .chat
        .iter()
        .any(|line| line.text == "after the move"));
    let numbers: Vec<(u64, String)> = bob
        .seen
        .lock()
        .unwrap()
        .chat
        .iter()
        .map(|line| (line.seq, line.text.clone()))
        .collect();
    assert_eq!(
        numbers,
        [(1, "before the move".to_owned()), (2, "after the move".to_owned())]
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (heard_by_ada, heard_by_bob) = (ada.last_second_heard(), bob.last_second_heard());
    assert!(tone_level(&heard_by_ada, 880.0) > 0.1, "Ada hears Bob");
    assert!(tone_level(&heard_by_bob, 660.0) > 0.1, "Bob hears Ada");
    assert!(tone_level(&heard_by_ada, 440.0) < 0.02, "Grace is gone");
    assert_eq!((ada.id(), bob.id()), (ada_id, bob_id), "ids are kept");

    // The meeting keeps its code and passcode at its new address, which Bob now gives out.
    let (new_link, hosting) = {
        let seen = bob.seen.lock().unwrap();
        (seen.link.clone().expect("a link"), seen.web_page.is_some())
    };
    assert!(hosting, "Bob hosts");
    let mut moved = JoinTarget::parse(&new_link).unwrap();
    assert_eq!(moved.code, target.code, "the code stays");
    assert_ne!(moved.port, target.port);
    moved.host = "127.0.0.1".into();
    let wrong = Role::Join {
        target: moved.clone(),
        passcode: Some("0000".into()),
    };
    let (meeting, _handle, mut events) = Meeting::new(wrong, MeetingConfig::default(), std::sync::Arc::new(|| {}));
    tokio::spawn(meeting.run());
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Some(Event::Ended(reason)) => break reason.to_string(),
                Some(_) => continue,
                None => break String::new(),
            }
        }
    })
    .await
    .expect("a wrong passcode is answered");
    assert!(ended.contains("passcode"), "{ended}");
    let carol = Participant::start(join(&moved), "Carol", 990).await;
    until_moving_again(&carol, ada_id, 10, "Ada at Carol").await;
    until!(ada, 5, |seen| seen.people.contains_key(&carol.id()));

    assert!(bob.handle.send(Command::Leave));
    until!(ada, 10, |seen| seen.ended.is_some());
}

/// A host alone (or with browser guests only) cannot hand the meeting over: it is told to
/// end it instead, and nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_alone_is_told_there_is_nobody_to_hand_the_meeting_to() {
    let (grace, target) = host_on_loopback().await;
    let refused = grace.handle.ask(Command::HandOver).await;
    assert!(
        matches!(&refused, Err(Problem::Refused { message }) if message.contains("nobody here can host")),
        "{refused:?}"
    );
    let ada = Participant::start(Role::Join { target, passcode: None }, "Ada", 660).await;
    let refused = ada.handle.ask(Command::HandOver).await;
    assert!(
        matches!(&refused, Err(Problem::Refused { message }) if message.contains("only the host")),
        "{refused:?}"
    );
    assert!(grace.handle.send(Command::Leave));
    until!(ada, 10, |seen| matches!(seen.ended, Some(EndReason::HostEnded)));
}

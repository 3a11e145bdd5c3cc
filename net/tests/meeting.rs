//! Whole meetings through the actor: host and guests on loopback with synthetic devices.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use videomeet_media::audio::goertzel::amplitude;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::{VideoFormat, read_stamp};
use videomeet_media::{AudioFrame, MicrophoneChoice, SpeakerChoice, VideoChoice, VideoFrame};
use videomeet_net::JoinTarget;
use videomeet_net::meeting::{Command, Event, Meeting, MeetingConfig, MeetingHandle, Role};
use videomeet_net::peer::PeerConfig;
use videomeet_net::protocol::{LeaveReason, PeerId};
use videomeet_net::signaling::HostConfig;

fn config(name: &str, tone_hz: u32) -> MeetingConfig {
    MeetingConfig {
        name: name.into(),
        camera: VideoChoice::TestPattern,
        video_format: VideoFormat::new(320, 240, 30),
        camera_on: true,
        microphone: MicrophoneChoice::TestTone { freq_hz: tone_hz },
        mic_on: true,
        speaker: SpeakerChoice::Mute,
        audio_tap: None,
        peer: PeerConfig {
            ice_addrs: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            ice_servers: Vec::new(),
        },
        announce: false,
    }
}

async fn start(role: Role, config: MeetingConfig) -> (MeetingHandle, mpsc::Receiver<Event>) {
    let (meeting, handle, events) = Meeting::start(role, config, Arc::new(|| {}))
        .await
        .expect("meeting starts");
    tokio::spawn(meeting.run());
    (handle, events)
}

/// The next event `pick` accepts, within `seconds`.
async fn wait_for<T>(events: &mut mpsc::Receiver<Event>, seconds: u64, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    tokio::time::timeout(Duration::from_secs(seconds), async {
        loop {
            if let Some(found) = pick(events.recv().await.expect("meeting still running")) {
                return found;
            }
        }
    })
    .await
    .expect("event in time")
}

/// Frames with readable stamps shown from `slot` within `seconds`.
async fn stamped_frames(slot: &VideoSlot, seconds: u64) -> usize {
    let mut frame = VideoFrame::default();
    let (mut seen, mut readable) = (0, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        if let Some(generation) = slot.read_if_newer(seen, &mut frame) {
            seen = generation;
            readable += usize::from(read_stamp(&frame).is_some());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    readable
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_and_guest_see_each_other_chat_and_leave() {
    let mut host_config = HostConfig::new("Lab", "Grace");
    host_config.bind_ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    host_config.port = 0;
    let (host, mut host_events) = start(Role::Host(host_config), config("Grace", 440)).await;
    let (host_id, link) = wait_for(&mut host_events, 5, |event| match event {
        Event::Joined { you, link, .. } => Some((you, link)),
        _ => None,
    })
    .await;
    let mut target = JoinTarget::parse(&link).expect("the link parses");
    target.host = "127.0.0.1".into();

    let (tap, heard) = std::sync::mpsc::sync_channel::<AudioFrame>(1024);
    let guest_config = MeetingConfig {
        audio_tap: Some(tap),
        ..config("Ada", 660)
    };
    let (guest, mut guest_events) = start(Role::Join { target, passcode: None }, guest_config).await;
    let guest_id = wait_for(&mut guest_events, 5, |event| match event {
        Event::Joined { you, .. } => Some(you),
        _ => None,
    })
    .await;

    // Each side gets the other's video, with readable stamps.
    let video_from = |wanted: PeerId| {
        move |event| match event {
            Event::Video { id, slot } if id == wanted => Some(slot),
            _ => None,
        }
    };
    let guest_sees = wait_for(&mut guest_events, 10, video_from(host_id)).await;
    let host_sees = wait_for(&mut host_events, 10, video_from(guest_id)).await;
    let (at_guest, at_host) = tokio::join!(stamped_frames(&guest_sees, 2), stamped_frames(&host_sees, 2));
    assert!(at_guest >= 30, "the guest showed {at_guest} frames in 2 s");
    assert!(at_host >= 30, "the host showed {at_host} frames in 2 s");

    // The guest hears the host's 440 Hz tone (and not its own 660 Hz one).
    let played: Vec<f32> = heard.try_iter().flat_map(|frame| frame.samples.to_vec()).collect();
    let recent = &played[played.len().saturating_sub(48_000)..];
    assert!(recent.len() >= 24_000, "only {} samples played", recent.len());
    let (host_tone, own_tone) = (amplitude(recent, 440.0), amplitude(recent, 660.0));
    assert!(
        host_tone > 0.1 && own_tone < 0.02,
        "440 Hz at {host_tone}, 660 Hz at {own_tone}"
    );

    assert!(guest.send(Command::Chat("hello from Ada".into())));
    let (from, text) = wait_for(&mut host_events, 5, |event| match event {
        Event::Chat { from, text, .. } => Some((from, text)),
        _ => None,
    })
    .await;
    assert_eq!((from, text.as_str()), (guest_id, "hello from Ada"));

    assert!(guest.send(Command::SetMic(false)));
    let media = wait_for(&mut host_events, 5, |event| match event {
        Event::MediaState { id, media } if id == guest_id => Some(media),
        _ => None,
    })
    .await;
    assert!(!media.mic && media.camera);

    assert!(guest.send(Command::Leave));
    let reason = wait_for(&mut host_events, 3, |event| match event {
        Event::PeerLeft { id, reason } if id == guest_id => Some(reason),
        _ => None,
    })
    .await;
    assert_eq!(reason, LeaveReason::Left);
    wait_for(&mut guest_events, 3, |event| {
        matches!(event, Event::Ended).then_some(())
    })
    .await;

    assert!(host.send(Command::Leave));
    wait_for(&mut host_events, 5, |event| matches!(event, Event::Ended).then_some(())).await;
}

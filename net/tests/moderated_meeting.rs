//! A whole meeting through the actor in which the host moderates: a participant whose
//! microphone the host turns off is muted for real, as by its own button, until it turns it
//! on again itself.

use std::time::Duration;

use videomeet_media::audio::goertzel::amplitude;
use videomeet_net::meeting::{Command, Role};
use videomeet_net::peer::VideoFeed;
use videomeet_net::protocol::MediaDevice;

#[macro_use]
mod participant;
use participant::*;

/// How loud `participant` heard `hz` over the last second.
fn heard_level(participant: &Participant, hz: f32) -> f32 {
    amplitude(&participant.last_second_heard(), hz)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_muted_by_the_host_is_silent_until_it_unmutes_itself() {
    let (host, target) = host_on_loopback().await;
    let ada = Participant::start(Role::Join { target, passcode: None }, "Ada", 660).await;
    let ada_id = ada.id();
    until!(host, 10, |seen| seen.video(ada_id, VideoFeed::Camera).is_some());
    // Ada is heard before.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = heard_level(&host, ada.tone_hz);
    assert!(before > 0.1, "Ada's tone at {before} before she is muted");

    assert!(host.handle.send(Command::TurnOff {
        id: Some(ada_id),
        device: MediaDevice::Mic,
    }));
    // Her own program turns the microphone off and says so; the host learns it from her.
    until!(ada, 5, |seen| seen.media.is_some_and(|media| !media.mic));
    until!(host, 5, |seen| !seen.people[&ada_id].info.media.mic);
    // And she is not heard any more: a second for what was on its way to play out.
    tokio::time::sleep(Duration::from_secs(1)).await;
    host.last_second_heard();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let muted = heard_level(&host, ada.tone_hz);
    assert!(muted < 0.02, "Ada's tone at {muted} while she is muted");

    // The host stops her video too; only she can turn either on again.
    assert!(host.handle.send(Command::TurnOff {
        id: Some(ada_id),
        device: MediaDevice::Camera,
    }));
    until!(host, 5, |seen| !seen.people[&ada_id].info.media.camera);
    assert!(ada.handle.send(Command::SetMic(true)));
    until!(host, 5, |seen| seen.people[&ada_id].info.media.mic);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again = heard_level(&host, ada.tone_hz);
    assert!(again > 0.1, "Ada's tone at {again} once she unmuted herself");

    assert!(host.handle.send(Command::Leave));
    until!(ada, 10, |seen| seen.ended.is_some());
}

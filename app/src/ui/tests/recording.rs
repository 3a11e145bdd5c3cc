//! Recording in the window: Record and Stop, the mark on whoever records, the notice on
//! coming into a meeting being recorded, the card of a finished recording, and the host's
//! choice of whether guests may record.

use std::path::PathBuf;
use std::time::Duration;

use egui_kittest::kittest::Queryable;
use videomeet_media::record::Finished;
use videomeet_net::meeting::{Command, Event, Problem};
use videomeet_net::protocol::MediaState;

use super::{Commands, joined, meeting_harness, meeting_harness_as, on_tile, peer, send, snapshot};

/// The first command sent that is about recording, skipping sounds and the like.
fn recording_command(commands: &mut Commands) -> Option<Command> {
    std::iter::from_fn(|| commands.try_recv().ok()).find(|command| {
        matches!(
            command,
            Command::StartRecording { .. } | Command::StopRecording | Command::AllowGuestRecording(_)
        )
    })
}

fn recording(mic: bool) -> MediaState {
    MediaState {
        mic,
        camera: true,
        recording: true,
        ..MediaState::default()
    }
}

#[test]
fn record_starts_and_stops_and_everyone_recording_is_marked() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    harness.run();
    let folder = crate::folders::videos_dir();
    harness.get_by_label("⏺ Record").click();
    harness.run();
    match recording_command(&mut commands) {
        Some(Command::StartRecording { path, voice_files }) => {
            assert!(!voice_files, "one file unless asked for more");
            assert_eq!(path.extension().and_then(|e| e.to_str()), Some("mp4"), "{path:?}");
            assert!(
                path.file_name().unwrap().to_string_lossy().starts_with("Standup "),
                "{path:?}"
            );
            assert_eq!(path.parent().map(PathBuf::from), folder, "into the Videos folder");
        }
        other => panic!("Record asked for {other:?}"),
    }

    // The meeting says it records; Grace records too.
    let path = PathBuf::from("/home/ada/Videos/Standup 2026-12-04 09.30.mp4");
    send(&events, Event::RecordingStarted { path: path.clone() });
    send(
        &events,
        Event::MediaState {
            id: 2,
            media: recording(true),
        },
    );
    harness.run();
    harness.get_by_label("Recording into Standup 2026-12-04 09.30.mp4. Everyone sees that you record.");
    harness.get_by_label("Grace Hopper is recording the meeting.");
    on_tile(&harness, "Grace Hopper", "Grace Hopper is recording");
    on_tile(&harness, "Ada Lovelace (you)", "Ada Lovelace is recording");
    harness.get_by_label("Recorded by you, Grace Hopper");
    snapshot(&mut harness, "meeting_recording");

    harness.get_by_label("⏹ Stop recording").click();
    harness.run();
    assert_eq!(recording_command(&mut commands), Some(Command::StopRecording));
    send(
        &events,
        Event::RecordingEnded(Finished {
            path,
            duration: Duration::from_secs(185),
            bytes: 61_000_000,
            error: None,
            voice_files: vec![
                PathBuf::from("/home/ada/Videos/Standup 2026-12-04 09.30 - Ada Lovelace.m4a"),
                PathBuf::from("/home/ada/Videos/Standup 2026-12-04 09.30 - Grace Hopper.m4a"),
            ],
            pictures: 5550,
        }),
    );
    send(
        &events,
        Event::MediaState {
            id: 2,
            media: MediaState::default(),
        },
    );
    harness.run();
    harness.get_by_label("Recording saved");
    harness.get_by_label(&format!("3:05 · {}", videomeet_net::files::size_text(61_000_000)));
    harness.get_by_label("Show in folder");
    harness.get_by_label("and each person's sound in a file beside it (2 files)");
    harness.get_by_label("Grace Hopper stopped recording.");
    assert!(harness.query_by_label("Recorded by you, Grace Hopper").is_none());
    harness.get_by_label("⏺ Record");

    // Each person's sound too, when chosen beside Record.
    harness.get_by_label("…").click();
    harness.run();
    harness
        .get_by_label("Each person's sound in a file of its own too")
        .click();
    harness.run();
    harness.get_by_label("⏺ Record").click();
    harness.run();
    assert!(matches!(
        recording_command(&mut commands),
        Some(Command::StartRecording { voice_files: true, .. })
    ));
    assert!(harness.state().settings.record_voices, "the choice is kept");
}

#[test]
fn a_recording_that_stopped_on_its_own_says_why() {
    let (mut harness, events, _commands) = meeting_harness();
    send(&events, joined());
    send(
        &events,
        Event::RecordingEnded(Finished {
            path: PathBuf::from("/media/stick/Standup.mp4"),
            duration: Duration::from_secs(42),
            bytes: 9_000_000,
            error: Some("the disk is full".into()),
            voice_files: Vec::new(),
            pictures: 1260,
        }),
    );
    harness.run();
    harness.get_by_label("Recording stopped");
    harness.get_by_label("The recording stopped: the disk is full. The file plays up to that moment.");
    harness.get_by_label("Show in folder");
}

#[test]
fn coming_into_a_meeting_being_recorded_asks_whether_to_stay() {
    let (mut harness, events, mut commands) = meeting_harness_as(false);
    send(&events, joined());
    let mut grace = peer(2, "Grace Hopper", true, true);
    grace.media.recording = true;
    grace.is_host = true;
    send(&events, Event::PeerJoined(grace));
    harness.run();
    harness.get_by_label("This meeting is being recorded");
    harness.get_by_label("Grace Hopper is recording this meeting: what you say and show is in the recording.");
    harness.get_by_label("Stay in the meeting").click();
    harness.run();
    assert!(harness.query_by_label("Stay in the meeting").is_none());
    assert!(recording_command(&mut commands).is_none());
    harness.get_by_label("Recorded by Grace Hopper");

    // Leave, when chosen, leaves.
    let (mut harness, events, mut commands) = meeting_harness_as(false);
    send(&events, joined());
    let mut grace = peer(2, "Grace Hopper", true, true);
    grace.media.recording = true;
    send(&events, Event::PeerJoined(grace));
    harness.run();
    harness.get_by_label("Leave the meeting").click();
    harness.run();
    assert!(
        std::iter::from_fn(|| commands.try_recv().ok()).any(|command| command == Command::Leave),
        "Leave left"
    );
}

#[test]
fn a_guest_may_not_record_when_the_host_keeps_it_and_the_host_chooses_in_meeting_info() {
    // A guest, in a meeting where guests may not record: Record is there, greyed.
    let (mut harness, events, mut commands) = meeting_harness_as(false);
    let mut keeping = joined();
    if let Event::Joined { meeting, .. } = &mut keeping {
        meeting.no_guest_recording = true;
    }
    send(&events, keeping);
    harness.run();
    harness.get_by_label("⏺ Record").click();
    harness.run();
    assert_eq!(recording_command(&mut commands), None, "a greyed Record does nothing");
    // The host allows it: Record works.
    send(&events, Event::GuestRecording(true));
    harness.run();
    harness.get_by_label("⏺ Record").click();
    harness.run();
    assert!(matches!(
        recording_command(&mut commands),
        Some(Command::StartRecording { .. })
    ));
    // A refusal is shown as it came.
    send(
        &events,
        Event::Problem(Problem::Recording {
            message: "The host does not let guests record this meeting.".into(),
        }),
    );
    harness.run();
    harness.get_by_label("The host does not let guests record this meeting.");

    // The host's checkbox in Meeting info.
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    harness.run();
    harness.get_by_label("ℹ Meeting info").click();
    harness.run();
    harness.get_by_label("Guests may record the meeting").click();
    harness.run();
    assert_eq!(
        recording_command(&mut commands),
        Some(Command::AllowGuestRecording(false))
    );
}

#[test]
fn leaving_while_recording_says_where_the_recording_is() {
    let (mut harness, events, _commands) = meeting_harness_as(false);
    send(&events, joined());
    let path = PathBuf::from("/home/ada/Videos/Standup 2026-12-04 09.30.mp4");
    send(&events, Event::RecordingStarted { path });
    harness.run();
    harness.get_by_label("Leave").click();
    harness.run();
    assert_eq!(
        harness.state().ended.as_deref(),
        Some("You left the meeting. Your recording is saved as /home/ada/Videos/Standup 2026-12-04 09.30.mp4.")
    );
}

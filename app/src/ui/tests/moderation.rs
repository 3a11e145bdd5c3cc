//! The meeting screen's moderation, renaming, private chat and sounds, driven as the other
//! screen tests are: events in, commands out.

use eframe::egui::accesskit::Role;
use eframe::egui::{Key, Modifiers};
use egui_kittest::kittest::{NodeT, Queryable};
use videomeet_media::audio::Cue;
use videomeet_net::meeting::{Command, Event};
use videomeet_net::protocol::{MediaDevice, MediaState};

use super::{joined, meeting_harness, meeting_harness_as, on_tile, peer, send, snapshot};

/// Grace sharing with everything on, Alan with nothing on.
fn grace_and_alan(events: &tokio::sync::mpsc::Sender<Event>) {
    let mut grace = peer(2, "Grace Hopper", true, true);
    grace.media.screen = true;
    send(events, Event::PeerJoined(grace));
    send(events, Event::PeerJoined(peer(3, "Alan Turing", false, false)));
}

#[test]
fn the_host_turns_off_asks_and_makes_co_hosts_from_people() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    grace_and_alan(&events);
    harness.run();
    harness.get_by_label_contains("People (3)").click();
    harness.run();
    harness.get_by_label("Mute everyone").click();
    harness.run();
    assert_eq!(
        commands.try_recv().ok(),
        Some(Command::TurnOff {
            id: None,
            device: MediaDevice::Mic
        })
    );
    // Each entry of a person's menu: what is on is turned off, what is off asked for.
    for (menu, entry, command) in [
        (
            0,
            "Mute",
            Command::TurnOff {
                id: Some(2),
                device: MediaDevice::Mic,
            },
        ),
        (
            0,
            "Stop video",
            Command::TurnOff {
                id: Some(2),
                device: MediaDevice::Camera,
            },
        ),
        (
            0,
            "Stop share",
            Command::TurnOff {
                id: Some(2),
                device: MediaDevice::Screen,
            },
        ),
        (0, "Make co-host", Command::MakeCohost { id: 2, cohost: true }),
        (
            1,
            "Ask to unmute",
            Command::AskToTurnOn {
                id: 3,
                device: MediaDevice::Mic,
            },
        ),
        (
            1,
            "Ask to start video",
            Command::AskToTurnOn {
                id: 3,
                device: MediaDevice::Camera,
            },
        ),
    ] {
        harness.get_all_by_label("More").nth(menu).expect("a menu").click();
        harness.run();
        harness.get_by_label(entry).click();
        harness.run();
        assert_eq!(commands.try_recv().ok(), Some(command), "{entry}");
        assert!(harness.query_by_label(entry).is_none(), "the menu closes");
    }
    // Grace is a co-host once the meeting says so: marked, and her rights can be taken back.
    send(&events, Event::Cohost { id: 2, cohost: true });
    harness.run();
    harness.get_by_label("co-host");
    on_tile(&harness, "Grace Hopper", "Grace Hopper · co-host");
    harness.get_all_by_label("More").next().expect("Grace's menu").click();
    harness.run();
    harness.get_by_label("Remove co-host").click();
    harness.run();
    assert_eq!(
        commands.try_recv().ok(),
        Some(Command::MakeCohost { id: 2, cohost: false })
    );
}

#[test]
fn a_guest_moderates_only_once_made_a_co_host_and_never_the_host() {
    let (mut harness, events, mut commands) = meeting_harness_as(false);
    send(&events, joined());
    let mut grace = peer(2, "Grace Hopper", true, true);
    grace.is_host = true;
    send(&events, Event::PeerJoined(grace));
    send(&events, Event::PeerJoined(peer(3, "Alan Turing", true, false)));
    harness.run();
    harness.get_by_label_contains("People (3)").click();
    harness.run();
    assert!(harness.query_by_label("Mute everyone").is_none());
    harness.get_all_by_label("More").next().expect("a menu").click();
    harness.run();
    harness.get_by_label("Message privately");
    assert!(harness.query_by_label("Mute").is_none(), "a guest cannot mute");
    harness.key_press(Key::Escape);
    harness.run();

    send(&events, Event::Cohost { id: 1, cohost: true });
    harness.run();
    harness.get_by_label("You are a co-host now: you can let guests in, mute and remove others.");
    on_tile(&harness, "Ada Lovelace (you)", "Ada Lovelace (you) · co-host");
    // The meeting is locked, by the host before or by anyone now: Meeting info says so.
    send(&events, Event::Locked(true));
    harness.get_by_label("ℹ Meeting info").click();
    harness.run();
    let lock = harness.get_by_label("Lock the meeting: nobody new can join");
    assert_eq!(
        lock.accesskit_node().toggled(),
        Some(eframe::egui::accesskit::Toggled::True),
        "shown unlocked"
    );
    harness.get_by_label("ℹ Meeting info").click();
    harness.run();
    // The host's menu: only asking; no co-host rights to give, no removing.
    harness
        .get_all_by_label("More")
        .next()
        .expect("the host's menu")
        .click();
    harness.run();
    assert!(
        harness.query_by_label("Mute").is_none(),
        "the host is not muted by others"
    );
    assert!(
        harness.query_by_label("Make co-host").is_none(),
        "only the host makes co-hosts"
    );
    assert!(harness.query_by_label("Remove Grace Hopper…").is_none());
    harness.key_press(Key::Escape);
    harness.run();
    // Alan's: muted by the co-host.
    harness.get_all_by_label("More").nth(1).expect("Alan's menu").click();
    harness.run();
    harness.get_by_label("Mute").click();
    harness.run();
    assert_eq!(
        commands.try_recv().ok(),
        Some(Command::TurnOff {
            id: Some(3),
            device: MediaDevice::Mic
        })
    );
    harness.get_by_label("Mute everyone");
    harness.get_by_label("ℹ Meeting info").click();
    harness.run();
    harness.get_by_label("Lock the meeting: nobody new can join");
}

#[test]
fn being_turned_off_is_told_and_being_asked_to_unmute_is_answered() {
    let (mut harness, events, mut commands) = meeting_harness_as(false);
    send(&events, joined());
    let mut grace = peer(2, "Grace Hopper", true, true);
    grace.is_host = true;
    send(&events, Event::PeerJoined(grace));
    harness.run();
    // The meeting turned our microphone off (it says so first), then says who did.
    let muted = MediaState {
        mic: false,
        camera: true,
        screen: false,
        hand: None,
        camera_size: None,
        recording: false,
    };
    send(&events, Event::MediaState { id: 1, media: muted });
    send(
        &events,
        Event::TurnedOff {
            device: MediaDevice::Mic,
            by: 2,
        },
    );
    harness.run();
    harness.get_by_label("Grace Hopper muted you.");
    harness.get_by_label("🔇 Unmute");
    assert!(commands.try_recv().is_err(), "nothing to send: it is off already");

    let ask = |device| Event::AskedToTurnOn { device, by: 2 };
    send(&events, ask(MediaDevice::Mic));
    harness.run();
    snapshot(&mut harness, "meeting_asked_to_unmute");
    harness.get_by_label("Grace Hopper asks you to unmute");
    harness.get_by_label("Unmute").click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::SetMic(true)));
    assert!(harness.query_by_label("Grace Hopper asks you to unmute").is_none());
    harness.get_by_label("🎤 Mute");
    // Escape is Not now; so is its button.
    send(&events, ask(MediaDevice::Mic));
    harness.run();
    harness.get_by_label("Grace Hopper asks you to unmute");
    harness.key_press(Key::Escape);
    harness.run();
    assert!(harness.query_by_label("Grace Hopper asks you to unmute").is_none());
    send(&events, ask(MediaDevice::Camera));
    harness.run();
    harness.get_by_label("Not now").click();
    harness.run();
    assert!(
        harness
            .query_by_label("Grace Hopper asks you to start your video")
            .is_none()
    );
    assert!(commands.try_recv().is_err(), "nothing turned on");
}

#[test]
fn a_private_message_goes_to_one_and_is_marked_on_both_sides() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    grace_and_alan(&events);
    harness.run();
    // From People: write to Grace privately.
    harness.get_by_label_contains("People (3)").click();
    harness.run();
    harness.get_all_by_label("More").next().expect("Grace's menu").click();
    harness.run();
    harness.get_by_label("Message privately").click();
    harness.run();
    let field = harness.get_by_role(Role::TextInput);
    assert!(field.is_focused(), "the message field has the keyboard");
    field.type_text("just between us");
    harness.run();
    harness.key_press(Key::Enter);
    harness.run();
    assert_eq!(
        commands.try_recv().ok(),
        Some(Command::PrivateChat {
            to: 2,
            text: "just between us".into()
        })
    );
    let chat = |seq, from, to, text: &str| Event::Chat {
        from,
        name: if from == 1 { "Ada Lovelace" } else { "Grace Hopper" }.into(),
        text: text.into(),
        sent_at_ms: 1_700_000_000_000,
        seq,
        to,
    };
    send(&events, chat(1, 1, Some(2), "just between us"));
    send(&events, chat(2, 2, Some(1), "agreed"));
    send(&events, chat(3, 2, None, "hello all"));
    harness.run();
    assert_eq!(
        commands.try_recv().ok(),
        Some(Command::PlayCue(Cue::Message)),
        "one sound for the two messages that came together"
    );
    snapshot(&mut harness, "meeting_private_chat");
    harness.get_by_label("to Grace Hopper, privately");
    let marks: Vec<_> = harness.get_all_by_label("privately").collect();
    assert_eq!(
        marks.len(),
        1,
        "Grace's private answer is marked, her message to all is not"
    );
    // Everyone again, from the "To:" choice.
    harness.get_by_role(Role::ComboBox).click();
    harness.run();
    harness.get_by_label("Everyone").click();
    harness.run();
    let field = harness.get_by_role(Role::TextInput);
    field.click();
    field.type_text("hi all");
    harness.run();
    harness.key_press(Key::Enter);
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::Chat("hi all".into())));
}

#[test]
fn we_rename_ourselves_from_our_tile_or_people_and_escape_cancels() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    harness.run();
    harness
        .get_by_role_and_label(Role::Group, "Video of Ada Lovelace (you)")
        .click_secondary();
    harness.run();
    harness.get_by_label("Rename…").click();
    harness.run();
    let field = harness.get_by_role(Role::TextInput);
    assert!(field.is_focused(), "the name field has the keyboard");
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.get_by_role(Role::TextInput).type_text("Grace Hopper");
    harness.run();
    harness.key_press(Key::Enter);
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::Rename("Grace Hopper".into())));
    assert_eq!(harness.state().settings.name, "Grace Hopper", "remembered");
    assert!(harness.query_by_role(Role::TextInput).is_none(), "the dialog closed");
    // The meeting numbers it: that is the name shown.
    send(
        &events,
        Event::Renamed {
            id: 1,
            name: "Grace Hopper (2)".into(),
        },
    );
    harness.run();
    on_tile(&harness, "Grace Hopper (2) (you)", "Grace Hopper (2) (you) · host");
    // From People; Escape changes nothing.
    harness.get_by_label_contains("People (2)").click();
    harness.run();
    harness.get_by_label("Rename…").click();
    harness.run();
    harness.get_by_role(Role::TextInput).type_text("x");
    harness.run();
    harness.key_press(Key::Escape);
    harness.run();
    assert!(harness.query_by_role(Role::TextInput).is_none(), "the dialog closed");
    assert!(commands.try_recv().is_err(), "nothing sent");
    assert_eq!(harness.state().settings.name, "Grace Hopper");
}

#[test]
fn sounds_play_for_news_unless_turned_off_in_devices() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    harness.run();
    assert!(commands.try_recv().is_err(), "who was there is not news");
    assert!(harness.state().settings.play_sounds, "on unless turned off");
    send(&events, Event::PeerJoined(peer(3, "Alan Turing", true, true)));
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::PlayCue(Cue::Joined)));
    let chat = |from| Event::Chat {
        from,
        name: "Someone".into(),
        text: "hello".into(),
        sent_at_ms: 1_700_000_000_000,
        seq: 1,
        to: None,
    };
    send(&events, chat(1));
    harness.run();
    assert!(commands.try_recv().is_err(), "our own message makes no sound");
    send(&events, chat(2));
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::PlayCue(Cue::Message)));
    send(
        &events,
        Event::Knocking {
            knock: 7,
            name: "Mallory".into(),
        },
    );
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::PlayCue(Cue::Knock)));

    harness.get_by_label("⚙ Devices").click();
    harness.run();
    harness.get_by_label("Play sounds").click();
    harness.run();
    assert!(!harness.state().settings.play_sounds, "kept for the next meeting");
    send(
        &events,
        Event::PeerLeft {
            id: 3,
            reason: videomeet_net::protocol::LeaveReason::Left,
        },
    );
    harness.run();
    assert!(commands.try_recv().is_err(), "silence once turned off");
    harness.get_by_label("Play sounds").click();
    harness.run();
    send(&events, chat(2));
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::PlayCue(Cue::Message)));
}

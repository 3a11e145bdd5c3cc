//! The home screen's Recent meetings, read from a history in a test folder: the list
//! newest first, a meeting's details, joining again, exporting the chat, deleting.

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use videomeet_net::meeting::Event;

use super::super::recent::RecentMeetings;
use super::super::setup::Plan;
use super::{HomeState, home_harness, joined, meeting, meeting_harness, peer, send, snapshot};
use crate::history::testing::{sample_history, temp_folder};
use crate::history::{History, Recorder, Zone};

/// The home screen with the sample history (times in UTC) and `announced` meetings on the
/// network; chats are exported into the test's folder.
fn home_with_history(
    name: &str,
    announced: Vec<videomeet_net::discovery::DiscoveredMeeting>,
) -> Harness<'static, HomeState> {
    let folder = temp_folder(name);
    let mut recent = RecentMeetings::new(sample_history(&folder));
    recent.zone = Zone::fixed(chrono::FixedOffset::east_opt(0).expect("UTC"));
    recent.downloads = Some(folder.join("Downloads"));
    let mut harness = home_harness(announced);
    harness.state_mut().home.recent = Some(Box::new(recent));
    harness
}

/// Draws frames until a label containing `text` is shown: the history answers on its own
/// thread.
fn shown(harness: &mut Harness<'_, HomeState>, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while harness.query_by_label_contains(text).is_none() {
        assert!(Instant::now() < deadline, "{text} was never shown");
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
    harness.run();
}

/// The top of the label containing `text`.
fn top(harness: &Harness<'_, HomeState>, text: &str) -> f32 {
    harness.get_by_label_contains(text).rect().top()
}

#[test]
fn recent_meetings_are_listed_newest_first_and_open_to_their_details() {
    let mut harness = home_with_history("ui-list", vec![meeting("Design review", "K7QX3MZP", false, 2)]);
    shown(&mut harness, "Lab sync");
    snapshot(&mut harness, "home_recent_meetings");
    assert!(top(&harness, "Mon 3 Mar 2025, 14:05") < top(&harness, "Sun 2 Mar 2025, 09:00"));
    assert!(top(&harness, "Sun 2 Mar 2025, 09:00") < top(&harness, "Fri 28 Feb 2025, 16:20"));
    harness.get_by_label_contains("Grace Hopper · Mon 3 Mar 2025, 14:05 · 47 min · 3 people");
    // A meeting whose program was killed lasts until it was last seen.
    harness.get_by_label_contains("Alan Turing · Fri 28 Feb 2025, 16:20 · 25 min · 2 people");

    harness.get_all_by_label("Open").next().expect("an Open button").click();
    shown(&mut harness, "Welcome, everyone.");
    snapshot(&mut harness, "history_details");
    harness.get_by_label_contains("The host ended it.");
    // People with their times, the chat in order with the private messages marked.
    harness.get_by_label("14:10 – 14:40");
    assert!(top(&harness, "Welcome, everyone.") < top(&harness, "The slides are on their way."));
    assert!(top(&harness, "The slides are on their way.") < top(&harness, "Can you send me the notes after?"));
    assert_eq!(harness.get_all_by_label_contains("privately").count(), 2);
    assert_eq!(
        harness.get_all_by_label("Open folder").count(),
        1,
        "only the saved file has a folder"
    );

    // Announced now: joined again as the network list would.
    harness.get_by_label("Join again").click();
    harness.run();
    let Some(Plan::Join { target, title, .. }) = harness.state_mut().plan.take() else {
        panic!("joining again was not chosen");
    };
    assert_eq!(
        (target.code.as_deref(), title.as_str()),
        (Some("K7QX3MZP"), "Design review")
    );
}

#[test]
fn a_meeting_not_announced_offers_its_address() {
    let mut harness = home_with_history("ui-address", Vec::new());
    shown(&mut harness, "Lab sync");
    harness
        .get_all_by_label("Open")
        .nth(2)
        .expect("Lab sync's Open")
        .click();
    shown(&mut harness, "Video Meet stopped during it; last seen at 16:45.");
    assert!(
        harness.get_by_label("Join again").accesskit_node().is_disabled(),
        "not announced"
    );
    harness.get_by_label("Join 192.168.1.31:47800").click();
    harness.run();
    let Some(Plan::Join { target, title, .. }) = harness.state_mut().plan.take() else {
        panic!("joining its address was not chosen");
    };
    assert_eq!(target.code, None, "by address, as the address field joins");
    assert_eq!(title, "192.168.1.31:47800");
}

#[test]
fn a_chat_is_exported_as_text_into_downloads() {
    let mut harness = home_with_history("ui-export", Vec::new());
    shown(&mut harness, "Design review");
    harness.get_all_by_label("Open").next().expect("an Open button").click();
    shown(&mut harness, "Welcome, everyone.");
    harness.get_by_label("Export chat").click();
    shown(&mut harness, "The chat was saved as");
    let downloads = harness
        .state()
        .home
        .recent
        .as_ref()
        .and_then(|recent| recent.downloads.clone());
    let saved: Vec<_> = std::fs::read_dir(downloads.expect("a Downloads folder"))
        .expect("the folder")
        .map(|entry| entry.expect("an entry").path())
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    let name = saved[0].file_name().expect("a name").to_string_lossy().into_owned();
    assert!(name.starts_with("Design review 2025-03-03"), "{name}");
    let text = std::fs::read_to_string(&saved[0]).expect("the chat");
    assert!(
        text.contains("Alan Turing to Ada Lovelace, privately: Can you send me the notes after?"),
        "{text}"
    );
    harness.get_by_label_contains(&saved[0].display().to_string());
}

#[test]
fn a_meeting_is_deleted_and_all_are_cleared_after_confirming() {
    let mut harness = home_with_history("ui-delete", Vec::new());
    shown(&mut harness, "Standup");
    harness.get_all_by_label("Open").nth(1).expect("Standup's Open").click();
    shown(&mut harness, "Hosted by you");
    harness.get_by_label("Delete this meeting").click();
    shown(&mut harness, "Lab sync");
    assert!(harness.query_by_label_contains("Standup").is_none(), "deleted");
    harness.get_by_label_contains("Design review");

    harness.get_by_label("Clear all").click();
    harness.run();
    harness.get_by_label("Cancel").click();
    harness.run();
    harness.get_by_label_contains("Design review");
    harness.get_by_label("Clear all").click();
    harness.run();
    harness.get_by_label("Delete all").click();
    shown(&mut harness, "Meetings you join or host are kept here.");
}

#[test]
fn the_history_can_be_turned_off_on_the_home_screen() {
    let mut harness = home_harness(Vec::new());
    assert!(harness.state().settings.keep_history, "on unless turned off");
    harness.get_by_label("Keep a history of meetings").click();
    harness.run();
    assert!(!harness.state().settings.keep_history);
}

#[test]
fn the_meeting_screen_keeps_its_meeting_in_the_history() {
    let history = History::open(temp_folder("ui-record").join("history.sqlite3")).expect("a history");
    let (mut harness, events, _commands) = meeting_harness();
    harness.state_mut().screen.recorder = Some(Recorder::new(&history, "Ada Lovelace", true));
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    send(
        &events,
        Event::Chat {
            from: 2,
            name: "Grace Hopper".into(),
            text: "hello".into(),
            sent_at_ms: 1_741_010_760_000,
            seq: 1,
            to: None,
        },
    );
    harness.run();
    let wait = Duration::from_secs(5);
    let meetings = history.recent(10).wait(wait).expect("the list");
    assert_eq!(meetings.len(), 1, "{meetings:?}");
    assert_eq!((meetings[0].title.as_str(), meetings[0].people), ("Standup", 2));
    assert!(meetings[0].hosted);
    let details = history
        .details(meetings[0].id)
        .wait(wait)
        .expect("the details")
        .expect("kept");
    let chat: Vec<&str> = details.chat.iter().map(|line| line.text.as_str()).collect();
    assert_eq!(chat, ["hello"]);
}

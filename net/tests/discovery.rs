//! Meetings announced with mDNS show up in the list and leave it when they end.

use std::time::{Duration, Instant};

use videomeet_net::discovery::{Announcement, Browser};
use videomeet_net::protocol::MeetingInfo;

fn meeting(code: &str, title: &str) -> MeetingInfo {
    MeetingInfo {
        code: code.into(),
        title: title.into(),
        host_name: "Grace".into(),
        passcode_required: true,
        started_at_ms: None,
        forwarding: false,
        max_file_bytes: None,
        no_guest_recording: false,
    }
}

/// Waits until `check` holds for the browser's list, up to `limit`; returns the time taken.
fn wait_until(browser: &mut Browser, limit: Duration, check: impl Fn(&Browser) -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        browser.refresh();
        if check(browser) {
            return Some(start.elapsed());
        }
        browser.wait_for_change(Duration::from_millis(100));
    }
    None
}

#[test]
fn announced_meetings_appear_and_disappear_within_three_seconds() {
    let mut browser = Browser::start().expect("browsing starts");
    // Two meetings with the same title stay apart.
    let first = Announcement::start(&meeting("AAAA2222", "Lab sync"), 47_801, 3).expect("announces");
    // A title of 100 four-byte characters is more than one TXT string holds: it is cut.
    let long = Announcement::start(&meeting("CCCC4444", &"🍕".repeat(100)), 47_803, 1).expect("announces");
    let second = Announcement::start(&meeting("BBBB3333", "Lab sync"), 47_802, 1).expect("announces");
    let ours = |b: &Browser| {
        b.meetings()
            .filter(|m| m.code == "AAAA2222" || m.code == "BBBB3333")
            .count()
    };
    let appeared = wait_until(&mut browser, Duration::from_secs(3), |b| ours(b) == 2);
    assert!(
        appeared.is_some(),
        "not listed within 3 s: {:?}",
        browser.meetings().collect::<Vec<_>>()
    );
    let listed = browser.meetings().find(|m| m.code == "AAAA2222").unwrap().clone();
    assert_eq!(
        (listed.title.as_str(), listed.host_name.as_str()),
        ("Lab sync", "Grace")
    );
    assert!(listed.passcode_required);
    assert_eq!(listed.participants, 3);
    assert_eq!(listed.port, 47_801);
    let target = listed.join_target().expect("an address");
    assert_eq!((target.port, target.code.as_deref()), (47_801, Some("AAAA2222")));

    let listed_long = wait_until(&mut browser, Duration::from_secs(3), |b| {
        b.meetings().any(|m| m.code == "CCCC4444")
    });
    assert!(listed_long.is_some(), "a long title is announced, cut");
    drop(long);
    drop(first);
    let gone = wait_until(&mut browser, Duration::from_secs(3), |b| ours(b) == 1);
    assert!(gone.is_some(), "still listed 3 s after ending");
    drop(second);
}

/// Anyone on the network can announce anything: garbage in an announcement is cleaned or
/// the announcement ignored, never trusted and never a crash.
#[test]
fn garbage_announcements_are_cleaned_or_ignored() {
    use mdns_sd::{ServiceDaemon, ServiceInfo};
    use videomeet_net::discovery::SERVICE_TYPE;

    let mut browser = Browser::start().expect("browsing starts");
    let rogue = ServiceDaemon::new().expect("a second mDNS daemon");
    let title = format!("Free\u{1b}[31m pizza\n{}", "x".repeat(200));
    let announce = |instance: &str, code: &str, title: &str, n: &str, v: &str| {
        let properties = [
            ("v", v),
            ("title", title),
            ("host", "\u{7}Mallory\r"),
            ("code", code),
            ("pass", "yes"),
            ("n", n),
        ];
        let info = ServiceInfo::new(
            SERVICE_TYPE,
            instance,
            "rogue.local.",
            "127.0.0.1",
            47_899,
            &properties[..],
        )
        .expect("a service");
        rogue.register(info).expect("announced");
    };
    announce("rogue one", "ZZZZ9999", &title, "-5", "abc");
    announce("rogue two", "../../etc", "Bad code", "2", "1");
    announce("rogue three", "", "No code", "2", "1");
    let listed = wait_until(&mut browser, Duration::from_secs(3), |b| {
        b.meetings().any(|m| m.code == "ZZZZ9999")
    });
    assert!(listed.is_some(), "the announcement with a usable code is listed");
    // Give the other two time to arrive too: they must not be listed.
    browser.wait_for_change(Duration::from_millis(500));
    browser.refresh();
    let rogue_one = browser.meetings().find(|m| m.code == "ZZZZ9999").unwrap().clone();
    assert!(!rogue_one.title.chars().any(char::is_control), "{:?}", rogue_one.title);
    assert!(rogue_one.title.chars().count() <= 100);
    assert_eq!(rogue_one.host_name, "Mallory");
    assert_eq!(
        (rogue_one.participants, rogue_one.version),
        (0, 0),
        "numbers that are not numbers"
    );
    assert!(!rogue_one.passcode_required, "only \"1\" means a passcode");
    assert!(
        browser.meetings().all(|m| !m.title.contains("code")),
        "announcements without a usable code are ignored: {:?}",
        browser.meetings().collect::<Vec<_>>()
    );
    let _ = rogue.shutdown();
}

/// Set for the copy of this test program that plays the host to be killed.
const ANNOUNCER: &str = "VIDEOMEET_TEST_ANNOUNCE_UNTIL_KILLED";

/// Run by the test below as a separate process: announces a meeting and waits to be killed.
#[test]
#[ignore = "run by a_meeting_whose_host_was_killed_leaves_the_list"]
fn announce_until_killed() {
    if std::env::var_os(ANNOUNCER).is_none() {
        return;
    }
    let _announcement = Announcement::start(&meeting("DDDD5555", "Doomed"), 47_898, 1).expect("announces");
    std::thread::sleep(Duration::from_secs(60));
}

/// A host whose program is killed sends no goodbye: its meeting leaves the list anyway.
#[test]
fn a_meeting_whose_host_was_killed_leaves_the_list_within_ten_seconds() {
    let mut browser = Browser::start().expect("browsing starts");
    let mut host = std::process::Command::new(std::env::current_exe().expect("this test program"))
        .args(["announce_until_killed", "--exact", "--ignored", "--nocapture"])
        .env(ANNOUNCER, "1")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the host's program starts");
    let listed = |b: &Browser| b.meetings().any(|m| m.code == "DDDD5555");
    let appeared = wait_until(&mut browser, Duration::from_secs(10), listed);
    if appeared.is_none() {
        let _ = host.kill();
    }
    assert!(appeared.is_some(), "the doomed meeting is listed");
    host.kill().expect("killed");
    host.wait().expect("gone");
    let gone = wait_until(&mut browser, Duration::from_secs(10), |b| !listed(b));
    println!("a killed host's meeting left the list after {gone:?}");
    assert!(gone.is_some(), "still listed 10 s after its host was killed");
}

/// A meeting hosted by Grace as `title`, announced, her camera and microphone off: its
/// handle, its task and its code.
async fn announced_meeting(
    title: &str,
) -> (
    videomeet_net::meeting::MeetingHandle,
    tokio::task::JoinHandle<()>,
    String,
) {
    use videomeet_net::meeting::{Event, Meeting, MeetingConfig, Role};
    use videomeet_net::signaling::HostConfig;

    let mut host_config = HostConfig::new(title, "Grace");
    host_config.bind_ip = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    host_config.port = 0;
    let config = MeetingConfig {
        name: "Grace".into(),
        camera_on: false,
        mic_on: false,
        announce: true,
        ..MeetingConfig::default()
    };
    let (meeting, handle, mut events) = Meeting::new(Role::Host(host_config), config, std::sync::Arc::new(|| {}));
    let actor = tokio::spawn(meeting.run());
    let code = loop {
        match events.recv().await.expect("the meeting starts") {
            Event::Joined { meeting, .. } => break meeting.code,
            _ => continue,
        }
    };
    // The events are let go: the meeting never waits on them.
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    (handle, actor, code)
}

/// A host who renames itself mid-meeting is listed under its new name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_renamed_mid_meeting_is_listed_under_the_new_name() {
    use videomeet_net::meeting::Command;

    let (handle, actor, code) = announced_meeting("Renames").await;
    let listed_as = |wanted: &'static str| {
        let code = code.clone();
        tokio::task::spawn_blocking(move || {
            let mut browser = Browser::start().expect("browsing starts");
            wait_until(&mut browser, Duration::from_secs(5), |b| {
                b.meetings().any(|m| m.code == code && m.host_name == wanted)
            })
        })
    };
    assert!(
        listed_as("Grace").await.unwrap().is_some(),
        "listed under the first name"
    );
    assert!(handle.send(Command::Rename("Grace Hopper".into())));
    assert!(
        listed_as("Grace Hopper").await.unwrap().is_some(),
        "not listed under the new name within 5 s"
    );
    assert!(handle.send(Command::Leave));
    let _ = tokio::time::timeout(Duration::from_secs(5), actor).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_being_recorded_is_listed_so_before_anyone_joins() {
    use videomeet_net::meeting::Command;

    let (handle, actor, code) = announced_meeting("Recorded").await;
    let listed = |recording: bool| {
        let code = code.clone();
        tokio::task::spawn_blocking(move || {
            let mut browser = Browser::start().expect("browsing starts");
            wait_until(&mut browser, Duration::from_secs(5), |b| {
                b.meetings().any(|m| m.code == code && m.recording == recording)
            })
        })
    };
    assert!(listed(false).await.unwrap().is_some(), "listed as not recorded");
    let folder = videomeet_media::testing::scratch_folder("listed-recording");
    let path = folder.join("recorded.mp4");
    let started = handle
        .ask(Command::StartRecording {
            path,
            voice_files: false,
        })
        .await;
    assert_eq!(started, Ok(()));
    assert!(
        listed(true).await.unwrap().is_some(),
        "not listed as being recorded within 5 s"
    );
    assert_eq!(handle.ask(Command::StopRecording).await, Ok(()));
    assert!(
        listed(false).await.unwrap().is_some(),
        "still listed as being recorded 5 s after it stopped"
    );
    assert!(handle.send(Command::Leave));
    let _ = tokio::time::timeout(Duration::from_secs(5), actor).await;
    let _ = std::fs::remove_dir_all(folder);
}

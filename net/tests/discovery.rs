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

    drop(first);
    let gone = wait_until(&mut browser, Duration::from_secs(3), |b| ours(b) == 1);
    assert!(gone.is_some(), "still listed 3 s after ending");
    drop(second);
}

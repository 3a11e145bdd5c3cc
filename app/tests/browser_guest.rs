//! Debian's Chromium joins a headless `videomeet host` as a guest through the host's own
//! guest page (`net/src/signaling/page/`), loaded from the host over HTTPS as a user's
//! browser loads it.
//!
//! What arrives is measured where a user would see and hear it: the pictures the browser
//! decodes and the sound it plays (its `getStats`, logged by the page), and the pictures
//! the native participants decode and the tones they hear (their JSON lines). Both ends
//! must show the same safety code for their connection.
//!
//! In both, a native guest joins once the page's connection to the host is up:
//!
//! * Without forwarding (`--mesh`) the guest offers the page a connection of its own, which
//!   the page answers. The page shares a screen too, which must reach the host as a screen,
//!   not as a second camera. The meeting has a passcode: first the page, opened without
//!   joining, shows its lobby, then joins with a wrong passcode and must be refused for it;
//!   then the page joins with the right one.
//! * With forwarding, the host offers the page the guest's media on the page's one
//!   connection, which the page must answer and tell apart by the offer's `feeds`.
//!
//! Once everything arrived, as a user would: the page and the native guest chat both ways,
//! the native guest leaves and the page must show it at once, then the page's Leave button
//! is clicked and the host must show that at once. The page is driven through DevTools as
//! a user drives it (clicks and typing), and photographed there, at a desktop's size and a
//! phone's: its lobby, its refusal and the meeting (see `browser::artifacts_folder`).
//!
//! Each run prints the join time: from the page's start to its first picture. Skipped,
//! loudly, when `chromium` is not installed (`installer/setup-debian.sh --test` installs
//! it), and a failure then under CI.

mod browser;
// Of its ways to start a host, the browser tests use the one that sets its environment.
#[allow(dead_code)]
mod common;
#[path = "../src/bench/headless_chromium.rs"]
mod headless_chromium;

use std::time::{Duration, Instant};

use browser::{Browser, Meeting, Native, PASSCODE, Page, WRONG_PASSCODE};
use serde_json::json;

/// Everything must have arrived this long after the browser starts.
const DEADLINE: Duration = Duration::from_secs(45);
/// Seconds after its media connection is up that the page shares its screen.
const SHARE_AFTER_SECS: u32 = 3;
/// The host's camera size.
const HOST_SIZE: &str = "640x360";
/// The native guest's camera size and tone: a tone of its own, told apart from the host's.
const GUEST_SIZE: &str = "320x240";
const GUEST_TONE: &str = "test-tone:550";
/// What the native guest and the page write in the chat.
const GUEST_SAYS: &str = "Hello from Ada";
const PAGE_SAYS: &str = "Hello from the browser";
/// Someone leaving must show on the others' screens this soon.
const LEAVING_SEEN_WITHIN: Duration = Duration::from_secs(2);

/// The lobby is ready to join from: the camera's preview plays and the devices are listed.
const LOBBY_SHOWN: &str = "(() => {
  const preview = document.getElementById(\"preview-video\");
  return !preview.hidden && preview.readyState >= 2 && document.getElementById(\"camera-select\").options.length > 0;
})()";
/// The lobby says why the page cannot join.
const REFUSAL_SHOWN: &str = "document.getElementById(\"lobby-message\").textContent.length > 0";
/// The meeting's screen, with the host's and the native guest's pictures playing.
const MEETING_SHOWN: &str = "!document.getElementById(\"meeting\").hidden && \
     [...document.querySelectorAll(\"#tiles video\")].filter((video) => !video.hidden && video.readyState >= 2).length >= 2";

#[test]
fn chromium_joins_a_mesh_meeting_through_the_guest_page() {
    let test = "chromium_joins_a_mesh_meeting_through_the_guest_page";
    let Some(version) = browser::installed(Browser::Chromium, test) else {
        return;
    };
    let _turn = browser::take_turn();
    println!("browser: {version}");
    let (meeting, mut host) = Meeting::host(HOST_SIZE, &["--mesh", "--passcode", PASSCODE]);
    let host_id = meeting.host_id;
    // The lobby as a guest first sees it, then Join with a wrong passcode.
    let mut lobby = meeting.open_page(Browser::Chromium, &format!("name=Chromium&passcode={WRONG_PASSCODE}"));
    lobby.screenshots("lobby", LOBBY_SHOWN, "its lobby");
    lobby.click("#join-button");
    let refused = browser::check_wrong_passcode_refused(&mut lobby, &mut [&mut host]);
    assert!(refused.is_empty(), "{}", lobby.failure(&refused));
    lobby.screenshots("wrong-passcode", REFUSAL_SHOWN, "why it cannot join");
    drop(lobby);

    let query = format!("name=Chromium&join=1&passcode={PASSCODE}&share_after={SHARE_AFTER_SECS}");
    let mut page = meeting.open_page(Browser::Chromium, &query);
    // Joining after the page, the native guest offers to it, and the page answers.
    let mut guest = native_guest_once_connected(&meeting, &mut page, &mut host, &["--passcode", PASSCODE]);
    let missing = browser::watch(&mut page, &mut [&mut host, &mut guest], DEADLINE, |page, natives| {
        let (Some(browser), Some(ada)) = (page.id(), natives[1].id()) else {
            return vec!["the page or the native guest is not in the meeting".into()];
        };
        let (host, guest) = (&natives[0], &natives[1]);
        let mut missing = Vec::new();
        // One connection each.
        page.check_received(host_id, "camera", "audio", "the host", &mut missing);
        page.check_received(ada, "camera", "audio", "the native guest", &mut missing);
        page.check_ciphers(host_id, &mut missing);
        page.check_safety_code(host_id, host, &mut missing);
        page.check_safety_code(ada, guest, &mut missing);
        host.check_received(browser, &mut missing);
        host.check_screen(browser, page.shared_width(), &mut missing);
        guest.check_received(browser, &mut missing);
        missing
    });
    let ada = guest.id().unwrap_or(u64::MAX);
    println!("{}", page.summary(host_id, &[("camera", "audio")]));
    println!("{}", page.summary(ada, &[("camera", "audio")]));
    println!("{}", host.summary(page.id()));
    println!("{}", guest.summary(page.id()));
    println!("{}", page.join_time());
    assert!(missing.is_empty(), "{}", page.failure(&missing));
    page.screenshots("mesh-meeting", MEETING_SHOWN, "the meeting with two pictures");
    let missing = check_chat_and_leaving(&mut page, &mut host, &mut guest);
    assert!(missing.is_empty(), "{}", page.failure(&missing));
}

#[test]
fn chromium_joins_a_forwarding_meeting_through_the_guest_page() {
    let test = "chromium_joins_a_forwarding_meeting_through_the_guest_page";
    let Some(version) = browser::installed(Browser::Chromium, test) else {
        return;
    };
    let _turn = browser::take_turn();
    println!("browser: {version}");
    // Without --mesh, the host forwards.
    let (meeting, mut host) = Meeting::host(HOST_SIZE, &[]);
    let host_id = meeting.host_id;
    let mut page = meeting.open_page(Browser::Chromium, "name=Chromium&join=1");
    // Joining after the page, the native guest's media comes to the page in the host's
    // next offer on the page's connection.
    let mut guest = native_guest_once_connected(&meeting, &mut page, &mut host, &[]);
    let missing = browser::watch(&mut page, &mut [&mut host, &mut guest], DEADLINE, |page, natives| {
        let (Some(browser), Some(ada)) = (page.id(), natives[1].id()) else {
            return vec!["the page or the native guest is not in the meeting".into()];
        };
        let (host, guest) = (&natives[0], &natives[1]);
        let mut missing = Vec::new();
        // All of it on the page's one connection, to the host.
        page.check_received(host_id, "camera", "audio", "the host", &mut missing);
        let (ada_camera, ada_audio) = (format!("camera of {ada}"), format!("audio of {ada}"));
        page.check_received(host_id, &ada_camera, &ada_audio, "the native guest", &mut missing);
        page.check_ciphers(host_id, &mut missing);
        page.check_safety_code(host_id, host, &mut missing);
        host.check_received(browser, &mut missing);
        guest.check_received(browser, &mut missing);
        missing
    });
    let ada = guest.id().unwrap_or(u64::MAX);
    let (ada_camera, ada_audio) = (format!("camera of {ada}"), format!("audio of {ada}"));
    println!(
        "{}",
        page.summary(host_id, &[("camera", "audio"), (&ada_camera, &ada_audio)])
    );
    println!("{}", host.summary(page.id()));
    println!("{}", guest.summary(page.id()));
    println!("{}", page.join_time());
    assert!(missing.is_empty(), "{}", page.failure(&missing));
    page.screenshots("forwarding-meeting", MEETING_SHOWN, "the meeting with two pictures");
    check_recording_is_shown(&mut page, &mut host);
    let missing = check_chat_and_leaving(&mut page, &mut host, &mut guest);
    assert!(missing.is_empty(), "{}", page.failure(&missing));
}

/// The host records: the page tells its user and marks the host in People. The host's
/// choice of who may record reaches the page too, which takes it without complaint.
fn check_recording_is_shown(page: &mut Page, host: &mut Native) {
    let folder = videomeet_media::testing::scratch_folder("browser-recording");
    let path = folder.join("recorded.mp4");
    host.send(&serde_json::json!({"command": "allow_guest_recording", "allowed": false}));
    host.send(&serde_json::json!({"command": "record", "path": path}));
    page.devtools().wait_until(
        r#"document.getElementById("people-list").textContent.includes("recording")
           && document.body.textContent.includes("is recording the meeting")"#,
        "that the host records",
        Duration::from_secs(10),
    );
    host.send(&serde_json::json!({"command": "stop_recording"}));
    page.devtools().wait_until(
        r#"!document.getElementById("people-list").textContent.includes("recording")"#,
        "that the host stopped recording",
        Duration::from_secs(10),
    );
    page.read();
    assert!(
        page.problems().is_empty(),
        "the page had problems: {:?}",
        page.problems()
    );
    let _ = std::fs::remove_dir_all(folder);
}

/// Starts a native guest (Ada), with `args` added, once the page's media connection to the
/// host is up.
fn native_guest_once_connected(meeting: &Meeting, page: &mut Page, host: &mut Native, args: &[&str]) -> Native {
    let host_id = meeting.host_id;
    let up = browser::watch(page, &mut [host], DEADLINE, |page, _| {
        if page.connected_to(host_id) {
            Vec::new()
        } else {
            vec!["the page's media connection to the host did not come up".into()]
        }
    });
    assert!(up.is_empty(), "{}", page.failure(&up));
    let mut all_args = vec!["--size", GUEST_SIZE, "--mic", GUEST_TONE];
    all_args.extend_from_slice(args);
    meeting.native_guest("Ada", &all_args)
}

/// Chat and leaving as the participants see them: the native guest's message shows on the
/// page and the page's (typed and sent) in the guest's lines; then the guest leaves and the
/// page shows it at once, and the page's Leave button is clicked and the host shows that
/// at once. Returns what is missing.
fn check_chat_and_leaving(page: &mut Page, host: &mut Native, guest: &mut Native) -> Vec<String> {
    let (Some(browser), Some(ada)) = (page.id(), guest.id()) else {
        return vec!["the page or the native guest is not in the meeting".into()];
    };
    let mut missing = browser::check_chat_to_page(page, &mut [&mut *host, &mut *guest], 1, GUEST_SAYS);
    page.send_chat(PAGE_SAYS);
    let heard = browser::wait_until(
        page,
        &mut [&mut *host, &mut *guest],
        browser::ANSWER_WAIT,
        |_, natives| natives[1].chat_from(browser, PAGE_SAYS),
    );
    if !heard {
        missing.push(format!(
            "the native guest did not get the page's chat message {PAGE_SAYS:?} within {:?}",
            browser::ANSWER_WAIT
        ));
    }

    let leaving = Instant::now();
    guest.send(&json!({"command": "leave"}));
    let seen = browser::wait_until(page, &mut [&mut *host, &mut *guest], browser::ANSWER_WAIT, |page, _| {
        page.left(ada).is_some()
    })
    .then(|| leaving.elapsed());
    check_left_at_once("the page", "the native guest", seen, page.left(ada), &mut missing);

    let leaving = Instant::now();
    page.click("#leave-button");
    let seen = browser::wait_until(page, &mut [&mut *host], browser::ANSWER_WAIT, |_, natives| {
        natives[0].left(browser).is_some()
    })
    .then(|| leaving.elapsed());
    check_left_at_once("the host", "the page", seen, host.left(browser), &mut missing);
    missing
}

/// `who` was told that `leaver` left on purpose, `seen` after it did (`None`: not within
/// [`browser::ANSWER_WAIT`]), within [`LEAVING_SEEN_WITHIN`].
fn check_left_at_once(
    who: &str,
    leaver: &str,
    seen: Option<Duration>,
    told: Option<&serde_json::Value>,
    missing: &mut Vec<String>,
) {
    match (seen, told) {
        (Some(after), Some(told)) if after <= LEAVING_SEEN_WITHIN && told["reason"] == "left" => {
            println!("{who} saw {leaver} leave after {} ms", after.as_millis());
        }
        (Some(after), Some(told)) => missing.push(format!(
            "{who} saw {leaver} leave after {} ms, told {told} (wanted: within {} ms, reason \"left\")",
            after.as_millis(),
            LEAVING_SEEN_WITHIN.as_millis()
        )),
        _ => missing.push(format!(
            "{who} did not see {leaver} leave within {:?}",
            browser::ANSWER_WAIT
        )),
    }
}

//! Debian's Firefox ESR joins a headless `videomeet host` (without forwarding, with a
//! passcode) as a guest through the host's own guest page, loaded from the host over
//! HTTPS, as `browser_guest.rs` has Chromium do: a wrong passcode must be refused and the
//! right one let in, the host's pictures and sound must reach Firefox, Firefox's sound the
//! host, the connection must be protected as PROTOCOL.md says, both ends must show the same
//! safety code, and a chat message from the host must show on the page.
//!
//! Firefox's profile trusts the host's certificate (see `browser::trust_host_certificate`),
//! so Firefox checks it as any other, and NSS's `certutil` must be installed too.
//!
//! Firefox's camera: Video Meet speaks only H.264, and Debian's Firefox encodes H.264 for
//! WebRTC only with Cisco's OpenH264 plugin, which it downloads at run time (not possible
//! here). The test's profile lets it use the system's FFmpeg instead (see
//! `browser::firefox_preferences`), which decodes well; its encoder (libx264) produces
//! pictures, but Firefox sends none of them (no RTP packet on the camera's m-line). So the
//! test checks that the page puts its camera on the camera m-line, and that the host shows
//! it as soon as Firefox sends packets there; while Firefox sends none, it says so loudly.
//!
//! Its `getDisplayMedia` needs a click (transient user activation), which a headless run
//! cannot give, so this test shares no screen. Skipped, loudly, when `firefox-esr` or
//! `certutil` is not installed (`installer/setup-debian.sh --test` installs them), and a
//! failure then under CI.

mod browser;
// Of its ways to start a host, the browser tests use the one that sets its environment.
#[allow(dead_code)]
mod common;
#[path = "../src/bench/headless_chromium.rs"]
mod headless_chromium;

use std::time::Duration;

use browser::{Browser, Meeting, PASSCODE, WRONG_PASSCODE};
use videomeet_media::testing;

/// Everything must have arrived this long after the browser starts.
const DEADLINE: Duration = Duration::from_secs(45);
/// The host's camera size.
const HOST_SIZE: &str = "640x360";
/// What the host writes in the chat.
const HOST_SAYS: &str = "Hello from Grace";

#[test]
fn firefox_joins_a_mesh_meeting_through_the_guest_page() {
    let test = "firefox_joins_a_mesh_meeting_through_the_guest_page";
    let Some(version) = browser::installed(Browser::Firefox, test) else {
        return;
    };
    let _turn = browser::take_turn();
    println!("browser: {version}");
    let (meeting, mut host) = Meeting::host(HOST_SIZE, &["--mesh", "--passcode", PASSCODE]);
    let host_id = meeting.host_id;
    let mut refused = meeting.open_page(
        Browser::Firefox,
        &format!("name=Firefox&join=1&passcode={WRONG_PASSCODE}"),
    );
    let missing = browser::check_wrong_passcode_refused(&mut refused, &mut [&mut host]);
    assert!(missing.is_empty(), "{}", refused.failure(&missing));
    drop(refused);

    let query = format!("name=Firefox&join=1&passcode={PASSCODE}");
    let mut page = meeting.open_page(Browser::Firefox, &query);
    let missing = browser::watch(&mut page, &mut [&mut host], DEADLINE, |page, natives| {
        let Some(browser) = page.id() else {
            return vec!["the page never got `welcome` from the host".into()];
        };
        let host = &natives[0];
        let mut missing = Vec::new();
        page.check_received(host_id, "camera", "audio", "the host", &mut missing);
        page.check_ciphers(host_id, &mut missing);
        page.check_safety_code(host_id, host, &mut missing);
        host.check_sound(browser, &mut missing);
        match page.camera_sent(host_id) {
            (false, _) => missing.push("the page did not put its camera on its camera m-line".into()),
            (true, 0) => {}
            (true, _) => host.check_camera(browser, &mut missing),
        }
        missing
    });
    println!("{}", page.summary(host_id, &[("camera", "audio")]));
    println!("{}", host.summary(page.id()));
    println!("{}", page.join_time());
    assert!(missing.is_empty(), "{}", page.failure(&missing));
    let missing = browser::check_chat_to_page(&mut page, &mut [&mut host], 0, HOST_SAYS);
    assert!(missing.is_empty(), "{}", page.failure(&missing));
    if page.camera_sent(host_id).1 == 0 {
        testing::skip(
            "firefox_joins_a_mesh_meeting_through_the_guest_page (Firefox's camera)",
            "Firefox sent no packet of its camera (it has no working H.264 encoder here: no OpenH264 \
             plugin, and its FFmpeg encoder's pictures are not sent), so the host could not show it",
        );
    }
}

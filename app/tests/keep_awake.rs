//! The window holds the screen saver off while in a meeting and gives it back when the
//! meeting is left, through the desktop's D-Bus screen-saver interface: here a fake one on a
//! D-Bus daemon of the test's own, which the window is pointed at.
#![cfg(target_os = "linux")]

#[allow(dead_code)] // only its Running
mod common;
#[path = "common/desktop.rs"]
mod desktop;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use videomeet_media::testing;

/// What the fake screen saver was asked, in order.
#[derive(Clone, Default)]
struct Asked(Arc<Mutex<Vec<String>>>);

impl Asked {
    /// What was asked once `count` things were, or after 30 s.
    fn until(&self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let seen = self.0.lock().unwrap().clone();
            if seen.len() >= count || Instant::now() > deadline {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

struct FakeScreenSaver(Asked);

#[zbus::interface(name = "org.freedesktop.ScreenSaver")]
impl FakeScreenSaver {
    fn inhibit(&self, application: &str, reason: &str) -> u32 {
        self.0
            .0
            .lock()
            .unwrap()
            .push(format!("Inhibit {application}: {reason}"));
        42
    }

    #[zbus(name = "UnInhibit")]
    fn un_inhibit(&self, cookie: u32) {
        self.0.0.lock().unwrap().push(format!("UnInhibit {cookie}"));
    }
}

#[test]
fn the_screen_saver_is_held_off_in_a_meeting_and_given_back_on_leaving() {
    if !testing::expect_display("the_screen_saver_is_held_off_in_a_meeting_and_given_back_on_leaving") {
        return;
    }
    let Some((_bus, address)) = desktop::private_session_bus() else {
        testing::skip_unless_required(
            "the_screen_saver_is_held_off_in_a_meeting_and_given_back_on_leaving",
            "no dbus-daemon here",
            testing::expected("VIDEOMEET_EXPECT_DBUS"),
        );
        return;
    };
    let asked = Asked::default();
    let _service = zbus::blocking::connection::Builder::address(address.as_str())
        .and_then(|builder| builder.name("org.freedesktop.ScreenSaver"))
        .and_then(|builder| builder.serve_at("/org/freedesktop/ScreenSaver", FakeScreenSaver(asked.clone())))
        .and_then(|builder| builder.build())
        .expect("the fake screen saver is on the bus");

    let (window, _) = desktop::hosting_window("Awake", "silence", &address, "keep-awake-config");
    assert_eq!(
        asked.until(1),
        ["Inhibit Video Meet: In a meeting"],
        "held off once the meeting is on"
    );

    // SIGTERM leaves the meeting as the Leave button does, and closes the window.
    let terminated = Command::new("kill")
        .args(["-TERM", &window.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(terminated.success());
    assert_eq!(
        asked.until(2),
        ["Inhibit Video Meet: In a meeting", "UnInhibit 42"],
        "given back with the cookie it got"
    );
}

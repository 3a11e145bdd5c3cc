//! The tray icon of a window in a meeting, as a desktop's tray sees it: registered with the
//! StatusNotifierWatcher (here a fake one on a D-Bus daemon of the test's own), its menu read
//! and clicked through D-Bus as a panel does. Mute in the tray mutes us for the others (a
//! headless guest hears of it), and the menu then offers Unmute.
#![cfg(target_os = "linux")]

#[allow(dead_code)] // its Running and output lines
mod common;
#[path = "common/desktop.rs"]
mod desktop;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Running;
use serde_json::Value;
use videomeet_media::testing;
use zbus::zvariant::OwnedValue;

/// The items registered with the fake watcher.
#[derive(Clone, Default)]
struct Registered(Arc<Mutex<Vec<String>>>);

struct FakeWatcher(Registered);

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl FakeWatcher {
    fn register_status_notifier_item(&self, service: &str) {
        self.0.0.lock().unwrap().push(service.to_owned());
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.0.0.lock().unwrap().clone()
    }
}

/// One entry of a dbusmenu layout: its id, properties and children.
type Entry = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);

/// The tray menu's entries with a label, as (id, label).
fn menu(bus: &zbus::blocking::Connection, item: &str) -> Vec<(i32, String)> {
    let reply = bus
        .call_method(
            Some(item),
            "/MenuBar",
            Some("com.canonical.dbusmenu"),
            "GetLayout",
            &(0i32, -1i32, Vec::<String>::new()),
        )
        .expect("the menu's layout");
    let (_revision, (_, _, children)): (u32, Entry) = reply.body().deserialize().expect("a dbusmenu layout");
    children
        .into_iter()
        .filter_map(|child| {
            let (id, properties, _): Entry = child.try_into().ok()?;
            let label: String = properties.get("label")?.try_clone().ok()?.try_into().ok()?;
            Some((id, label))
        })
        .collect()
}

fn click(bus: &zbus::blocking::Connection, item: &str, id: i32) {
    let data = zbus::zvariant::Value::from(0i32);
    bus.call_method(
        Some(item),
        "/MenuBar",
        Some("com.canonical.dbusmenu"),
        "Event",
        &(id, "clicked", data, 0u32),
    )
    .expect("the click is taken");
}

/// Waits up to 30 s for `done` to give something.
fn within_30_s<T>(mut done: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = done() {
            return Some(found);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_tray_menu_mutes_us_for_everyone_and_then_offers_unmute() {
    if !testing::expect_display("the_tray_menu_mutes_us_for_everyone_and_then_offers_unmute") {
        return;
    }
    let Some((_bus, address)) = desktop::private_session_bus() else {
        testing::skip_unless_required(
            "the_tray_menu_mutes_us_for_everyone_and_then_offers_unmute",
            "no dbus-daemon here",
            testing::expected("VIDEOMEET_EXPECT_DBUS"),
        );
        return;
    };
    let registered = Registered::default();
    let bus = zbus::blocking::connection::Builder::address(address.as_str())
        .and_then(|builder| builder.name("org.kde.StatusNotifierWatcher"))
        .and_then(|builder| builder.serve_at("/StatusNotifierWatcher", FakeWatcher(registered.clone())))
        .and_then(|builder| builder.build())
        .expect("the fake watcher is on the bus");

    let (_window, port) = desktop::hosting_window("Tray", "test-tone:440", &address, "tray-config");
    let item = within_30_s(|| registered.0.lock().unwrap().first().cloned()).expect("the tray icon is registered");
    let labels = |entries: &[(i32, String)]| entries.iter().map(|(_, label)| label.clone()).collect::<Vec<_>>();
    let entries = menu(&bus, &item);
    assert_eq!(
        labels(&entries),
        ["Show Video Meet", "Mute", "Stop video", "Leave the meeting"],
        "the menu (separators have no label)"
    );

    // A guest in the meeting hears Ada muted once Mute is clicked in the tray.
    let mut guest = Running(
        common::videomeet(&["join", "--headless", &format!("127.0.0.1:{port}"), "--name", "Bob"])
            .args(["--size", "320x240"])
            .spawn()
            .expect("the guest starts"),
    );
    let lines = common::read_lines("guest", guest.0.stdout.take().expect("its output"));
    let next = |what: &str, wanted: &dyn Fn(&Value) -> bool| -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = lines.recv_timeout(left) else { break };
            if let Ok(event) = serde_json::from_str::<Value>(&line)
                && wanted(&event)
            {
                return event;
            }
        }
        panic!("the guest never printed {what}")
    };
    let ada = next("Ada", &|e| e["event"] == "peer_joined" && e["peer"]["name"] == "Ada")["peer"]["id"].clone();
    let mute = entries.iter().find(|(_, label)| label == "Mute").expect("Mute").0;
    click(&bus, &item, mute);
    next("Ada muted", &|e| {
        e["event"] == "media_state" && e["id"] == ada && e["media"]["mic"] == false
    });
    let now_offered = within_30_s(|| {
        let entries = menu(&bus, &item);
        labels(&entries).contains(&"Unmute".to_owned()).then_some(entries)
    });
    assert!(now_offered.is_some(), "the menu offers Unmute once muted");
}

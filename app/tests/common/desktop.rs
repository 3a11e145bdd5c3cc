//! A window in a meeting on a desktop of the test's own: a D-Bus session bus (for the
//! services a desktop offers: screen saver, tray) and the window hosting a meeting on it.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Command, Stdio};

use super::common::Running;

/// A D-Bus session bus of the test's own (`dbus-daemon`), and its address; `None` without
/// a `dbus-daemon`.
pub fn private_session_bus() -> Option<(Running, String)> {
    let mut daemon = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address"])
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut address = String::new();
    BufReader::new(daemon.stdout.take()?).read_line(&mut address).ok()?;
    Some((Running(daemon), address.trim().to_owned()))
}

/// The window hosting a meeting called `title` as Ada (test pattern, `mic`, no speaker, not
/// announced), on the session bus at `bus`, with a config folder of its own named `config`;
/// and the port its meeting is on.
pub fn hosting_window(title: &str, mic: &str, bus: &str, config: &str) -> (Running, u16) {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let config = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(config);
    let window = Running(
        Command::new(env!("CARGO_BIN_EXE_videomeet"))
            .args([
                "host",
                "--title",
                title,
                "--name",
                "Ada",
                "--port",
                &port.to_string(),
                "--no-announce",
            ])
            .args(["--camera", "test-pattern", "--mic", mic, "--speaker", "mute"])
            .env("VIDEOMEET_CONFIG_DIR", &config)
            .env("DBUS_SESSION_BUS_ADDRESS", bus)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("videomeet starts"),
    );
    (window, port)
}

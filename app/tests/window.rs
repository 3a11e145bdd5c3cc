//! The plain `videomeet` command opens a window carrying the program's icon, and a second
//! launch hands its link to it instead of opening another.
//!
//! Needs a display; the test command provides one (Xvfb) and sets
//! `VIDEOMEET_EXPECT_DISPLAY=1`, which turns a missing display into a failure.

#[allow(dead_code)] // the helpers for headless programs
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Running, x_tool};

use videomeet_media::testing;

/// The id of a window named "Video Meet" that process `pid` owns (its `_NET_WM_PID`) and
/// that is on screen: another program's window of that name, or a window left by an earlier
/// run, is not ours.
fn viewable_window(pid: u32) -> Option<String> {
    let tree = x_tool("xwininfo", &["-root", "-tree"]);
    let named = tree
        .lines()
        .filter(|line| line.contains("\"Video Meet\""))
        .filter_map(|line| line.split_whitespace().next());
    let owner = format!("_NET_WM_PID(CARDINAL) = {pid}");
    named
        .filter(|id| x_tool("xprop", &["-id", id, "_NET_WM_PID"]).trim() == owner)
        .find(|id| x_tool("xwininfo", &["-id", id]).contains("IsViewable"))
        .map(str::to_owned)
}

#[test]
fn the_window_opens() {
    if !testing::expect_display("the_window_opens") {
        return;
    }
    // One retry when the display refused the connection (a busy virtual X server), which
    // the app reports as a clear error; anything else fails at once.
    for attempt in 1..=2 {
        match run_until_window() {
            Ok(()) => return,
            Err(stderr) if attempt == 1 && stderr.contains("connection to X server") => {
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(stderr) => panic!("videomeet exited before showing a window:\n{stderr}"),
        }
    }
}

/// Starts the app and waits for its window; `Err` with its error output when it exits first.
/// Then a second launch with a link must hand it over and end.
fn run_until_window() -> Result<(), String> {
    // A config folder of its own: a window open elsewhere on this machine is not ours.
    let config = std::env::temp_dir().join(format!("videomeet-window-test-{}", std::process::id()));
    let mut app = Running(
        Command::new(env!("CARGO_BIN_EXE_videomeet"))
            .env("VIDEOMEET_CONFIG_DIR", &config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let window = loop {
        if let Some(window) = viewable_window(app.0.id()) {
            break window;
        }
        if app.0.try_wait().expect("process status").is_some() {
            let mut stderr = String::new();
            if let Some(mut pipe) = app.0.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            return Err(stderr);
        }
        assert!(Instant::now() < deadline, "no window within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    };
    // Its icon, for the task bar and the window switcher: ours at 64x64.
    let icon = x_tool("xprop", &["-id", &window, "_NET_WM_ICON"]);
    assert!(
        icon.contains("Icon (64 x 64)"),
        "the window has no icon of ours: {icon}"
    );
    let mut second = Running(
        Command::new(env!("CARGO_BIN_EXE_videomeet"))
            .arg("videomeet://127.0.0.1:47800/ABCD2345")
            .env("VIDEOMEET_CONFIG_DIR", &config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("a second launch runs"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = second.0.try_wait().expect("process status") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the second launch is still running: a second window?"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut said = String::new();
    if let Some(mut pipe) = second.0.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut said);
    }
    assert!(status.success(), "the second launch failed: {said}");
    assert!(
        said.contains("already open"),
        "the second launch did not hand over: {said}"
    );
    assert!(
        app.0.try_wait().expect("process status").is_none(),
        "the first window closed"
    );
    let _ = std::fs::remove_dir_all(&config);
    Ok(())
}

//! The real window in a real meeting: `videomeet host` opens the window straight into a
//! meeting with the test pattern, a headless `videomeet join` sends its own test pattern,
//! and screenshots of the display must show both videos, moving (their stamps are read
//! back from the screenshots and their frame counters must advance).
//!
//! Needs a display; the test command provides one (Xvfb) and sets `VIDEOMEET_EXPECT_DISPLAY=1`.
//! The last screenshot is kept as `gui-smoke/meeting.png` in the target folder.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use videomeet_media::testing;
use videomeet_media::video::{FoundStamp, find_stamps};

/// Kills the process when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A screenshot of the whole display: grey levels for reading stamps, and the PPM file.
struct Screenshot {
    width: usize,
    height: usize,
    luma: Vec<u8>,
    ppm: Vec<u8>,
}

fn screenshot() -> Screenshot {
    let out = Command::new("import")
        .args(["-window", "root", "-depth", "8", "ppm:-"])
        .output()
        .expect("ImageMagick's import runs (the test command installs it)");
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ppm = out.stdout;
    // "P6 <width> <height> <max>" separated by whitespace, then one byte per channel.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while ppm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !ppm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&ppm[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P6", "not a binary PPM");
    let width: usize = fields[1].parse().expect("width");
    let height: usize = fields[2].parse().expect("height");
    let pixels = &ppm[at + 1..];
    assert_eq!(pixels.len(), width * height * 3, "PPM size");
    let luma = pixels
        .chunks_exact(3)
        .map(|rgb| ((u16::from(rgb[0]) + u16::from(rgb[1]) + u16::from(rgb[2])) / 3) as u8)
        .collect();
    Screenshot {
        width,
        height,
        luma,
        ppm,
    }
}

/// The frame stamps on the screen, ours included: our own picture is drawn as a mirror
/// shows us, so the screen is read as it is and mirrored (a stamp found so is placed by
/// its top-left corner on the screen).
fn stamps(shot: &Screenshot) -> Vec<FoundStamp> {
    let mirrored: Vec<u8> = shot
        .luma
        .chunks(shot.width)
        .flat_map(|row| row.iter().rev().copied())
        .collect();
    let mut found = find_stamps(&shot.luma, shot.width, shot.height);
    found.extend(
        find_stamps(&mirrored, shot.width, shot.height)
            .into_iter()
            .map(|stamp| FoundStamp {
                x: shot.width.saturating_sub(stamp.x + stamp.width()),
                ..stamp
            }),
    );
    found
}

fn keep(shot: &Screenshot) -> PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gui-smoke");
    std::fs::create_dir_all(&folder).expect("artifact folder");
    let ppm = folder.join("meeting.ppm");
    std::fs::write(&ppm, &shot.ppm).expect("screenshot written");
    let png = folder.join("meeting.png");
    let converted = Command::new("convert").arg(&ppm).arg(&png).status();
    if converted.is_ok_and(|status| status.success()) {
        let _ = std::fs::remove_file(&ppm);
        png
    } else {
        ppm
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn videomeet(args: &[&str], config: &Path) -> Running {
    Running(
        Command::new(env!("CARGO_BIN_EXE_videomeet"))
            .args(args)
            .args(["--camera", "test-pattern", "--mic", "silence", "--speaker", "mute"])
            .env("VIDEOMEET_CONFIG_DIR", config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("videomeet starts"),
    )
}

#[test]
fn the_window_shows_both_videos_moving() {
    if !testing::expect_display("the_window_shows_both_videos_moving") {
        return;
    }
    let config = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gui-smoke-config");
    let port = free_port().to_string();
    let mut host = videomeet(
        &[
            "host",
            "--title",
            "Smoke test",
            "--name",
            "Window",
            "--port",
            &port,
            "--no-announce",
        ],
        &config,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port.parse::<u16>().expect("port"))).is_err() {
        assert!(
            host.0.try_wait().expect("status").is_none(),
            "the window exited before hosting"
        );
        assert!(Instant::now() < deadline, "the meeting was not hosted within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let address = format!("127.0.0.1:{port}");
    let _guest = videomeet(
        &["join", "--headless", &address, "--name", "Guest", "--duration", "60"],
        &config,
    );

    // Both videos: our own and the guest's, each a stamp at its own place on the screen.
    let deadline = Instant::now() + Duration::from_secs(40);
    let (first, before) = loop {
        let shot = screenshot();
        let found = stamps(&shot);
        if found.len() >= 2 {
            break (shot, found);
        }
        assert!(
            Instant::now() < deadline,
            "two videos were not shown within 40 s (found {}); screenshot: {}",
            found.len(),
            keep(&shot).display()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    keep(&first);
    std::thread::sleep(Duration::from_millis(700));
    let second = screenshot();
    let after = stamps(&second);
    let path = keep(&second);
    for old in &before {
        let moved = after
            .iter()
            .find(|new| new.x.abs_diff(old.x) <= 2 && new.y.abs_diff(old.y) <= 2)
            .is_some_and(|new| new.stamp.counter > old.stamp.counter);
        assert!(
            moved,
            "the video at ({}, {}) did not move; screenshot: {}",
            old.x,
            old.y,
            path.display()
        );
    }
    assert!(
        before
            .iter()
            .any(|a| before.iter().any(|b| a.x.abs_diff(b.x) > 50 || a.y.abs_diff(b.y) > 50)),
        "the stamps are not in two different tiles: {before:?}"
    );
}

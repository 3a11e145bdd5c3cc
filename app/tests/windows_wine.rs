//! The Windows build, run under Wine, meets the Linux build: video both ways at 25 fps or
//! more, and each hears the other's test tone. Its window, hosting, puts its icon in the
//! notification area (Wine's system tray), and muting marks the icon.
//!
//! `installer/check-windows.sh` cross-builds `videomeet.exe` and names it in
//! `VIDEOMEET_WINDOWS_EXE`; without it these tests say they were skipped and pass.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use videomeet_media::screen::{ChannelOrder, ScreenCapture, ScreenKind, ScreenPicture, list_screens};

/// How long the two meet.
const SECONDS: u64 = 40;
/// Pictures a second each side must decode, once both see each other.
const MIN_FPS: f64 = 25.0;

/// What one side saw of the other: the frame rates it reported each second after its first
/// picture, and the tones it heard.
#[derive(Debug, Default)]
struct Seen {
    fps: Vec<f64>,
    tones: Vec<u64>,
}

impl Seen {
    fn take(&mut self, event: &Value) {
        match event["event"].as_str() {
            Some("video_stats") => self.fps.extend(event["fps"].as_f64()),
            Some("audio_stats") => self.tones.extend(
                event["tones_hz"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64),
            ),
            _ => {}
        }
    }

    /// The frame rate of the middle second, once both have warmed up.
    fn median_fps(&self) -> f64 {
        let mut fps = self.fps.clone();
        fps.sort_by(f64::total_cmp);
        fps.get(fps.len() / 2).copied().unwrap_or(0.0)
    }

    fn heard(&self, tone: u64) -> bool {
        self.tones.iter().any(|&heard| heard.abs_diff(tone) <= 20)
    }
}

#[test]
fn the_windows_build_under_wine_meets_the_linux_build() {
    let Some(exe) = std::env::var_os("VIDEOMEET_WINDOWS_EXE") else {
        eprintln!("skipped: VIDEOMEET_WINDOWS_EXE is not set (installer/check-windows.sh sets it)");
        return;
    };
    let seconds = SECONDS.to_string();
    let (_host, host_lines, joined) =
        common::start_host(&["--size", "640x360", "--mic", "test-tone:440", "--duration", &seconds]);
    let link = joined["link"].as_str().expect("a link");
    let mut guest = common::Running(
        Command::new("wine")
            .arg(&exe)
            .args(["join", "--headless", link, "--name", "Wine", "--size", "640x360"])
            .args(["--mic", "test-tone:660", "--duration", &seconds])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("wine starts"),
    );
    let guest_lines = common::read_lines("wine-output", guest.0.stdout.take().expect("its output"));

    let (mut at_host, mut at_guest) = (Seen::default(), Seen::default());
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    while Instant::now() < deadline {
        for (lines, seen) in [(&host_lines, &mut at_host), (&guest_lines, &mut at_guest)] {
            while let Ok(line) = lines.try_recv() {
                if let Ok(event) = serde_json::from_str::<Value>(&line) {
                    seen.take(&event);
                }
            }
        }
        if at_host.fps.len() >= 10 && at_guest.fps.len() >= 10 && at_host.heard(660) && at_guest.heard(440) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("the Linux host saw {at_host:?}\nthe Wine guest saw {at_guest:?}");
    assert!(
        at_host.median_fps() >= MIN_FPS,
        "the host decoded the Wine guest at {at_host:?}"
    );
    assert!(
        at_guest.median_fps() >= MIN_FPS,
        "the Wine guest decoded the host at {at_guest:?}"
    );
    assert!(
        at_host.heard(660),
        "the host did not hear the Wine guest's tone: {at_host:?}"
    );
    assert!(
        at_guest.heard(440),
        "the Wine guest did not hear the host's tone: {at_guest:?}"
    );
}

#[test]
fn the_windows_window_puts_up_a_tray_icon_that_shows_muted() {
    let Some(exe) = std::env::var_os("VIDEOMEET_WINDOWS_EXE") else {
        eprintln!("skipped: VIDEOMEET_WINDOWS_EXE is not set (installer/check-windows.sh sets it)");
        return;
    };
    let config = std::env::temp_dir().join(format!("videomeet-wine-tray-{}", std::process::id()));
    let _window = common::Running(
        Command::new("wine")
            .arg(&exe)
            .args(["host", "--no-announce", "--camera", "test-pattern", "--mic", "silence"])
            // Wine's Direct3D 12 cannot draw here; its Vulkan (lavapipe beneath) can.
            .env("WGPU_BACKEND", "vulkan")
            .env("VIDEOMEET_CONFIG_DIR", &config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("wine starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let icon = loop {
        if let Some(icon) = tray_icon_picture().filter(ours) {
            break icon;
        }
        assert!(Instant::now() < deadline, "no tray icon of ours within 60 s");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(red_badge(&icon), 0, "a muted badge before muting");

    // Mute with the window's own shortcut: the tray icon follows.
    let window = common::x_tool("xdotool", &["search", "--name", "^Video Meet$"]);
    let window = window.lines().next().expect("the window is found");
    let geometry = common::x_tool("xdotool", &["getwindowgeometry", "--shell", window]);
    let value = |key: &str| -> i32 {
        geometry
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .and_then(|number| number.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {geometry}"))
    };
    let (x, y) = (value("X") + value("WIDTH") / 2, value("Y") + value("HEIGHT") / 2);
    common::x_tool(
        "xdotool",
        &[
            "mousemove",
            &x.to_string(),
            &y.to_string(),
            "click",
            "1",
            "sleep",
            "0.5",
            "key",
            "alt+a",
        ],
    );
    common::x_tool("xdotool", &["mousemove", "0", &(y * 2 - 1).to_string()]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let badge = tray_icon_picture().map_or(0, |icon| red_badge(&icon));
        if badge >= 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the tray icon shows no muted badge ({badge} red pixels)"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let _ = std::fs::remove_dir_all(&config);
}

/// The first icon place of Wine's system tray (its window's left square), as on screen.
fn tray_icon_picture() -> Option<ScreenPicture> {
    let info = common::x_tool("xwininfo", &["-name", "Wine System Tray"]);
    let number = |key: &str| -> Option<usize> {
        info.lines()
            .find_map(|line| line.trim().strip_prefix(key))
            .and_then(|rest| rest.trim().parse().ok())
    };
    let (left, top, height) = (
        number("Absolute upper-left X:")?,
        number("Absolute upper-left Y:")?,
        number("Height:")?,
    );
    let display = list_screens()
        .ok()?
        .into_iter()
        .find(|s| s.kind == ScreenKind::Display)?;
    let mut screen = ScreenPicture::default();
    ScreenCapture::open(&display).ok()?.grab(&mut screen).ok()?;
    let mut icon = ScreenPicture {
        width: height as u32,
        height: height as u32,
        order: screen.order,
        data: Vec::new(),
    };
    let row = screen.width as usize * 4;
    for y in top..top + height {
        let start = y * row + left * 4;
        icon.data.extend_from_slice(screen.data.get(start..start + height * 4)?);
    }
    Some(icon)
}

/// Red, green and blue of each pixel.
fn colours(picture: &ScreenPicture) -> impl Iterator<Item = (u8, u8, u8)> + '_ {
    picture.data.chunks(4).map(|pixel| match picture.order {
        ChannelOrder::Bgra => (pixel[2], pixel[1], pixel[0]),
        ChannelOrder::Rgba => (pixel[0], pixel[1], pixel[2]),
    })
}

/// Our icon is a blue-to-teal camera: a good part of the place is clearly blue.
fn ours(icon: &ScreenPicture) -> bool {
    let blue = colours(icon).filter(|&(r, _, b)| b > 150 && r < 100).count();
    blue * 4 >= colours(icon).count()
}

/// Pixels of the muted badge's red.
fn red_badge(icon: &ScreenPicture) -> usize {
    colours(icon).filter(|&(r, g, b)| r > 170 && g < 90 && b < 90).count()
}

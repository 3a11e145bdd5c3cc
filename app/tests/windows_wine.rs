//! The Windows build, run under Wine, meets the Linux build: video both ways at 25 fps or
//! more, and each hears the other's test tone.
//!
//! `installer/check-windows.sh` cross-builds `videomeet.exe` and names it in
//! `VIDEOMEET_WINDOWS_EXE`; without it this test says it was skipped and passes.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

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

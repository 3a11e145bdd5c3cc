//! The window under an X server (Xvfb here): start-up to the first painted frame, and a
//! call in which the window receives a headless guest's test pattern, with its CPU, peak
//! memory and capture-to-presented latency read from screenshots.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use videomeet_media::screen::{ScreenCapture, ScreenKind, ScreenPicture, list_screens};
use videomeet_media::video::find_stamps;

use super::call::Usage;
use super::figures::{Spread, round1};
use super::process::Watched;

/// Window starts measured for the start-up time.
const STARTS: usize = 5;
/// How long the window may take to start or host.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Settling time once the guest's picture arrives, before measuring.
const WARM_UP: Duration = Duration::from_secs(2);
/// Time between two screenshots.
const SCREENSHOT_EVERY: Duration = Duration::from_millis(100);

/// What the window measured.
#[derive(Debug, Serialize)]
pub struct WindowResult {
    /// From process start to the first frame on screen, ms.
    pub start_to_first_frame_ms: Spread,
    /// Picture size the guest sends.
    pub size: String,
    /// From the guest's capture to the picture on screen when a screenshot was taken, ms
    /// (includes, on average, half a frame of the picture waiting on screen).
    pub capture_to_presented_ms: Spread,
    /// The window's CPU and peak memory in the call (its own camera off).
    pub window: Usage,
}

/// Measures start-up, then a call with a headless guest sending `size` at `fps`.
pub fn run(exe: &std::path::Path, size: &str, fps: u32, duration: Duration) -> anyhow::Result<WindowResult> {
    anyhow::ensure!(
        std::env::var_os("DISPLAY").is_some(),
        "the window scenario needs an X display (for example Xvfb :99 and DISPLAY=:99)"
    );
    let config = std::env::temp_dir().join(format!("videomeet-bench-window-{}", std::process::id()));
    let mut starts = Vec::new();
    for _ in 0..STARTS {
        let window = Watched::spawn("window", window_command(exe, &config, &[]), true)?;
        starts.push(first_frame_ms(&window)?);
    }
    let port = free_port()?;
    let flags = ["--size", size, "--fps", &fps.to_string(), "--mic", "test-tone:440"];
    let port_flag = port.to_string();
    let mut host_flags = vec!["host", "--title", "Bench", "--name", "Window", "--no-announce"];
    host_flags.extend(["--camera-off", "--port", &port_flag]);
    host_flags.extend(flags);
    let window = Watched::spawn("window", window_command(exe, &config, &host_flags), true)?;
    wait_for_port(&window, port)?;
    let guest = super::start_guest(exe, "Guest", &format!("127.0.0.1:{port}"), &flags.map(str::to_owned))?;
    guest.wait_for_event("the window's joining", START_TIMEOUT, |event| {
        event["event"] == "peer_joined"
    })?;
    let mut screen = open_display()?;
    let mut picture = ScreenPicture::default();
    let deadline = Instant::now() + START_TIMEOUT;
    while latencies_on_screen(&mut screen, &mut picture)?.is_empty() {
        anyhow::ensure!(Instant::now() < deadline, "the guest's video was not shown in time");
        std::thread::sleep(SCREENSHOT_EVERY);
    }
    std::thread::sleep(WARM_UP);
    let cpu_before = window.cpu_time()?;
    let measuring = Instant::now();
    let mut latencies = Vec::new();
    while measuring.elapsed() < duration {
        latencies.extend(latencies_on_screen(&mut screen, &mut picture)?);
        std::thread::sleep(SCREENSHOT_EVERY);
    }
    let cpu = window.cpu_time()?.saturating_sub(cpu_before).as_secs_f64();
    let usage = Usage {
        name: window.name.clone(),
        cpu_pct: round1(cpu / measuring.elapsed().as_secs_f64() * 100.0),
        peak_rss_mb: round1(window.peak_rss_bytes()? as f64 / 1e6),
        upload_kbps: None,
        download_kbps: None,
    };
    drop((guest, window));
    let _ = std::fs::remove_dir_all(&config);
    Ok(WindowResult {
        start_to_first_frame_ms: Spread::of(starts),
        size: size.to_owned(),
        capture_to_presented_ms: Spread::of(latencies),
        window: usage,
    })
}

/// `videomeet ARGS` with its log on stderr and its own settings folder.
fn window_command(exe: &std::path::Path, config: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(exe);
    command
        .args(args)
        .env("VIDEOMEET_LOG", "info")
        .env("VIDEOMEET_CONFIG_DIR", config);
    command
}

/// The start-up time the window logs with its first frame on screen.
fn first_frame_ms(window: &Watched) -> anyhow::Result<f64> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let (_, line) = window
            .next_line(deadline)
            .context("waiting for the window's first frame")?;
        let line = without_colours(&line);
        if line.contains("first frame shown")
            && let Some(ms) = line
                .split_whitespace()
                .find_map(|word| word.strip_prefix("ms=")?.parse::<f64>().ok())
        {
            return Ok(ms);
        }
    }
}

/// The text of a log line without its terminal colour codes (`ESC [ ... m`).
fn without_colours(line: &str) -> String {
    let mut text = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        match (in_code, c) {
            (false, '\u{1b}') => in_code = true,
            (false, c) => text.push(c),
            (true, 'm') => in_code = false,
            (true, _) => {}
        }
    }
    text
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .context("no free port")?
        .port())
}

/// Waits until the window's meeting accepts guests on `port`.
fn wait_for_port(window: &Watched, port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        window.take_lines();
        anyhow::ensure!(Instant::now() < deadline, "the window did not host within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn open_display() -> anyhow::Result<ScreenCapture> {
    let display = list_screens()?
        .into_iter()
        .find(|screen| screen.kind == ScreenKind::Display)
        .context("no display to take screenshots of")?;
    Ok(ScreenCapture::open(&display)?)
}

/// Takes a screenshot and returns, for every stamp on it, how old its picture is, ms.
fn latencies_on_screen(screen: &mut ScreenCapture, picture: &mut ScreenPicture) -> anyhow::Result<Vec<f64>> {
    let taken_us = videomeet_media::clock::now_us();
    screen.grab(picture)?;
    let (width, height) = (picture.width as usize, picture.height as usize);
    let mut luma = Vec::with_capacity(width * height);
    for y in 0..picture.height {
        for x in 0..picture.width {
            let (r, g, b) = picture.rgb(x, y);
            luma.push(((u16::from(r) + u16::from(g) + u16::from(b)) / 3) as u8);
        }
    }
    Ok(find_stamps(&luma, width, height)
        .into_iter()
        .map(|found| taken_us.saturating_sub(found.stamp.capture_time_us) as f64 / 1000.0)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_are_removed_from_log_lines() {
        let line =
            "\u{1b}[2mvideomeet::ui::app\u{1b}[0m first frame shown \u{1b}[3mms\u{1b}[0m\u{1b}[2m=\u{1b}[0m189.8";
        assert_eq!(without_colours(line), "videomeet::ui::app first frame shown ms=189.8");
    }
}

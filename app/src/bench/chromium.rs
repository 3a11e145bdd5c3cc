//! The same 1:1 call in Chromium (headless, fake camera and microphone, H.264), measured
//! over its whole process tree, for CPU and memory ratios against ours.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use super::figures::round1;
use super::process::{Watched, process_tree, pss_bytes_of, rss_bytes_of, tree_cpu};

/// The page: two peer connections in one tab sending to each other.
const PAGE: &str = include_str!("../../bench/call.html");
/// How long the page may take to show decoded pictures on both sides.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Settling time once pictures flow, as for our own call.
const WARM_UP: Duration = Duration::from_secs(2);
/// How far each side's decoded frame rate may be from the one asked for, as a fraction of
/// it: a browser that sends fewer pictures does less work, so its CPU is no measure to
/// compare ours with.
const RATE_TOLERANCE: f64 = 0.1;

/// What the browser's call measured.
#[derive(Debug, Serialize)]
pub struct BrowserResult {
    /// `chromium --version`.
    pub version: String,
    /// CPU of all its processes over the measured period, percent of one core.
    pub cpu_pct: f64,
    /// Largest sum of its processes' resident memory seen, MB (shared pages counted once
    /// per process).
    pub peak_rss_mb: f64,
    /// Largest sum of its processes' proportional memory seen, MB (shared pages split
    /// among the processes): what the browser really holds.
    pub peak_pss_mb: f64,
    /// Width of the pictures it decoded.
    pub width: u32,
    /// Pictures decoded per second, on the slower of the two sides.
    pub fps: f64,
    /// Pictures decoded per second on each side.
    pub fps_each_side: [f64; 2],
    /// The video codec the page ended up with.
    pub codec: String,
}

/// Runs the call in Chromium for `duration` at `size` and `fps` (see [`check_rates`] for
/// whether its figures compare with ours).
pub fn run(size: &str, fps: u32, bitrate_bps: u32, duration: Duration) -> anyhow::Result<BrowserResult> {
    let (width, height) = size
        .split_once('x')
        .with_context(|| format!("\"{size}\" is not a picture size like 1280x720"))?;
    let folder = tempfolder()?;
    let page = folder.join("call.html");
    std::fs::write(&page, PAGE).context("could not write the browser's page")?;
    let profile = folder.join("profile");
    let version = Command::new("chromium")
        .arg("--version")
        .output()
        .context("Chromium is not installed (Debian: apt install chromium)")?;
    let mut command = Command::new("chromium");
    command
        .args(super::headless_chromium::flags(fps))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!(
            "file://{}?width={width}&height={height}&fps={fps}&bps={bitrate_bps}",
            page.display()
        ));
    let browser = Watched::spawn("chromium", command, true)?;
    wait_for_pictures(&browser)?;
    std::thread::sleep(WARM_UP);
    browser.take_lines();
    let cpu_before = tree_cpu(browser.pid());
    let measuring = Instant::now();
    let (mut peak_rss, mut peak_pss) = (0, 0);
    while measuring.elapsed() < duration {
        let tree = process_tree(browser.pid());
        peak_rss = peak_rss.max(tree.iter().copied().map(rss_bytes_of).sum());
        peak_pss = peak_pss.max(tree.iter().copied().map(pss_bytes_of).sum());
        std::thread::sleep(Duration::from_millis(250));
    }
    let cpu = tree_cpu(browser.pid()).saturating_sub(cpu_before);
    let elapsed = measuring.elapsed().as_secs_f64();
    let reports: Vec<Value> = browser
        .take_lines()
        .iter()
        .filter_map(|(_, line)| report_in(line))
        .collect();
    drop(browser);
    let _ = std::fs::remove_dir_all(&folder);
    let rates = [decoded_rate(&reports, "a"), decoded_rate(&reports, "b")];
    Ok(BrowserResult {
        version: String::from_utf8_lossy(&version.stdout).trim().to_owned(),
        cpu_pct: round1(cpu.as_secs_f64() / elapsed * 100.0),
        peak_rss_mb: round1(peak_rss as f64 / 1e6),
        peak_pss_mb: round1(peak_pss as f64 / 1e6),
        width: reports
            .last()
            .and_then(|r| r["a"]["width"].as_u64())
            .and_then(|w| u32::try_from(w).ok())
            .unwrap_or(0),
        fps: round1(rates[0].min(rates[1])),
        fps_each_side: rates.map(round1),
        codec: reports
            .last()
            .and_then(|r| r["a"]["codec"].as_str())
            .unwrap_or_default()
            .to_owned(),
    })
}

/// Pictures decoded per second on one side of the page (`a` or `b`), from the first report
/// to the last by the page's own clock; 0 with fewer than two reports.
fn decoded_rate(reports: &[Value], side: &str) -> f64 {
    let at = |report: &Value| Some((report["t"].as_f64()?, report[side]["frames"].as_f64()?));
    match (reports.first().and_then(at), reports.last().and_then(at)) {
        (Some((t0, frames0)), Some((t1, frames1))) if t1 > t0 => (frames1 - frames0) / ((t1 - t0) / 1000.0),
        _ => 0.0,
    }
}

/// Fails unless both sides of the browser's call decoded within [`RATE_TOLERANCE`] of the
/// `requested` frame rate: otherwise its CPU is for other work than ours.
pub fn check_rates(requested: u32, rates: [f64; 2]) -> anyhow::Result<()> {
    let requested = f64::from(requested);
    let off = |rate: f64| (rate - requested).abs() > requested * RATE_TOLERANCE;
    anyhow::ensure!(
        !rates.into_iter().any(off),
        "the browser's call decoded {:.1} and {:.1} fps where {requested} fps were asked for \
         (at most {:.0} % off allowed): its CPU would not be for the same work as ours",
        rates[0],
        rates[1],
        RATE_TOLERANCE * 100.0
    );
    Ok(())
}

/// Waits until both sides of the page decode pictures; fails on the page's own error.
fn wait_for_pictures(browser: &Watched) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let (_, line) = browser
            .next_line(deadline)
            .context("waiting for the browser's call to show pictures")?;
        let Some(report) = report_in(&line) else { continue };
        if let Some(error) = report["error"].as_str() {
            anyhow::bail!("the browser's call failed: {error}");
        }
        if report["a"]["frames"].as_f64() > Some(0.0) && report["b"]["frames"].as_f64() > Some(0.0) {
            return Ok(());
        }
    }
}

/// The page's report in a browser log line, which looks like
/// `[...:INFO:CONSOLE(12)] "videomeet-bench {...}", source: file:///... (12)`.
fn report_in(line: &str) -> Option<Value> {
    super::headless_chromium::page_report(line, "videomeet-bench")
}

/// A new empty folder for the page and the browser profile.
fn tempfolder() -> anyhow::Result<std::path::PathBuf> {
    let folder = std::env::temp_dir().join(format!("videomeet-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).with_context(|| format!("could not create {}", folder.display()))?;
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_reports_are_found_in_browser_log_lines() {
        let line = r#"[1:1:1122/1:INFO:CONSOLE(60)] "videomeet-bench {"a":{"frames":3}}", source: file:///x.html (60)"#;
        assert_eq!(report_in(line).unwrap()["a"]["frames"], 3);
        assert!(report_in("[INFO] something else").is_none());
    }

    #[test]
    fn decoded_rates_are_timed_by_the_page_clock() {
        let reports: Vec<Value> = [(1000.0, 10, 12), (2100.0, 40, 42), (3000.0, 67, 63)]
            .into_iter()
            .map(|(t, a, b)| serde_json::json!({ "t": t, "a": { "frames": a }, "b": { "frames": b } }))
            .collect();
        assert!((decoded_rate(&reports, "a") - 28.5).abs() < 1e-9);
        assert!((decoded_rate(&reports, "b") - 25.5).abs() < 1e-9);
        assert_eq!(decoded_rate(&reports[..1], "a"), 0.0);
    }

    #[test]
    fn a_browser_off_the_requested_frame_rate_fails_the_comparison() {
        assert!(check_rates(30, [29.8, 27.1]).is_ok());
        assert!(check_rates(30, [32.9, 30.0]).is_ok());
        // Chromium's fake camera left at its own 20 fps.
        let error = check_rates(30, [29.9, 19.9]).unwrap_err().to_string();
        assert!(error.contains("19.9"), "{error}");
        assert!(check_rates(30, [33.5, 30.0]).is_err());
        assert!(check_rates(30, [0.0, 0.0]).is_err());
    }
}

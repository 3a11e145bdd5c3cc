//! Browser guests through the host's own page: how long a browser takes from opening the
//! link to its first decoded picture, what a browser guest costs beside a Video Meet guest
//! in the same 1:1 call, and how many bytes the page is.
//!
//! Headless Chromium opens the page the host serves (its certificate is the host's own, so
//! the browser is told to accept it, as a guest does by clicking through the warning once),
//! with a fresh profile each time, so every join is a first visit.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use super::figures::{Spread, round1};
use super::headless_chromium;
use super::process::{Watched, tree_cpu};

/// How long one join may take before the run is called broken.
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);
/// What the page's log lines start with.
const TAG: &str = "videomeet-guest";
/// Settling time once pictures flow, before CPU is counted.
const WARM_UP: Duration = Duration::from_secs(3);

/// What the page and its guests measured.
#[derive(Debug, Serialize)]
pub struct GuestPageResult {
    /// `chromium --version`.
    pub version: String,
    /// The host's camera size.
    pub size: String,
    /// Joins measured.
    pub joins: usize,
    /// From the page's navigation start (the link opened) to its first decoded picture,
    /// by the page's clock, ms.
    pub link_to_first_picture_ms: Spread,
    /// From starting the browser (a cold profile) to the same, ms.
    pub browser_start_to_first_picture_ms: Spread,
    /// The 1:1 call with a browser guest, then with a Video Meet guest.
    pub browser_guest: GuestCost,
    /// See [`Self::browser_guest`].
    pub native_guest: GuestCost,
    /// The page's files (HTML, script, style), bytes: what a browser downloads to join.
    pub page_bytes: u64,
}

/// What one guest of a 1:1 call costs and shows.
#[derive(Debug, Serialize)]
pub struct GuestCost {
    /// CPU of the guest's processes over the measured period, percent of one core.
    pub cpu_pct: f64,
    /// The host's pictures it decoded per second.
    pub decoded_fps: f64,
    /// The size of the camera it sends.
    pub sends: String,
}

/// Runs `joins` browser joins against a host sending `size` at `fps`, then the 1:1 call
/// with a browser guest and with a Video Meet guest for `duration` each.
pub fn run(
    exe: &std::path::Path,
    size: &str,
    fps: u32,
    joins: usize,
    duration: Duration,
) -> anyhow::Result<GuestPageResult> {
    anyhow::ensure!(joins >= 1, "--joins must be at least 1");
    let version = Command::new("chromium")
        .arg("--version")
        .output()
        .context("Chromium is not installed (Debian: apt install chromium)")?;
    let flags = super::picture_flags(size, fps);
    let host = super::start_host(exe, "Host", &flags)?;
    let (_, joined) = host.wait_for_event("its meeting", super::HOST_TIMEOUT, |event| event["event"] == "joined")?;
    let page = joined["web_page"]["link"]
        .as_str()
        .context("the host's joined event has no web_page link")?
        .to_owned();
    let link = joined["link"]
        .as_str()
        .context("the host's joined event has no link")?
        .to_owned();

    let (mut from_link, mut from_start) = (Vec::new(), Vec::new());
    for number in 1..=joins {
        let browser = Browser::open(&page, fps, &format!("Browser{number}"))?;
        let (at, report) = browser.wait_for("first_picture", JOIN_TIMEOUT)?;
        from_link.push(round1(report["ms"].as_f64().context("first_picture without ms")?));
        from_start.push(round1((at - browser.watched.started).as_secs_f64() * 1000.0));
        drop(browser);
        host.wait_for_event("the browser leaving", JOIN_TIMEOUT, |event| {
            event["event"] == "peer_left"
        })?;
    }

    let host_id = joined["you"].as_u64().context("the host's joined event has no id")?;
    let browser = Browser::open(&page, fps, "Browser")?;
    let (_, camera) = browser.wait_for("camera", JOIN_TIMEOUT)?;
    let sends = format!("{}x{}", camera["width"], camera["height"]);
    browser.wait_for("first_picture", JOIN_TIMEOUT)?;
    let browser_guest = browser.cost(host_id, duration, &sends)?;
    drop(browser);
    host.wait_for_event("the browser leaving", JOIN_TIMEOUT, |event| {
        event["event"] == "peer_left"
    })?;

    // The Video Meet guest sends what the browser's camera sent, so both do the same work.
    let guest_flags = super::picture_flags(&sends, fps);
    let guest = super::start_guest(exe, "Guest", &link, &guest_flags)?;
    guest.wait_for_event("its first picture", JOIN_TIMEOUT, |event| {
        event["event"] == "first_frame"
    })?;
    let native_guest = native_cost(&guest, host_id, duration, &sends)?;
    Ok(GuestPageResult {
        version: String::from_utf8_lossy(&version.stdout).trim().to_owned(),
        size: size.to_owned(),
        joins,
        link_to_first_picture_ms: Spread::of(from_link),
        browser_start_to_first_picture_ms: Spread::of(from_start),
        browser_guest,
        native_guest,
        page_bytes: videomeet_net::signaling::GUEST_PAGE_BYTES as u64,
    })
}

/// A headless Chromium on the guest page, joining at once, with a profile of its own.
struct Browser {
    watched: Watched,
    profile: std::path::PathBuf,
}

impl Browser {
    fn open(page: &str, fps: u32, name: &str) -> anyhow::Result<Self> {
        let profile = std::env::temp_dir().join(format!("videomeet-bench-page-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let mut command = Command::new("chromium");
        command
            .args(headless_chromium::flags(fps))
            .arg(headless_chromium::ACCEPT_HOST_CERTIFICATE)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("{page}?name={name}&join=1"));
        let watched = Watched::spawn("chromium", command, true)?;
        Ok(Self { watched, profile })
    }

    /// Waits for the page's `event` report; fails on a refusal or the meeting's end.
    fn wait_for(&self, event: &str, timeout: Duration) -> anyhow::Result<(Instant, Value)> {
        let deadline = Instant::now() + timeout;
        loop {
            let (at, line) = self
                .watched
                .next_line(deadline)
                .with_context(|| format!("waiting for the page's {event}"))?;
            let Some(report) = headless_chromium::page_report(&line, TAG) else {
                continue;
            };
            match report["event"].as_str() {
                Some(found) if found == event => return Ok((at, report)),
                Some("denied" | "ended" | "removed" | "closed") => {
                    anyhow::bail!("the page left the meeting waiting for {event}: {report}")
                }
                _ => {}
            }
        }
    }

    /// CPU of its processes and the host's pictures it decoded per second, over `duration`.
    fn cost(&self, host_id: u64, duration: Duration, sends: &str) -> anyhow::Result<GuestCost> {
        std::thread::sleep(WARM_UP);
        self.watched.take_lines();
        let cpu_before = tree_cpu(self.watched.pid());
        let started = Instant::now();
        std::thread::sleep(duration);
        let cpu = tree_cpu(self.watched.pid()).saturating_sub(cpu_before);
        let elapsed = started.elapsed().as_secs_f64();
        let decoded: Vec<(Instant, f64)> = self
            .watched
            .take_lines()
            .iter()
            .filter_map(|(at, line)| {
                let report = headless_chromium::page_report(line, TAG)?;
                let frames = report["peers"][host_id.to_string()]["in"]["camera"]["frames_decoded"].as_f64()?;
                (report["event"] == "stats").then_some((*at, frames))
            })
            .collect();
        Ok(GuestCost {
            cpu_pct: round1(cpu.as_secs_f64() / elapsed * 100.0),
            decoded_fps: round1(rate(&decoded)),
            sends: sends.to_owned(),
        })
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Chromium writes into its profile until it is gone: stopped first, then removed.
        self.watched.stop();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// What a Video Meet guest costs over `duration`, with the host's pictures it decoded per
/// second from its statistics.
fn native_cost(guest: &Watched, host_id: u64, duration: Duration, sends: &str) -> anyhow::Result<GuestCost> {
    std::thread::sleep(WARM_UP);
    guest.take_lines();
    let cpu_before = guest.cpu_time()?;
    let started = Instant::now();
    std::thread::sleep(duration);
    let cpu = guest.cpu_time()?.saturating_sub(cpu_before);
    let elapsed = started.elapsed().as_secs_f64();
    let fps: Vec<f64> = guest
        .take_lines()
        .iter()
        .filter_map(|(_, line)| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["event"] == "stats")
        .filter_map(|event| {
            let peers = event["peers"].as_array()?;
            peers.iter().find(|peer| peer["id"].as_u64() == Some(host_id))?["fps"].as_f64()
        })
        .collect();
    Ok(GuestCost {
        cpu_pct: round1(cpu.as_secs_f64() / elapsed * 100.0),
        decoded_fps: round1(fps.iter().sum::<f64>() / fps.len().max(1) as f64),
        sends: sends.to_owned(),
    })
}

/// The result as markdown tables.
pub fn markdown(result: &GuestPageResult) -> String {
    let cell = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
    let spread = |what: &str, spread: &Spread| {
        format!(
            "| {what} | {} | {} | {} | {} |\n",
            cell(spread.p50),
            cell(spread.p95),
            cell(spread.min),
            cell(spread.max)
        )
    };
    let guest = |what: &str, cost: &GuestCost| {
        format!(
            "| {what}, sends {} | {:.1} | {:.1} |\n",
            cost.sends, cost.cpu_pct, cost.decoded_fps
        )
    };
    format!(
        "| browser guest ({}), {} joins, host sends {} | p50 ms | p95 ms | min ms | max ms |\n|---|---|---|---|---|\n{}{}\n\
         | 1:1 call with the host | guest CPU % of a core | host pictures decoded per second |\n|---|---|---|\n{}{}\n\
         The page (HTML, script and style) is {} bytes.\n",
        result.version,
        result.joins,
        result.size,
        spread(
            "link opened to first decoded picture (page's clock)",
            &result.link_to_first_picture_ms
        ),
        spread(
            "browser started (fresh profile) to first decoded picture",
            &result.browser_start_to_first_picture_ms
        ),
        guest("Chromium guest", &result.browser_guest),
        guest("Video Meet guest", &result.native_guest),
        result.page_bytes,
    )
}

/// Frames per second between the first and last of `(when, frames so far)`.
fn rate(counts: &[(Instant, f64)]) -> f64 {
    match (counts.first(), counts.last()) {
        (Some((t0, f0)), Some((t1, f1))) if t1 > t0 => (f1 - f0) / (*t1 - *t0).as_secs_f64(),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_is_counted_between_the_first_and_last_reports() {
        let start = Instant::now();
        let counts = [
            (start, 10.0),
            (start + Duration::from_secs(1), 40.0),
            (start + Duration::from_secs(2), 70.0),
        ];
        assert!((rate(&counts) - 30.0).abs() < 1e-9);
        assert_eq!(rate(&counts[..1]), 0.0);
        assert_eq!(rate(&[]), 0.0);
    }
}

//! Recording beside a call: one call measured for a while as it is, then for as long again
//! while its host records it. Both halves are the same processes doing the same work, so
//! the difference is what recording costs: the recorder's CPU, and whatever the call's own
//! figures (latency, frame rate, freezes) lost. Also the file's size a minute and the time
//! from Stop to a closed file.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use serde_json::json;

use super::call::{self, CallResult, CallSetup};
use super::figures::{cell, round1};

/// How long a recording may take to start or to close its file.
const RECORDING_TIMEOUT: Duration = Duration::from_secs(15);
/// Settling once the recording runs, before the second half is measured.
const SETTLE: Duration = Duration::from_secs(1);

/// What one call measured without and with recording.
#[derive(Debug, Serialize)]
pub struct RecordingResult {
    /// The call as it was.
    pub without: CallResult,
    /// The same call while the host recorded it.
    pub with: CallResult,
    /// What recording added to the host's process, percent of one core.
    pub added_cpu_pct: f64,
    /// How long the file plays, s.
    pub seconds: f64,
    /// Its pictures a second (fewer than the call's when the recorder fell behind).
    pub fps: f64,
    /// Its size a minute, MB (10^6 bytes).
    pub mb_per_minute: f64,
    /// From Stop to the file closed (its `recording_ended` line), ms.
    pub stop_to_closed_ms: f64,
}

/// Runs the call of `setup`, measured first as it is and then while its host records it
/// into a file in `folder` (removed afterwards).
pub fn run(exe: &Path, setup: &CallSetup, folder: &Path) -> anyhow::Result<RecordingResult> {
    let mut everyone = call::start(exe, setup)?;
    let without = call::measure(&everyone, setup)?;
    let path = folder.join(format!("videomeet-bench-recording-{}.mp4", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let host = &mut everyone[0];
    host.say(&json!({"command": "record", "path": path}).to_string())?;
    host.wait_for_event("the recording", RECORDING_TIMEOUT, |event| {
        event["event"] == "recording_started"
    })?;
    std::thread::sleep(SETTLE);
    let with = call::measure(&everyone, setup)?;
    let host = &mut everyone[0];
    let stopping = Instant::now();
    host.say(r#"{"command":"stop_recording"}"#)?;
    let (closed_at, ended) = host.wait_for_event("the recording's end", RECORDING_TIMEOUT, |event| {
        event["event"] == "recording_ended"
    })?;
    let _ = std::fs::remove_file(&path);
    anyhow::ensure!(ended["error"].is_null(), "the recording failed: {}", ended["error"]);
    let seconds = ended["seconds"].as_f64().context("the recording's length")?;
    let bytes = ended["bytes"].as_f64().context("the recording's size")?;
    let pictures = ended["pictures"].as_f64().context("the recording's pictures")?;
    let host_cpu = |result: &CallResult| result.participants.first().map_or(0.0, |host| host.cpu_pct);
    Ok(RecordingResult {
        added_cpu_pct: round1(host_cpu(&with) - host_cpu(&without)),
        seconds: round1(seconds),
        fps: round1(pictures / seconds.max(0.001)),
        mb_per_minute: round1(bytes / 1e6 / seconds.max(0.001) * 60.0),
        stop_to_closed_ms: round1(closed_at.saturating_duration_since(stopping).as_secs_f64() * 1000.0),
        without,
        with,
    })
}

/// The table of recordings beside calls.
pub fn markdown(results: &[RecordingResult]) -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "\n## Recording beside a call (the host records)\n\n\
         | call | recording | host CPU % | CPU added % | video p50 / p95 ms | fps | freezes | longest gap ms | recording fps | MB a minute | Stop to closed ms |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for result in results {
        for (half, figures) in [("without", &result.without), ("with", &result.with)] {
            // The recording's own figures, on the row measured while it ran.
            let recorded = |value: f64| if half == "with" { cell(Some(value)) } else { "-".into() };
            let _ = writeln!(
                out,
                "| {} | {half} | {} | {} | {} / {} | {} | {} | {} | {} | {} | {} |",
                figures.setup.label(),
                cell(figures.participants.first().map(|host| host.cpu_pct)),
                recorded(result.added_cpu_pct),
                cell(figures.latency_ms.p50),
                cell(figures.latency_ms.p95),
                cell(figures.fps),
                figures.freezes,
                cell(figures.max_gap_ms),
                recorded(result.fps),
                recorded(result.mb_per_minute),
                recorded(result.stop_to_closed_ms),
            );
        }
    }
    out
}

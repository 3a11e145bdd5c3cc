//! The bench's figures as a markdown table, with the machine they come from.

use std::fmt::Write as _;

use serde::Serialize;

use super::call::{self, CallResult, FailedCall};
use super::chromium::BrowserResult;
use super::figures::{self, cell, round1};
use super::join::JoinResult;
use super::window::WindowResult;

/// The machine and build the figures come from.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Cores the system offers.
    pub cores: usize,
    /// Memory, GiB.
    pub memory_gib: f64,
    /// `release` or `debug`.
    pub build: &'static str,
    /// Program version.
    pub version: &'static str,
}

impl Machine {
    /// This machine, from `/proc`.
    pub fn here() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let field = |text: &str, key: &str| {
            text.lines()
                .find(|line| line.starts_with(key))
                .and_then(|line| line.split_once(':'))
                .map(|(_, value)| value.trim().to_owned())
        };
        let memory_kb: f64 = field(&meminfo, "MemTotal")
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        Self {
            cpu: field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".to_owned()),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            memory_gib: round1(memory_kb / 1024.0 / 1024.0),
            build: if cfg!(debug_assertions) { "debug" } else { "release" },
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// Our 1:1 call beside the browser's.
#[derive(Debug, Serialize)]
pub struct Comparison {
    /// Ours.
    pub ours: CallResult,
    /// Chromium's.
    pub chromium: BrowserResult,
    /// Our two processes' CPU over Chromium's, same call.
    pub cpu_ratio: Option<f64>,
    /// Our two processes' peak resident memory over Chromium's peak proportional memory
    /// (its resident sum counts shared libraries once per process), same call.
    pub memory_ratio: Option<f64>,
}

impl Comparison {
    /// The ratios of `ours` to `chromium`.
    pub fn new(ours: CallResult, chromium: BrowserResult) -> Self {
        let ratio = |ours: f64, theirs: f64| (theirs > 0.0).then(|| (ours / theirs * 100.0).round() / 100.0);
        let cpu: f64 = ours.participants.iter().map(|p| p.cpu_pct).sum();
        let memory: f64 = ours.participants.iter().map(|p| p.peak_rss_mb).sum();
        Self {
            cpu_ratio: ratio(cpu, chromium.cpu_pct),
            memory_ratio: ratio(memory, chromium.peak_pss_mb),
            ours,
            chromium,
        }
    }
}

/// The tables for everything that ran (and the calls that could not).
pub fn markdown(
    machine: &Machine,
    (calls, failed_calls): (&[CallResult], &[FailedCall]),
    joins: Option<&JoinResult>,
    browsers: &[Comparison],
    window: Option<&WindowResult>,
) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "Machine: {} cores ({}), {} GiB, {} build of videomeet {}.\n",
        machine.cores, machine.cpu, machine.memory_gib, machine.build, machine.version
    );
    if !calls.is_empty() || !failed_calls.is_empty() {
        out.push_str(
            "| call | video latency p50 / p95 / p99 ms | audio latency p50 / p95 ms | fps | freezes | longest gap ms | CPU per participant % of a core (mean, max) | host CPU % | peak RSS MB (max) | guest up / down kbps (mean) | host up / down kbps |\n\
             |---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for call in calls {
            let cpu_max = call.participants.iter().map(|p| p.cpu_pct).reduce(f64::max);
            let host = call.participants.first();
            let guests = call.participants.get(1..).unwrap_or_default();
            let guest_mean = |kbps: fn(&call::Usage) -> Option<f64>| {
                figures::mean(&guests.iter().filter_map(kbps).collect::<Vec<_>>())
            };
            let _ = writeln!(
                out,
                "| {} | {} / {} / {} | {} / {} | {} | {} | {} | {}, {} | {} | {} | {} / {} | {} / {} |",
                call.setup.label(),
                cell(call.latency_ms.p50),
                cell(call.latency_ms.p95),
                cell(call.latency_ms.p99),
                cell(call.audio_latency_ms.p50),
                cell(call.audio_latency_ms.p95),
                cell(call.fps),
                call.freezes,
                cell(call.max_gap_ms),
                cell(call.cpu_pct_mean()),
                cell(cpu_max),
                cell(host.map(|usage| usage.cpu_pct)),
                cell(call.peak_rss_mb_max()),
                cell(guest_mean(|usage| usage.upload_kbps)),
                cell(guest_mean(|usage| usage.download_kbps)),
                cell(host.and_then(|usage| usage.upload_kbps)),
                cell(host.and_then(|usage| usage.download_kbps)),
            );
        }
        for failed in failed_calls {
            // One line: a table cell cannot hold a line break or a bar.
            let reason = failed.reason.replace(['\n', '|'], " ");
            let _ = writeln!(
                out,
                "| {} | did not run: {reason} | | | | | | | | | |",
                failed.setup.label()
            );
        }
        out.push('\n');
    }
    if let Some(joins) = joins {
        let _ = writeln!(
            out,
            "| join, {} joins, host sends {} | p50 ms | p95 ms | min ms | max ms |\n|---|---|---|---|---|",
            joins.joins, joins.size
        );
        let totals = [
            ("command to first decoded picture", &joins.command_to_first_frame_ms),
            (
                "start of joining to first decoded picture",
                &joins.joining_to_first_frame_ms,
            ),
            (
                "start of joining to first played sound",
                &joins.joining_to_first_audio_ms,
            ),
        ];
        let steps = joins.steps.iter().map(|(name, spread)| (*name, spread));
        for (what, spread) in totals.into_iter().chain(steps) {
            let _ = writeln!(
                out,
                "| {what} | {} | {} | {} | {} |",
                cell(spread.p50),
                cell(spread.p95),
                cell(spread.min),
                cell(spread.max)
            );
        }
        out.push('\n');
    }
    if !browsers.is_empty() {
        out.push_str(
            "| 1:1 call | ours: CPU % (2 processes) | Chromium: CPU % | CPU ours/Chromium | ours: peak RSS MB (2 processes) | Chromium: peak PSS (RSS) MB | memory ours/Chromium | fps ours / Chromium |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for comparison in browsers {
            let ours = &comparison.ours;
            let _ = writeln!(
                out,
                "| {} {} fps ({}, Chromium decoded {} wide) | {} | {} | {} | {} | {} ({}) | {} | {} / {} |",
                ours.setup.size,
                ours.setup.fps,
                comparison.chromium.codec,
                comparison.chromium.width,
                cell(Some(ours.participants.iter().map(|p| p.cpu_pct).sum())),
                cell(Some(comparison.chromium.cpu_pct)),
                cell(comparison.cpu_ratio),
                cell(Some(ours.participants.iter().map(|p| p.peak_rss_mb).sum())),
                cell(Some(comparison.chromium.peak_pss_mb)),
                cell(Some(comparison.chromium.peak_rss_mb)),
                cell(comparison.memory_ratio),
                cell(ours.fps),
                cell(Some(comparison.chromium.fps)),
            );
        }
        out.push('\n');
    }
    if let Some(window) = window {
        let _ = writeln!(
            out,
            "| the window | p50 | p95 | p99 | max |\n|---|---|---|---|---|\n\
             | start to first frame on screen, ms | {} | {} | {} | {} |\n\
             | receiving {}: guest's capture to on screen (screenshots), ms | {} | {} | {} | {} |\n\n\
             Window in that call (own camera off): {} % of a core, peak RSS {} MB.\n",
            cell(window.start_to_first_frame_ms.p50),
            cell(window.start_to_first_frame_ms.p95),
            cell(window.start_to_first_frame_ms.p99),
            cell(window.start_to_first_frame_ms.max),
            window.size,
            cell(window.capture_to_presented_ms.p50),
            cell(window.capture_to_presented_ms.p95),
            cell(window.capture_to_presented_ms.p99),
            cell(window.capture_to_presented_ms.max),
            window.window.cpu_pct,
            window.window.peak_rss_mb,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::call::CallSetup;

    #[test]
    fn a_call_that_did_not_run_is_a_row_with_its_reason() {
        let setup = CallSetup {
            participants: 10,
            size: "640x360".into(),
            fps: 30,
            audio_only: false,
            duration_secs: 15.0,
            topology: call::Topology::Mesh,
            view: None,
            voices: call::Voices::Loudest,
        };
        let failed = [FailedCall {
            setup,
            reason: "waiting for first_frame from P1:\nP1 said nothing | in time".into(),
        }];
        let table = markdown(&Machine::here(), (&[], &failed), None, &[], None);
        assert!(
            table.contains(
                "| 10 participants, mesh, 640x360 30 fps, 15 s | did not run: waiting for first_frame from P1: P1 said nothing   in time | | | | | | | | | |\n"
            ),
            "{table}"
        );
    }
}

//! Join time: a host runs, guests join one after another, each measured from the command
//! (process start) to its first decoded picture of the host.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use super::figures::{Spread, round1};
use super::process::Watched;

/// How long one join may take before the run is called broken.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What the joins measured.
#[derive(Debug, Serialize)]
pub struct JoinResult {
    /// Picture size the host sends.
    pub size: String,
    /// Number of joins.
    pub joins: usize,
    /// From starting the `videomeet join` process to its first decoded picture, ms.
    pub command_to_first_frame_ms: Spread,
    /// The same from inside the process (after start-up, from the start of joining), ms.
    pub joining_to_first_frame_ms: Spread,
    /// From the start of joining to the first sound of the host played, ms.
    pub joining_to_first_audio_ms: Spread,
    /// Where the time goes, each step from the end of the one before, ms.
    pub steps: Vec<(&'static str, Spread)>,
}

/// The events that end each step of a join, and what the step is called.
const STEPS: [(&str, &str); 4] = [
    ("joined", "process start and signaling (command to joined)"),
    ("ice", "ICE (joined to a working path)"),
    ("dtls", "DTLS (path to secured connection)"),
    ("first_frame", "first keyframe (secured to first decoded picture)"),
];

/// Runs `joins` joins against one host sending `size` pictures at `fps`.
pub fn run(exe: &std::path::Path, size: &str, fps: u32, joins: usize) -> anyhow::Result<JoinResult> {
    anyhow::ensure!(joins >= 1, "--joins must be at least 1");
    let flags = super::picture_flags(size, fps);
    let host = super::start_host(exe, "Host", &flags)?;
    let link = super::link_of(&host)?;
    let mut from_command = Vec::new();
    let mut from_joining = Vec::new();
    let mut to_audio = Vec::new();
    let mut steps = vec![Vec::new(); STEPS.len()];
    for number in 1..=joins {
        let guest = super::start_guest(exe, &format!("Guest{number}"), &link, &flags)?;
        let (ends, first_frame, first_audio_ms) = step_ends(&guest)?;
        to_audio.push(first_audio_ms);
        let mut step_start = guest.started;
        for (durations, end) in steps.iter_mut().zip(ends) {
            durations.push(round1((end - step_start).as_secs_f64() * 1000.0));
            step_start = end;
        }
        from_command.push(round1((step_start - guest.started).as_secs_f64() * 1000.0));
        from_joining.extend(first_frame["ms_since_start"].as_f64());
        drop(guest);
        // The next guest joins once the host has let this one go.
        host.wait_for_event("the guest leaving", JOIN_TIMEOUT, |event| event["event"] == "peer_left")?;
    }
    Ok(JoinResult {
        size: size.to_owned(),
        joins,
        command_to_first_frame_ms: Spread::of(from_command),
        joining_to_first_frame_ms: Spread::of(from_joining),
        joining_to_first_audio_ms: Spread::of(to_audio),
        steps: STEPS
            .iter()
            .zip(steps)
            .map(|((_, name), durations)| (*name, Spread::of(durations)))
            .collect(),
    })
}

/// When each step of `guest`'s join ended (as its lines were read), its `first_frame` event,
/// and when (from the start of joining) it first played the host's sound.
fn step_ends(guest: &Watched) -> anyhow::Result<(Vec<Instant>, Value, f64)> {
    let mut ends = Vec::new();
    let deadline = Instant::now() + JOIN_TIMEOUT;
    let left = || deadline.saturating_duration_since(Instant::now());
    // The first sound may come before the first picture, while waiting for another step.
    let first_audio_ms = std::cell::Cell::new(None);
    let heard = |event: &Value| {
        if event["event"] == "first_audio" {
            first_audio_ms.set(event["ms_since_start"].as_f64());
        }
    };
    for (step, _) in STEPS {
        let (at, event) = guest.wait_for_event(step, left(), |event| {
            heard(event);
            event["event"] == step || (event["event"] == "connection" && event["step"] == step)
        })?;
        ends.push(at);
        if step == "first_frame" {
            if first_audio_ms.get().is_none() {
                guest.wait_for_event("first_audio", left(), |event| {
                    heard(event);
                    first_audio_ms.get().is_some()
                })?;
            }
            let audio_ms = first_audio_ms.get().context("a first_audio event without a time")?;
            return Ok((ends, event, audio_ms));
        }
    }
    anyhow::bail!("the join steps end without a first picture")
}

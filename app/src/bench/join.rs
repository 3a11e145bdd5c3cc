//! Join time: a host runs, guests join one after another, each measured from the command
//! (process start) to its first decoded picture of the host.

use std::time::Duration;

use serde::Serialize;

use super::figures::{Spread, round1};

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
}

/// Runs `joins` joins against one host sending `size` pictures at `fps`.
pub fn run(exe: &std::path::Path, size: &str, fps: u32, joins: usize) -> anyhow::Result<JoinResult> {
    anyhow::ensure!(joins >= 1, "--joins must be at least 1");
    let flags = [
        "--size".to_owned(),
        size.to_owned(),
        "--fps".to_owned(),
        fps.to_string(),
    ];
    let host = super::start_host(exe, "Host", &flags)?;
    let link = super::link_of(&host)?;
    let mut from_command = Vec::new();
    let mut from_joining = Vec::new();
    for number in 1..=joins {
        let guest = super::start_guest(exe, &format!("Guest{number}"), &link, &flags)?;
        let (at, event) = guest.wait_for_event("its first picture", JOIN_TIMEOUT, |event| {
            event["event"] == "first_frame"
        })?;
        from_command.push((at - guest.started).as_secs_f64() * 1000.0);
        from_joining.extend(event["ms_since_start"].as_f64());
        drop(guest);
        // The next guest joins once the host has let this one go.
        host.wait_for_event("the guest leaving", JOIN_TIMEOUT, |event| event["event"] == "peer_left")?;
    }
    Ok(JoinResult {
        size: size.to_owned(),
        joins,
        command_to_first_frame_ms: Spread::of(from_command.into_iter().map(round1).collect()),
        joining_to_first_frame_ms: Spread::of(from_joining),
    })
}

//! A call between N headless `videomeet` processes on this machine: latency from the test
//! pattern's stamps, frame rate and freezes, and each process's CPU and peak memory.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::figures::{Smoothness, Spread, mean, round1};
use super::process::Watched;

/// How long to wait for processes to meet and for the first pictures.
const MEET_TIMEOUT: Duration = Duration::from_secs(60);
/// Settling time after everyone sees everyone, before measuring.
const WARM_UP: Duration = Duration::from_secs(2);

/// What call to run.
#[derive(Clone, Debug, Serialize)]
pub struct CallSetup {
    /// Processes in the call, the host included.
    pub participants: usize,
    /// Picture size, WIDTHxHEIGHT.
    pub size: String,
    /// Frames per second.
    pub fps: u32,
    /// Cameras off: audio only.
    pub audio_only: bool,
    /// How long figures are collected.
    pub duration_secs: f64,
    /// How media travels.
    pub topology: Topology,
    /// How each participant draws the others (`None`: every camera whole).
    pub view: Option<crate::cli::ViewLayout>,
    /// Whose sound a forwarding host passes on.
    pub voices: Voices,
}

/// Whose sound a forwarding host passes on while many talk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Voices {
    /// The loudest three (the host's default).
    Loudest,
    /// Everyone's (`--all-voices`).
    All,
}

/// How a call carries media.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Topology {
    /// Every guest sends to the host, which forwards to the others.
    Forward,
    /// Everyone sends to everyone.
    Mesh,
}

/// What one call measured.
#[derive(Debug, Serialize)]
pub struct CallResult {
    /// The call.
    pub setup: CallSetup,
    /// Capture-to-decoded latency of every picture received by anyone, ms.
    pub latency_ms: Spread,
    /// From a sender's capture of a test-tone marker to the mix handed to the speaker, ms.
    pub audio_latency_ms: Spread,
    /// Frames decoded per second, mean over every incoming video and second.
    pub fps: Option<f64>,
    /// Waits over 150 ms between two decoded pictures, over all incoming videos.
    pub freezes: u64,
    /// Longest wait between two decoded pictures, ms.
    pub max_gap_ms: Option<f64>,
    /// Each process.
    pub participants: Vec<Usage>,
}

/// A call that could not be measured: what it was, and why. The bench goes on with the
/// next call and reports this one as a row of its own.
#[derive(Debug, Serialize)]
pub struct FailedCall {
    /// The call.
    pub setup: CallSetup,
    /// What went wrong, with its causes.
    pub reason: String,
}

impl CallSetup {
    /// "4 participants, 1280x720 30 fps, 15 s", for tables.
    pub fn label(&self) -> String {
        let media = if self.audio_only {
            "audio only".to_owned()
        } else {
            format!("{} {} fps", self.size, self.fps)
        };
        let topology = match self.topology {
            Topology::Forward => "forwarded",
            Topology::Mesh => "mesh",
        };
        let view = match self.view {
            Some(crate::cli::ViewLayout::Gallery) => ", gallery",
            Some(crate::cli::ViewLayout::Speaker) => ", speaker view",
            None => "",
        };
        let voices = match (self.topology, self.voices) {
            (Topology::Forward, Voices::All) => ", all voices",
            _ => "",
        };
        format!(
            "{} participants, {topology}{view}{voices}, {media}, {} s",
            self.participants, self.duration_secs
        )
    }
}

/// CPU and memory of one participant's process.
#[derive(Debug, Serialize)]
pub struct Usage {
    /// Its display name.
    pub name: String,
    /// CPU time over the measured period, in percent of one core.
    pub cpu_pct: f64,
    /// Largest resident memory since it started, MB.
    pub peak_rss_mb: f64,
    /// What it sent, all connections together, kbit/s (mean of its per-second figures).
    pub upload_kbps: Option<f64>,
    /// What it received, all connections together, kbit/s.
    pub download_kbps: Option<f64>,
}

impl CallResult {
    /// Mean CPU per participant, percent of one core.
    pub fn cpu_pct_mean(&self) -> Option<f64> {
        mean(&self.participants.iter().map(|p| p.cpu_pct).collect::<Vec<_>>())
    }

    /// Largest peak memory of any participant, MB.
    pub fn peak_rss_mb_max(&self) -> Option<f64> {
        self.participants.iter().map(|p| p.peak_rss_mb).reduce(f64::max)
    }
}

/// Starts the host, then the guests, waits until everyone receives everyone, measures.
pub fn run(exe: &std::path::Path, setup: &CallSetup) -> anyhow::Result<CallResult> {
    let everyone = start(exe, setup)?;
    measure(&everyone, setup)
}

/// Starts the call's processes, the host first, and waits until everyone receives
/// everyone and the call has settled.
pub fn start(exe: &std::path::Path, setup: &CallSetup) -> anyhow::Result<Vec<Watched>> {
    anyhow::ensure!(setup.participants >= 2, "a call needs at least 2 participants");
    let mut host_flags = media_flags(setup, 1);
    if setup.topology == Topology::Mesh {
        host_flags.push("--mesh".to_owned());
    }
    if setup.voices == Voices::All {
        host_flags.push("--all-voices".to_owned());
    }
    let host = super::start_host(exe, "P1", &host_flags)?;
    let link = super::link_of(&host)?;
    let mut everyone = vec![host];
    for number in 2..=setup.participants {
        everyone.push(super::start_guest(
            exe,
            &format!("P{number}"),
            &link,
            &media_flags(setup, number),
        )?);
    }
    for participant in &everyone {
        wait_until_receiving(participant, setup)?;
    }
    std::thread::sleep(WARM_UP);
    Ok(everyone)
}

/// Measures the running call `everyone` for `setup.duration_secs`, from now.
pub fn measure(everyone: &[Watched], setup: &CallSetup) -> anyhow::Result<CallResult> {
    for participant in everyone {
        participant.take_lines();
    }
    let cpu_before = everyone
        .iter()
        .map(Watched::cpu_time)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let measuring = Instant::now();
    let mut events = Vec::new();
    let until = measuring + Duration::from_secs_f64(setup.duration_secs);
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(200).min(until - Instant::now()));
        for (index, participant) in everyone.iter().enumerate() {
            events.extend(participant.take_lines().into_iter().map(|(_, line)| (index, line)));
        }
    }
    let elapsed = measuring.elapsed().as_secs_f64();
    let events: Vec<(usize, Value)> = events
        .iter()
        .filter_map(|(index, line)| Some((*index, serde_json::from_str::<Value>(line).ok()?)))
        .collect();
    let mut participants = Vec::new();
    for (index, (participant, before)) in everyone.iter().zip(cpu_before).enumerate() {
        let used = participant.cpu_time()?.saturating_sub(before).as_secs_f64();
        let per_second = |key: &str| {
            let totals: Vec<f64> = events
                .iter()
                .filter(|(of, event)| *of == index && event["event"] == "stats")
                .filter_map(|(_, event)| event["peers"].as_array())
                .map(|peers| peers.iter().filter_map(|peer| peer[key].as_f64()).sum())
                .collect();
            mean(&totals).map(round1)
        };
        participants.push(Usage {
            name: participant.name.clone(),
            cpu_pct: round1(used / elapsed * 100.0),
            peak_rss_mb: round1(participant.peak_rss_bytes()? as f64 / 1e6),
            upload_kbps: per_second("send_kbps"),
            download_kbps: per_second("receive_kbps"),
        });
    }
    let events: Vec<Value> = events.into_iter().map(|(_, event)| event).collect();
    let of_kind = |kind: &'static str| events.iter().filter(move |event| event["event"] == kind);
    let all_of = |kind: &'static str, key: &'static str| {
        of_kind(kind)
            .filter_map(|e| e[key].as_array())
            .flatten()
            .filter_map(Value::as_f64)
            .collect()
    };
    let pictures = Smoothness::of(&events);
    Ok(CallResult {
        setup: setup.clone(),
        fps: pictures.fps,
        freezes: pictures.freezes,
        max_gap_ms: pictures.max_gap_ms,
        latency_ms: Spread::of(all_of("video_stats", "latencies_ms")),
        audio_latency_ms: Spread::of(all_of("audio_stats", "marker_latency_ms")),
        participants,
    })
}

/// The `host`/`join` flags for participant `number` (1 for the host): its own test tone.
pub(super) fn media_flags(setup: &CallSetup, number: usize) -> Vec<String> {
    let mut flags = vec![
        "--size".to_owned(),
        setup.size.clone(),
        "--fps".to_owned(),
        setup.fps.to_string(),
        "--mic".to_owned(),
        format!("test-tone:{}", 330 + 110 * number),
    ];
    if setup.audio_only {
        flags.push("--camera-off".to_owned());
    }
    // Each from an address of its own, as on a LAN: the host lets only so many connections
    // come from one address.
    flags.extend(["--local-ip".to_owned(), format!("127.0.0.{}", number + 1)]);
    match setup.view {
        Some(crate::cli::ViewLayout::Gallery) => flags.extend(["--view".to_owned(), "gallery".to_owned()]),
        Some(crate::cli::ViewLayout::Speaker) => flags.extend(["--view".to_owned(), "speaker".to_owned()]),
        None => {}
    }
    flags
}

/// Waits until `participant` sees all the others and, with video, has a picture from each.
pub(super) fn wait_until_receiving(participant: &Watched, setup: &CallSetup) -> anyhow::Result<()> {
    let others = setup.participants - 1;
    let key = if setup.audio_only { "peer_joined" } else { "first_frame" };
    let mut seen = HashSet::new();
    let deadline = Instant::now() + MEET_TIMEOUT;
    while seen.len() < others {
        let left = deadline.saturating_duration_since(Instant::now());
        let (_, event) = participant.wait_for_event(key, left, |event| event["event"] == key)?;
        let id = if setup.audio_only {
            &event["peer"]["id"]
        } else {
            &event["id"]
        };
        seen.insert(id.to_string());
    }
    Ok(())
}

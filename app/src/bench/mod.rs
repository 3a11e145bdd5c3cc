//! `videomeet bench`: starts headless `videomeet` processes on this machine, runs a
//! scenario and writes its figures as JSON and as a markdown table.

mod call;
mod chromium;
mod figures;
mod files;
mod guest_page;
mod headless_chromium;
mod join;
mod process;
mod recording;
mod report;
mod window;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use process::Watched;

/// How long a host may take to open its meeting.
const HOST_TIMEOUT: Duration = Duration::from_secs(30);

/// What to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Calls of every --participants count at every --size: latency, frame rate, freezes,
    /// CPU and peak memory per process.
    Call,
    /// --joins guests join one after another: time to their first picture.
    Join,
    /// A 1:1 call at each --size, ours and Chromium's, with CPU and memory ratios; fails
    /// when Chromium decodes more than 10 % away from --fps (the figures are still written).
    Browser,
    /// Browser guests through the host's own page: --joins joins of headless Chromium
    /// (open the link to first decoded picture), then the CPU of a browser guest and of a
    /// Video Meet guest in the same 1:1 call, at the first --size.
    GuestPage,
    /// The window under an X server: start-up time, and CPU, memory and
    /// capture-to-presented latency receiving a call at the first --size.
    Window,
    /// A file of --file-mib MiB from a guest to the host during a 1:1 call at the first
    /// --size, on each --network: time, MB/s, memory growth, and the call's frame rate,
    /// freezes and concealed sound meanwhile.
    Files,
    /// A call of the first --participants count at the first --size, measured for
    /// --duration as it is and then as long again while its host records it: the CPU
    /// recording adds, the call's figures in both halves, the file's size a minute, and
    /// the time from Stop to a closed file.
    Recording,
    /// All of the above.
    All,
}

/// `videomeet bench` flags.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(long, value_enum, default_value = "call")]
    pub scenario: Scenario,
    /// Participants per call; a list runs one call each (e.g. 2,3,4,6).
    #[arg(long, value_delimiter = ',', default_value = "2")]
    pub participants: Vec<usize>,
    /// Picture sizes; a list runs one call each (e.g. 640x360,1280x720).
    #[arg(long, value_delimiter = ',', default_value = "1280x720")]
    pub size: Vec<String>,
    /// Frames per second.
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// How calls carry media; a list runs one call each: `forward` (through the host) or
    /// `mesh` (everyone to everyone).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "forward")]
    pub topology: Vec<call::Topology>,
    /// How each participant draws the others; a list runs one call each (`gallery`,
    /// `speaker`). Without it, every camera is drawn whole.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub view: Vec<crate::cli::ViewLayout>,
    /// Whose sound a forwarding host passes on while many talk (everyone does, in a
    /// bench); a list runs one call each: `loudest` (the loudest three) or `all`.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "loudest")]
    pub sound: Vec<call::Voices>,
    /// Also run each call with cameras off.
    #[arg(long)]
    pub audio_only: bool,
    /// Seconds of measurement per call.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Joins for the join scenario.
    #[arg(long, default_value_t = 20)]
    pub joins: usize,
    /// The size of the file the files scenario sends, MiB.
    #[arg(long, default_value_t = 500)]
    pub file_mib: u64,
    /// Where the files scenario runs its two processes; a list runs one transfer each:
    /// `loopback`, or `namespaces` (two network namespaces joined by a virtual cable;
    /// needs root and `ip`).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "loopback")]
    pub network: Vec<files::Network>,
    /// Folder for bench.json and bench.md.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

/// Runs the chosen scenarios and writes `bench.json` and `bench.md` into `--out`.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.duration.is_finite() && args.duration >= 1.0,
        "--duration must be at least 1 second"
    );
    anyhow::ensure!(!args.participants.is_empty() && !args.size.is_empty(), "nothing to run");
    anyhow::ensure!(
        args.participants.iter().all(|&n| n >= 2),
        "a call needs at least 2 participants"
    );
    anyhow::ensure!((1..=60).contains(&args.fps), "the frame rate must be 1 to 60");
    anyhow::ensure!(args.file_mib >= 1, "--file-mib must be at least 1");
    for size in &args.size {
        parse_size(size)?;
    }
    let exe = std::env::current_exe().context("cannot find the videomeet program itself")?;
    let wants = |scenario| args.scenario == scenario || args.scenario == Scenario::All;
    let mut calls = Vec::new();
    let mut failed_calls = Vec::new();
    let mut joins = None;
    let mut browsers = Vec::new();
    if wants(Scenario::Call) {
        for audio_only in [false, true].into_iter().filter(|&a| !a || args.audio_only) {
            // Without cameras the picture size does not matter: one call per count.
            let sizes = if audio_only { &args.size[..1] } else { &args.size[..] };
            for size in sizes {
                let views: Vec<Option<crate::cli::ViewLayout>> = if args.view.is_empty() {
                    vec![None]
                } else {
                    args.view.iter().copied().map(Some).collect()
                };
                let calls_wanted = args.participants.iter().flat_map(|n| {
                    let views = &views;
                    args.topology.iter().flat_map(move |t| {
                        views
                            .iter()
                            .flat_map(move |v| args.sound.iter().map(move |s| (*n, *t, *v, *s)))
                    })
                });
                for (participants, topology, view, voices) in calls_wanted {
                    let setup = call::CallSetup {
                        topology,
                        view,
                        voices,
                        ..call_setup(args, participants, size, audio_only)
                    };
                    eprintln!("bench: call {setup:?}");
                    match call::run(&exe, &setup) {
                        Ok(result) => calls.push(result),
                        Err(error) => {
                            let reason = format!("{error:#}");
                            eprintln!("bench: the call did not run: {reason}");
                            failed_calls.push(call::FailedCall { setup, reason });
                        }
                    }
                }
            }
        }
    }
    if wants(Scenario::Join) {
        eprintln!("bench: {} joins at {}", args.joins, args.size[0]);
        joins = Some(join::run(&exe, &args.size[0], args.fps, args.joins)?);
    }
    if wants(Scenario::Browser) {
        for size in &args.size {
            eprintln!("bench: 1:1 call at {size}, ours and Chromium's");
            let ours = call::run(&exe, &call_setup(args, 2, size, false))?;
            let (width, height) = parse_size(size)?;
            let bitrate_bps =
                videomeet_net::meeting::bitrate_for(videomeet_media::video::VideoFormat::new(width, height, args.fps));
            let browser = chromium::run(size, args.fps, bitrate_bps, Duration::from_secs_f64(args.duration))?;
            browsers.push(report::Comparison::new(ours, browser));
        }
    }
    let mut guest_page = None;
    if wants(Scenario::GuestPage) {
        eprintln!(
            "bench: browser guests through the host's page, host sending {}",
            args.size[0]
        );
        guest_page = Some(guest_page::run(
            &exe,
            &args.size[0],
            args.fps,
            args.joins,
            Duration::from_secs_f64(args.duration),
        )?);
    }
    let mut window = None;
    if wants(Scenario::Window) {
        eprintln!("bench: the window, start-up and receiving {}", args.size[0]);
        window = Some(window::run(
            &exe,
            &args.size[0],
            args.fps,
            Duration::from_secs_f64(args.duration),
        )?);
    }
    let mut transfers = Vec::new();
    if wants(Scenario::Files) {
        for &network in &args.network {
            let setup = files::FilesSetup {
                file_mib: args.file_mib,
                network,
                call: call_setup(args, 2, &args.size[0], false),
            };
            eprintln!("bench: a file of {} MiB beside a call, {network:?}", args.file_mib);
            transfers.push(files::run(&exe, &setup)?);
        }
    }
    let mut recordings = Vec::new();
    if wants(Scenario::Recording) {
        let setup = call_setup(args, args.participants[0], &args.size[0], false);
        eprintln!("bench: a call without and with recording, {}", setup.label());
        recordings.push(recording::run(&exe, &setup, &std::env::temp_dir())?);
    }
    let machine = report::Machine::here();
    let results = json!({
        "machine": machine,
        "calls": calls,
        "failed_calls": failed_calls,
        "joins": joins,
        "browser": browsers,
        "window": window,
        "guest_page": guest_page,
        "files": transfers,
        "recordings": recordings,
    });
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let json_path = args.out.join("bench.json");
    let markdown_path = args.out.join("bench.md");
    std::fs::write(&json_path, serde_json::to_string_pretty(&results)? + "\n")
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    let mut markdown = report::markdown(
        &machine,
        (&calls, &failed_calls),
        joins.as_ref(),
        &browsers,
        window.as_ref(),
    );
    if let Some(guest_page) = &guest_page {
        markdown.push_str(&guest_page::markdown(guest_page));
    }
    if !transfers.is_empty() {
        markdown.push_str(&files::markdown(&transfers));
    }
    if !recordings.is_empty() {
        markdown.push_str(&recording::markdown(&recordings));
    }
    std::fs::write(&markdown_path, &markdown).with_context(|| format!("cannot write {}", markdown_path.display()))?;
    print!("{markdown}");
    eprintln!("bench: wrote {} and {}", json_path.display(), markdown_path.display());
    // Written first, so what the browser did can be read; but its figures do not count.
    for comparison in &browsers {
        chromium::check_rates(args.fps, comparison.chromium.fps_each_side)
            .with_context(|| format!("the browser's call at {}", comparison.ours.setup.size))?;
    }
    Ok(())
}

fn call_setup(args: &BenchArgs, participants: usize, size: &str, audio_only: bool) -> call::CallSetup {
    call::CallSetup {
        participants,
        size: size.to_owned(),
        fps: args.fps,
        audio_only,
        duration_secs: args.duration,
        topology: call::Topology::Forward,
        view: None,
        voices: call::Voices::Loudest,
    }
}

/// WIDTHxHEIGHT as numbers, or what is wrong.
fn parse_size(size: &str) -> anyhow::Result<(u32, u32)> {
    size.split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .with_context(|| format!("\"{size}\" is not a picture size like 1280x720"))
}

/// The flags that make a headless participant send `size` pictures at `fps`.
fn picture_flags(size: &str, fps: u32) -> [String; 4] {
    [
        "--size".to_owned(),
        size.to_owned(),
        "--fps".to_owned(),
        fps.to_string(),
    ]
}

/// Starts `videomeet host --headless` on a free port, not announced on the network.
fn start_host(exe: &Path, name: &str, flags: &[String]) -> anyhow::Result<Watched> {
    let mut command = Command::new(exe);
    command
        .args([
            "host",
            "--headless",
            "--no-announce",
            "--port",
            "0",
            "--title",
            "Bench",
            "--name",
            name,
        ])
        .args(flags);
    Watched::spawn(name, command, false)
}

/// Starts `videomeet join --headless LINK`.
fn start_guest(exe: &Path, name: &str, link: &str, flags: &[String]) -> anyhow::Result<Watched> {
    let mut command = Command::new(exe);
    command.args(["join", "--headless", link, "--name", name]).args(flags);
    Watched::spawn(name, command, false)
}

/// The link a host prints once its meeting is open.
fn link_of(host: &Watched) -> anyhow::Result<String> {
    let (_, joined) = host.wait_for_event("its meeting", HOST_TIMEOUT, |event| event["event"] == "joined")?;
    joined["link"]
        .as_str()
        .map(str::to_owned)
        .context("the host's joined event has no link")
}

//! A file handed from one headless `videomeet` to another in the middle of a 1:1 call:
//! how fast it moves, whether memory stays flat while it does, and what the call keeps
//! meanwhile (frame rate, freezes, concealed sound). On loopback, or between two network
//! namespaces joined by a virtual cable, as two machines on a LAN are.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use serde_json::{Value, json};

use super::call::{self, CallSetup};
use super::figures::{Smoothness, round1};
use super::process::{Watched, rss_bytes_of};

/// Settling time once both receive each other.
const WARM_UP: Duration = Duration::from_secs(2);
/// How long the call is watched without a file, before the file is offered.
const QUIET: Duration = Duration::from_secs(5);
/// How often memory is looked at while the file moves.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// The slowest transfer waited for, in bytes a second, before the bench gives up.
const SLOWEST_BYTES_PER_SECOND: u64 = 1_000_000;

/// Where the two processes run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// Both on this machine's loopback.
    Loopback,
    /// Each in a network namespace of its own, joined by a veth pair (needs root and `ip`).
    Namespaces,
}

/// What transfer to run.
#[derive(Clone, Debug, Serialize)]
pub struct FilesSetup {
    /// The size of the file, MiB.
    pub file_mib: u64,
    /// Where the processes run.
    pub network: Network,
    /// The call beside it.
    pub call: CallSetup,
}

/// What one transfer measured.
#[derive(Debug, Serialize)]
pub struct FilesResult {
    /// The transfer.
    pub setup: FilesSetup,
    /// From asking for the file to its being saved and checked, s.
    pub seconds: f64,
    /// The file's bytes over that time, MB/s (10^6 bytes).
    pub mb_per_s: f64,
    /// The call in the [`QUIET`] before the file was offered.
    pub call_before: CallFigures,
    /// The call while the file moved.
    pub call_meanwhile: CallFigures,
    /// The sender's CPU meanwhile, percent of one core.
    pub sender_cpu_pct: f64,
    /// The receiver's CPU meanwhile, percent of one core.
    pub receiver_cpu_pct: f64,
    /// How much the sender's resident memory grew meanwhile at most, MB.
    pub sender_memory_growth_mb: f64,
    /// How much the receiver's resident memory grew meanwhile at most, MB.
    pub receiver_memory_growth_mb: f64,
}

/// What the call did over a while, both directions together.
#[derive(Debug, Serialize)]
pub struct CallFigures {
    /// How smoothly the pictures came, both directions together.
    #[serde(flatten)]
    pub pictures: Smoothness,
    /// Most sound concealment had to invent in any second, percent.
    pub max_concealed_pct: Option<f64>,
}

impl CallFigures {
    /// The figures in the `video_stats` and `stats` events of both processes.
    fn of(events: &[Value]) -> Self {
        Self {
            pictures: Smoothness::of(events),
            max_concealed_pct: events
                .iter()
                .filter(|event| event["event"] == "stats")
                .filter_map(|e| e["peers"].as_array())
                .flatten()
                .filter_map(|peer| peer["audio_concealed_pct"].as_f64())
                .reduce(f64::max),
        }
    }

    /// "29.9 fps, 0 freezes (longest gap 78 ms), at most 2.0 % concealed", for tables.
    fn cell(&self) -> String {
        format!(
            "{} fps, {} freezes, longest gap {} ms, at most {} % concealed",
            super::figures::cell(self.pictures.fps),
            self.pictures.freezes,
            super::figures::cell(self.pictures.max_gap_ms),
            super::figures::cell(self.max_concealed_pct)
        )
    }
}

/// Events of both processes as JSON, from the lines they printed.
fn events_of(processes: [&Watched; 2]) -> Vec<Value> {
    processes
        .iter()
        .flat_map(|process| process.take_lines())
        .filter_map(|(_, line)| serde_json::from_str(&line).ok())
        .collect()
}

/// A folder of the bench's own with the file to send, removed with everything in it.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Two network namespaces joined by a veth pair, removed (with the pair) on drop.
struct Namespaces {
    names: [String; 2],
}

impl Namespaces {
    /// The address of participant `number` (1 or 2) on the cable.
    fn address(number: usize) -> String {
        format!("10.77.0.{number}")
    }

    fn make() -> anyhow::Result<Self> {
        let pid = std::process::id();
        let made = Self {
            names: [format!("videomeet-bench-{pid}-1"), format!("videomeet-bench-{pid}-2")],
        };
        let [one, two] = &made.names;
        let (end_one, end_two) = (format!("vmb{pid}a"), format!("vmb{pid}b"));
        let mut steps: Vec<Vec<String>> = vec![
            vec!["netns".into(), "add".into(), one.clone()],
            vec!["netns".into(), "add".into(), two.clone()],
            vec![
                "link".into(),
                "add".into(),
                end_one.clone(),
                "netns".into(),
                one.clone(),
                "type".into(),
                "veth".into(),
                "peer".into(),
                "name".into(),
                end_two.clone(),
                "netns".into(),
                two.clone(),
            ],
        ];
        for (name, end, number) in [(one, &end_one, 1), (two, &end_two, 2)] {
            let address = format!("{}/24", Self::address(number));
            steps.push(vec![
                "-n".into(),
                name.clone(),
                "link".into(),
                "set".into(),
                "lo".into(),
                "up".into(),
            ]);
            steps.push(vec![
                "-n".into(),
                name.clone(),
                "addr".into(),
                "add".into(),
                address,
                "dev".into(),
                end.clone(),
            ]);
            steps.push(vec![
                "-n".into(),
                name.clone(),
                "link".into(),
                "set".into(),
                end.clone(),
                "up".into(),
            ]);
        }
        for step in steps {
            let output = Command::new("ip")
                .args(&step)
                .output()
                .context("could not run `ip` (network namespaces need it, and root)")?;
            anyhow::ensure!(
                output.status.success(),
                "`ip {}` failed (network namespaces need root): {}",
                step.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(made)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = Command::new("ip").args(["netns", "delete", name]).output();
        }
    }
}

/// Writes `mib` MiB of varied bytes (nothing a sparse file could shorten) to `path`, the
/// same MiB over and over, so memory stays flat however large the file.
fn write_file(path: &Path, mib: u64) -> anyhow::Result<()> {
    use std::io::Write;
    let block = videomeet_media::testing::varied_bytes(1024 * 1024);
    let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut file = std::io::BufWriter::new(file);
    for _ in 0..mib {
        file.write_all(&block)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    file.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The command that runs `videomeet` with `args`, in namespace `inside` when given.
fn videomeet(exe: &Path, inside: Option<&str>, args: &[String]) -> Command {
    let mut command = match inside {
        Some(namespace) => {
            let mut command = Command::new("ip");
            command.args(["netns", "exec", namespace]).arg(exe);
            command
        }
        None => Command::new(exe),
    };
    command.args(args);
    command
}

/// Starts a call of two, has the guest offer a file of `setup.file_mib` MiB and the host
/// save it, and measures from the host's asking to the file saved and checked.
pub fn run(exe: &Path, setup: &FilesSetup) -> anyhow::Result<FilesResult> {
    let namespaces = match setup.network {
        Network::Loopback => None,
        Network::Namespaces => Some(Namespaces::make()?),
    };
    let inside = |number: usize| namespaces.as_ref().map(|n| n.names[number - 1].as_str());
    let flags = |number: usize| {
        let mut flags = call::media_flags(&setup.call, number);
        if namespaces.is_some()
            && let Some(at) = flags.iter().position(|flag| flag == "--local-ip")
        {
            flags[at + 1] = Namespaces::address(number);
        }
        flags
    };

    let scratch = Scratch(std::env::temp_dir().join(format!("videomeet-bench-files-{}", std::process::id())));
    let saved = scratch.0.join("saved");
    std::fs::create_dir_all(&saved).with_context(|| format!("cannot create {}", saved.display()))?;
    let offered = scratch.0.join("offered.bin");
    write_file(&offered, setup.file_mib)?;
    let size = setup.file_mib * 1024 * 1024;

    let host_args: Vec<String> = ["host", "--headless", "--no-announce", "--port", "0", "--title", "Bench"]
        .into_iter()
        .map(str::to_owned)
        .chain(["--name".to_owned(), "Receiver".to_owned()])
        .chain(flags(1))
        .collect();
    let mut receiver = Watched::spawn("Receiver", videomeet(exe, inside(1), &host_args), false)?;
    let link = super::link_of(&receiver)?;
    let guest_args: Vec<String> = ["join", "--headless", &link, "--name", "Sender"]
        .into_iter()
        .map(str::to_owned)
        .chain(flags(2))
        .collect();
    let mut sender = Watched::spawn("Sender", videomeet(exe, inside(2), &guest_args), false)?;
    for participant in [&receiver, &sender] {
        call::wait_until_receiving(participant, &setup.call)?;
    }
    std::thread::sleep(WARM_UP);
    events_of([&sender, &receiver]);
    std::thread::sleep(QUIET);
    let call_before = CallFigures::of(&events_of([&sender, &receiver]));
    let memory_before = [rss_bytes_of(sender.pid()), rss_bytes_of(receiver.pid())];
    sender.say(&json!({"command": "send_file", "path": offered}).to_string())?;
    let (_, offer) = receiver.wait_for_event("the file's offer", super::HOST_TIMEOUT, |event| {
        event["event"] == "file_offered"
    })?;
    let seq = offer["offer"]["seq"].as_u64().context("an offer without a number")?;
    sender.take_lines();
    let cpu_before = [sender.cpu_time()?, receiver.cpu_time()?];
    let asked = Instant::now();
    receiver.say(&json!({"command": "save_file", "seq": seq, "folder": saved}).to_string())?;

    let deadline = asked + Duration::from_secs(30 + size / SLOWEST_BYTES_PER_SECOND);
    let mut memory_peak = memory_before;
    let mut events: Vec<Value> = Vec::new();
    let ended = 'transfer: loop {
        anyhow::ensure!(Instant::now() < deadline, "the file did not arrive within {deadline:?}");
        std::thread::sleep(SAMPLE_EVERY);
        for (peak, process) in memory_peak.iter_mut().zip([&sender, &receiver]) {
            *peak = (*peak).max(rss_bytes_of(process.pid()));
        }
        for process in [&sender, &receiver] {
            for (at, line) in process.take_lines() {
                let Ok(event) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if process.name == "Receiver" && event["event"] == "file_ended" {
                    break 'transfer (at, event);
                }
                events.push(event);
            }
        }
    };
    let cpu_used = [sender.cpu_time()?, receiver.cpu_time()?];
    let (ended_at, ended) = ended;
    anyhow::ensure!(
        ended["outcome"] == "saved",
        "the file was not saved: {} ({})",
        ended["outcome"],
        ended["detail"]
    );
    let saved_path = PathBuf::from(ended["detail"].as_str().unwrap_or_default());
    let saved_size = std::fs::metadata(&saved_path)
        .with_context(|| format!("the saved file {} is not there", saved_path.display()))?
        .len();
    anyhow::ensure!(saved_size == size, "{saved_size} bytes saved of {size}");
    receiver.stop();
    sender.stop();
    drop(namespaces);

    let seconds = ended_at.duration_since(asked).as_secs_f64();
    let cpu_pct =
        |index: usize| round1(cpu_used[index].saturating_sub(cpu_before[index]).as_secs_f64() / seconds * 100.0);
    let growth_mb = |index: usize| round1(memory_peak[index].saturating_sub(memory_before[index]) as f64 / 1e6);
    Ok(FilesResult {
        setup: setup.clone(),
        seconds: (seconds * 1000.0).round() / 1000.0,
        mb_per_s: round1(size as f64 / seconds / 1e6),
        call_before,
        call_meanwhile: CallFigures::of(&events),
        sender_cpu_pct: cpu_pct(0),
        receiver_cpu_pct: cpu_pct(1),
        sender_memory_growth_mb: growth_mb(0),
        receiver_memory_growth_mb: growth_mb(1),
    })
}

/// The transfers as a markdown table.
pub fn markdown(results: &[FilesResult]) -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "\n## A file beside a 1:1 call\n\n\
         | network | file | call | time | MB/s | CPU sender / receiver % | memory growth sender / receiver MB | the call before | the call meanwhile |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for result in results {
        let network = match result.setup.network {
            Network::Loopback => "loopback",
            Network::Namespaces => "namespaces",
        };
        let _ = writeln!(
            out,
            "| {network} | {} MiB | {} {} fps | {:.2} s | {:.1} | {:.0} / {:.0} | {:.1} / {:.1} | {} | {} |",
            result.setup.file_mib,
            result.setup.call.size,
            result.setup.call.fps,
            result.seconds,
            result.mb_per_s,
            result.sender_cpu_pct,
            result.receiver_cpu_pct,
            result.sender_memory_growth_mb,
            result.receiver_memory_growth_mb,
            result.call_before.cell(),
            result.call_meanwhile.cell(),
        );
    }
    out
}

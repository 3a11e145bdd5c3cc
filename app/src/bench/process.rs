//! Processes the bench starts: their output lines, and their CPU time and memory read from
//! `/proc`, so every figure belongs to one real process.

use std::io::Write;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

/// Clock ticks per second in `/proc/<pid>/stat` (USER_HZ, 100 on every Linux architecture
/// this program is built for).
const TICKS_PER_SEC: f64 = 100.0;

/// A started process whose output lines arrive with the time they were read; killed on drop.
pub struct Watched {
    /// Short name for messages.
    pub name: String,
    child: Child,
    /// Its standard input, for the commands of a headless meeting.
    input: Option<ChildStdin>,
    lines: Receiver<(Instant, String)>,
    /// When it was started.
    pub started: Instant,
}

impl Watched {
    /// Starts `command`, reading its stdout (or stderr with `from_stderr`) line by line.
    pub fn spawn(name: &str, mut command: Command, from_stderr: bool) -> anyhow::Result<Self> {
        let (out, err) = if from_stderr {
            (Stdio::null(), Stdio::piped())
        } else {
            (Stdio::piped(), Stdio::null())
        };
        let started = Instant::now();
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("could not start {name} ({:?})", command.get_program()))?;
        let input = child.stdin.take();
        let output: Box<dyn Read + Send> = match (child.stdout.take(), child.stderr.take()) {
            (Some(stdout), _) => Box::new(stdout),
            (None, Some(stderr)) => Box::new(stderr),
            (None, None) => anyhow::bail!("{name} has no output to read"),
        };
        // Generous: the bench drains it at least every few hundred milliseconds.
        let (sender, lines) = sync_channel(16_384);
        std::thread::Builder::new()
            .name(format!("bench-{name}"))
            .spawn(move || {
                for line in BufReader::new(output).lines().map_while(Result::ok) {
                    if sender.send((Instant::now(), line)).is_err() {
                        break;
                    }
                }
            })
            .context("could not start a thread to read a process's output")?;
        Ok(Self {
            name: name.to_owned(),
            child,
            input,
            lines,
            started,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every line read so far, without waiting.
    pub fn take_lines(&self) -> Vec<(Instant, String)> {
        self.lines.try_iter().collect()
    }

    /// The next line, waiting until `deadline`; an error once the process ends or time is up.
    pub fn next_line(&self, deadline: Instant) -> anyhow::Result<(Instant, String)> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => anyhow::bail!("{} said nothing in time", self.name),
            Err(RecvTimeoutError::Disconnected) => anyhow::bail!("{} ended early", self.name),
        }
    }

    /// Reads JSON lines until one satisfies `wanted`, skipping the others (and any line that
    /// is not JSON); gives up after `timeout`.
    pub fn wait_for_event(
        &self,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<(Instant, Value)> {
        let deadline = Instant::now() + timeout;
        loop {
            let (at, line) = self
                .next_line(deadline)
                .with_context(|| format!("waiting for {what} from {}", self.name))?;
            if let Ok(event) = serde_json::from_str::<Value>(&line)
                && wanted(&event)
            {
                return Ok((at, event));
            }
        }
    }

    /// Writes one line to its standard input.
    pub fn say(&mut self, line: &str) -> anyhow::Result<()> {
        let input = self
            .input
            .as_mut()
            .with_context(|| format!("{} takes no input", self.name))?;
        writeln!(input, "{line}")
            .and_then(|()| input.flush())
            .with_context(|| format!("{} does not listen", self.name))
    }

    /// CPU time used so far.
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        cpu_time_of(self.pid())
    }

    /// Largest resident memory so far, in bytes.
    pub fn peak_rss_bytes(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .with_context(|| format!("{} is not running", self.name))?;
        status_kb(&status, "VmHWM:")
            .map(|kb| kb * 1024)
            .with_context(|| format!("no VmHWM for {}", self.name))
    }
}

impl Watched {
    /// Stops the process now, and waits until it is gone (what dropping it does too).
    pub fn stop(&mut self) {
        // Killing a process that already ended fails harmlessly.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.stop();
    }
}

/// CPU time of a process and its descendants alive now (a browser's many processes).
pub fn tree_cpu(root: u32) -> Duration {
    process_tree(root)
        .into_iter()
        .filter_map(|pid| cpu_time_of(pid).ok())
        .sum()
}

/// User plus system CPU time of a process so far.
pub fn cpu_time_of(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("process {pid} is not running"))?;
    let ticks = stat_ticks(&stat).with_context(|| format!("cannot read /proc/{pid}/stat"))?;
    Ok(Duration::from_secs_f64(ticks as f64 / TICKS_PER_SEC))
}

/// Current resident memory of a process, in bytes (0 once it has ended).
pub fn rss_bytes_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| status_kb(&status, "VmRSS:"))
        .map_or(0, |kb| kb * 1024)
}

/// Current proportional memory of a process (shared pages split among the processes that
/// map them), in bytes (0 once it has ended).
pub fn pss_bytes_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|rollup| status_kb(&rollup, "Pss:"))
        .map_or(0, |kb| kb * 1024)
}

/// The process and all its descendants, from the parent ids in `/proc/*/stat`.
pub fn process_tree(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            Some((pid, stat_parent(&stat)?))
        })
        .collect();
    let mut tree = vec![root];
    let mut next = 0;
    while let Some(&parent) = tree.get(next) {
        tree.extend(parents.iter().filter(|(_, p)| *p == parent).map(|(pid, _)| *pid));
        next += 1;
    }
    tree
}

/// The fields after the command name in `/proc/<pid>/stat` (the name may hold spaces).
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    Some(stat.get(stat.rfind(')')? + 1..)?.split_whitespace().collect())
}

/// utime + stime in clock ticks (fields 14 and 15, counting from 1 at the pid).
fn stat_ticks(stat: &str) -> Option<u64> {
    let fields = stat_fields(stat)?;
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// The parent id (field 4).
fn stat_parent(stat: &str) -> Option<u32> {
    stat_fields(stat)?.get(1)?.parse().ok()
}

/// A `kB` figure from `/proc/<pid>/status`.
fn status_kb(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_lines_are_read_even_with_odd_names() {
        let stat = "4242 (my (odd) name) S 17 4242 4242 0 -1 4194304 120 0 0 0 250 37 0 0 20 0 9";
        assert_eq!(stat_ticks(stat), Some(287));
        assert_eq!(stat_parent(stat), Some(17));
        assert_eq!(stat_ticks("garbage"), None);
        let status = "Name:\tx\nVmHWM:\t   51234 kB\nVmRSS:\t   40000 kB\n";
        assert_eq!(status_kb(status, "VmHWM:"), Some(51_234));
        assert_eq!(status_kb(status, "VmSwap:"), None);
    }

    #[test]
    fn this_process_has_cpu_time_memory_and_a_tree() {
        let me = std::process::id();
        assert!(cpu_time_of(me).is_ok());
        assert!(rss_bytes_of(me) > 0);
        assert!(pss_bytes_of(me) > 0);
        assert_eq!(process_tree(me)[0], me);
    }
}

//! Helpers shared by the integration tests that run the `videomeet` program.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// Kills the process when the test ends, however it ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What an X tool (xwininfo, xprop, xdotool) prints, or nothing when it cannot run.
#[allow(dead_code)]
pub fn x_tool(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

/// The `videomeet` program with `args`, its output piped, its log dropped, nothing on its
/// input (a headless meeting reads commands there).
pub fn videomeet(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_videomeet"));
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

/// The lines `output` gives, as they come, read on a thread named `name`.
pub fn read_lines(name: &str, output: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (lines_tx, lines) = mpsc::sync_channel(256);
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            for line in BufReader::new(output).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        })
        .unwrap();
    lines
}

/// Starts a headless host of "Test" (Grace) on any port, with `args` added; returns it, its
/// output lines and its `joined` event.
pub fn start_host(args: &[&str]) -> (Running, mpsc::Receiver<String>, Value) {
    start_host_with_env(args, std::iter::empty::<(String, String)>())
}

/// [`start_host`] with `env` added to the program's environment.
pub fn start_host_with_env<K, V>(
    args: &[&str],
    env: impl IntoIterator<Item = (K, V)>,
) -> (Running, mpsc::Receiver<String>, Value)
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let mut host = Running(
        videomeet(&[
            "host",
            "--headless",
            "--title",
            "Test",
            "--name",
            "Grace",
            "--port",
            "0",
            "--no-announce",
        ])
        .args(args)
        .envs(env)
        // Open, for the tests that send commands.
        .stdin(Stdio::piped())
        .spawn()
        .expect("host starts"),
    );
    let lines = read_lines("host-output", host.0.stdout.take().expect("host stdout"));
    let joined: Value = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("the host reports joining");
        let event: Value = serde_json::from_str(&line).expect("JSON line");
        if event["event"] == "joined" {
            break event;
        }
    };
    (host, lines, joined)
}

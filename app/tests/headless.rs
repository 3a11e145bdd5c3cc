//! Two `videomeet` processes meet without windows: the headless commands work end to end.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn videomeet() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_videomeet"));
    command.stdout(Stdio::piped()).stderr(Stdio::null());
    command
}

#[test]
fn a_guest_process_receives_the_hosts_video() {
    let mut host = videomeet()
        .args([
            "host",
            "--title",
            "Test",
            "--name",
            "Grace",
            "--port",
            "0",
            "--no-announce",
        ])
        .args(["--size", "640x360", "--duration", "20"])
        .spawn()
        .expect("host starts");
    let (lines_tx, lines) = mpsc::sync_channel(64);
    let stdout = host.stdout.take().expect("host stdout");
    std::thread::Builder::new()
        .name("host-output".into())
        .spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        })
        .unwrap();
    let link = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("the host prints its link");
        if let Some(link) = line.strip_prefix("link: ") {
            break link.to_owned();
        }
    };
    let guest = videomeet()
        .args(["join", &link, "--name", "Ada", "--size", "640x360", "--duration", "4"])
        .output()
        .expect("guest runs");
    let _ = host.kill();
    let _ = host.wait();
    let output = String::from_utf8_lossy(&guest.stdout);
    assert!(guest.status.success(), "{output}");
    assert!(output.contains("Grace joined (participant 1, host)"), "{output}");
    let rates: Vec<f64> = output
        .lines()
        .filter_map(|line| line.split(" fps").next()?.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(rates.iter().any(|&fps| fps >= 20.0), "no steady video: {output}");
    assert!(output.contains("capture-to-decoded median"), "{output}");
    assert!(output.trim_end().ends_with("meeting ended"), "{output}");
}

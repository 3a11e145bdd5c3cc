//! The installed command behaves as documented.

use std::process::Command;

fn videomeet(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_videomeet"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn version_matches_the_package() {
    let (ok, stdout, _) = videomeet(&["--version"]);
    assert!(ok);
    assert_eq!(stdout.trim(), format!("videomeet {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn help_names_the_commands() {
    let (ok, stdout, _) = videomeet(&["--help"]);
    assert!(ok);
    assert!(stdout.contains("local network"), "{stdout}");
    assert!(stdout.contains("devices"), "{stdout}");
}

#[test]
fn devices_lists_the_synthetic_sources() {
    let (ok, stdout, stderr) = videomeet(&["devices"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("test-pattern"), "{stdout}");
    assert!(stdout.contains("test-tone:440"), "{stdout}");
    assert!(stdout.contains("mute"), "{stdout}");
}

#[test]
fn a_listing_read_by_nobody_ends_quietly() {
    // As in `videomeet devices | head -1`: the reader is gone before anything is written.
    let config = std::env::temp_dir().join(format!("videomeet-cli-closed-pipe-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_videomeet"))
        .arg("devices")
        .env("VIDEOMEET_CONFIG_DIR", &config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("it ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}: {stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(&config);
}

#[test]
fn an_unknown_command_fails_with_a_message() {
    let (ok, _, stderr) = videomeet(&["teleport"]);
    assert!(!ok);
    assert!(stderr.contains("teleport"), "{stderr}");
}

#[test]
fn list_help_explains_the_lines_it_prints() {
    let (ok, stdout, stderr) = videomeet(&["list", "--help"]);
    assert!(ok, "{stderr}");
    for event in ["\"found\"", "\"changed\"", "\"gone\""] {
        assert!(stdout.contains(event), "{event} is not explained: {stdout}");
    }
}

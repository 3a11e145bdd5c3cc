//! `videomeet bench` runs a short call, and a short transfer, between two processes and
//! writes their figures.

use std::process::Command;

use serde_json::Value;

/// Runs `videomeet bench` with `flags`, writing into `out`; what it wrote to bench.json.
fn bench(flags: &[&str], out: &std::path::Path) -> Value {
    let status = Command::new(env!("CARGO_BIN_EXE_videomeet"))
        .arg("bench")
        .args(flags)
        .arg("--out")
        .arg(out)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("videomeet starts");
    assert!(status.success(), "bench failed: {status}");
    serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).expect("bench.json written"))
        .expect("bench.json is JSON")
}

#[test]
fn a_short_bench_call_writes_its_figures() {
    let out = std::env::temp_dir().join(format!("videomeet-bench-test-{}", std::process::id()));
    let results = bench(
        &[
            "--scenario",
            "call",
            "--participants",
            "2",
            "--size",
            "320x180",
            "--duration",
            "2",
        ],
        &out,
    );
    let call = &results["calls"][0];
    assert!(call["latency_ms"]["count"].as_u64() > Some(10), "{call}");
    assert!(call["latency_ms"]["p50"].as_f64() > Some(0.0), "{call}");
    assert!(call["fps"].as_f64() > Some(5.0), "{call}");
    assert!(call["audio_latency_ms"]["p50"].as_f64() > Some(0.0), "{call}");
    let participants = call["participants"].as_array().expect("participants");
    assert_eq!(participants.len(), 2);
    for participant in participants {
        assert!(participant["cpu_pct"].as_f64() > Some(0.0), "{participant}");
        assert!(participant["peak_rss_mb"].as_f64() > Some(1.0), "{participant}");
        assert!(participant["upload_kbps"].as_f64() > Some(10.0), "{participant}");
        assert!(participant["download_kbps"].as_f64() > Some(10.0), "{participant}");
    }
    assert_eq!(results["machine"]["cores"].as_u64().map(|c| c > 0), Some(true));
    let table = std::fs::read_to_string(out.join("bench.md")).expect("bench.md written");
    assert!(
        table.contains("| 2 participants, forwarded, 320x180 30 fps, 2 s |"),
        "{table}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_short_bench_transfer_writes_its_figures() {
    let out = std::env::temp_dir().join(format!("videomeet-bench-files-test-{}", std::process::id()));
    let results = bench(&["--scenario", "files", "--file-mib", "8", "--size", "320x180"], &out);
    let transfer = &results["files"][0];
    assert_eq!(transfer["setup"]["network"], "loopback", "{transfer}");
    let seconds = transfer["seconds"].as_f64().expect("seconds");
    let rate = transfer["mb_per_s"].as_f64().expect("MB/s");
    // The rate is the file's bytes over the time: 8 MiB.
    assert!(
        seconds > 0.0 && (rate * seconds / 8.388_608 - 1.0).abs() < 0.05,
        "{transfer}"
    );
    assert!(transfer["call_before"]["fps"].as_f64() > Some(5.0), "{transfer}");
    // A file this small moves within a second, before the call reports figures again.
    assert!(transfer["call_meanwhile"].is_object(), "{transfer}");
    assert!(transfer["sender_cpu_pct"].as_f64() > Some(0.0), "{transfer}");
    assert!(transfer["receiver_memory_growth_mb"].as_f64().is_some(), "{transfer}");
    let table = std::fs::read_to_string(out.join("bench.md")).expect("bench.md written");
    assert!(table.contains("| loopback | 8 MiB | 320x180 30 fps |"), "{table}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bad_bench_flags_are_explained() {
    for (flags, expected) in [
        (&["--size", "big"][..], "not a picture size"),
        (&["--duration", "0"][..], "at least 1 second"),
        (&["--participants", "1"][..], "at least 2 participants"),
        (
            &["--scenario", "files", "--file-mib", "0"][..],
            "--file-mib must be at least 1",
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_videomeet"))
            .arg("bench")
            .args(flags)
            .args(["--out", "/nonexistent-videomeet-bench"])
            .output()
            .expect("videomeet starts");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && stderr.contains(expected),
            "{flags:?}: {stderr}"
        );
    }
}

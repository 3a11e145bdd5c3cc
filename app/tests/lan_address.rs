//! The shareable link names the machine's LAN address even on a network with no route to
//! the internet (no default route), which is the network this program is for.

use std::process::Command;

/// The `link` a headless host prints, run in a fresh network namespace whose only network
/// is `lan0` (one end of a veth pair) with 10.9.0.2/24 and no default route.
fn link_without_a_default_route() -> Option<String> {
    let script = format!(
        "ip link set lo up && ip link add lan0 type veth peer name lan1 && ip link set lan1 up \
         && ip addr add 10.9.0.2/24 dev lan0 \
         && ip link set lan0 up && exec {} host --headless --name Grace --port 0 --no-announce \
         --size 160x120 --duration 0.5",
        env!("CARGO_BIN_EXE_videomeet")
    );
    let output = Command::new("unshare")
        .args(["--net", "sh", "-c", &script])
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "SKIPPED: no network namespace here (needs root, unshare and ip): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        return None;
    }
    let joined = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|event| event["event"] == "joined")
        .expect("the host joined its meeting");
    Some(joined["link"].as_str().expect("a link").to_owned())
}

#[test]
fn the_link_names_the_lan_address_without_a_default_route() {
    let Some(link) = link_without_a_default_route() else {
        return;
    };
    assert!(link.starts_with("videomeet://10.9.0.2:"), "{link}");
}

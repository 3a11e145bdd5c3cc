//! The shareable link names the machine's LAN address even on a network with no route to
//! the internet (no default route), which is the network this program is for.
//!
//! Needs network namespaces (root, `unshare` and `ip`). Where they cannot be made the test
//! is skipped, visibly, unless `VIDEOMEET_EXPECT_NETNS` is set (CI sets it where it runs
//! with the privileges), which turns that into a failure.

use std::process::Command;

use videomeet_media::testing;

/// What the namespace needs before the program runs in it: its loopback up and a veth pair.
const NETWORK: &str = "ip link set lo up && ip link add lan0 type veth peer name lan1 && ip link set lan1 up \
                       && ip addr add 10.9.0.2/24 dev lan0 && ip link set lan0 up";

/// Why a network namespace like the test's cannot be made here, if it cannot.
fn no_network_namespace() -> Option<String> {
    match Command::new("unshare").args(["--net", "sh", "-c", NETWORK]).output() {
        Ok(output) if output.status.success() => None,
        Ok(output) => Some(String::from_utf8_lossy(&output.stderr).trim().to_owned()),
        Err(error) => Some(format!("unshare: {error}")),
    }
}

/// The `link` a headless host prints, run in a fresh network namespace whose only network
/// is `lan0` (one end of a veth pair) with 10.9.0.2/24 and no default route.
fn link_without_a_default_route() -> String {
    let script = format!(
        "{NETWORK} && exec {} host --headless --name Grace --port 0 --no-announce --size 160x120 --duration 0.5",
        env!("CARGO_BIN_EXE_videomeet")
    );
    let output = Command::new("unshare")
        .args(["--net", "sh", "-c", &script])
        .output()
        .expect("unshare runs");
    assert!(
        output.status.success(),
        "the host failed in the namespace ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let joined = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|event| event["event"] == "joined")
        .expect("the host joined its meeting");
    joined["link"].as_str().expect("a link").to_owned()
}

#[test]
fn the_link_names_the_lan_address_without_a_default_route() {
    if let Some(why) = no_network_namespace() {
        testing::skip_unless_required(
            "the_link_names_the_lan_address_without_a_default_route",
            &format!("no network namespace here (needs root, unshare and ip): {why}"),
            testing::expected("VIDEOMEET_EXPECT_NETNS"),
        );
        return;
    }
    let link = link_without_a_default_route();
    assert!(link.starts_with("videomeet://10.9.0.2:"), "{link}");
}

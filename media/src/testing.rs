//! For the test suites of this workspace: a test that cannot run where it is run says so
//! where it shows, and fails instead where its environment is promised.
//!
//! Who promises what: the test command (`./test.sh`, through `installer/test-env.sh`) sets
//! `VIDEOMEET_EXPECT_DISPLAY` and `VIDEOMEET_EXPECT_AUDIO_DEVICES`; continuous integration
//! sets `CI` and runs that command on Linux, so there a missing display, sound server or
//! Chromium is a fault of the machine, not a reason to skip. Some things only some CI
//! machines have (network namespaces need privileges a container may lack): their own
//! `VIDEOMEET_EXPECT_*` variable says where.

use std::io::Write;

/// The tests run under continuous integration: `CI` is set to anything but `false` or `0`
/// (GitHub Actions sets `CI=true`, and so does the project's own CI run).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.trim(), "" | "0" | "false"))
}

/// An environment variable is set (to anything).
pub fn expected(variable: &str) -> bool {
    std::env::var_os(variable).is_some()
}

/// Says that `test` did not run because of `reason`, on the test process's own standard
/// error: libtest keeps what a passing test prints with `eprintln!` to itself, so such a
/// skip would read as a plain "ok".
pub fn skip(test: &str, reason: &str) {
    let rule = "=".repeat(78);
    let _ = writeln!(std::io::stderr().lock(), "\n{rule}\nSKIPPED {test}: {reason}\n{rule}");
}

/// `test` cannot run because of `reason`: a failure where `required` (the environment
/// promised what is missing), otherwise a skip that shows (see [`skip`]).
///
/// # Panics
/// When `required`.
pub fn skip_unless_required(test: &str, reason: &str, required: bool) {
    assert!(
        !required,
        "{test} cannot run here, yet this environment must provide what it needs: {reason}"
    );
    skip(test, reason);
}

/// Whether the test command's display is there (`VIDEOMEET_EXPECT_DISPLAY`): otherwise
/// `test` is skipped, visibly, or fails under CI, which always runs that command.
pub fn expect_display(test: &str) -> bool {
    expect_from_test_command(test, "VIDEOMEET_EXPECT_DISPLAY", "display")
}

/// Whether the test command's sound server and virtual devices are there
/// (`VIDEOMEET_EXPECT_AUDIO_DEVICES`): otherwise as [`expect_display`].
pub fn expect_audio_devices(test: &str) -> bool {
    expect_from_test_command(test, "VIDEOMEET_EXPECT_AUDIO_DEVICES", "sound server")
}

fn expect_from_test_command(test: &str, variable: &str, what: &str) -> bool {
    if expected(variable) {
        return true;
    }
    skip_unless_required(
        test,
        &format!("no {variable}: the test command (./test.sh) sets it and provides the {what}"),
        under_ci(),
    );
    false
}

/// A new empty folder for one test, in the temporary folder, named after `name` and this
/// process.
pub fn scratch_folder(name: &str) -> std::path::PathBuf {
    let folder = std::env::temp_dir().join(format!("videomeet-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    let _ = std::fs::create_dir_all(&folder);
    folder
}

/// The names of what `folder` holds, sorted (none when it cannot be read).
pub fn listing(folder: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `size` bytes that differ from place to place (xorshift), so that a piece lost, doubled
/// or out of order shows in a copy.
pub fn varied_bytes(size: usize) -> Vec<u8> {
    let mut state: u32 = 0x9E37_79B9;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

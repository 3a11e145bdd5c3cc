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

/// Whether ffmpeg's programs are there to read recordings back with
/// (`VIDEOMEET_EXPECT_FFMPEG`, set by the test command, whose setup installs them):
/// otherwise `test` is skipped, visibly, or fails where they were promised.
pub fn expect_ffmpeg(test: &str) -> bool {
    let found = std::process::Command::new("ffprobe")
        .arg("-version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        skip_unless_required(
            test,
            "ffprobe and ffmpeg are not installed (installer/setup-debian.sh --test installs them)",
            expected("VIDEOMEET_EXPECT_FFMPEG") || under_ci(),
        );
    }
    found
}

/// One stream of a media file as ffprobe reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbedStream {
    /// `video` or `audio`.
    pub kind: String,
    /// `h264`, `opus`, …
    pub codec: String,
    /// How long it plays, in seconds, counted from its packets.
    pub seconds: f64,
    /// Picture size, for video.
    pub size: Option<(u32, u32)>,
}

/// The streams ffprobe finds in `path`, each timed by the packets it reads (what a player
/// plays, whatever the header claims).
pub fn probe(path: &std::path::Path) -> Result<Vec<ProbedStream>, String> {
    let output = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-of", "json", "-show_streams", "-show_entries"])
        .arg("packet=stream_index,pts_time,duration_time")
        .arg(path)
        .output()
        .map_err(|error| format!("ffprobe: {error}"))?;
    if !output.status.success() {
        return Err(format!("ffprobe failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|error| format!("ffprobe's output: {error}"))?;
    let number = |value: &serde_json::Value| value.as_str().and_then(|text| text.parse::<f64>().ok());
    let packets = json["packets"].as_array().cloned().unwrap_or_default();
    let streams = json["streams"].as_array().cloned().unwrap_or_default();
    Ok(streams
        .iter()
        .enumerate()
        .map(|(index, stream)| {
            let ends = packets
                .iter()
                .filter(|packet| packet["stream_index"].as_u64() == Some(index as u64))
                .filter_map(|packet| {
                    Some(number(&packet["pts_time"])? + number(&packet["duration_time"]).unwrap_or(0.0))
                });
            let starts = packets
                .iter()
                .filter(|packet| packet["stream_index"].as_u64() == Some(index as u64))
                .filter_map(|packet| number(&packet["pts_time"]));
            let (first, last) = (starts.fold(f64::MAX, f64::min), ends.fold(0.0, f64::max));
            let size = stream["width"]
                .as_u64()
                .zip(stream["height"].as_u64())
                .map(|(w, h)| (w as u32, h as u32));
            ProbedStream {
                kind: stream["codec_type"].as_str().unwrap_or_default().to_owned(),
                codec: stream["codec_name"].as_str().unwrap_or_default().to_owned(),
                seconds: if last > first { last - first } else { 0.0 },
                size,
            }
        })
        .collect())
}

/// The sound of `path` as ffmpeg decodes it: mono, 48 kHz.
pub fn decoded_sound(path: &std::path::Path) -> Result<Vec<f32>, String> {
    let raw = ffmpeg_output(path, &["-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "f32le", "-"])?;
    Ok(raw
        .chunks_exact(4)
        .map(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        .collect())
}

/// The pictures of `path` as ffmpeg decodes them, `per_second` of them a second, as
/// grey-scale pictures of `size` (one byte a pixel).
pub fn decoded_pictures(path: &std::path::Path, size: (u32, u32), per_second: u32) -> Result<Vec<Vec<u8>>, String> {
    let rate = format!("fps={per_second}");
    let raw = ffmpeg_output(
        path,
        &["-map", "0:v:0", "-vf", &rate, "-f", "rawvideo", "-pix_fmt", "gray", "-"],
    )?;
    Ok(raw
        .chunks_exact((size.0 * size.1) as usize)
        .map(<[u8]>::to_vec)
        .collect())
}

fn ffmpeg_output(path: &std::path::Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let output = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args(args)
        .output()
        .map_err(|error| format!("ffmpeg: {error}"))?;
    if !output.status.success() {
        return Err(format!("ffmpeg failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    Ok(output.stdout)
}

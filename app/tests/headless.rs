//! Three `videomeet` processes meet without windows, seen through their JSON events.

mod common;

use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use common::{start_host, videomeet};
use serde_json::Value;
use videomeet_media::audio::talking;
use videomeet_media::list_devices;

fn events(output: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")))
        .collect()
}

/// The tests that run meetings take turns: the echo test needs the machine's sound to
/// itself, and a quiet machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn a_host_and_two_guest_processes_see_each_other() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let (_host, lines, joined) = start_host(&["--size", "320x240", "--duration", "30"]);
    assert_eq!(joined["meeting"]["title"], "Test");
    let link = joined["link"].as_str().expect("a link").to_owned();
    let guest = |name: &str| {
        videomeet(&[
            "join",
            &link,
            "--headless",
            "--name",
            name,
            "--size",
            "320x240",
            "--duration",
            "6",
        ])
        .spawn()
        .expect("guest starts")
    };
    let (ada, bob) = (guest("Ada"), guest("Bob"));
    for (name, guest) in [("Ada", ada), ("Bob", bob)] {
        let output = guest.wait_with_output().expect("guest runs");
        assert!(output.status.success(), "{name} failed");
        let events = events(&output.stdout);
        assert_eq!(
            events.first().map(|e| e["event"].clone()),
            Some("joined".into()),
            "{name}: {events:?}"
        );
        assert_eq!(
            events.last().map(|e| e["event"].clone()),
            Some("ended".into()),
            "{name}: {events:?}"
        );
        // Steady video from both other participants, with stamp latencies: several
        // seconds at 20 fps or more from each, not one lucky second.
        let smooth = |e: &&Value| {
            e["event"] == "video_stats" && e["fps"].as_f64() >= Some(20.0) && e["latency_ms_p50"].as_f64().is_some()
        };
        let senders: HashSet<u64> = events.iter().filter(smooth).filter_map(|e| e["id"].as_u64()).collect();
        let seconds: Vec<usize> = senders
            .iter()
            .map(|&id| {
                events
                    .iter()
                    .filter(smooth)
                    .filter(|e| e["id"].as_u64() == Some(id))
                    .count()
            })
            .collect();
        assert!(
            seconds.len() == 2 && seconds.iter().all(|&n| n >= 3),
            "{name} did not get steady video from both others (seconds at 20 fps or more from each: \
             {seconds:?}, 3 wanted): {events:?}"
        );
    }
    let mut host_events = Vec::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_millis(500)) {
        host_events.push(serde_json::from_str::<Value>(&line).expect("JSON line"));
    }
    let left = host_events.iter().filter(|e| e["event"] == "peer_left").count();
    assert_eq!(left, 2, "the host saw both guests leave: {host_events:?}");
}

#[test]
fn list_and_bad_arguments_behave() {
    let list = videomeet(&["list", "--wait", "0.5"]).output().expect("list runs");
    assert!(list.status.success());
    events(&list.stdout); // zero or more JSON lines
    // Bad addresses and devices are refused before any window opens.
    for (args, said) in [
        (&["join", "not an address"][..], "not a meeting address"),
        (&["host", "--camera", "no-such-camera"][..], "unknown camera"),
    ] {
        let refused = Command::new(env!("CARGO_BIN_EXE_videomeet"))
            .args(args)
            .output()
            .expect("runs");
        assert!(!refused.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&refused.stderr).contains(said), "{args:?}");
    }
}

/// The turn of a test of the machine's sound (held until dropped), when the test command
/// provides a sound system.
fn sound_turn() -> Option<std::sync::MutexGuard<'static, ()>> {
    if std::env::var_os("VIDEOMEET_EXPECT_AUDIO_DEVICES").is_none() {
        eprintln!("skipped: no VIDEOMEET_EXPECT_AUDIO_DEVICES (the test command sets it)");
        return None;
    }
    Some(ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner))
}

/// One second of what Ada heard, from one of her `audio_stats` lines.
#[derive(Debug)]
struct Heard {
    /// The RMS level of Grace's sound in it; none when she had none of Grace's.
    grace: Option<f64>,
    /// The clear tones at its end, in Hz.
    tones: Vec<u64>,
}

/// Plays `samples` (48 kHz mono) into the default speaker with PulseAudio's player, as
/// something sounding in Grace's room; stopped when dropped.
struct InTheRoom(common::Running, Option<std::thread::JoinHandle<()>>);

impl InTheRoom {
    fn play(samples: Vec<f32>) -> Self {
        let mut player = Command::new("pacat")
            .args([
                "--playback",
                "--raw",
                "--format=float32le",
                "--rate=48000",
                "--channels=1",
            ])
            .stdin(Stdio::piped())
            .spawn()
            .expect("pacat (PulseAudio's player) starts");
        let mut input = player.stdin.take().expect("pacat's input");
        let bytes: Vec<u8> = samples.into_iter().flat_map(f32::to_le_bytes).collect();
        // Written as it plays; the writing stops when the player is stopped.
        let writing = std::thread::Builder::new()
            .name("room-sound".into())
            .spawn(move || drop(input.write_all(&bytes)))
            .expect("a thread to play the room's sound");
        Self(common::Running(player), Some(writing))
    }
}

impl Drop for InTheRoom {
    fn drop(&mut self) {
        let _ = self.0.0.kill();
        let _ = self.1.take().map(std::thread::JoinHandle::join);
    }
}

/// What Ada, talking, hears each second from Grace, whose microphone hears her speaker as a
/// laptop's does (the test environment points the default microphone at the default
/// speaker's monitor); Grace runs with `grace_args` added. From the first second Ada hears
/// Grace in (which the seconds returned start with). Something else sounds in Grace's room:
/// a 1 kHz whistle for the first 3 s and, from the `near_from`th second on, someone talking
/// (at another pitch than Ada, out of step with her) until the end. A report without its
/// `rms` fails the test, and so does Grace not heard within 3 s.
fn what_ada_hears_back(grace_args: &[&str], seconds: u32, near_from: Option<usize>) -> Vec<Heard> {
    let devices = list_devices();
    let microphone = devices.default_microphone().expect("a default microphone");
    let speaker = devices.default_speaker().expect("a default speaker");
    let (mic, speaker) = (microphone.id(), speaker.id());
    let mut args = vec!["--mic", &mic, "--speaker", &speaker, "--camera-off"];
    args.extend_from_slice(grace_args);
    let (_grace, _lines, joined) = start_host(&args);
    let grace_id = joined["you"].as_u64().expect("Grace's participant id").to_string();
    let link = joined["link"].as_str().expect("a link");
    let mut ada = common::Running(
        videomeet(&["join", link, "--headless", "--name", "Ada", "--camera-off"])
            .args(["--mic", "test-talk:140", "--duration", &seconds.to_string()])
            .spawn()
            .expect("Ada starts"),
    );
    let lines = common::read_lines("ada-output", ada.0.stdout.take().expect("Ada's output"));
    let rate = videomeet_media::AUDIO_SAMPLE_RATE_HZ as usize;
    let whistle = (0..3 * rate)
        .map(|i| 0.2 * (std::f32::consts::TAU * 1_000.0 * i as f32 / rate as f32).sin())
        .collect();
    let _whistle = InTheRoom::play(whistle);
    let (mut near_end, mut heard, mut reports_before_grace) = (None, Vec::new(), 0);
    // Until Ada's output ends, with her meeting.
    for line in lines.iter() {
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        if event["event"] != "audio_stats" {
            continue;
        }
        assert!(event["rms"].as_f64().is_some(), "no RMS level in {event}");
        let grace = event["rms_by_id"][&grace_id].as_f64();
        if heard.is_empty() && grace.is_none() {
            reports_before_grace += 1;
            assert!(reports_before_grace <= 3, "Ada did not hear Grace within 3 s");
            continue;
        }
        heard.push(Heard {
            grace,
            tones: event["tones_hz"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .collect(),
        });
        if Some(heard.len()) == near_from {
            let mut talk = vec![0.0; seconds as usize * rate];
            talking(7_000, 230.0, &mut talk);
            near_end = Some(InTheRoom::play(talk));
        }
    }
    drop(near_end);
    assert!(ada.0.wait().expect("Ada runs").success(), "Ada failed");
    heard
}

/// Grace's RMS level in each of `seconds`; a second without it fails the test.
fn grace_levels(seconds: &[Heard]) -> Vec<f64> {
    seconds
        .iter()
        .map(|heard| {
            heard
                .grace
                .unwrap_or_else(|| panic!("a second without Grace's level: {heard:?}"))
        })
        .collect()
}

/// The median of `levels`.
fn median(levels: &[f64]) -> f64 {
    let mut sorted = levels.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// Ada talks; Grace's program plays her and takes her echo out of what it sends, so Ada
/// does not hear herself back, while other sound in Grace's room goes through: a whistle,
/// and someone in the room talking over Ada. With `--no-voice-processing`, she does hear
/// herself.
#[test]
fn nobody_hears_themselves_back_from_anothers_speaker() {
    let Some(_turn) = sound_turn() else {
        return;
    };
    // How loud Ada's echo comes back without the canceller, after the whistle.
    let unprocessed = what_ada_hears_back(&["--no-voice-processing"], 9, None);
    let each_second = |reports: &[Heard]| reports.iter().map(|heard| heard.grace).collect::<Vec<_>>();
    println!(
        "without voice processing, Grace each second: {:?}",
        each_second(&unprocessed)
    );
    assert!(unprocessed.len() >= 6, "Ada's seconds with Grace: {unprocessed:?}");
    let echo = median(&grace_levels(&unprocessed[4..]));
    assert!(
        echo >= 0.05,
        "without voice processing Ada heard herself back at only RMS {echo}: {unprocessed:?}"
    );

    // Someone in Grace's room talks from Ada's 15th second with Grace on.
    let reports = what_ada_hears_back(&[], 23, Some(14));
    assert!(reports.len() >= 19, "Ada's seconds with Grace: {reports:?}");
    println!("with voice processing, Grace each second: {:?}", each_second(&reports));
    assert!(
        reports[..6]
            .iter()
            .any(|heard| heard.tones.iter().any(|hz| hz.abs_diff(1_000) <= 10)),
        "Ada never heard the whistle in Grace's room: {reports:?}"
    );
    // After 6 s for the canceller to learn the echo path, 8 s of Ada talking alone: a device
    // that stalls moves the echo path and the canceller takes a few seconds to learn it
    // again, so 6 of them must be at least 10 dB below what comes back without it.
    let quiet = echo / 10f64.powf(10.0 / 20.0);
    let echo_seconds = grace_levels(&reports[6..14]);
    let cancelled = echo_seconds.iter().filter(|&&rms| rms <= quiet).count();
    assert!(
        cancelled >= 6,
        "Ada heard herself back above RMS {quiet:.3} in {} seconds of 8: {echo_seconds:?}",
        8 - cancelled
    );
    // Both talk from the 15th second: the one in Grace's room is heard, well above the echo
    // (from the 17th, the first whole second of them that reaches Ada).
    let near = median(&grace_levels(&reports[16..19]));
    println!("the near end at RMS {near} against Ada's echo at {echo} without the canceller");
    assert!(
        near >= echo / 4.0,
        "Ada heard the one talking in Grace's room at only RMS {near}: {reports:?}"
    );
}

/// A speaker of its own on the sound server (a null sink with a name no other test uses),
/// for tests that make a device fail: the processes given [`OwnSpeaker::env`] play to it and
/// hear its monitor, away from the test speaker the other tests share. Removed when dropped
/// (drop the processes first: the server moves streams left on a removed sink to the
/// default one).
struct OwnSpeaker {
    name: String,
    module: String,
}

impl OwnSpeaker {
    fn load() -> Self {
        static LOADED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let number = LOADED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("videomeet_failing_{}_{number}", std::process::id());
        let module = pactl(&["load-module", "module-null-sink", &format!("sink_name={name}")]);
        Self { name, module }
    }

    /// What points PulseAudio's ALSA plugin (the `audio:alsa:pulse` device) at this speaker.
    fn env(&self) -> [(&'static str, String); 2] {
        [
            ("PULSE_SINK", self.name.clone()),
            ("PULSE_SOURCE", format!("{}.monitor", self.name)),
        ]
    }

    /// The index of the stream of `kind` (`sink-inputs` or `source-outputs`) on this speaker
    /// (or its monitor), waited for up to 5 s.
    fn stream(&self, kind: &str) -> String {
        let (devices, device) = match kind {
            "sink-inputs" => ("sinks", self.name.clone()),
            _ => ("sources", format!("{}.monitor", self.name)),
        };
        let column = |line: &str, n: usize| line.split('\t').nth(n).unwrap_or_default().to_owned();
        let index = pactl(&["list", "short", devices])
            .lines()
            .find(|line| column(line, 1) == device)
            .map(|line| column(line, 0))
            .unwrap_or_else(|| panic!("{device} is not listed"));
        for _ in 0..50 {
            let streams = pactl(&["list", "short", kind]);
            if let Some(line) = streams.lines().find(|line| column(line, 1) == index) {
                return column(line, 0);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no stream of {kind} on {device}");
    }

    /// Has the sound server end the stream of `kind` on this speaker, as it does with the
    /// streams of a device that goes away when they cannot be moved to another.
    fn end_stream(&self, kind: &str) {
        let stream = self.stream(kind);
        let kill = format!("kill-{}", kind.trim_end_matches('s'));
        let status = Command::new("pacmd").args([&kill, &stream]).status();
        assert!(status.is_ok_and(|s| s.success()), "pacmd {kill} {stream}");
    }
}

impl Drop for OwnSpeaker {
    fn drop(&mut self) {
        let _ = Command::new("pactl").args(["unload-module", &self.module]).status();
    }
}

/// What `pactl` prints for `args`; it must succeed.
fn pactl(args: &[&str]) -> String {
    let output = Command::new("pactl").args(args).output().expect("pactl runs");
    assert!(output.status.success(), "pactl {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Grace hosts with a real microphone and speaker, her own [`OwnSpeaker`] (through
/// PulseAudio's ALSA plugin, as on a Linux desktop), voice processing on; Ada joins with a
/// test tone. Once Grace hears Ada, `fail` makes one of Grace's devices fail on the sound
/// server. Grace must be told within `within` that the device `told` stopped, and the meeting
/// goes on: she still hears Ada. Returns how long the telling took.
fn grace_is_told_when_a_device_fails(fail: impl FnOnce(&OwnSpeaker), told: &str, within: Duration) -> Duration {
    let speaker = OwnSpeaker::load();
    let (grace, lines, joined) = common::start_host_with_env(
        &[
            "--camera-off",
            "--mic",
            "audio:alsa:pulse",
            "--speaker",
            "audio:alsa:pulse",
            "--duration",
            "40",
        ],
        speaker.env(),
    );
    let next = |what: &str, deadline: std::time::Instant, wanted: &dyn Fn(&Value) -> bool| -> Value {
        loop {
            let wait = deadline.saturating_duration_since(std::time::Instant::now());
            let line = lines
                .recv_timeout(wait)
                .unwrap_or_else(|_| panic!("Grace did not report {what} in time"));
            let event: Value = serde_json::from_str(&line).expect("a JSON line");
            if wanted(&event) {
                return event;
            }
        }
    };
    let soon = || std::time::Instant::now() + Duration::from_secs(10);
    let _ada = common::Running(
        videomeet(&[
            "join",
            joined["link"].as_str().expect("a link"),
            "--headless",
            "--name",
            "Ada",
        ])
        .args([
            "--camera-off",
            "--mic",
            "test-tone:440",
            "--speaker",
            "mute",
            "--duration",
            "40",
        ])
        .spawn()
        .expect("Ada starts"),
    );
    let ada = next("Ada", soon(), &|e| e["event"] == "first_audio")["id"].to_string();
    fail(&speaker);
    let failed = std::time::Instant::now();
    let problem = next("the failed device", failed + within, &|e| e["event"] == "problem");
    let took = failed.elapsed();
    assert_eq!(problem["problem"]["kind"], "device_lost", "Grace was told: {problem}");
    assert_eq!(problem["problem"]["device"], told, "Grace was told: {problem}");
    // The meeting goes on: two seconds in which Grace hears Ada's tone.
    for _ in 0..2 {
        let heard = next("hearing Ada", soon(), &|e| e["event"] == "audio_stats");
        assert!(
            heard["rms_by_id"][&ada].as_f64() >= Some(0.1),
            "Grace no longer hears Ada: {heard}"
        );
    }
    drop(grace);
    took
}

/// The sound server drops Grace's microphone stream (as when the device is removed and its
/// streams cannot be moved): the device delivers nothing more, and after the microphone's
/// 5 s stall timeout Grace is told and asked to choose another. (Through PulseAudio's ALSA
/// plugin, cpal only sees I/O errors, not `DeviceNotAvailable`: the timeout is what notices.)
#[test]
fn a_microphone_the_sound_server_drops_is_reported_and_the_meeting_goes_on() {
    let Some(_turn) = sound_turn() else {
        return;
    };
    let took = grace_is_told_when_a_device_fails(
        |speaker| speaker.end_stream("source-outputs"),
        "microphone",
        Duration::from_secs(8),
    );
    println!("Grace was told {took:.1?} after her microphone's stream was dropped");
    assert!(
        took >= Duration::from_secs(4),
        "told before the stall timeout: {took:?}"
    );
}

/// Grace's sound device is suspended (`pactl suspend-sink`): her microphone (its monitor)
/// delivers nothing, and after the 5 s stall timeout Grace is told.
#[test]
fn a_suspended_microphone_is_reported_and_the_meeting_goes_on() {
    let Some(_turn) = sound_turn() else {
        return;
    };
    let took = grace_is_told_when_a_device_fails(
        |speaker| drop(pactl(&["suspend-sink", &speaker.name, "1"])),
        "microphone",
        Duration::from_secs(8),
    );
    println!("Grace was told {took:.1?} after her sound device was suspended");
}

/// The sound server drops Grace's speaker stream: she is told and asked to choose another
/// speaker, as with a speaker that reports itself unplugged. (Through PulseAudio's ALSA
/// plugin cpal reports only I/O errors, over and over: a speaker whose errors go on for a
/// second without a request for sound counts as gone, and is closed.)
#[test]
fn a_speaker_the_sound_server_drops_is_reported_and_the_meeting_goes_on() {
    let Some(_turn) = sound_turn() else {
        return;
    };
    let took = grace_is_told_when_a_device_fails(
        |speaker| speaker.end_stream("sink-inputs"),
        "speaker",
        Duration::from_secs(8),
    );
    println!("Grace was told {took:.1?} after her speaker's stream was dropped");
}

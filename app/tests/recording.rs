//! Recording meetings, read back by a player that is not ours (ffmpeg): a meeting of three
//! in its file, a recording that survives its program being killed, a guest the host does
//! not let record, and a disk that fills up.

#[allow(dead_code)]
mod common;
#[allow(dead_code)]
#[path = "common/program.rs"]
mod program;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use program::Program;
use serde_json::Value;
use videomeet_media::audio::goertzel::amplitude;
use videomeet_media::record::layout::Layout;
use videomeet_media::testing::{self, decoded_pictures, decoded_sound, expect_ffmpeg, probe, scratch_folder};
use videomeet_media::video::stamp::find_stamps;

/// A headless participant with these arguments, read from and written to as a script would.
fn participant(name: &'static str, args: &[&str]) -> Program {
    let mut process = common::Running(
        common::videomeet(args)
            .args(["--name", name])
            .stdin(Stdio::piped())
            .spawn()
            .expect("the program starts"),
    );
    let input = process.0.stdin.take().expect("its input");
    let lines = common::read_lines(name, process.0.stdout.take().expect("its output"));
    Program {
        name,
        process,
        input,
        lines,
    }
}

/// A host alone with `args` added, and the link to its meeting.
fn host(args: &[&str]) -> (Program, String) {
    let base = [
        "host",
        "--headless",
        "--port",
        "0",
        "--no-announce",
        "--title",
        "Standup",
    ];
    let program = participant("Grace", &[&base[..], args].concat());
    let joined = program.next("that it hosts", |e| e["event"] == "joined");
    let link = joined["link"].as_str().expect("a link").to_owned();
    (program, link)
}

fn guest(name: &'static str, link: &str, args: &[&str]) -> Program {
    participant(name, &[&["join", "--headless", link][..], args].concat())
}

fn is_media_state(event: &Value, id: &Value, recording: bool) -> bool {
    event["event"] == "media_state"
        && event["id"] == *id
        && event["media"]["recording"].as_bool().unwrap_or(false) == recording
}

/// The command that records into `path`.
fn record(path: &Path) -> String {
    serde_json::json!({"command": "record", "path": path}).to_string()
}

/// The command that records into `path`, and each person's sound into a file of its own.
fn record_with_voices(path: &Path) -> String {
    serde_json::json!({"command": "record", "path": path, "voices": true}).to_string()
}

#[test]
fn a_meeting_of_three_is_recorded_with_everyone_in_their_place_and_heard() {
    if !expect_ffmpeg("a_meeting_of_three_is_recorded_with_everyone_in_their_place_and_heard") {
        return;
    }
    let folder = scratch_folder("recorded-meeting");
    let path = folder.join("standup.mp4");
    // Everyone's camera at 960x540, each person's voice a tone of their own, one joining a
    // second after the other, which tells their pictures apart (see `senders`).
    let camera = ["--size", "960x540", "--fps", "30"];
    let (mut grace, link) = host(&[&camera[..], &["--mic", "test-tone:440"]].concat());
    std::thread::sleep(Duration::from_secs(1));
    let ada = guest("Ada", &link, &[&camera[..], &["--mic", "test-tone:660"]].concat());
    std::thread::sleep(Duration::from_secs(1));
    let bob = guest("Bob", &link, &[&camera[..], &["--mic", "test-tone:880"]].concat());
    let grace_id = ada.next("the host", |e| {
        e["event"] == "peer_joined" && e["peer"]["is_host"] == true
    })["peer"]["id"]
        .clone();
    bob.next("Bob is in", |e| e["event"] == "joined");
    for name in ["Ada", "Bob"] {
        let id = grace.next(&format!("{name} joins"), |e| {
            e["event"] == "peer_joined" && e["peer"]["name"] == name
        })["peer"]["id"]
            .clone();
        grace.next(&format!("{name}'s picture"), |e| {
            e["event"] == "first_frame" && e["id"] == id
        });
    }

    let started = Instant::now();
    let (answer, _) = grace.ask_and_see(&record_with_voices(&path), "that it records", |e| {
        e["event"] == "recording_started"
    });
    assert_eq!(answer["ok"], true, "{answer}");
    // The others are told.
    for other in [&ada, &bob] {
        other.next("that Grace records", |e| is_media_state(e, &grace_id, true));
    }
    std::thread::sleep(Duration::from_secs(10).saturating_sub(started.elapsed()));
    let stopping = Instant::now();
    let (answer, ended) = grace.ask_and_see(r#"{"command":"stop_recording"}"#, "that the recording ended", |e| {
        e["event"] == "recording_ended"
    });
    let stop_to_closed = stopping.elapsed();
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(ended["error"], Value::Null, "{ended}");
    assert!(
        stop_to_closed < Duration::from_secs(1),
        "closing took {stop_to_closed:?}"
    );
    for other in [&ada, &bob] {
        other.next("that Grace stopped recording", |e| is_media_state(e, &grace_id, false));
    }

    let streams = probe(&path).expect("ffprobe reads the recording");
    let video = streams.iter().find(|s| s.kind == "video").expect("a video stream");
    let sound = streams.iter().find(|s| s.kind == "audio").expect("a sound stream");
    assert_eq!(
        (video.codec.as_str(), video.size),
        ("h264", Some((1280, 720))),
        "{streams:?}"
    );
    assert_eq!(sound.codec, "opus", "{streams:?}");
    for stream in [video, sound] {
        assert!((stream.seconds - 10.0).abs() <= 0.5, "{stream:?} should play 10 s");
    }

    // Every picture shows the three of them: one large, the others in the strip's tiles.
    let layout = Layout::new((1280, 720), 2);
    let pictures = decoded_pictures(&path, (1280, 720), 2).expect("ffmpeg decodes the pictures");
    assert!(pictures.len() >= 19, "{} pictures", pictures.len());
    for (index, luma) in pictures.iter().enumerate().skip(1) {
        let found = find_stamps(luma, 1280, 720);
        let (large, small): (Vec<_>, Vec<_>) = found.iter().partition(|f| f.y < layout.main.height as usize);
        let in_a_tile = |f: &&videomeet_media::video::stamp::FoundStamp| {
            layout
                .strip
                .iter()
                .any(|tile| (tile.x as usize..(tile.x + tile.width) as usize).contains(&f.x))
        };
        assert_eq!(large.len(), 1, "picture {index}: one large picture: {found:?}");
        assert_eq!(small.len(), 2, "picture {index}: two in the strip: {found:?}");
        assert!(small.iter().all(in_a_tile), "picture {index}: {found:?}");
        assert!(large[0].cell > small[0].cell * 2.0, "picture {index}: {found:?}");
        let mut senders: Vec<i64> = found.iter().map(|f| sender_start_ms(&f.stamp)).collect();
        senders.sort_unstable();
        assert!(
            senders.windows(2).all(|pair| pair[1] - pair[0] > 400),
            "picture {index} shows three different people: {senders:?}"
        );
    }

    // The sound holds all three voices, ours too.
    let heard = decoded_sound(&path).expect("ffmpeg decodes the sound");
    let middle = &heard[48_000 * 2..48_000 * 8];
    for hz in [440.0, 660.0, 880.0] {
        let level = amplitude(middle, hz);
        assert!(level > 0.02, "{hz} Hz heard at {level}");
    }
    assert!(amplitude(middle, 550.0) < 0.01, "nothing between the voices");

    // Each voice in a file of its own, as long as the recording, with that voice alone.
    let voices: Vec<PathBuf> = ended["voice_files"]
        .as_array()
        .expect("the voices' files")
        .iter()
        .map(|path| PathBuf::from(path.as_str().expect("a path")))
        .collect();
    let names: Vec<String> = voices
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["standup - Grace.m4a", "standup - Ada.m4a", "standup - Bob.m4a"]);
    for (path, own) in voices.iter().zip([440.0, 660.0, 880.0]) {
        let streams = probe(path).expect("ffprobe reads a voice's file");
        assert!((streams[0].seconds - 10.0).abs() <= 0.5, "{path:?}: {streams:?}");
        let heard = decoded_sound(path).expect("ffmpeg decodes it");
        let middle = &heard[48_000 * 2..48_000 * 8];
        for hz in [440.0, 660.0, 880.0] {
            let level = amplitude(middle, hz);
            if hz == own {
                assert!(level > 0.02, "{path:?}: its own voice at {level}");
            } else {
                assert!(level < 0.005, "{path:?}: {hz} Hz at {level}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(folder);
}

/// When a test pattern's source started, from one of its stamps: its capture time less its
/// frame number's worth of 30 fps frames. Participants who joined a second apart differ by
/// about that much.
fn sender_start_ms(stamp: &videomeet_media::video::stamp::Stamp) -> i64 {
    (stamp.capture_time_us / 1000) as i64 - i64::from(stamp.counter) * 1000 / 30
}

#[test]
fn a_recording_whose_program_is_killed_plays_up_to_its_last_second() {
    if !expect_ffmpeg("a_recording_whose_program_is_killed_plays_up_to_its_last_second") {
        return;
    }
    let folder = scratch_folder("killed-recording");
    let path = folder.join("killed.mp4");
    let (mut grace, _) = host(&["--size", "640x360", "--record", path.to_str().expect("a path")]);
    grace.next("that it records", |e| e["event"] == "recording_started");
    std::thread::sleep(Duration::from_secs(6));
    grace.process.0.kill().expect("killed");
    let _ = grace.process.0.wait();
    let streams = probe(&path).expect("ffprobe reads what was written");
    for kind in ["video", "audio"] {
        let stream = streams.iter().find(|s| s.kind == kind).expect("both streams");
        assert!(stream.seconds >= 4.0, "{stream:?} plays at least 4 of the 6 s");
    }
    let pictures = decoded_pictures(&path, (1280, 720), 5).expect("ffmpeg decodes what was written");
    assert!(pictures.len() >= 20, "{} pictures in 4 s", pictures.len());
    let _ = std::fs::remove_dir_all(folder);
}

#[test]
fn a_guest_is_refused_recording_while_the_host_keeps_it_to_itself() {
    let folder = scratch_folder("guest-recording");
    let (mut grace, link) = host(&["--size", "320x240", "--no-guest-recording"]);
    let mut ada = guest("Ada", &link, &["--size", "320x240"]);
    let joined = ada.next("that Ada is in", |e| e["event"] == "joined");
    assert_eq!(joined["meeting"]["no_guest_recording"], true, "{joined}");
    let ada_id = joined["you"].clone();

    // Refused, with why, and no file made.
    let first = folder.join("first.mp4");
    let refused = ada.ask(&record(&first));
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(refused["problem"]["kind"], "recording", "{refused}");
    assert_eq!(refused["message"], "The host does not let guests record this meeting.");
    assert!(!first.exists());

    // Allowed: Ada records, and Grace sees it.
    assert_eq!(
        grace.ask(r#"{"command":"allow_guest_recording","allowed":true}"#)["ok"],
        true
    );
    ada.next("that guests may record", |e| {
        e["event"] == "guest_recording" && e["allowed"] == true
    });
    let second = folder.join("second.mp4");
    let (answer, _) = ada.ask_and_see(&record(&second), "that she records", |e| {
        e["event"] == "recording_started"
    });
    assert_eq!(answer["ok"], true, "{answer}");
    grace.next("that Ada records", |e| is_media_state(e, &ada_id, true));

    // Forbidden again: her recording stops, its file closed, and she is told why.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        grace.ask(r#"{"command":"allow_guest_recording","allowed":false}"#)["ok"],
        true
    );
    let [ended, told] = &ada.each_of(&[
        ("that her recording ended", &|e| e["event"] == "recording_ended"),
        ("why", &|e| e["event"] == "problem"),
    ])[..] else {
        unreachable!()
    };
    assert_eq!(ended["path"], second.to_str().expect("a path"), "{ended}");
    assert_eq!(told["message"], "The host does not let guests record this meeting.");
    grace.next("that Ada stopped", |e| is_media_state(e, &ada_id, false));
    assert!(
        std::fs::metadata(&second).is_ok_and(|m| m.len() > 10_000),
        "her file is kept"
    );
    let _ = std::fs::remove_dir_all(folder);
}

/// A small file system of its own for one test, taken away after it.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(folder: &Path, size: &str) -> Result<Self, String> {
        let output = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(folder)
            .output()
            .map_err(|error| error.to_string())?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
        }
        Ok(Self(folder.to_owned()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_ends_the_recording_with_a_message_and_a_file_that_plays() {
    if !expect_ffmpeg("a_full_disk_ends_the_recording_with_a_message_and_a_file_that_plays") {
        return;
    }
    let folder = scratch_folder("full-disk");
    let disk = match SmallDisk::mount(&folder, "512k") {
        Ok(disk) => disk,
        Err(why) => {
            testing::skip_unless_required(
                "a_full_disk_ends_the_recording_with_a_message_and_a_file_that_plays",
                &format!("no small file system can be mounted here (needs root): {why}"),
                testing::expected("VIDEOMEET_EXPECT_MOUNT"),
            );
            return;
        }
    };
    let path = folder.join("full.mp4");
    let (mut grace, _) = host(&["--size", "640x360", "--record", path.to_str().expect("a path")]);
    grace.next("that it records", |e| e["event"] == "recording_started");
    let ended = grace.next("that the disk filled up", |e| e["event"] == "recording_ended");
    assert_eq!(ended["error"], "the disk is full", "{ended}");
    // The meeting goes on, and what was written plays.
    assert_eq!(grace.ask(r#"{"command":"chat","text":"still here"}"#)["ok"], true);
    let streams = probe(&path).expect("ffprobe reads what was written");
    let video = streams.iter().find(|s| s.kind == "video").expect("a video stream");
    assert!(video.seconds >= 1.0, "{video:?}");
    assert_eq!(
        ended["bytes"].as_u64(),
        std::fs::metadata(&path).ok().map(|m| m.len()),
        "the file holds whole fragments only"
    );
    drop(grace);
    drop(disk);
    let _ = std::fs::remove_dir_all(folder);
}

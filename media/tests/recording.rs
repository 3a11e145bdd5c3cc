//! A recording read back by a player that is not ours (ffmpeg): its streams, how long they
//! play, the pictures in their places, and the sound of everyone.

use std::sync::Arc;
use std::time::Duration;

use videomeet_media::audio::AudioLevels;
use videomeet_media::audio::goertzel::amplitude;
use videomeet_media::audio::mixer::Heard;
use videomeet_media::record::{Finished, Participant, Recorder, RecordingSettings, Scene, Voice};
use videomeet_media::slot::VideoSlot;
use videomeet_media::testing::{decoded_pictures, decoded_sound, expect_ffmpeg, probe, scratch_folder};
use videomeet_media::video::stamp::{Stamp, draw_stamp, find_stamps};
use videomeet_media::{AUDIO_FRAME_SAMPLES, AudioFrame, VideoFrame};

fn tone(freq_hz: f32, index: u64) -> AudioFrame {
    let mut frame = AudioFrame::default();
    for (n, sample) in frame.samples.iter_mut().enumerate() {
        let t = (index as usize * AUDIO_FRAME_SAMPLES + n) as f32 / 48_000.0;
        *sample = 0.2 * (std::f32::consts::TAU * freq_hz * t).sin();
    }
    frame
}

fn stamped(width: u32, height: u32, counter: u32) -> VideoFrame {
    let mut frame = VideoFrame::new(width, height);
    frame.planes_mut().0.fill(150);
    draw_stamp(
        &mut frame,
        Stamp {
            counter,
            capture_time_us: 7,
        },
    );
    frame
}

/// Records two people for `seconds`: our camera (stamp 1, 640x360) and Bob's (stamp 2,
/// 1280x720), Bob heard at 440 Hz and our microphone at 660 Hz.
fn record(path: &std::path::Path, seconds: u64) -> Finished {
    let levels = Arc::new(AudioLevels::default());
    let (ours, bobs) = (Arc::new(VideoSlot::default()), Arc::new(VideoSlot::default()));
    let (ended_tx, ended) = std::sync::mpsc::sync_channel(1);
    let settings = RecordingSettings {
        voice_files: true,
        ..RecordingSettings::new(path.to_owned(), false)
    };
    let recorder = Recorder::start(settings, Arc::clone(&levels), move |finished| {
        let _ = ended_tx.send(finished);
    })
    .expect("the recording starts");
    recorder.set_scene(Scene {
        participants: vec![
            Participant {
                name: "Me".into(),
                voice: Voice::Ours,
                camera: Some(Arc::clone(&ours)),
                screen: None,
            },
            Participant {
                name: "Bob".into(),
                voice: Voice::Theirs(2),
                camera: Some(Arc::clone(&bobs)),
                screen: None,
            },
        ],
    });
    let (mix, microphone) = (recorder.mix_input(), recorder.microphone_input());
    let start = std::time::Instant::now();
    for index in 0..seconds * 50 {
        if index % 2 == 0 {
            ours.publish(&mut stamped(640, 360, 1));
            bobs.publish(&mut stamped(1280, 720, 2));
        }
        let bob = tone(440.0, index);
        let heard = Heard {
            mix: bob.clone(),
            voices: vec![(2, bob)],
        };
        mix.send(heard).expect("the recorder takes sound");
        microphone.send(tone(660.0, index)).expect("the recorder takes sound");
        videomeet_media::clock::sleep_until(start + Duration::from_millis(20 * (index + 1)));
    }
    let stopping = std::time::Instant::now();
    recorder.stop();
    let finished = ended.recv_timeout(Duration::from_secs(1)).expect("told that it ended");
    assert!(
        stopping.elapsed() < Duration::from_millis(500),
        "stopping took {:?}",
        stopping.elapsed()
    );
    finished
}

#[test]
fn a_recording_plays_in_ffmpeg_with_both_streams_the_pictures_in_place_and_everyone_heard() {
    if !expect_ffmpeg("recording") {
        return;
    }
    let folder = scratch_folder("recording");
    let path = folder.join("meeting.mp4");
    let finished = record(&path, 4);
    assert_eq!(finished.error, None);
    assert_eq!(finished.bytes, std::fs::metadata(&path).unwrap().len());

    let streams = probe(&path).expect("ffprobe reads it");
    let video = streams.iter().find(|s| s.kind == "video").expect("a video stream");
    let sound = streams.iter().find(|s| s.kind == "audio").expect("a sound stream");
    assert_eq!((video.codec.as_str(), video.size), ("h264", Some((1280, 720))));
    assert_eq!(sound.codec, "opus");
    for stream in [video, sound] {
        assert!((stream.seconds - 4.0).abs() < 0.5, "{stream:?} plays 4 s");
    }

    // Bob (720p, cells 24 px at his size) is large; we are in the strip.
    let pictures = decoded_pictures(&path, (1280, 720), 2).expect("ffmpeg decodes the pictures");
    assert!(pictures.len() >= 6, "{} pictures", pictures.len());
    for luma in &pictures[1..] {
        let mut found: Vec<_> = find_stamps(luma, 1280, 720)
            .into_iter()
            .map(|f| (f.stamp.counter, f.y < 540, f.cell))
            .collect();
        found.sort_by_key(|f| f.0);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!((found[0].0, found[0].1), (1, false), "ours in the strip: {found:?}");
        assert_eq!((found[1].0, found[1].1), (2, true), "Bob's large: {found:?}");
    }

    let heard = decoded_sound(&path).expect("ffmpeg decodes the sound");
    let middle = &heard[48_000..48_000 * 3];
    let (bob, me, neither) = (
        amplitude(middle, 440.0),
        amplitude(middle, 660.0),
        amplitude(middle, 550.0),
    );
    assert!(bob > 0.1 && me > 0.1, "both heard: 440 Hz {bob}, 660 Hz {me}");
    assert!(neither < 0.02, "clean: 550 Hz {neither}");

    // Each person's sound in a file of its own, as long as the recording, only theirs in it.
    let names: Vec<String> = finished
        .voice_files
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["meeting - Me.m4a", "meeting - Bob.m4a"]);
    for (path, (theirs, other)) in finished.voice_files.iter().zip([(660.0, 440.0), (440.0, 660.0)]) {
        let streams = probe(path).expect("ffprobe reads a voice's file");
        assert_eq!(streams.len(), 1, "{streams:?}");
        assert_eq!(streams[0].codec, "opus");
        assert!((streams[0].seconds - 4.0).abs() < 0.5, "{streams:?}");
        let heard = decoded_sound(path).expect("ffmpeg decodes it");
        let middle = &heard[48_000..48_000 * 3];
        let (own, others) = (amplitude(middle, theirs), amplitude(middle, other));
        assert!(
            own > 0.1 && others < 0.01,
            "{path:?}: its own {own}, another's {others}"
        );
    }
    let _ = std::fs::remove_dir_all(folder);
}

#[test]
fn an_existing_file_is_never_replaced() {
    let folder = scratch_folder("recording-exists");
    let path = folder.join("taken.mp4");
    std::fs::write(&path, b"keep me").unwrap();
    let refused = Recorder::start(
        RecordingSettings::new(path.clone(), false),
        Arc::new(AudioLevels::default()),
        |_| {},
    );
    let error = refused.err().expect("refused").to_string();
    assert!(error.contains("exists"), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
    let _ = std::fs::remove_dir_all(folder);
}

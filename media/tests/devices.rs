//! Device listing on the machine at hand.
//!
//! The test command runs this with a PulseAudio server and a null sink, and sets
//! `VIDEOMEET_EXPECT_AUDIO_DEVICES=1` so that a missing sound system fails the test.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::sync_channel;

use videomeet_media::audio::goertzel::amplitude;
use videomeet_media::audio::marker::MarkerListener;
use videomeet_media::audio::mixer::{Mixer, MixerInput};
use videomeet_media::audio::{AudioLevels, AudioSource, TestTone};
use videomeet_media::codec::{OpusConfig, OpusEncoder};
use videomeet_media::{AudioFrame, MicrophoneChoice, SpeakerChoice, VideoChoice, list_devices};

/// The system's default speaker, when the test command provides a sound system.
fn default_speaker() -> Option<SpeakerChoice> {
    if std::env::var_os("VIDEOMEET_EXPECT_AUDIO_DEVICES").is_none() {
        eprintln!("skipped: no VIDEOMEET_EXPECT_AUDIO_DEVICES (the test command sets it)");
        return None;
    }
    let speaker = list_devices()
        .speakers
        .into_iter()
        .find(|s| matches!(s, SpeakerChoice::Device(info) if info.is_default))
        .expect("a default speaker");
    Some(speaker)
}

#[test]
fn lists_synthetic_devices_beside_real_ones() {
    let list = list_devices();
    assert!(list.cameras.contains(&VideoChoice::TestPattern));
    assert!(
        list.microphones
            .iter()
            .any(|m| matches!(m, MicrophoneChoice::TestTone { .. }))
    );
    assert!(list.microphones.contains(&MicrophoneChoice::Silence));
    assert!(list.speakers.contains(&SpeakerChoice::Mute));
    let real_cameras = list
        .cameras
        .iter()
        .filter(|c| matches!(c, VideoChoice::Camera(_)))
        .count();
    if real_cameras == 0 {
        assert!(
            list.notes.iter().any(|note| note.contains("No camera")),
            "{:?}",
            list.notes
        );
    }
    if std::env::var_os("VIDEOMEET_EXPECT_AUDIO_DEVICES").is_some() {
        assert!(
            list.microphones
                .iter()
                .any(|m| matches!(m, MicrophoneChoice::Device(_))),
            "no microphone listed: {list:?}"
        );
        assert!(
            list.speakers.iter().any(|s| matches!(s, SpeakerChoice::Device(_))),
            "no speaker listed: {list:?}"
        );
    }
}

/// Plays a tone through the default speaker and hears it through the default microphone,
/// which the test environment points at the speaker's monitor.
#[test]
fn a_tone_played_to_the_speaker_is_heard_by_the_microphone() {
    let Some(default_speaker) = default_speaker() else {
        return;
    };
    let default_microphone = list_devices()
        .microphones
        .into_iter()
        .find(|m| matches!(m, MicrophoneChoice::Device(info) if info.is_default))
        .expect("a default microphone");
    let mut speaker = default_speaker.open().expect("speaker opens").expect("a real speaker");
    let mut microphone = default_microphone.open().expect("microphone opens");
    let tone = TestTone::new(660.0);
    let (mut played, mut heard) = (AudioFrame::default(), AudioFrame::default());
    let mut loudest = 0.0f32;
    // Two seconds; the markers fall on whole seconds, the tone frames in between.
    for index in 0..100u64 {
        tone.render(500_000 + index * 20_000, &mut played);
        speaker.play(&played).expect("plays");
        microphone.next_frame(&mut heard).expect("a frame from the microphone");
        loudest = loudest.max(amplitude(&heard.samples[..], 660.0));
    }
    assert!(loudest > 0.1, "the microphone heard 660 Hz at amplitude {loudest}");
    assert!(heard.capture_time_us > 0);
}

/// Sound sent in real time through the playout thread to a real speaker does not pile up
/// in the speaker's queue: the mix follows the device's demand. (Mixing on a clock of its
/// own, the queue settled at 80-100 ms behind a sound server that took its time to start,
/// and sound reached the device 115-130 ms after capture.)
#[test]
fn sound_reaches_a_real_speaker_without_piling_up_in_its_queue() {
    let Some(speaker) = default_speaker() else { return };
    let (tap, mixed) = sync_channel(512);
    let levels = Arc::new(AudioLevels::default());
    let mixer = Mixer::start(speaker, Some(tap), Arc::clone(&levels), |_| {}).expect("playout starts");
    let input = mixer.input();
    let mut tone = TestTone::new(440.0);
    let mut encoder = OpusEncoder::new(OpusConfig::default()).expect("encoder");
    let (mut frame, mut packet) = (AudioFrame::default(), Vec::new());
    let (mut listener, mut latencies_ms, mut queued_ms) = (MarkerListener::default(), Vec::new(), Vec::new());
    // Eight seconds captured in real time. The first three are the device's own start (a
    // sound server can take a second or two before it asks for sound).
    for sequence in 0..400u16 {
        tone.next_frame(&mut frame).expect("a tone frame");
        encoder.encode(&frame, &mut packet).expect("encodes");
        let payload = packet.clone();
        input
            .send(MixerInput::Packet {
                source: 1,
                sequence,
                payload,
            })
            .expect("the playout thread runs");
        for mix in mixed.try_iter() {
            latencies_ms.extend(listener.listen(&mix).into_iter().map(|us| us / 1000));
        }
        if sequence >= 150 {
            queued_ms.push(levels.speaker_queue_ms.load(Ordering::Relaxed));
        }
    }
    assert!(
        latencies_ms.len() >= 6,
        "sound reached the speaker: markers {latencies_ms:?}"
    );
    let most = queued_ms.iter().max().copied().unwrap_or_default();
    assert!(
        most <= 60,
        "up to {most} ms queued at the speaker; capture to it: {latencies_ms:?} ms"
    );
}

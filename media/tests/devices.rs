//! Device listing on the machine at hand.
//!
//! The test command runs this with a PulseAudio server and a null sink, and sets
//! `VIDEOMEET_EXPECT_AUDIO_DEVICES=1` so that a missing sound system fails the test.

use videomeet_media::audio::TestTone;
use videomeet_media::audio::goertzel::amplitude;
use videomeet_media::{AudioFrame, MicrophoneChoice, SpeakerChoice, VideoChoice, list_devices};

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
    if std::env::var_os("VIDEOMEET_EXPECT_AUDIO_DEVICES").is_none() {
        eprintln!("skipped: no VIDEOMEET_EXPECT_AUDIO_DEVICES (the test command sets it)");
        return;
    }
    let list = list_devices();
    let default_speaker = list
        .speakers
        .iter()
        .find(|s| matches!(s, SpeakerChoice::Device(info) if info.is_default))
        .expect("a default speaker");
    let default_microphone = list
        .microphones
        .iter()
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

//! Device listing on the machine at hand.
//!
//! The test command runs this with a PulseAudio server and a null sink, and sets
//! `VIDEOMEET_EXPECT_AUDIO_DEVICES=1` so that a missing sound system fails the test.

use std::sync::atomic::Ordering;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use videomeet_media::audio::goertzel::amplitude;
use videomeet_media::audio::marker::MarkerListener;
use videomeet_media::audio::mixer::{Mixer, MixerInput};
use videomeet_media::audio::{AudioLevel, AudioLevels, AudioSource, EchoReference, TestTone, talking};
use videomeet_media::capture;
use videomeet_media::codec::{OpusConfig, OpusDecoder, OpusEncoder};
use videomeet_media::{AudioFrame, MicrophoneChoice, SpeakerChoice, VideoChoice, list_devices};

/// Tests that play to the speaker take turns: the default microphone hears all of them.
static SPEAKER_TURN: Mutex<()> = Mutex::new(());

/// The system's default speaker, when the test command provides a sound system, and the
/// turn to use it (held until the guard is dropped).
fn default_speaker() -> Option<(SpeakerChoice, MutexGuard<'static, ()>)> {
    if std::env::var_os("VIDEOMEET_EXPECT_AUDIO_DEVICES").is_none() {
        eprintln!("skipped: no VIDEOMEET_EXPECT_AUDIO_DEVICES (the test command sets it)");
        return None;
    }
    let turn = SPEAKER_TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let speaker = list_devices().default_speaker().cloned().expect("a default speaker");
    Some((speaker, turn))
}

/// The system's default microphone (the speaker's monitor in the test environment).
fn default_microphone() -> MicrophoneChoice {
    list_devices()
        .default_microphone()
        .cloned()
        .expect("a default microphone")
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
    let Some((default_speaker, _turn)) = default_speaker() else {
        return;
    };
    let default_microphone = default_microphone();
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
    let Some((speaker, _turn)) = default_speaker() else {
        return;
    };
    let (tap, mixed) = sync_channel(512);
    let levels = Arc::new(AudioLevels::default());
    let mixer = Mixer::start(
        speaker,
        Some(tap),
        EchoReference::default(),
        Arc::clone(&levels),
        |_| {},
    )
    .expect("playout starts");
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

/// The default microphone hears the default speaker (the test environment points it at the
/// speaker's monitor): an echo path with nothing else on it. While the far end talks through
/// the playout thread, what the microphone's thread sends has the echo taken out; the same
/// microphone opened beside it without voice processing sends the echo as it is.
#[test]
fn the_speakers_echo_is_taken_out_of_what_the_microphone_sends() {
    let Some((speaker, _turn)) = default_speaker() else {
        return;
    };
    let microphone = default_microphone();
    let echo = EchoReference::default();
    let mixer =
        Mixer::start(speaker, None, echo.clone(), Arc::new(AudioLevels::default()), |_| {}).expect("playout starts");
    let start_sending = |echo: Option<EchoReference>| {
        let (sent, packets) = sync_channel(1024);
        let thread = capture::start_audio(
            microphone.clone(),
            OpusConfig::default(),
            true,
            Arc::new(AudioLevel::default()),
            echo,
            move |packet, captured_us| {
                let _ = sent.try_send((captured_us, packet.to_vec()));
            },
            |_| {},
        )
        .expect("the microphone opens");
        (thread, packets)
    };
    let (_processed, processed) = start_sending(Some(echo));
    let (_as_heard, as_heard) = start_sending(None);

    // The far end talks for 12 s, in real time.
    let input = mixer.input();
    let mut encoder = OpusEncoder::new(OpusConfig::default()).expect("encoder");
    let (mut frame, mut packet) = (AudioFrame::default(), Vec::new());
    let (started, started_us) = (Instant::now(), videomeet_media::clock::now_us());
    for index in 0..600u64 {
        talking(index * frame.samples.len() as u64, 140.0, &mut frame.samples[..]);
        encoder.encode(&frame, &mut packet).expect("encodes");
        input
            .send(MixerInput::Packet {
                source: 1,
                sequence: index as u16,
                payload: packet.clone(),
            })
            .expect("the playout thread runs");
        let due = started + Duration::from_millis(20 * (index + 1));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }

    // Sound energy sent in each second from the 4th to the 12th, once the canceller has
    // learnt the echo path. A device that stalls or skips moves the echo, and the canceller
    // takes a few seconds to learn it again: the median second counts (19.8-24.9 dB in the
    // runs so far, 0 dB without the canceller).
    let energy_per_second = |packets: &std::sync::mpsc::Receiver<(u64, Vec<u8>)>| {
        let mut decoder = OpusDecoder::new().expect("decoder");
        let mut decoded = AudioFrame::default();
        let mut seconds = [0.0f64; 8];
        for (captured_us, packet) in packets.try_iter() {
            decoder.decode(&packet, &mut decoded).expect("decodes");
            let second = captured_us.saturating_sub(started_us) / 1_000_000;
            if let Some(energy) = second.checked_sub(4).and_then(|s| seconds.get_mut(s as usize)) {
                *energy += decoded.samples.iter().map(|&s| f64::from(s * s)).sum::<f64>();
            }
        }
        seconds
    };
    let (heard, sent) = (energy_per_second(&as_heard), energy_per_second(&processed));
    assert!(
        heard.iter().all(|&energy| energy > 0.1),
        "the microphone heard the speaker every second: {heard:?}"
    );
    let mut removed_db: Vec<f64> = heard
        .iter()
        .zip(&sent)
        .map(|(heard, sent)| 10.0 * (heard / sent.max(1e-9)).log10())
        .collect();
    println!("echo removed each second from the 4th: {removed_db:.1?} dB");
    removed_db.sort_by(f64::total_cmp);
    let median = removed_db[removed_db.len() / 2];
    assert!(
        median >= 10.0,
        "the echo was reduced by only {median:.1} dB in the median second"
    );
}

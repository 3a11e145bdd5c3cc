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
use videomeet_media::audio::{AudioError, AudioLevel, AudioLevels, AudioSource, EchoReference, TestTone, talking};
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
/// in the speaker's queue, does not leave it dry, and reaches it soon after capture: the mix
/// follows the device's demand. (Mixing on a clock of its own, the queue settled at 80-100
/// ms behind a sound server that took its time to start, and sound reached the device
/// 115-130 ms after capture.) The mixer keeps the queue short by skipping what the device
/// has no room for, so the frames skipped count as much as the queue.
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
    let (mut skipped, mut starved) = (0, 0);
    // Eight seconds captured in real time. The first three are the device's own start (a
    // sound server can take a second or two before it asks for sound); the rest counts.
    const SETTLED: u16 = 150;
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
            let heard = listener.listen(&mix).into_iter().map(|us| us as f64 / 1000.0);
            if sequence >= SETTLED {
                latencies_ms.extend(heard);
            }
        }
        if sequence == SETTLED {
            skipped = levels.speaker_skipped_frames.load(Ordering::Relaxed);
            starved = levels.speaker_starved_samples.load(Ordering::Relaxed);
        }
        if sequence >= SETTLED {
            queued_ms.push(levels.speaker_queue_ms.load(Ordering::Relaxed));
        }
    }
    let skipped = levels.speaker_skipped_frames.load(Ordering::Relaxed) - skipped;
    let starved_ms = (levels.speaker_starved_samples.load(Ordering::Relaxed) - starved) / 48;
    queued_ms.sort_unstable();
    latencies_ms.sort_by(f64::total_cmp);
    assert!(
        latencies_ms.len() >= 4,
        "sound reached the speaker: markers {latencies_ms:?}"
    );
    let (most_queued, latency_ms) = (queued_ms[queued_ms.len() - 1], latencies_ms[latencies_ms.len() / 2]);
    println!(
        "the last 5 s: queued at the speaker {}-{most_queued} ms (median {}); capture to the \
         speaker's queue {latencies_ms:.1?} ms; {skipped} frames skipped, {starved_ms} ms of \
         silence for want of sound",
        queued_ms[0],
        queued_ms[queued_ms.len() / 2],
    );
    assert!(
        most_queued <= 60,
        "up to {most_queued} ms queued at the speaker; capture to it: {latencies_ms:.1?} ms"
    );
    // A frame, the jitter buffer's frame and the wait for the device's next request: the
    // median marker 34-54 ms in the runs so far, 115-130 ms when the mix piled up in the queue.
    assert!(
        latency_ms <= 70.0,
        "sound reached the speaker's queue {latency_ms:.1} ms after capture: {latencies_ms:.1?} ms"
    );
    assert!(
        skipped <= 2,
        "{skipped} frames of 250 were not played: the speaker had no room for them"
    );
    assert!(
        starved_ms <= 40,
        "the speaker played {starved_ms} ms of silence in 5 s for want of sound"
    );
}

/// The default microphone hears the default speaker (the test environment points it at the
/// speaker's monitor): an echo path with nothing else on it. While the far end talks through
/// the playout thread, what the microphone's thread sends has the echo taken out; the same
/// microphone opened beside it without voice processing sends the echo as it is. Someone in
/// the room (a second stream to the same speaker, which the canceller is not told about)
/// talks over the far end for the last seconds, and comes through.
#[test]
fn the_speakers_echo_is_taken_out_of_what_the_microphone_sends() {
    let Some((speaker, _turn)) = default_speaker() else {
        return;
    };
    let microphone = default_microphone();
    let echo = EchoReference::default();
    let mixer = Mixer::start(
        speaker.clone(),
        None,
        echo.clone(),
        Arc::new(AudioLevels::default()),
        |_| {},
    )
    .expect("playout starts");
    let mut room = speaker
        .open()
        .expect("a second speaker stream opens")
        .expect("a real speaker");
    let start_sending = |echo: Option<EchoReference>| {
        let (sent, packets) = sync_channel(1024);
        let thread = capture::start_audio(
            microphone.clone(),
            OpusConfig::default(),
            true,
            Arc::new(AudioLevel::default()),
            echo,
            move |packet, frame: &videomeet_media::AudioFrame| {
                let _ = sent.try_send((frame.capture_time_us, packet.to_vec()));
            },
            |_| {},
        )
        .expect("the microphone opens");
        (thread, packets)
    };
    let (_processed, processed) = start_sending(Some(echo));
    let (_as_heard, as_heard) = start_sending(None);

    // The far end talks for 16 s, in real time; from the 12th second on, the near end talks
    // too, out of step with it and at another pitch. A sound server that stalls (a busy
    // machine) delivers late: both go on until each microphone has sent the 16th second.
    const NEAR_FROM_FRAME: u64 = 12 * 50;
    const FIRST: u64 = 4;
    const SECONDS: usize = 12;
    let input = mixer.input();
    let mut encoder = OpusEncoder::new(OpusConfig::default()).expect("encoder");
    let (mut frame, mut near, mut packet) = (AudioFrame::default(), AudioFrame::default(), Vec::new());
    let (started, started_us) = (Instant::now(), videomeet_media::clock::now_us());
    let end_us = started_us + (FIRST + SECONDS as u64) * 1_000_000;
    let (mut sent, mut heard) = (Vec::new(), Vec::new());
    let caught_up = |packets: &[(u64, Vec<u8>)]| packets.last().is_some_and(|(captured_us, _)| *captured_us >= end_us);
    for index in 0..20 * 50 {
        sent.extend(processed.try_iter());
        heard.extend(as_heard.try_iter());
        if caught_up(&sent) && caught_up(&heard) {
            break;
        }
        let first_sample = index * frame.samples.len() as u64;
        talking(first_sample, 140.0, &mut frame.samples[..]);
        encoder.encode(&frame, &mut packet).expect("encodes");
        input
            .send(MixerInput::Packet {
                source: 1,
                sequence: index as u16,
                payload: packet.clone(),
            })
            .expect("the playout thread runs");
        if index >= NEAR_FROM_FRAME {
            talking(first_sample + 7_000, 230.0, &mut near.samples[..]);
            room.play(&near).expect("the near end plays");
        }
        let due = started + Duration::from_millis(20 * (index + 1));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }

    // Sound energy and packets sent in each second from the 4th to the 16th.
    let per_second = |packets: &[(u64, Vec<u8>)]| {
        let mut decoder = OpusDecoder::new().expect("decoder");
        let mut decoded = AudioFrame::default();
        let mut seconds = [(0.0f64, 0u32); SECONDS];
        for (captured_us, packet) in packets {
            decoder.decode(packet, &mut decoded).expect("decodes");
            let second = captured_us.saturating_sub(started_us) / 1_000_000;
            if let Some((energy, count)) = second.checked_sub(FIRST).and_then(|s| seconds.get_mut(s as usize)) {
                *energy += decoded.samples.iter().map(|&s| f64::from(s * s)).sum::<f64>();
                *count += 1;
            }
        }
        seconds
    };
    let (heard, sent) = (per_second(&heard), per_second(&sent));
    let count = |seconds: &[(f64, u32)]| seconds.iter().map(|(_, packets)| packets).sum::<u32>();
    let (heard_packets, sent_packets) = (count(&heard), count(&sent));
    println!("packets from the 4th to the 16th second: {sent_packets} processed, {heard_packets} as heard");
    // A sound server that stalls skips some capture time (a busy machine): most of it.
    assert!(
        heard_packets >= SECONDS as u32 * 40,
        "the microphone sent only {heard_packets} packets in {SECONDS} s: {heard:?}"
    );
    assert!(
        sent_packets + 2 >= heard_packets,
        "voice processing sent {sent_packets} packets where the microphone as heard sent {heard_packets}"
    );
    assert!(
        heard.iter().all(|&(energy, _)| energy > 0.1),
        "the microphone heard the speaker every second: {heard:?}"
    );

    // Energy per packet: the microphone delivers in bursts, so a second by capture time
    // holds 44 to 56 packets.
    let per_packet = |seconds: &[(f64, u32)]| -> Vec<f64> {
        seconds
            .iter()
            .map(|&(energy, packets)| energy / f64::from(packets.max(1)))
            .collect()
    };

    // The far end alone, from the 4th second (once the canceller has learnt the echo path)
    // to the 12th. A device that stalls or skips moves the echo, and the canceller takes a
    // few seconds to learn it again, so 6 seconds of 8 must have it 10 dB down.
    let (heard, sent) = (per_packet(&heard), per_packet(&sent));
    let echo_seconds = (NEAR_FROM_FRAME / 50 - FIRST) as usize;
    let removed_db: Vec<f64> = heard[..echo_seconds]
        .iter()
        .zip(&sent)
        .map(|(heard, sent)| 10.0 * (heard / sent.max(1e-9)).log10())
        .collect();
    println!("echo removed each second from the 4th: {removed_db:.1?} dB");
    let removed = removed_db.iter().filter(|&&db| db >= 10.0).count();
    assert!(
        removed >= 6,
        "the echo was 10 dB down in only {removed} seconds of {echo_seconds}: {removed_db:.1?} dB"
    );

    // Both talk from the 12th second: what the near end adds to what is sent, against what
    // it adds to what is heard (the seconds from the 13th, whole ones after it started).
    let mean = |energies: &[f64]| energies.iter().sum::<f64>() / energies.len() as f64;
    let both = echo_seconds + 1..heard.len();
    let near_heard = mean(&heard[both.clone()]) - mean(&heard[..echo_seconds]);
    let near_sent = mean(&sent[both.clone()]) - mean(&sent[..echo_seconds]);
    let kept_db = 10.0 * (near_sent.max(1e-9) / near_heard).log10();
    println!("energy per packet heard: {heard:.2?}; sent: {sent:.2?}");
    println!("near end while both talk: {kept_db:.1} dB");
    assert!(near_heard > 0.02, "the near end was not heard: {heard:.2?}");
    assert!(
        kept_db >= -12.0,
        "the near end lost {:.1} dB: sent {sent:.2?}",
        -kept_db
    );
}

/// The sound server drops our speaker's stream, as it does with the streams of a device that
/// goes away when they cannot be moved to another. Through PulseAudio's ALSA plugin cpal
/// never says the device is gone, it reports I/O errors over and over while the stream asks
/// for no more sound. The playout thread must report the speaker as failed through the same
/// callback as an unplugged one, go on mixing, and close the broken stream rather than leave
/// it retrying at full speed.
#[test]
fn a_speaker_stream_the_sound_server_drops_is_reported_and_closed() {
    let Some((speaker, _turn)) = default_speaker() else {
        return;
    };
    let (failed_tx, failed) = sync_channel(4);
    let (tap, mixed) = sync_channel(512);
    let mixer = Mixer::start(
        speaker,
        Some(tap),
        EchoReference::default(),
        Arc::new(AudioLevels::default()),
        move |error| drop(failed_tx.try_send(error)),
    )
    .expect("playout starts");
    let stream = own_sink_input();
    let status = std::process::Command::new("pacmd")
        .args(["kill-sink-input", &stream])
        .status();
    assert!(status.is_ok_and(|s| s.success()), "pacmd kill-sink-input {stream}");
    let (killed, output_ticks) = (Instant::now(), output_thread_cpu_ticks());
    // The stream's thread ends when it is closed: its CPU time is read while waiting.
    let mut ticks_until_told = 0;
    let error = loop {
        match failed.recv_timeout(Duration::from_millis(20)) {
            Ok(error) => break error,
            Err(_) if killed.elapsed() < Duration::from_secs(8) => {
                ticks_until_told = ticks_until_told.max(output_thread_cpu_ticks().saturating_sub(output_ticks));
            }
            Err(_) => panic!(
                "the dropped speaker was not reported within 8 s; its stream's thread used \
                 {ticks_until_told} CPU ticks meanwhile"
            ),
        }
    };
    let took = killed.elapsed();
    assert!(matches!(error, AudioError::Disconnected(_)), "{error:?}");
    // After it is told: a second in which mixing goes on and the broken stream costs nothing.
    let (told, ticks) = (Instant::now(), output_thread_cpu_ticks());
    while mixed.try_recv().is_ok() {}
    std::thread::sleep(Duration::from_secs(1));
    let ticks_after = output_thread_cpu_ticks().saturating_sub(ticks);
    let frames_after = mixed.try_iter().count();
    println!(
        "told {took:.1?} after the stream was dropped; the output thread used {ticks_until_told} \
         CPU ticks until then and {ticks_after} in the second after; {frames_after} frames \
         mixed in {:.1?}",
        told.elapsed()
    );
    assert!(
        ticks_after <= 5,
        "the broken stream kept a core busy: {ticks_after} ticks in 1 s"
    );
    assert!(frames_after >= 40, "mixing stopped: {frames_after} frames in 1 s");
    assert!(failed.try_recv().is_err(), "the failure was reported twice");
    drop(mixer);
}

/// The index of this process's playback stream on the sound server, waited for up to 5 s.
fn own_sink_input() -> String {
    let pid = format!("application.process.id = \"{}\"", std::process::id());
    for _ in 0..50 {
        let output = std::process::Command::new("pactl")
            .args(["list", "sink-inputs"])
            .output()
            .expect("pactl runs");
        let listing = String::from_utf8_lossy(&output.stdout);
        let ours = listing.split("Sink Input #").skip(1).find(|block| block.contains(&pid));
        if let Some(block) = ours {
            return block.lines().next().unwrap_or_default().trim().to_owned();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no playback stream of this process on the sound server");
}

/// CPU time, in clock ticks, used so far by this process's cpal playback threads that are
/// still running.
fn output_thread_cpu_ticks() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|name| name.trim() == "cpal_alsa_out")
        })
        .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
        .map(|stat| {
            // After the name in parentheses: state is field 3; utime and stime 14 and 15.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map_or("", |(_, rest)| rest)
                .split_whitespace()
                .collect();
            let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
            field(14) + field(15)
        })
        .sum()
}

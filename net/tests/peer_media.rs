//! Two peer connections on loopback carry H.264 video and Opus audio end to end.

mod sending;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use tokio::sync::mpsc;
use videomeet_media::audio::goertzel::amplitude;
use videomeet_media::audio::mixer::MixerInput;
use videomeet_media::codec::OpusDecoder;
use videomeet_media::decode_thread::VideoDecoderThread;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::{VideoFormat, read_stamp};
use videomeet_media::{AudioFrame, VideoFrame, clock};
use videomeet_net::peer::{PeerConfig, PeerEvent, PeerLink};
use videomeet_net::protocol::{FeedKind, Signal};
use videomeet_net::receive::{receive_audio, receive_video};
use webrtc::peer_connection::RTCPeerConnectionState;

fn loopback() -> PeerConfig {
    PeerConfig {
        ice_addrs: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
        ..PeerConfig::default()
    }
}

/// Passes local candidates from `events` to `other`, and reports state and tracks.
fn relay_candidates(
    mut events: mpsc::Receiver<PeerEvent>,
    other: Arc<PeerLink>,
    states: mpsc::Sender<RTCPeerConnectionState>,
    tracks: mpsc::Sender<Arc<dyn webrtc::media_stream::track_remote::TrackRemote>>,
    keyframe_requests: mpsc::Sender<()>,
) {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                PeerEvent::Candidate(Signal::Candidate {
                    candidate,
                    sdp_mid,
                    sdp_mline_index,
                }) => {
                    other
                        .add_remote_candidate(candidate, sdp_mid, sdp_mline_index)
                        .await
                        .unwrap();
                }
                PeerEvent::State(state) => {
                    let _ = states.try_send(state);
                }
                PeerEvent::Track(track) => {
                    let _ = tracks.try_send(track);
                }
                PeerEvent::KeyframeRequested(..) => {
                    let _ = keyframe_requests.try_send(());
                }
                PeerEvent::Candidate(_) | PeerEvent::IceConnected | PeerEvent::Channel(_) => {}
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_and_audio_arrive_decoded_with_low_latency() {
    let (a_events_tx, a_events) = mpsc::channel(64);
    let (b_events_tx, b_events) = mpsc::channel(64);
    let alice = Arc::new(PeerLink::new(&loopback(), a_events_tx).await.expect("alice"));
    let bob = Arc::new(PeerLink::new(&loopback(), b_events_tx).await.expect("bob"));
    let (a_state_tx, mut a_states) = mpsc::channel(16);
    let (b_state_tx, _b_states) = mpsc::channel(16);
    let (a_tracks_tx, _a_tracks) = mpsc::channel(4);
    let (b_tracks_tx, mut b_tracks) = mpsc::channel(4);
    let (a_keyframes_tx, mut a_keyframes) = mpsc::channel(16);
    let (b_keyframes_tx, _b_keyframes) = mpsc::channel(16);
    relay_candidates(a_events, Arc::clone(&bob), a_state_tx, a_tracks_tx, a_keyframes_tx);
    relay_candidates(b_events, Arc::clone(&alice), b_state_tx, b_tracks_tx, b_keyframes_tx);

    // Alice offers (the newcomer offers), Bob answers.
    let Signal::Offer { sdp: offer, .. } = alice.create_offer().await.unwrap() else {
        panic!("not an offer")
    };
    let Signal::Answer { sdp: answer } = bob.accept_offer(offer, Vec::new()).await.unwrap() else {
        panic!("not an answer")
    };
    alice.accept_answer(answer).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), async {
        while a_states.recv().await != Some(RTCPeerConnectionState::Connected) {}
    })
    .await
    .expect("connected within 5 s");
    // The strongest protection both offer: AEAD for DTLS and for the media.
    let ciphers = alice.ciphers().await.expect("the handshake is done");
    assert_eq!(
        ciphers,
        (
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".into(),
            "SRTP_AEAD_AES_128_GCM".into()
        )
    );

    // Alice sends two seconds of 640x360 test pattern and test tone.
    let sender = tokio::spawn(sending::send_call(
        Arc::clone(&alice),
        VideoFormat::new(640, 360, 30),
        1_000_000,
        60,
        None,
    ));

    // Bob receives: video into a decoder thread and a slot, audio into a queue.
    let slot = Arc::new(VideoSlot::default());
    let (audio_tx, audio_rx) = std::sync::mpsc::sync_channel(256);
    let mut received = 0;
    while received < 2 {
        let track = tokio::time::timeout(Duration::from_secs(5), b_tracks.recv())
            .await
            .expect("track")
            .unwrap();
        if bob.origin_of(&track).await.1 == FeedKind::Screen {
            continue; // nothing is shared here
        }
        received += 1;
        match track.kind().await {
            rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Video => {
                // A keyframe request from Bob reaches Alice as an event.
                let ssrc = track.ssrcs().await.first().copied().unwrap_or_default();
                let pli = PictureLossIndication {
                    sender_ssrc: 0,
                    media_ssrc: ssrc,
                };
                track.write_rtcp(vec![Box::new(pli)]).await.unwrap();
                tokio::time::timeout(Duration::from_secs(2), a_keyframes.recv())
                    .await
                    .expect("the keyframe request arrives within 2 s");
                let decoder = VideoDecoderThread::start("decode-test", Arc::clone(&slot), || {}).unwrap();
                tokio::spawn(receive_video(track, decoder, None));
            }
            _ => {
                tokio::spawn(receive_audio(track, 1, audio_tx.clone(), None));
            }
        }
    }

    let mut latencies_us = Vec::new();
    let mut counters = Vec::new();
    let mut seen = 0;
    let mut shown = VideoFrame::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(6);
    while tokio::time::Instant::now() < deadline && counters.last() != Some(&59) {
        if let Some(generation) = slot.read_if_newer(seen, &mut shown) {
            seen = generation;
            let stamp = read_stamp(&shown).expect("decoded frames carry readable stamps");
            latencies_us.push(clock::now_us().saturating_sub(stamp.capture_time_us));
            counters.push(stamp.counter);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    sender.await.unwrap();
    assert!(
        counters.len() >= 45,
        "only {} of 60 frames shown: {counters:?}",
        counters.len()
    );
    assert!(
        counters.windows(2).all(|w| w[0] < w[1]),
        "frames out of order: {counters:?}"
    );
    latencies_us.sort_unstable();
    let median_ms = latencies_us[latencies_us.len() / 2] as f64 / 1000.0;
    assert!(median_ms < 50.0, "median capture-to-shown latency {median_ms:.1} ms");
    eprintln!(
        "video: {} frames, median capture-to-shown {median_ms:.1} ms",
        counters.len()
    );

    let mut decoder = OpusDecoder::new().unwrap();
    let mut decoded = Vec::new();
    let mut out = AudioFrame::default();
    while let Ok(MixerInput::Packet { payload, .. }) = audio_rx.try_recv() {
        decoder.decode(&payload, &mut out).unwrap();
        decoded.extend_from_slice(&out.samples[..]);
    }
    assert!(decoded.len() >= 50 * 960, "only {} audio samples", decoded.len());
    let tone = amplitude(&decoded[9_600..], 440.0);
    assert!(tone > 0.15, "440 Hz at amplitude {tone}");

    alice.close().await;
    bob.close().await;
}

/// How many of 1000 different candidates `link` takes.
async fn taken_of_1000(link: &PeerLink) -> usize {
    let mut taken = 0;
    for n in 0..1000 {
        let candidate = format!("candidate:{n} 1 udp 2130706431 192.168.1.5 {} typ host", 10_000 + n);
        if link
            .add_remote_candidate(candidate, Some("0".into()), Some(0))
            .await
            .is_ok()
        {
            taken += 1;
        }
    }
    taken
}

#[tokio::test]
async fn a_peer_cannot_make_us_hold_endless_candidates() {
    use videomeet_net::remote_candidates::{MAX_CANDIDATES_PER_DESCRIPTION, MAX_EARLY_CANDIDATES};
    let link = || async {
        // Nothing reads the events: a full queue drops them.
        let (events, _) = mpsc::channel(1);
        PeerLink::new(&loopback(), events).await.unwrap()
    };
    let offering = link().await;
    let Signal::Offer { sdp, .. } = offering.create_offer().await.unwrap() else {
        panic!("not an offer");
    };

    // A peer that never offers: a bounded number of candidates wait for its description.
    let waiting = link().await;
    assert_eq!(taken_of_1000(&waiting).await, MAX_EARLY_CANDIDATES);
    // They all go to the ICE agent with the offer.
    waiting.accept_offer(sdp.clone(), Vec::new()).await.unwrap();

    // After the offer, each description takes a bounded number.
    let described = link().await;
    described.accept_offer(sdp, Vec::new()).await.unwrap();
    assert_eq!(taken_of_1000(&described).await, MAX_CANDIDATES_PER_DESCRIPTION);
    for link in [offering, waiting, described] {
        link.close().await;
    }
}

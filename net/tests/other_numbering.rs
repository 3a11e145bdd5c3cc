//! A peer that is not Video Meet: plain webrtc-rs that numbers its codecs otherwise (H.264 96,
//! Opus 97), puts its audio m-line first and offers. Payload type numbers are the offerer's
//! to choose, so everything we send it must carry its numbers.

mod common;
mod sending;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use videomeet_media::VideoFrame;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::{VideoFormat, read_stamp};
use videomeet_net::peer::{PeerConfig, PeerEvent, PeerLink};
use videomeet_net::protocol::Signal;
use webrtc::peer_connection::{RTCIceCandidateInit, RTCSessionDescription};

use common::other_stack::{Theirs, other_stack, receive};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_with_other_payload_numbers_gets_our_picture_and_sound() {
    let (their_candidates_tx, mut their_candidates) = mpsc::channel(64);
    let (their_tracks_tx, mut their_tracks) = mpsc::channel(8);
    let theirs = other_stack(Theirs {
        candidates: their_candidates_tx,
        tracks: their_tracks_tx,
    })
    .await;
    let (our_events_tx, mut our_events) = mpsc::channel(64);
    let ours = Arc::new(
        PeerLink::new(
            &PeerConfig {
                ice_addrs: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
                ..PeerConfig::default()
            },
            our_events_tx,
        )
        .await
        .unwrap(),
    );

    // They offer with their numbers; we answer.
    let offer = theirs.create_offer(None).await.unwrap();
    theirs.set_local_description(offer.clone()).await.unwrap();
    assert!(offer.sdp.contains("a=rtpmap:96 H264/90000"), "{}", offer.sdp);
    let Signal::Answer { sdp: answer } = ours.accept_offer(offer.sdp).await.unwrap() else {
        panic!("not an answer")
    };
    assert!(answer.contains("a=rtpmap:96 H264/90000"), "{answer}");
    theirs
        .set_remote_description(RTCSessionDescription::answer(answer).unwrap())
        .await
        .unwrap();
    tokio::spawn({
        let ours = Arc::clone(&ours);
        async move {
            while let Some(init) = their_candidates.recv().await {
                let _ = ours
                    .add_remote_candidate(init.candidate, init.sdp_mid, init.sdp_mline_index)
                    .await;
            }
        }
    });
    tokio::spawn({
        let theirs = Arc::clone(&theirs);
        async move {
            while let Some(event) = our_events.recv().await {
                if let PeerEvent::Candidate(Signal::Candidate {
                    candidate,
                    sdp_mid,
                    sdp_mline_index,
                }) = event
                {
                    let init = RTCIceCandidateInit {
                        candidate,
                        sdp_mid,
                        sdp_mline_index,
                        ..Default::default()
                    };
                    let _ = theirs.add_ice_candidate(init).await;
                }
            }
        }
    });

    // We send three seconds of camera and sound, with keyframes now and then: the first
    // ones go out before the path is up.
    let sender = tokio::spawn(sending::send_call(
        Arc::clone(&ours),
        VideoFormat::new(320, 240, 30),
        500_000,
        90,
        Some(15),
    ));

    // They decode the picture and count the sound.
    let slot = Arc::new(VideoSlot::default());
    let (audio_tx, audio_rx) = std::sync::mpsc::sync_channel(1024);
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        let Ok(Some(track)) = tokio::time::timeout(Duration::from_secs(5), their_tracks.recv()).await else {
            panic!("only these of our tracks reached them: {kinds:?}");
        };
        kinds.push(receive(track, &slot, &audio_tx).await);
    }
    sender.await.unwrap();
    let (mut shown, mut pictures, mut seen) = (VideoFrame::default(), 0, 0);
    while let Some(generation) = slot.read_if_newer(seen, &mut shown) {
        seen = generation;
        pictures += 1;
    }
    let last = read_stamp(&shown).map(|stamp| stamp.counter);
    let sound = audio_rx.try_iter().count();
    println!("the other stack decoded up to picture {last:?} and received {sound} sound packets");
    assert!(
        pictures >= 1 && last >= Some(60),
        "last picture decoded: {last:?} of 90"
    );
    assert!(sound >= 60, "{sound} sound packets of 90");
    ours.close().await;
    let _ = theirs.close().await;
}

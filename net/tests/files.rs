//! Files between two peer connections on loopback, as the meeting moves them: whole and
//! checked when all is well; refused, with nothing left behind, when the sender lies about
//! the size or the hash, or either side cancels.

use std::net::SocketAddr;

use std::sync::{Arc, Mutex};
use std::time::Duration;
use videomeet_media::testing::{listing, scratch_folder, varied_bytes};

use bytes::BytesMut;
use tokio::sync::mpsc;
use videomeet_net::files::receive::SaveTo;
use videomeet_net::files::{self, Canceller, Control, Outcome, Progress, ProgressSink, Request};
use videomeet_net::peer::{PeerConfig, PeerEvent, PeerLink};
use videomeet_net::protocol::Signal;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::RTCPeerConnectionState;

fn loopback() -> PeerConfig {
    PeerConfig {
        ice_addrs: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
        ..PeerConfig::default()
    }
}

/// Passes candidates on to `other`; reports the state and the channels the other side opens.
fn serve(
    mut events: mpsc::Receiver<PeerEvent>,
    other: Arc<PeerLink>,
    states: mpsc::Sender<RTCPeerConnectionState>,
    channels: mpsc::Sender<Arc<dyn DataChannel>>,
) {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                PeerEvent::Candidate(Signal::Candidate {
                    candidate,
                    sdp_mid,
                    sdp_mline_index,
                }) => other
                    .add_remote_candidate(candidate, sdp_mid, sdp_mline_index)
                    .await
                    .unwrap(),
                PeerEvent::State(state) => drop(states.try_send(state)),
                PeerEvent::Channel(channel)
                    if channel.label().await.unwrap_or_default() != videomeet_net::peer::DATA_CHANNEL =>
                {
                    let _ = channels.send(channel).await;
                }
                _ => {}
            }
        }
    });
}

/// Two connected links; the channels each one's other side opens.
struct Pair {
    sender: Arc<PeerLink>,
    receiver: Arc<PeerLink>,
    /// Channels the receiver opened, as the sender gets them.
    requests: mpsc::Receiver<Arc<dyn DataChannel>>,
}

async fn connected() -> Pair {
    let (sender_events_tx, sender_events) = mpsc::channel(64);
    let (receiver_events_tx, receiver_events) = mpsc::channel(64);
    let sender = Arc::new(PeerLink::new(&loopback(), sender_events_tx).await.expect("sender"));
    let receiver = Arc::new(PeerLink::new(&loopback(), receiver_events_tx).await.expect("receiver"));
    let (states_tx, mut states) = mpsc::channel(16);
    let (requests_tx, requests) = mpsc::channel(16);
    let (unused_tx, _unused) = mpsc::channel(16);
    serve(sender_events, Arc::clone(&receiver), states_tx.clone(), requests_tx);
    serve(receiver_events, Arc::clone(&sender), mpsc::channel(16).0, unused_tx);
    let Signal::Offer { sdp, .. } = sender.create_offer().await.expect("offer") else {
        panic!("not an offer")
    };
    let Signal::Answer { sdp: answer } = receiver.accept_offer(sdp, Vec::new()).await.expect("answer") else {
        panic!("not an answer")
    };
    sender.accept_answer(answer).await.expect("answer taken");
    tokio::time::timeout(Duration::from_secs(10), async {
        while states.recv().await != Some(RTCPeerConnectionState::Connected) {}
    })
    .await
    .expect("connected");
    Pair {
        sender,
        receiver,
        requests,
    }
}

impl Pair {
    /// The receiver asks for file 1; returns its channel and the sender's.
    async fn request(&mut self) -> (Arc<dyn DataChannel>, Arc<dyn DataChannel>) {
        let label = Request {
            file: 1,
            from: 1,
            on_behalf_of: None,
        }
        .label();
        let asked = self.receiver.open_channel(&label).await.expect("a channel");
        let arrived = tokio::time::timeout(Duration::from_secs(5), self.requests.recv())
            .await
            .expect("the request arrives")
            .expect("a channel");
        assert_eq!(arrived.label().await.unwrap(), label);
        (asked, arrived)
    }
}

/// Records progress, for the tests that wait for some.
fn progress_log() -> (ProgressSink, Arc<Mutex<Vec<Progress>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink_log = Arc::clone(&log);
    (Arc::new(move |p: Progress| sink_log.lock().unwrap().push(p)), log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_arrives_whole_checked_and_named() {
    let mut pair = connected().await;
    let source = scratch_folder("files-whole-source");
    let content = varied_bytes(5 * 1024 * 1024 + 123);
    let path = source.join("slides.pdf");
    std::fs::write(&path, &content).unwrap();
    let saved = scratch_folder("files-whole-saved");
    // A file of that name is there already: the new one is numbered.
    std::fs::write(saved.join("slides.pdf"), "older").unwrap();

    let (asked, arrived) = pair.request().await;
    let size = content.len() as u64;
    let (progress, log) = progress_log();
    let sending = tokio::spawn(async move { files::send(arrived, &path, size, progress, Canceller::default()).await });
    let to = SaveTo::Folder(saved.clone());
    let (progress, _) = progress_log();
    let received = files::receive(asked, "slides.pdf", size, &to, progress, Canceller::default()).await;

    let copy = saved.join("slides (2).pdf");
    assert_eq!(received, Outcome::Saved(copy.clone()));
    assert!(std::fs::read(&copy).unwrap() == content, "the copy differs");
    assert_eq!(sending.await.unwrap(), Outcome::Delivered);
    assert_eq!(listing(&saved), ["slides (2).pdf", "slides.pdf"]);
    let told = log.lock().unwrap().clone();
    assert_eq!(told.last().map(|p| p.bytes), Some(size), "{told:?}");
    let _ = std::fs::remove_dir_all(source);
    let _ = std::fs::remove_dir_all(saved);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_sending_more_than_it_offered_is_refused_and_nothing_is_kept() {
    let mut pair = connected().await;
    let source = scratch_folder("files-more-source");
    let path = source.join("big.bin");
    std::fs::write(&path, varied_bytes(300_000)).unwrap();
    let saved = scratch_folder("files-more-saved");

    let (asked, arrived) = pair.request().await;
    let sending =
        tokio::spawn(async move { files::send(arrived, &path, 300_000, progress_log().0, Canceller::default()).await });
    // It offered fewer bytes than it sends.
    let to = SaveTo::Folder(saved.clone());
    let received = files::receive(asked, "big.bin", 200_000, &to, progress_log().0, Canceller::default()).await;

    assert_eq!(
        received,
        Outcome::Failed("the sender sent more than the 200000 bytes it offered".into())
    );
    assert!(
        matches!(
            sending.await.unwrap(),
            Outcome::Cancelled { by_us: false, .. } | Outcome::Failed(_)
        ),
        "the sender is stopped"
    );
    assert_eq!(listing(&saved), Vec::<String>::new(), "nothing kept");
    let _ = std::fs::remove_dir_all(source);
    let _ = std::fs::remove_dir_all(saved);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_hash_or_a_short_file_is_refused_and_nothing_is_kept() {
    let mut pair = connected().await;
    let saved = scratch_folder("files-hash-saved");
    let to = SaveTo::Folder(saved.clone());

    for (sent, claimed_size, expected) in [
        (
            100_000,
            100_000,
            "the file arrived damaged (its SHA-256 does not match)",
        ),
        (
            50_000,
            100_000,
            "the sender stopped after 50000 of the 100000 bytes it offered",
        ),
    ] {
        let (asked, arrived) = pair.request().await;
        // A sender of our own making: the bytes, then a hash of something else.
        let lying = tokio::spawn(async move {
            for chunk in varied_bytes(sent).chunks(16 * 1024) {
                arrived.send(BytesMut::from(chunk)).await.unwrap();
            }
            let end = Control::End { sha256: "0".repeat(64) };
            arrived.send_text(&serde_json::to_string(&end).unwrap()).await.unwrap();
            // What the receiver says.
            loop {
                match arrived.poll().await {
                    Some(DataChannelEvent::OnMessage(message)) => {
                        return serde_json::from_slice::<Control>(&message.data).unwrap();
                    }
                    Some(_) => {}
                    None => panic!("closed without a word"),
                }
            }
        });
        let received = files::receive(
            asked,
            "x.bin",
            claimed_size,
            &to,
            progress_log().0,
            Canceller::default(),
        )
        .await;
        assert_eq!(received, Outcome::Failed(expected.into()));
        assert_eq!(
            lying.await.unwrap(),
            Control::Cancel {
                reason: expected.into()
            }
        );
        assert_eq!(listing(&saved), Vec::<String>::new(), "nothing kept");
    }
    let _ = std::fs::remove_dir_all(saved);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_on_either_side_stops_both_and_keeps_nothing() {
    let mut pair = connected().await;
    let source = scratch_folder("files-cancel-source");
    let path = source.join("large.bin");
    // Sparse: large to send, nothing to write.
    std::fs::File::create(&path).unwrap().set_len(2 << 30).unwrap();
    let saved = scratch_folder("files-cancel-saved");

    for receiver_cancels in [true, false] {
        let (asked, arrived) = pair.request().await;
        let (sender_cancel, receiver_cancel) = (Canceller::default(), Canceller::default());
        let (progress, log) = progress_log();
        let sending = {
            let (path, cancel) = (path.clone(), sender_cancel.clone());
            tokio::spawn(async move { files::send(arrived, &path, 2 << 30, progress_log().0, cancel).await })
        };
        let receiving = {
            let (to, cancel) = (SaveTo::Folder(saved.clone()), receiver_cancel.clone());
            tokio::spawn(async move { files::receive(asked, "large.bin", 2 << 30, &to, progress, cancel).await })
        };
        // Once something has arrived.
        tokio::time::timeout(Duration::from_secs(10), async {
            while log.lock().unwrap().iter().all(|p| p.bytes == 0) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("bytes arrive");
        assert_eq!(listing(&saved), ["large.bin.part"], "received into a .part file");
        if receiver_cancels {
            receiver_cancel.cancel();
        } else {
            sender_cancel.cancel();
        }
        let within = |task| tokio::time::timeout(Duration::from_secs(5), task);
        let (sent, received) = (within(sending).await, within(receiving).await);
        let (sent, received) = (
            sent.expect("the sender stops").unwrap(),
            received.expect("the receiver stops").unwrap(),
        );
        let (canceller, other) = if receiver_cancels {
            (&received, &sent)
        } else {
            (&sent, &received)
        };
        assert!(
            matches!(canceller, Outcome::Cancelled { by_us: true, .. }),
            "{canceller:?}"
        );
        assert!(matches!(other, Outcome::Cancelled { by_us: false, .. }), "{other:?}");
        assert_eq!(listing(&saved), Vec::<String>::new(), "nothing kept");
    }
    drop(pair.sender);
    let _ = std::fs::remove_dir_all(source);
    let _ = std::fs::remove_dir_all(saved);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_small_files_one_after_another_all_arrive() {
    let mut pair = connected().await;
    let source = scratch_folder("files-many-source");
    let saved = scratch_folder("files-many-saved");
    let mut senders = Vec::new();
    for n in 0..30 {
        let name = format!("note-{n}.txt");
        let path = source.join(&name);
        std::fs::write(&path, name.as_bytes()).unwrap();
        let (asked, arrived) = pair.request().await;
        let size = name.len() as u64;
        let sending =
            tokio::spawn(
                async move { files::send(arrived, &path, size, progress_log().0, Canceller::default()).await },
            );
        let to = SaveTo::Folder(saved.clone());
        let received = files::receive(asked, &name, size, &to, progress_log().0, Canceller::default()).await;
        assert_eq!(received, Outcome::Saved(saved.join(&name)), "file {n}");
        // The next is asked for while this one's sender still closes its channel.
        senders.push(sending);
    }
    for (n, sending) in senders.into_iter().enumerate() {
        assert_eq!(sending.await.unwrap(), Outcome::Delivered, "file {n}");
    }
    let _ = std::fs::remove_dir_all(source);
    let _ = std::fs::remove_dir_all(saved);
}

//! A peer that is not Video Meet joins a meeting of two Video Meet participants: plain
//! webrtc-rs that numbers its codecs otherwise (H.264 96, Opus 97) and puts its audio m-line
//! first. It joins through signaling as PROTOCOL.md describes, offering to both participants,
//! who answer with its numbers and must send with them too. Every direction must carry picture
//! and sound: it decodes both participants' cameras and hears both, each of them decodes its
//! camera and hears it, and the two of them still see and hear each other.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use videomeet_media::audio::goertzel::amplitude;
use videomeet_media::audio::mixer::MixerInput;
use videomeet_media::codec::OpusDecoder;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::{VideoFormat, read_stamp};
use videomeet_media::{AudioFrame, MicrophoneChoice, SpeakerChoice, VideoChoice, VideoFrame};
use videomeet_net::JoinTarget;
use videomeet_net::meeting::{Meeting, MeetingConfig, MeetingHandle, MeetingView, Role};
use videomeet_net::peer::{PeerConfig, VideoFeed};
use videomeet_net::protocol::PeerId;
use videomeet_net::signaling::HostConfig;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::RTCIceCandidateInit;

use common::RawSocket;
use common::other_stack::{
    Offering, Sends, THEIR_H264, THEIR_OPUS, Theirs, candidate_of, first_mid, mid_of, other_stack_sending, receive,
    send_media,
};

/// Everyone's camera: small, so that three encoders and six decoders share two cores.
const FORMAT: VideoFormat = VideoFormat::new(320, 240, 30);
/// The tones that tell who is heard.
const GRACE_HZ: u32 = 440;
const BOB_HZ: u32 = 660;
const ADA_HZ: u32 = 550;
/// How long each direction is measured once all of them carry something.
const WINDOW: Duration = Duration::from_secs(3);
/// Pictures each direction must bring in the window: half of the 90 sent.
const LEAST_PICTURES: u64 = 45;
/// Sound each direction must bring in the window: four in five of the 150 20 ms packets.
const LEAST_SOUND: u64 = 120;
/// How strong a sender's tone must be in what the receiver decoded (it is sent at 0.3).
const LEAST_TONE: f32 = 0.1;

/// A Video Meet participant on loopback with synthetic devices: the stamped test pattern and
/// a tone of its own, and the meeting as its events told it.
struct Participant {
    name: &'static str,
    tone_hz: u32,
    _handle: MeetingHandle,
    seen: Arc<Mutex<MeetingView>>,
    heard: Receiver<AudioFrame>,
    /// The last second of what it heard, as far as read.
    played: Mutex<Vec<f32>>,
}

impl Participant {
    async fn start(role: Role, name: &'static str, tone_hz: u32) -> Self {
        let (tap, heard) = sync_channel(4096);
        let config = MeetingConfig {
            name: name.into(),
            camera: VideoChoice::TestPattern,
            video_format: FORMAT,
            camera_on: true,
            microphone: MicrophoneChoice::TestTone { freq_hz: tone_hz },
            mic_on: true,
            speaker: SpeakerChoice::Mute,
            voice_processing: false,
            audio_tap: Some(tap),
            peer: PeerConfig {
                ice_addrs: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
                ..PeerConfig::default()
            },
            announce: false,
            session: None,
        };
        let (meeting, handle, mut events) = Meeting::new(role, config, Arc::new(|| {}));
        tokio::spawn(meeting.run());
        let seen = Arc::new(Mutex::new(MeetingView::default()));
        let collected = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                collected.lock().unwrap().apply(&event);
            }
        });
        let participant = Self {
            name,
            tone_hz,
            _handle: handle,
            seen,
            heard,
            played: Mutex::default(),
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while participant.seen.lock().unwrap().you.is_none() {
            assert!(Instant::now() < deadline, "{name} is not in the meeting within 5 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        participant
    }

    fn id(&self) -> PeerId {
        self.seen.lock().unwrap().you.expect("in the meeting")
    }

    /// Pictures of `from`'s camera decoded here so far.
    fn pictures_of(&self, from: PeerId) -> Option<Arc<VideoSlot>> {
        self.seen.lock().unwrap().video(from, VideoFeed::Camera).cloned()
    }

    /// 20 ms of `from`'s sound decoded from its own packets and played here so far.
    fn sound_of(&self, from: PeerId) -> u64 {
        let levels = self.seen.lock().unwrap().audio_levels.clone();
        levels.map_or(0, |levels| levels.playout.counts(from).decoded)
    }

    /// The last second of what this participant heard (everyone mixed).
    fn last_second_heard(&self) -> Vec<f32> {
        let mut played = self.played.lock().unwrap();
        played.extend(self.heard.try_iter().flat_map(|frame| frame.samples.to_vec()));
        let older = played.len().saturating_sub(48_000);
        played.drain(..older);
        played.clone()
    }
}

/// The kind of each track that arrived from a participant, and the mid of its m-line.
type Arrived = Arc<Mutex<Vec<(RtpCodecKind, Option<String>)>>>;

/// Where the other stack's signaling puts what arrives from one participant; the test reads
/// it through [`Received`].
struct FromParticipant {
    /// The participant's camera, decoded.
    pictures: Arc<VideoSlot>,
    /// Its sound packets, for the reader.
    sound: SyncSender<MixerInput>,
    arrived: Arrived,
}

/// The other stack in the meeting: a raw WebSocket to the host, and one webrtc-rs connection
/// to each participant who was in before it, which it offered.
struct Newcomer {
    socket: RawSocket,
    /// Its id, from `welcome`.
    you: PeerId,
    links: BTreeMap<PeerId, Offering>,
    from: BTreeMap<PeerId, FromParticipant>,
    candidates: mpsc::Receiver<(PeerId, RTCIceCandidateInit)>,
    tracks: mpsc::Receiver<(PeerId, Arc<dyn TrackRemote>)>,
    pings: u64,
    next_ping: Instant,
}

/// What the other stack received from one participant, as the test reads it.
struct Received {
    /// The participant's camera, decoded.
    pictures: Arc<VideoSlot>,
    /// The participant's sound packets.
    sound: Receiver<MixerInput>,
    arrived: Arrived,
}

impl Newcomer {
    /// Says `hello` as `name`, sending sound and camera, and offers to everyone `welcome`
    /// lists. Returns, for each participant, what it sends them and what it receives.
    async fn join(target: &JoinTarget, name: &str) -> (Self, BTreeMap<PeerId, (Sends, Received)>) {
        let url = format!("ws://127.0.0.1:{}/", target.port);
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("connects");
        let (candidates_tx, candidates) = mpsc::channel(256);
        let (tracks_tx, tracks) = mpsc::channel(16);
        let mut newcomer = Self {
            socket,
            you: 0,
            links: BTreeMap::new(),
            from: BTreeMap::new(),
            candidates,
            tracks,
            pings: 0,
            next_ping: Instant::now() + Duration::from_secs(2),
        };
        let code = target.code.clone().expect("the link has the meeting code");
        newcomer
            .send(json!({"type": "hello", "version": 1, "name": name, "code": code,
                "media": {"mic": true, "camera": true, "screen": false}}))
            .await;
        let welcome = loop {
            let message = newcomer.read(Duration::from_secs(5)).await;
            match message["type"].as_str() {
                Some("welcome") => break message,
                Some("pong") => {}
                _ => panic!("{name} was not let in: {message}"),
            }
        };
        newcomer.you = welcome["you"].as_u64().expect("our id") as PeerId;
        let mut joined = BTreeMap::new();
        for peer in welcome["peers"].as_array().expect("peers") {
            let id = peer["id"].as_u64().expect("an id") as PeerId;
            let (their_candidates, mut candidates) = mpsc::channel(64);
            let (their_tracks, mut tracks) = mpsc::channel(8);
            let (pc, sends) = other_stack_sending(Theirs {
                candidates: their_candidates,
                tracks: their_tracks,
            })
            .await;
            let (all_candidates, all_tracks) = (candidates_tx.clone(), tracks_tx.clone());
            tokio::spawn(async move {
                while let Some(candidate) = candidates.recv().await {
                    let _ = all_candidates.send((id, candidate)).await;
                }
            });
            tokio::spawn(async move {
                while let Some(track) = tracks.recv().await {
                    let _ = all_tracks.send((id, track)).await;
                }
            });
            let mut offering = Offering::new(pc);
            let sdp = offering.offer().await;
            newcomer
                .send(json!({"type": "signal", "to": id, "signal": {"kind": "offer", "sdp": sdp}}))
                .await;
            newcomer.links.insert(id, offering);
            let (sound_tx, sound) = sync_channel(4096);
            let (pictures, arrived) = (Arc::new(VideoSlot::default()), Arc::default());
            newcomer.from.insert(
                id,
                FromParticipant {
                    pictures: Arc::clone(&pictures),
                    sound: sound_tx,
                    arrived: Arc::clone(&arrived),
                },
            );
            let received = Received {
                pictures,
                sound,
                arrived,
            };
            joined.insert(id, (sends, received));
        }
        (newcomer, joined)
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("the host keeps the connection open");
    }

    /// The host's next message, within `wait`.
    async fn read(&mut self, wait: Duration) -> Value {
        loop {
            let frame = tokio::time::timeout(wait, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("the host said nothing for {wait:?}"));
            if let Some(message) = message_of(frame) {
                return message;
            }
        }
    }

    /// Does the next thing there is to do: take in a message from the host, pass on one of
    /// our candidates, take in a track, or ping.
    async fn step(&mut self) {
        tokio::select! {
            frame = self.socket.next() => {
                if let Some(message) = message_of(frame) {
                    self.on_message(message).await;
                }
            }
            Some((to, candidate)) = self.candidates.recv() => {
                // webrtc-rs names no m-line; everything is bundled on the first one.
                let mut signal = json!({"kind": "candidate", "candidate": candidate.candidate,
                    "sdpMLineIndex": candidate.sdp_mline_index.unwrap_or(0)});
                if let Some(mid) = candidate.sdp_mid.filter(|mid| !mid.is_empty()) {
                    signal["sdpMid"] = mid.into();
                }
                self.send(json!({"type": "signal", "to": to, "signal": signal})).await;
            }
            Some((from, track)) = self.tracks.recv() => self.on_track(from, track).await,
            () = tokio::time::sleep_until(self.next_ping) => {
                self.pings += 1;
                self.next_ping += Duration::from_secs(2);
                self.send(json!({"type": "ping", "nonce": self.pings})).await;
            }
        }
    }

    async fn on_message(&mut self, message: Value) {
        match message["type"].as_str() {
            Some("signal") => {
                let from = message["from"].as_u64().expect("from") as PeerId;
                let signal = &message["signal"];
                let link = self
                    .links
                    .get_mut(&from)
                    .unwrap_or_else(|| panic!("a signal from {from}, to whom we did not offer: {message}"));
                match signal["kind"].as_str() {
                    Some("answer") => link.take_answer(signal["sdp"].as_str().expect("an SDP").into()).await,
                    Some("candidate") => link.take_candidate(candidate_of(signal)).await,
                    _ => panic!("participant {from} sent what a later joiner never gets: {message}"),
                }
            }
            Some("ping") => self.send(json!({"type": "pong", "nonce": message["nonce"]})).await,
            Some("error" | "removed" | "ended" | "denied") => panic!("the host says: {message}"),
            // The roster, media states and pongs change nothing here.
            _ => {}
        }
    }

    /// Takes in a track from participant `from`: its camera is decoded when it came on our
    /// first video m-line, its sound counted; every track's m-line is noted.
    async fn on_track(&mut self, from: PeerId, track: Arc<dyn TrackRemote>) {
        let pc = &self.links[&from].pc;
        let mid = mid_of(pc, &track).await;
        let kind = track.kind().await;
        let into = &self.from[&from];
        into.arrived.lock().unwrap().push((kind, mid.clone()));
        let offer = self.links[&from].offered().expect("we offered");
        if kind == RtpCodecKind::Audio || mid == first_mid(offer, "video") {
            receive(track, &into.pictures, &into.sound).await;
        }
    }

    /// Steps until every participant's answer is applied, for at most `wait`.
    async fn until_answered(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        while !self.links.values().all(Offering::answered) {
            let waiting: Vec<_> = self
                .links
                .iter()
                .filter(|(_, link)| !link.answered())
                .map(|(id, _)| *id)
                .collect();
            let stepped = tokio::time::timeout_at(deadline, self.step()).await;
            assert!(
                stepped.is_ok(),
                "no answer within {wait:?} from participants {waiting:?}"
            );
        }
    }
}

/// The message a WebSocket frame from the host carries; `None` for frames without one (pings
/// of the WebSocket itself). Fails when the connection ended.
fn message_of(frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> Option<Value> {
    match frame {
        Some(Ok(Message::Text(text))) => Some(serde_json::from_str(text.as_str()).expect("the host sends JSON")),
        Some(Ok(Message::Close(_))) | None => panic!("the host closed the connection"),
        Some(Ok(_)) => None,
        Some(Err(error)) => panic!("the connection failed: {error}"),
    }
}

/// The m-line kinds of `sdp`, in order.
fn mline_kinds(sdp: &str) -> Vec<&str> {
    sdp.lines()
        .filter_map(|line| line.strip_prefix("m="))
        .filter_map(|media| media.split(' ').next())
        .collect()
}

/// Fails unless `sdp` (`what`) has the audio m-line first, then two video ones, and numbers
/// H.264 and Opus as the other stack does.
fn assert_their_numbering(what: &str, sdp: &str) {
    assert_eq!(mline_kinds(sdp), ["audio", "video", "video"], "{what}:\n{sdp}");
    for codec in [
        format!("a=rtpmap:{THEIR_H264} H264/90000"),
        format!("a=rtpmap:{THEIR_OPUS} opus/48000/2"),
    ] {
        assert!(sdp.contains(&codec), "{what} lacks {codec}:\n{sdp}");
    }
}

/// Where a direction's pictures and sound are seen.
enum Receiving<'a> {
    /// A Video Meet participant, from its meeting view and what it played.
    Ours { viewer: &'a Participant, sender: PeerId },
    /// The other stack, from its decoder and the sound packets it received.
    Theirs {
        received: &'a Received,
        packets: Vec<Vec<u8>>,
    },
}

/// One direction of the meeting: a sender's camera and sound at one receiver.
struct Direction<'a> {
    from: &'static str,
    to: &'static str,
    tone_hz: u32,
    at: Receiving<'a>,
}

impl Direction<'_> {
    fn slot(&self) -> Option<Arc<VideoSlot>> {
        match &self.at {
            Receiving::Ours { viewer, sender } => viewer.pictures_of(*sender),
            Receiving::Theirs { received, .. } => Some(Arc::clone(&received.pictures)),
        }
    }

    /// Pictures decoded so far.
    fn pictures(&self) -> u64 {
        self.slot().map_or(0, |slot| slot.generation())
    }

    /// The sender's number of the newest picture decoded.
    fn newest_frame(&self) -> Option<u32> {
        let mut frame = VideoFrame::default();
        self.slot()?.read_if_newer(0, &mut frame)?;
        read_stamp(&frame).map(|stamp| stamp.counter)
    }

    /// Sound so far: 20 ms decoded and played (ours), or packets received (theirs).
    fn sound(&mut self) -> u64 {
        match &mut self.at {
            Receiving::Ours { viewer, sender } => viewer.sound_of(*sender),
            Receiving::Theirs { received, packets } => {
                packets.extend(received.sound.try_iter().filter_map(|input| match input {
                    MixerInput::Packet { payload, .. } => Some(payload),
                    _ => None,
                }));
                packets.len() as u64
            }
        }
    }

    /// How strong the sender's tone is in the last second received.
    fn tone(&mut self) -> f32 {
        let samples = match &mut self.at {
            Receiving::Ours { viewer, .. } => viewer.last_second_heard(),
            Receiving::Theirs { packets, .. } => {
                let mut decoder = OpusDecoder::new().unwrap();
                let mut frame = AudioFrame::default();
                let last_second = &packets[packets.len().saturating_sub(50)..];
                let mut samples = Vec::new();
                for packet in last_second {
                    decoder.decode(packet, &mut frame).expect("an Opus packet");
                    samples.extend_from_slice(&frame.samples[..]);
                }
                samples
            }
        };
        amplitude(&samples, self.tone_hz as f32)
    }

    /// What is still missing for this direction to carry both picture and sound.
    fn missing(&mut self) -> Option<String> {
        let missing: Vec<_> = [("picture", self.pictures() == 0), ("sound", self.sound() == 0)]
            .into_iter()
            .filter_map(|(what, none)| none.then_some(what))
            .collect();
        (!missing.is_empty()).then(|| format!("{} → {}: no {}", self.from, self.to, missing.join(", no ")))
    }
}

async fn host_on_loopback() -> (Participant, JoinTarget) {
    let mut config = HostConfig::new("Standup", "Grace");
    (config.bind_ip, config.port) = (IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let grace = Participant::start(Role::Host(config), "Grace", GRACE_HZ).await;
    let link = grace.seen.lock().unwrap().link.clone().expect("a link");
    let mut target = JoinTarget::parse(&link).expect("the link parses");
    target.host = "127.0.0.1".into();
    (grace, target)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_with_other_payload_numbers_joins_a_meeting_of_two_and_every_direction_carries_picture_and_sound() {
    let started = Instant::now();
    let (grace, target) = host_on_loopback().await;
    let join = Role::Join {
        target: target.clone(),
        passcode: None,
    };
    let bob = Participant::start(join, "Bob", BOB_HZ).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    for (viewer, sender) in [(&grace, &bob), (&bob, &grace)] {
        while viewer
            .pictures_of(sender.id())
            .is_none_or(|slot| slot.generation() == 0)
        {
            assert!(
                Instant::now() < deadline,
                "the meeting of two is not up: {} sees no picture from {}",
                viewer.name,
                sender.name
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // Ada joins, offers to both, and both answer with her numbers.
    let (mut ada, joined) = Newcomer::join(&target, "Ada").await;
    let names = BTreeMap::from([(grace.id(), grace.name), (bob.id(), bob.name)]);
    assert_eq!(
        joined.keys().collect::<Vec<_>>(),
        names.keys().collect::<Vec<_>>(),
        "Ada offers to everyone who was in before her"
    );
    ada.until_answered(Duration::from_secs(10)).await;
    for (id, link) in &ada.links {
        assert_their_numbering("Ada's offer", link.offered().expect("an offer"));
        let answer = link.pc.remote_description().await.expect("an answer").sdp;
        assert_their_numbering(&format!("{}'s answer", names[id]), &answer);
    }
    let (mut sends, mut received) = (Vec::new(), BTreeMap::new());
    for (id, (to, from)) in joined {
        let numbers = (to.sound.payload_type().await, to.camera.payload_type().await);
        assert_eq!(
            numbers,
            (Some(THEIR_OPUS), Some(THEIR_H264)),
            "what Ada sends {} is numbered as she offered",
            names[&id]
        );
        sends.push(to);
        received.insert(id, from);
    }
    let ada_id = ada.you;
    let offers: BTreeMap<PeerId, String> = ada
        .links
        .iter()
        .map(|(id, link)| (*id, link.offered().expect("an offer").to_owned()))
        .collect();
    let _sender = AbortOnDrop(tokio::spawn(send_media(sends, FORMAT, 500_000, ADA_HZ as f32)));
    let mut signaling = AbortOnDrop(tokio::spawn(async move {
        loop {
            ada.step().await;
        }
    }));

    // Six directions: Grace and Bob to Ada, Ada to each of them, and the two between them.
    let mut directions = Vec::new();
    for participant in [&grace, &bob] {
        directions.push(Direction {
            from: participant.name,
            to: "Ada",
            tone_hz: participant.tone_hz,
            at: Receiving::Theirs {
                received: &received[&participant.id()],
                packets: Vec::new(),
            },
        });
        directions.push(Direction {
            from: "Ada",
            to: participant.name,
            tone_hz: ADA_HZ,
            at: Receiving::Ours {
                viewer: participant,
                sender: ada_id,
            },
        });
    }
    for (viewer, sender) in [(&grace, &bob), (&bob, &grace)] {
        directions.push(Direction {
            from: sender.name,
            to: viewer.name,
            tone_hz: sender.tone_hz,
            at: Receiving::Ours {
                viewer,
                sender: sender.id(),
            },
        });
    }

    // Every direction starts carrying picture and sound.
    let joined_at = Instant::now();
    loop {
        let missing: Vec<_> = directions.iter_mut().filter_map(Direction::missing).collect();
        if missing.is_empty() {
            break;
        }
        signaling.assert_running("Ada's signaling");
        assert!(
            joined_at.elapsed() < Duration::from_secs(10),
            "10 s after Ada joined, some directions carry nothing yet:\n  {}",
            missing.join("\n  ")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first_media = joined_at.elapsed();

    // Then each carries it steadily.
    let before: Vec<_> = directions
        .iter_mut()
        .map(|direction| (direction.pictures(), direction.newest_frame(), direction.sound()))
        .collect();
    tokio::time::sleep(WINDOW).await;
    let mut failures = Vec::new();
    println!(
        "{:.1} s from the start to Ada's join, {:.1} s from there to media in every direction; in {:.0} s:",
        (joined_at - started).as_secs_f64(),
        first_media.as_secs_f64(),
        WINDOW.as_secs_f64()
    );
    for (direction, (pictures, first_frame, sound)) in directions.iter_mut().zip(before) {
        let pictures = direction.pictures() - pictures;
        let frames = (first_frame, direction.newest_frame());
        let (sound, tone) = (direction.sound() - sound, direction.tone());
        let number = |frame: Option<u32>| frame.map_or("?".into(), |frame| frame.to_string());
        let line = format!(
            "{} → {}: {pictures} pictures decoded (the sender's frames {} to {}), {sound} {}, \
             its {} Hz tone at {tone:.2}",
            direction.from,
            direction.to,
            number(frames.0),
            number(frames.1),
            match direction.at {
                Receiving::Ours { .. } => "20 ms of sound decoded",
                Receiving::Theirs { .. } => "sound packets",
            },
            direction.tone_hz,
        );
        println!("  {line}");
        let moving = frames.0.is_some() && frames.0 < frames.1;
        if pictures < LEAST_PICTURES || !moving || sound < LEAST_SOUND || tone < LEAST_TONE {
            failures.push(line);
        }
    }
    assert!(
        failures.is_empty(),
        "not every direction carried picture and sound (at least {LEAST_PICTURES} pictures with \
         rising frame numbers, {LEAST_SOUND} of sound, the tone at {LEAST_TONE}):\n  {}",
        failures.join("\n  ")
    );

    // Grace's and Bob's tracks came on the m-lines of Ada's offers that PROTOCOL.md names:
    // sound on the audio one, camera on the first video one, nothing on the screen's.
    for (id, from) in &received {
        let mid = |kind| first_mid(&offers[id], kind);
        let mut arrived = from.arrived.lock().unwrap().clone();
        arrived.sort_by_key(|(_, mid)| mid.clone());
        let mut expected = vec![(RtpCodecKind::Audio, mid("audio")), (RtpCodecKind::Video, mid("video"))];
        expected.sort_by_key(|(_, mid)| mid.clone());
        assert_eq!(
            arrived, expected,
            "the tracks from {} came on these m-lines of Ada's",
            names[id]
        );
    }
    signaling.assert_running("Ada's signaling");
    println!("{:.1} s in all", started.elapsed().as_secs_f64());
}

/// Aborts the task when dropped, so that nothing of the test outlives it.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    /// Fails, with the task's own panic when it has one, if the task `what` has ended.
    fn assert_running(&mut self, what: &str) {
        use futures_util::FutureExt;
        if let Some(ended) = (&mut self.0).now_or_never() {
            match ended {
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                _ => panic!("{what} ended"),
            }
        }
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

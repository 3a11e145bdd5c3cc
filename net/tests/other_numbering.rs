//! A peer that is not Video Meet joins a meeting of two Video Meet participants: plain
//! webrtc-rs that numbers its codecs otherwise (H.264 96, Opus 97) and puts its audio m-line
//! first. It joins through signaling as PROTOCOL.md describes, in both kinds of meeting.
//! Without forwarding it offers to both participants, who answer with its numbers and must
//! send with them too. With forwarding it offers to the host only, answers the host's offers
//! on that connection, and tells from their `feeds` which m-lines carry the other
//! participant's media; its own reaches the other participant through the host too. Every
//! direction must carry picture and sound: it decodes both participants' cameras and hears
//! both, each of them decodes its camera and hears it, and the two of them still see and hear
//! each other. With forwarding, the other participant then leaves, and the host offers again
//! without its feeds.

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
use videomeet_net::protocol::{FeedKind, PeerId};
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
const CAROL_HZ: u32 = 770;
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
            ..MeetingConfig::default()
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

/// The feed each track that arrived from a participant carries, and the mid of its m-line.
type Arrived = Arc<Mutex<Vec<(FeedKind, Option<String>)>>>;

/// Where the other stack's signaling puts what arrives from one participant, through whichever
/// connection it comes; the test reads it through [`Received`].
struct FromParticipant {
    /// The participant's camera, decoded.
    pictures: Arc<VideoSlot>,
    /// Its sound packets, for the reader.
    sound: SyncSender<MixerInput>,
    arrived: Arrived,
}

/// Where what arrives from one participant goes, and where the test reads it.
fn from_participant() -> (FromParticipant, Received) {
    let (sound_tx, sound) = sync_channel(4096);
    let (pictures, arrived) = (Arc::new(VideoSlot::default()), Arrived::default());
    let into = FromParticipant {
        pictures: Arc::clone(&pictures),
        sound: sound_tx,
        arrived: Arc::clone(&arrived),
    };
    (
        into,
        Received {
            pictures,
            sound,
            arrived,
        },
    )
}

/// What one m-line of a forwarding host's offer carries, as its `feeds` say.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Feed {
    mid: String,
    from: PeerId,
    kind: FeedKind,
}

/// The `feeds` of an offer's `signal` object, read as PROTOCOL.md describes them (left out:
/// none).
fn feeds_of(signal: &Value) -> Vec<Feed> {
    let Some(feeds) = signal.get("feeds").filter(|feeds| !feeds.is_null()) else {
        return Vec::new();
    };
    let feeds = feeds
        .as_array()
        .unwrap_or_else(|| panic!("feeds is not an array: {signal}"));
    let feed = |feed: &Value| Feed {
        mid: feed["mid"].as_str().expect("a feed's mid").to_owned(),
        from: feed["from"].as_u64().expect("a feed's participant") as PeerId,
        kind: match feed["kind"].as_str() {
            Some("audio") => FeedKind::Audio,
            Some("camera") => FeedKind::Camera,
            Some("screen") => FeedKind::Screen,
            _ => panic!("a feed of no kind PROTOCOL.md names: {feed}"),
        },
    };
    feeds.iter().map(feed).collect()
}

/// An offer the other stack received and answered.
#[derive(Clone, Debug)]
struct TakenOffer {
    sdp: String,
    feeds: Vec<Feed>,
}

/// The offers the other stack answered, in order (a forwarding host's only).
type TakenOffers = Arc<Mutex<Vec<TakenOffer>>>;

/// The other stack's connection to one participant, which it offered.
struct Link {
    offering: Offering,
    /// From the latest offer of a forwarding host: the m-lines that carry others' feeds.
    feeds: Vec<Feed>,
}

/// The other stack in the meeting: a raw WebSocket to the host, and a webrtc-rs connection,
/// which it offered, to each participant who was in before it (without forwarding) or to the
/// host only (with).
struct Newcomer {
    socket: RawSocket,
    /// Its id, from `welcome`.
    you: PeerId,
    /// The host's id, from `welcome`.
    host: PeerId,
    /// The host forwards, as `welcome` says.
    forwarding: bool,
    links: BTreeMap<PeerId, Link>,
    from: BTreeMap<PeerId, FromParticipant>,
    offers: TakenOffers,
    /// What arrives from participants who joined after us, as the test reads it.
    joiners: Arc<Mutex<BTreeMap<PeerId, Received>>>,
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

/// What the other stack sends and receives once in the meeting.
struct Joined {
    /// What it sends on each of its connections, by the participant at the other end.
    sends: BTreeMap<PeerId, Sends>,
    /// What it receives from each participant `welcome` listed, whichever connection brings it.
    received: BTreeMap<PeerId, Received>,
}

impl Newcomer {
    /// Says `hello` as `name`, sending sound and camera, and offers to everyone `welcome`
    /// lists, or only to the host when it forwards.
    async fn join(target: &JoinTarget, name: &str) -> (Self, Joined) {
        let url = format!("ws://127.0.0.1:{}/", target.port);
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("connects");
        let (candidates_tx, candidates) = mpsc::channel(256);
        let (tracks_tx, tracks) = mpsc::channel(16);
        let mut newcomer = Self {
            socket,
            you: 0,
            host: 0,
            forwarding: false,
            links: BTreeMap::new(),
            from: BTreeMap::new(),
            offers: TakenOffers::default(),
            joiners: Arc::default(),
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
        // Left out, `forwarding` is false.
        newcomer.forwarding = welcome["meeting"]["forwarding"].as_bool().unwrap_or(false);
        let peers = welcome["peers"].as_array().expect("peers");
        let host = peers
            .iter()
            .find(|peer| peer["is_host"] == true)
            .expect("the host is in");
        newcomer.host = host["id"].as_u64().expect("the host's id") as PeerId;
        let mut joined = Joined {
            sends: BTreeMap::new(),
            received: BTreeMap::new(),
        };
        for peer in peers {
            let id = peer["id"].as_u64().expect("an id") as PeerId;
            let (into, received) = from_participant();
            newcomer.from.insert(id, into);
            joined.received.insert(id, received);
            if newcomer.forwarding && id != newcomer.host {
                // The host brings this participant's media.
                continue;
            }
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
            newcomer.links.insert(
                id,
                Link {
                    offering,
                    feeds: Vec::new(),
                },
            );
            joined.sends.insert(id, sends);
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
                let forwarding = self.forwarding;
                let link = self
                    .links
                    .get_mut(&from)
                    .unwrap_or_else(|| panic!("a signal from {from}, with whom we have no connection: {message}"));
                match signal["kind"].as_str() {
                    Some("answer") => {
                        link.offering
                            .take_answer(signal["sdp"].as_str().expect("an SDP").into())
                            .await;
                    }
                    Some("candidate") => link.offering.take_candidate(candidate_of(signal)).await,
                    Some("offer") => {
                        assert!(
                            forwarding,
                            "participant {from} offered to a later joiner in a meeting without forwarding: {message}"
                        );
                        let sdp = signal["sdp"].as_str().expect("an SDP").to_owned();
                        let feeds = feeds_of(signal);
                        let Some(answer) = link.offering.take_offer(sdp.clone()).await else {
                            // Our offer crossed it: the host withdraws this one and offers again.
                            return;
                        };
                        link.feeds = feeds.clone();
                        self.offers.lock().unwrap().push(TakenOffer { sdp, feeds });
                        let answer = json!({"kind": "answer", "sdp": answer});
                        self.send(json!({"type": "signal", "to": from, "signal": answer})).await;
                    }
                    _ => panic!("participant {from} sent a signal PROTOCOL.md does not name: {message}"),
                }
            }
            Some("peer_joined") => {
                let id = message["peer"]["id"].as_u64().expect("an id") as PeerId;
                let (into, received) = from_participant();
                self.from.insert(id, into);
                self.joiners.lock().unwrap().insert(id, received);
            }
            Some("ping") => self.send(json!({"type": "pong", "nonce": message["nonce"]})).await,
            Some("error" | "removed" | "ended" | "denied") => panic!("the host says: {message}"),
            // The roster, media states and pongs change nothing here.
            _ => {}
        }
    }

    /// Takes in a track that came on the connection to participant `link`: whose it is and
    /// which feed, from the m-line it came on (one the host's `feeds` name carries another
    /// participant's; the others carry the participant's own, told apart as PROTOCOL.md
    /// says); cameras are decoded, sound counted, and every track's m-line noted.
    async fn on_track(&mut self, link: PeerId, track: Arc<dyn TrackRemote>) {
        let Link { offering, feeds } = &self.links[&link];
        let mid = mid_of(&offering.pc, &track).await;
        let audio = track.kind().await == RtpCodecKind::Audio;
        let forwarded = feeds.iter().find(|feed| Some(&feed.mid) == mid.as_ref());
        let (who, kind) = match forwarded {
            Some(feed) => (feed.from, feed.kind),
            None if audio => (link, FeedKind::Audio),
            None if mid == first_mid(offering.offered().expect("we offered"), "video") => (link, FeedKind::Camera),
            None => (link, FeedKind::Screen),
        };
        assert_eq!(
            audio,
            kind == FeedKind::Audio,
            "participant {who}'s {kind:?} came on an m-line of another kind ({mid:?})"
        );
        let into = self
            .from
            .get(&who)
            .unwrap_or_else(|| panic!("a track of participant {who}, of whom we were not told"));
        into.arrived.lock().unwrap().push((kind, mid));
        if kind != FeedKind::Screen {
            receive(track, &into.pictures, &into.sound).await;
        }
    }

    /// Steps until every participant we offered to has answered, for at most `wait`.
    async fn until_answered(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        while !self.links.values().all(|link| link.offering.answered()) {
            let waiting: Vec<_> = self
                .links
                .iter()
                .filter(|(_, link)| !link.offering.answered())
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

/// How the host connects the participants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rules {
    /// Everyone connects to everyone (`HostConfig::forwarding` off).
    Mesh,
    /// Each guest connects to the host, which forwards the others' media.
    Forwarding,
}

/// One m-line of a description, as far as the test reads it.
struct MLine {
    kind: String,
    mid: Option<String>,
    /// `sendrecv`, `sendonly`, `recvonly` or `inactive`, when said.
    direction: Option<String>,
    section: String,
}

/// The m-lines of `sdp`, in order.
fn mlines(sdp: &str) -> Vec<MLine> {
    let mut found: Vec<MLine> = Vec::new();
    for line in sdp.lines() {
        if let Some(media) = line.strip_prefix("m=") {
            found.push(MLine {
                kind: media.split(' ').next().unwrap_or_default().to_owned(),
                mid: None,
                direction: None,
                section: String::new(),
            });
        }
        let Some(mline) = found.last_mut() else { continue };
        if let Some(mid) = line.strip_prefix("a=mid:") {
            mline.mid = Some(mid.trim().to_owned());
        }
        if let Some(direction) = ["sendrecv", "sendonly", "recvonly", "inactive"]
            .into_iter()
            .find(|direction| line.strip_prefix("a=") == Some(*direction))
        {
            mline.direction = Some(direction.to_owned());
        }
        mline.section.push_str(line);
        mline.section.push('\n');
    }
    found
}

/// The kinds and mids of `sdp`'s m-lines, in order.
fn kinds_and_mids(sdp: &str) -> Vec<(String, Option<String>)> {
    mlines(sdp).into_iter().map(|mline| (mline.kind, mline.mid)).collect()
}

/// Fails unless a forwarding host's `offer`, on the connection we offered with `ours`, keeps
/// our m-lines first, in our order; its `feeds` name one audio and two video m-lines (sound,
/// camera, screen) for each of `others` and nobody else's; the host sends on no further m-line
/// that `feeds` does not name; and every m-line is numbered as we number.
fn assert_forwarding_offer(ours: &str, offer: &TakenOffer, others: &[PeerId]) {
    let (own, offered) = (kinds_and_mids(ours), mlines(&offer.sdp));
    let what = format!("the host's offer, with feeds {:?}:\n{}", offer.feeds, offer.sdp);
    assert!(offered.len() >= own.len(), "our m-lines are kept in {what}");
    let kept: Vec<_> = offered[..own.len()]
        .iter()
        .map(|mline| (mline.kind.clone(), mline.mid.clone()))
        .collect();
    assert_eq!(kept, own, "our m-lines first, as we offered them, in {what}");
    // The data channel's m-line (for files) carries no codec and no feed.
    let media: Vec<_> = offered.iter().filter(|mline| mline.kind != "application").collect();
    for mline in &media {
        let codec = match mline.kind.as_str() {
            "audio" => format!("a=rtpmap:{THEIR_OPUS} opus/48000/2"),
            _ => format!("a=rtpmap:{THEIR_H264} H264/90000"),
        };
        assert!(
            mline.section.contains(&codec),
            "m-line {:?} lacks {codec} in {what}",
            mline.mid
        );
    }
    for mline in media.iter().skip(own.len()) {
        let named = offer.feeds.iter().any(|feed| mline.mid.as_ref() == Some(&feed.mid));
        assert!(
            named || matches!(mline.direction.as_deref(), Some("recvonly" | "inactive")),
            "the host sends on m-line {:?}, which no feed names, in {what}",
            mline.mid
        );
    }
    let mut named = Vec::new();
    for feed in &offer.feeds {
        let position = offered
            .iter()
            .position(|mline| mline.mid.as_ref() == Some(&feed.mid))
            .unwrap_or_else(|| panic!("{feed:?} names no m-line of {what}"));
        assert!(position >= own.len(), "{feed:?} names one of our m-lines in {what}");
        let kind = if feed.kind == FeedKind::Audio { "audio" } else { "video" };
        assert_eq!(
            offered[position].kind, kind,
            "{feed:?} names an m-line of another kind in {what}"
        );
        named.push((feed.from, feed.kind));
    }
    named.sort_by_key(|(from, kind)| (*from, *kind as u8));
    let mut expected: Vec<_> = others
        .iter()
        .flat_map(|from| [FeedKind::Audio, FeedKind::Camera, FeedKind::Screen].map(|kind| (*from, kind)))
        .collect();
    expected.sort_by_key(|(from, kind)| (*from, *kind as u8));
    assert_eq!(named, expected, "the feeds of {what}");
}

async fn host_on_loopback(rules: Rules) -> (Participant, JoinTarget) {
    let mut config = HostConfig::new("Standup", "Grace");
    (config.bind_ip, config.port) = (IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    config.forwarding = rules == Rules::Forwarding;
    let grace = Participant::start(Role::Host(config), "Grace", GRACE_HZ).await;
    let link = grace.seen.lock().unwrap().link.clone().expect("a link");
    let mut target = JoinTarget::parse(&link).expect("the link parses");
    target.host = "127.0.0.1".into();
    (grace, target)
}

/// The two meetings run one after the other: each one's figures are what two cores bring
/// for one meeting of three.
static ONE_MEETING_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_numbering_otherwise_joins_a_mesh_of_two_and_every_direction_carries_picture_and_sound() {
    joins_a_meeting_of_two(Rules::Mesh).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_numbering_otherwise_joins_through_a_forwarding_host_and_every_direction_carries_picture_and_sound() {
    joins_a_meeting_of_two(Rules::Forwarding).await;
}

/// Ada, the other stack, joins Grace (host) and Bob in a meeting with `rules`, and every
/// direction carries picture and sound. With forwarding, Bob then leaves.
async fn joins_a_meeting_of_two(rules: Rules) {
    let _alone = ONE_MEETING_AT_A_TIME.lock().await;
    let label = match rules {
        Rules::Mesh => "without forwarding",
        Rules::Forwarding => "with forwarding",
    };
    let started = Instant::now();
    let (grace, target) = host_on_loopback(rules).await;
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

    // Ada joins and offers, to both of them without forwarding and to the host only with it;
    // whoever she offered answers with her numbers.
    let (mut ada, joined) = Newcomer::join(&target, "Ada").await;
    assert_eq!(
        ada.forwarding,
        rules == Rules::Forwarding,
        "welcome's meeting.forwarding, {label}"
    );
    let names = BTreeMap::from([(grace.id(), grace.name), (bob.id(), bob.name)]);
    let offered_to: Vec<PeerId> = match rules {
        Rules::Mesh => names.keys().copied().collect(),
        Rules::Forwarding => vec![grace.id()],
    };
    assert_eq!(
        joined.sends.keys().copied().collect::<Vec<_>>(),
        offered_to,
        "Ada offers to everyone who was in before her without forwarding, to the host only with it"
    );
    assert_eq!(
        joined.received.keys().collect::<Vec<_>>(),
        names.keys().collect::<Vec<_>>(),
        "welcome lists Grace and Bob"
    );
    ada.until_answered(Duration::from_secs(10)).await;
    for (id, link) in &ada.links {
        assert_their_numbering("Ada's offer", link.offering.offered().expect("an offer"));
        let answer = link.offering.answer().expect("an answer");
        assert_their_numbering(&format!("{}'s answer", names[id]), answer);
    }
    let mut sends = Vec::new();
    for (id, to) in joined.sends {
        let numbers = (to.sound.payload_type().await, to.camera.payload_type().await);
        assert_eq!(
            numbers,
            (Some(THEIR_OPUS), Some(THEIR_H264)),
            "what Ada sends {} is numbered as she offered",
            names[&id]
        );
        sends.push(to);
    }
    let received = joined.received;
    let ada_id = ada.you;
    let offers: BTreeMap<PeerId, String> = ada
        .links
        .iter()
        .map(|(id, link)| (*id, link.offering.offered().expect("an offer").to_owned()))
        .collect();
    let host_offers = Arc::clone(&ada.offers);
    let ada_joiners = Arc::clone(&ada.joiners);
    let _sender = AbortOnDrop(tokio::spawn(send_media(sends, FORMAT, 500_000, ADA_HZ as f32)));
    let mut signaling = AbortOnDrop(tokio::spawn(async move {
        loop {
            ada.step().await;
        }
    }));

    // Six directions: Grace and Bob to Ada, Ada to each of them, and the two between them.
    // With forwarding, Bob's reach Ada and Ada's reach Bob through Grace's program.
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
    let mut carrying = vec![None; directions.len()];
    loop {
        let mut missing = Vec::new();
        for (direction, since) in directions.iter_mut().zip(&mut carrying) {
            match direction.missing() {
                Some(what) => missing.push(what),
                None => _ = since.get_or_insert_with(|| joined_at.elapsed()),
            }
        }
        if missing.is_empty() {
            break;
        }
        signaling.assert_running("Ada's signaling");
        assert!(
            joined_at.elapsed() < Duration::from_secs(10),
            "10 s after Ada joined a meeting {label}, some directions carry nothing yet:\n  {}",
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
        "{label}: {:.1} s from the start to Ada's join, {:.1} s from there to media in every direction; in {:.0} s:",
        (joined_at - started).as_secs_f64(),
        first_media.as_secs_f64(),
        WINDOW.as_secs_f64()
    );
    for ((direction, (pictures, first_frame, sound)), since) in directions.iter_mut().zip(before).zip(carrying) {
        let pictures = direction.pictures() - pictures;
        let frames = (first_frame, direction.newest_frame());
        let (sound, tone) = (direction.sound() - sound, direction.tone());
        let number = |frame: Option<u32>| frame.map_or("?".into(), |frame| frame.to_string());
        let since = since.unwrap_or_default().as_secs_f64();
        let line = format!(
            "{} → {} (from {since:.1} s): {pictures} pictures decoded (the sender's frames {} to {}), \
             {sound} {}, its {} Hz tone at {tone:.2}",
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
        "{label}, not every direction carried picture and sound (at least {LEAST_PICTURES} \
         pictures with rising frame numbers, {LEAST_SOUND} of sound, the tone at {LEAST_TONE}):\n  {}",
        failures.join("\n  ")
    );
    drop(directions);

    // Without forwarding nobody offers to Ada. With it, the host offered her Bob's feeds on
    // her connection: her m-lines first, then Bob's sound, camera and screen.
    let taken = host_offers.lock().unwrap().clone();
    let bob_feeds = match rules {
        Rules::Mesh => {
            assert!(
                taken.is_empty(),
                "offers to a later joiner without forwarding: {taken:?}"
            );
            Vec::new()
        }
        Rules::Forwarding => {
            let last = taken.last().expect("the host offers Ada Bob's feeds");
            assert_forwarding_offer(&offers[&grace.id()], last, &[bob.id()]);
            println!(
                "  the host offered Ada {} time(s); the last offer has m-lines {:?} and feeds {:?}",
                taken.len(),
                kinds_and_mids(&last.sdp),
                last.feeds
            );
            last.feeds.clone()
        }
    };

    // Each participant's tracks came on the m-lines PROTOCOL.md names: a participant's own on
    // the m-lines of Ada's offer to it (sound on the audio one, camera on the first video one,
    // nothing on the screen's); a participant's whose media the host forwards on the m-lines
    // the host's `feeds` name for its sound and camera.
    for (id, from) in &received {
        let mut expected = if bob_feeds.iter().any(|feed| feed.from == *id) {
            let mid = |kind| {
                let feed = bob_feeds.iter().find(|feed| feed.from == *id && feed.kind == kind);
                feed.map(|feed| feed.mid.clone())
            };
            vec![
                (FeedKind::Audio, mid(FeedKind::Audio)),
                (FeedKind::Camera, mid(FeedKind::Camera)),
            ]
        } else {
            let mid = |kind| first_mid(&offers[id], kind);
            vec![(FeedKind::Audio, mid("audio")), (FeedKind::Camera, mid("video"))]
        };
        let mut arrived = from.arrived.lock().unwrap().clone();
        arrived.sort_by_key(|(_, mid)| mid.clone());
        expected.sort_by_key(|(_, mid)| mid.clone());
        assert_eq!(
            arrived, expected,
            "the tracks from {} came on these m-lines of Ada's connection",
            names[id]
        );
    }

    if rules == Rules::Forwarding {
        let joiners = Arc::clone(&ada_joiners);
        let later = Later {
            grace: &grace,
            target: &target,
            ours: &offers[&grace.id()],
            host_offers: &host_offers,
            joiners: &joiners,
            ada: ada_id,
        };
        later.bob_leaves(bob, &received[&grace.id()], &mut signaling).await;
        later.carol_joins(&mut signaling).await;
    }
    signaling.assert_running("Ada's signaling");
    println!("{label}: {:.1} s in all", started.elapsed().as_secs_f64());
}

/// What happens at a forwarding meeting once Ada, Grace and Bob see and hear each other.
struct Later<'a> {
    grace: &'a Participant,
    target: &'a JoinTarget,
    /// Ada's offer to Grace.
    ours: &'a str,
    host_offers: &'a TakenOffers,
    joiners: &'a Mutex<BTreeMap<PeerId, Received>>,
    ada: PeerId,
}

impl Later<'_> {
    /// The host's next offer to Ada after the `count` she has answered, within 5 s of `since`.
    async fn next_offer(
        &self,
        count: usize,
        since: Instant,
        why: &str,
        signaling: &mut AbortOnDrop<()>,
    ) -> (TakenOffer, TakenOffer) {
        while self.host_offers.lock().unwrap().len() == count {
            signaling.assert_running("Ada's signaling");
            assert!(
                since.elapsed() < Duration::from_secs(5),
                "no offer from the host within 5 s of {why}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let taken = self.host_offers.lock().unwrap();
        (taken[count - 1].clone(), taken[count].clone())
    }

    /// Bob leaves: the host offers again, naming no feeds. His m-lines stay where they were,
    /// the host sending nothing on them, and Grace's camera keeps coming.
    async fn bob_leaves(&self, bob: Participant, from_grace: &Received, signaling: &mut AbortOnDrop<()>) {
        let count = self.host_offers.lock().unwrap().len();
        drop(bob);
        let left_at = Instant::now();
        let (previous, last) = self.next_offer(count, left_at, "Bob's leaving", signaling).await;
        let offered_again = left_at.elapsed();
        assert_forwarding_offer(self.ours, &last, &[]);
        assert_eq!(
            kinds_and_mids(&last.sdp),
            kinds_and_mids(&previous.sdp),
            "the host's offer after Bob left keeps every m-line where it was:\n{}",
            last.sdp
        );
        let now = mlines(&last.sdp);
        let directions: Vec<_> = previous
            .feeds
            .iter()
            .map(|feed| {
                let mline = now.iter().find(|mline| mline.mid.as_ref() == Some(&feed.mid));
                let direction = mline.and_then(|mline| mline.direction.clone());
                format!("{} {}", feed.mid, direction.unwrap_or_default())
            })
            .collect();
        let at_offer = from_grace.pictures.generation();
        let deadline = Instant::now() + Duration::from_secs(2);
        while from_grace.pictures.generation() < at_offer + 15 {
            signaling.assert_running("Ada's signaling");
            assert!(
                Instant::now() < deadline,
                "Grace's camera stopped reaching Ada once she answered the offer after Bob left"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        println!(
            "  Bob left: the host offered again {:.2} s later, without feeds; Bob's m-lines stay ({}), \
             and Grace's camera went on",
            offered_again.as_secs_f64(),
            directions.join(", ")
        );
    }

    /// Carol joins: the host offers Ada her feeds, and Ada and Carol see and hear each other
    /// through the host, on the m-lines its `feeds` name.
    async fn carol_joins(&self, signaling: &mut AbortOnDrop<()>) {
        let count = self.host_offers.lock().unwrap().len();
        let join = Role::Join {
            target: self.target.clone(),
            passcode: None,
        };
        let joining_at = Instant::now();
        let carol = Participant::start(join, "Carol", CAROL_HZ).await;
        let (previous, last) = self.next_offer(count, joining_at, "Carol's joining", signaling).await;
        let offered_at = joining_at.elapsed();
        assert_forwarding_offer(self.ours, &last, &[carol.id()]);
        let feed_mids: Vec<_> = last.feeds.iter().map(|feed| feed.mid.clone()).collect();
        let (before, now) = (kinds_and_mids(&previous.sdp).len(), kinds_and_mids(&last.sdp).len());
        let received = self
            .joiners
            .lock()
            .unwrap()
            .remove(&carol.id())
            .expect("Ada was told Carol joined");
        let mut directions = [
            Direction {
                from: "Carol",
                to: "Ada",
                tone_hz: CAROL_HZ,
                at: Receiving::Theirs {
                    received: &received,
                    packets: Vec::new(),
                },
            },
            Direction {
                from: "Ada",
                to: "Carol",
                tone_hz: ADA_HZ,
                at: Receiving::Ours {
                    viewer: &carol,
                    sender: self.ada,
                },
            },
            Direction {
                from: "Grace",
                to: "Carol",
                tone_hz: GRACE_HZ,
                at: Receiving::Ours {
                    viewer: &carol,
                    sender: self.grace.id(),
                },
            },
        ];
        loop {
            let missing: Vec<_> = directions.iter_mut().filter_map(Direction::missing).collect();
            if missing.is_empty() {
                break;
            }
            signaling.assert_running("Ada's signaling");
            assert!(
                joining_at.elapsed() < Duration::from_secs(5),
                "5 s after Carol joined, some directions carry nothing yet:\n  {}",
                missing.join("\n  ")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let carrying = joining_at.elapsed();
        let mid = |kind| {
            last.feeds
                .iter()
                .find(|feed| feed.kind == kind)
                .map(|feed| feed.mid.clone())
        };
        let mut expected = vec![
            (FeedKind::Audio, mid(FeedKind::Audio)),
            (FeedKind::Camera, mid(FeedKind::Camera)),
        ];
        let mut arrived = received.arrived.lock().unwrap().clone();
        arrived.sort_by_key(|(_, mid)| mid.clone());
        expected.sort_by_key(|(_, mid)| mid.clone());
        assert_eq!(
            arrived, expected,
            "the tracks from Carol came on these m-lines of Ada's connection"
        );
        println!(
            "  Carol joined: the host offered Ada her feeds {:.2} s later, on m-lines {feed_mids:?} \
             ({before} m-lines before, {now} now); Carol and Ada saw and heard each other, and \
             Carol Grace, {:.1} s after she joined",
            offered_at.as_secs_f64(),
            carrying.as_secs_f64()
        );
    }
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

//! PROTOCOL.md's example exchange, replayed against a real host: a client that is not Video
//! Meet (plain webrtc-rs, audio m-line first, its own payload numbers) sends the documented
//! client messages, with its real SDP and candidates where the example shortens them, and
//! every message the host sends must be one the example shows, with the same fields. It ends
//! when the client decodes a picture from the host's camera. When the document and the code
//! disagree, this fails and says where.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use videomeet_media::VideoFrame;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::VideoFormat;
use videomeet_net::JoinTarget;
use videomeet_net::meeting::{Event, Meeting, MeetingConfig, MeetingHandle, Role};
use videomeet_net::peer::PeerConfig;
use videomeet_net::protocol::ClientMessage;
use videomeet_net::signaling::HostConfig;
use webrtc::peer_connection::RTCIceCandidateInit;

use common::other_stack::{Offering, Theirs, candidate_of, first_mid, mid_of, other_stack, receive};

const PROTOCOL: &str = include_str!("../PROTOCOL.md");

/// The example's heading; the example runs to the next `## ` heading.
const EXAMPLE_HEADING: &str = "## Example: from `hello` to first media";

/// Who sends a message of the example.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Client,
    Host,
}

/// One message of the example, with the line of PROTOCOL.md its block starts on.
struct Step {
    side: Side,
    message: Value,
    line: usize,
}

/// The example's messages in order: each fenced `json` block holds one, and the paragraph
/// before it starts with "**client → host**" or "**host → client**".
fn example() -> Vec<Step> {
    let mut lines = PROTOCOL.lines().enumerate();
    lines
        .by_ref()
        .find(|(_, line)| line.trim_end() == EXAMPLE_HEADING)
        .unwrap_or_else(|| panic!("PROTOCOL.md has no section \"{EXAMPLE_HEADING}\""));
    let (mut steps, mut side, mut block) = (Vec::new(), None, None::<(usize, String)>);
    for (index, line) in lines {
        let number = index + 1;
        if let Some((start, text)) = &mut block {
            if line.trim_start().starts_with("```") {
                let message = serde_json::from_str(text)
                    .unwrap_or_else(|error| panic!("PROTOCOL.md line {start}: not one JSON message: {error}"));
                let side = side
                    .take()
                    .unwrap_or_else(|| panic!("PROTOCOL.md line {start}: who sends this? Say \"**client → host**\" or \"**host → client**\" before it"));
                steps.push(Step {
                    side,
                    message,
                    line: *start,
                });
                block = None;
            } else {
                text.push_str(line);
                text.push('\n');
            }
        } else if line.starts_with("## ") {
            break;
        } else if line.starts_with("**client → host**") {
            side = Some(Side::Client);
        } else if line.starts_with("**host → client**") {
            side = Some(Side::Host);
        } else if line.trim_start().starts_with("```json") {
            block = Some((number + 1, String::new()));
        }
    }
    assert!(block.is_none(), "PROTOCOL.md: the example's last block is not closed");
    assert!(
        steps.iter().any(|step| step.side == Side::Client) && steps.iter().any(|step| step.side == Side::Host),
        "PROTOCOL.md: the example shows no exchange"
    );
    steps
}

/// A string the example shortens: the real value takes its place.
fn shortened(value: &Value) -> bool {
    value.as_str().is_some_and(|text| text.ends_with("..."))
}

/// What tells messages apart: their type, and for signals their kind.
fn key(message: &Value) -> String {
    let kind = message["signal"]["kind"].as_str();
    let kind = kind.map(|kind| format!(" {kind}")).unwrap_or_default();
    format!("{}{kind}", message["type"].as_str().unwrap_or("(no type)"))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// How `actual` differs from `documented` in shape: fields missing or not documented, values
/// of another JSON kind. Values themselves may differ; an array's items are compared with the
/// documented first item.
fn differences(path: &str, documented: &Value, actual: &Value, found: &mut Vec<String>) {
    match (documented, actual) {
        (Value::Object(documented), Value::Object(actual)) => {
            for (field, value) in documented {
                match actual.get(field) {
                    Some(actual) => differences(&format!("{path}.{field}"), value, actual, found),
                    None => found.push(format!("{path}.{field} is in the document only")),
                }
            }
            let undocumented = actual.keys().filter(|field| !documented.contains_key(*field));
            found.extend(undocumented.map(|field| format!("{path}.{field} is in the message only")));
        }
        (Value::Array(documented), Value::Array(actual)) => {
            if let Some(first) = documented.first() {
                for (index, item) in actual.iter().enumerate() {
                    differences(&format!("{path}[{index}]"), first, item, found);
                }
            }
        }
        _ if json_kind(documented) != json_kind(actual) => found.push(format!(
            "{path} is {} in the message, {} in the document",
            json_kind(actual),
            json_kind(documented)
        )),
        _ => {}
    }
}

/// Fails unless `actual` has the shape of the documented `step`.
fn assert_shape(step: &Step, actual: &Value) {
    let mut found = Vec::new();
    differences("", &step.message, actual, &mut found);
    assert!(
        found.is_empty(),
        "the host's {} differs from PROTOCOL.md line {}:\n  {}\nsent:       {actual}\ndocumented: {}",
        key(actual),
        step.line,
        found.join("\n  "),
        step.message
    );
}

/// What the client has learnt so far.
#[derive(Default)]
struct Facts {
    /// The meeting code, from the link.
    code: String,
    /// The host's participant id, from `welcome`.
    host: Option<u64>,
    /// Nonces of our pings.
    pings: Vec<u64>,
}

/// The client's side: a raw WebSocket and a webrtc-rs peer.
struct Client {
    socket: common::RawSocket,
    link: Offering,
    candidates: mpsc::Receiver<RTCIceCandidateInit>,
    facts: Facts,
    /// Host messages received and not yet matched with the example.
    received: Vec<Value>,
}

impl Client {
    /// The documented client message `step`, as this client sends it: ids and the meeting
    /// code from the real meeting, the real SDP and candidates where the example shortens
    /// them. A shortened candidate stands for each of the client's candidates.
    async fn fill(&mut self, step: &Step) -> Vec<Value> {
        let mut message = step.message.clone();
        let fields = message.as_object_mut().expect("a message is an object");
        if fields.contains_key("to") {
            let host = self
                .facts
                .host
                .expect("`to` needs the host's id, from a `welcome` before");
            fields.insert("to".into(), host.into());
        }
        if fields.contains_key("code") {
            // The code is case-insensitive.
            fields.insert("code".into(), self.facts.code.to_lowercase().into());
        }
        let messages = if shortened(&message["signal"]["sdp"]) {
            message["signal"]["sdp"] = self.link.offer().await.into();
            vec![message]
        } else if shortened(&message["signal"]["candidate"]) {
            let candidates = self.own_candidates().await;
            let with = |candidate: String| {
                let mut message = message.clone();
                message["signal"]["candidate"] = candidate.into();
                message
            };
            candidates.into_iter().map(with).collect()
        } else {
            vec![message]
        };
        for message in &messages {
            assert_filled(step, message);
            assert_understood(step, message);
        }
        messages
    }

    /// The candidates our peer has gathered: at least one.
    async fn own_candidates(&mut self) -> Vec<String> {
        let first = tokio::time::timeout(Duration::from_secs(5), self.candidates.recv())
            .await
            .expect("our peer gathers a candidate within 5 s")
            .expect("our peer is open");
        // The others of one gathering follow at once.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut all = vec![first.candidate];
        while let Ok(more) = self.candidates.try_recv() {
            all.push(more.candidate);
        }
        all
    }

    async fn send(&mut self, message: &Value) {
        println!("client → host  {message}");
        if message["type"] == "ping" {
            self.facts
                .pings
                .push(message["nonce"].as_u64().expect("a numeric nonce"));
        }
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("the host keeps the connection open");
    }

    /// The host's next message, checked against the example and acted on, within `wait`.
    async fn next(&mut self, steps: &[Step], wait: Duration) -> Option<Value> {
        let text = loop {
            match tokio::time::timeout(wait, self.socket.next()).await.ok()? {
                Some(Ok(Message::Text(text))) => break text,
                Some(Ok(Message::Close(_))) | None => panic!("the host closed the connection"),
                Some(Ok(_)) => {}
                Some(Err(error)) => panic!("the connection failed: {error}"),
            }
        };
        let message: Value = serde_json::from_str(text.as_str()).expect("the host sends JSON");
        println!("host → client  {message}");
        let Some(documented) = steps
            .iter()
            .find(|step| step.side == Side::Host && key(&step.message) == key(&message))
        else {
            panic!("the host sent a message the example does not show: {message}")
        };
        assert_shape(documented, &message);
        self.act(&message).await;
        Some(message)
    }

    /// Does what a client does with the host's `message`.
    async fn act(&mut self, message: &Value) {
        match key(message).as_str() {
            "welcome" => {
                let peers = message["peers"].as_array().expect("peers");
                let host = peers
                    .iter()
                    .find(|peer| peer["is_host"] == true)
                    .expect("the host is in");
                self.facts.host = host["id"].as_u64();
            }
            "signal answer" => {
                let sdp = message["signal"]["sdp"].as_str().expect("an SDP").to_owned();
                self.link.take_answer(sdp).await;
            }
            "signal candidate" => self.link.take_candidate(candidate_of(&message["signal"])).await,
            "pong" => {
                let nonce = message["nonce"].as_u64();
                assert!(
                    nonce.is_some_and(|nonce| self.facts.pings.contains(&nonce)),
                    "a pong for no ping of ours: {message}"
                );
            }
            _ => {}
        }
    }

    /// Waits for the host's message that `step` documents (others it sends meanwhile must be
    /// documented too; they are kept for later steps).
    async fn expect(&mut self, steps: &[Step], step: &Step) {
        let wanted = key(&step.message);
        loop {
            if let Some(index) = self.received.iter().position(|message| key(message) == wanted) {
                let message = self.received.remove(index);
                return assert_shape(step, &message);
            }
            let Some(message) = self.next(steps, Duration::from_secs(10)).await else {
                panic!(
                    "waited 10 s in vain for the host's {wanted} of PROTOCOL.md line {}",
                    step.line
                )
            };
            self.received.push(message);
        }
    }
}

/// Fails unless the host reads every field of the client's `message` as the example shows
/// it: a misspelt optional field would be ignored without a word.
fn assert_understood(step: &Step, message: &Value) {
    let read: ClientMessage = serde_json::from_value(message.clone()).unwrap_or_else(|error| {
        panic!(
            "PROTOCOL.md line {}: the host cannot read this message: {error}",
            step.line
        )
    });
    let mut found = Vec::new();
    differences("", message, &serde_json::to_value(&read).unwrap(), &mut found);
    assert!(
        found.is_empty(),
        "PROTOCOL.md line {}: the host reads this message otherwise:\n  {}",
        step.line,
        found.join("\n  ")
    );
}

/// Fails if a shortened value of the example was left in `message`.
fn assert_filled(step: &Step, message: &Value) {
    fn walk(value: &Value, path: &str, line: usize) {
        match value {
            Value::Object(fields) => fields.iter().for_each(|(k, v)| walk(v, &format!("{path}.{k}"), line)),
            Value::Array(items) => items.iter().for_each(|item| walk(item, path, line)),
            _ if shortened(value) => panic!("PROTOCOL.md line {line}: this test has no real value for {path}"),
            _ => {}
        }
    }
    walk(message, "", step.line);
}

/// Grace hosts a meeting on loopback as the example's `welcome` describes it, with the
/// passcode of its `hello`, sending a test pattern and a tone. Returns where to join, and the
/// handle that keeps the meeting going.
async fn host_as_documented(steps: &[Step]) -> (JoinTarget, MeetingHandle) {
    let hello = &steps[0].message;
    let welcome = &steps
        .iter()
        .find(|step| key(&step.message) == "welcome")
        .expect("a welcome")
        .message;
    let mut host = HostConfig::new(
        welcome["meeting"]["title"].as_str().unwrap_or("Standup"),
        welcome["meeting"]["host_name"].as_str().unwrap_or("Grace"),
    );
    (host.bind_ip, host.port) = (common::LOOPBACK, 0);
    host.passcode = hello["passcode"].as_str().map(str::to_owned);
    let (meeting, handle, mut events) = Meeting::new(
        Role::Host(host),
        MeetingConfig {
            name: "Grace".into(),
            video_format: VideoFormat::new(320, 240, 30),
            voice_processing: false,
            peer: PeerConfig {
                ice_addrs: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
                ..PeerConfig::default()
            },
            ..MeetingConfig::default()
        },
        Arc::new(|| {}),
    );
    tokio::spawn(meeting.run());
    let Some(Event::Joined { link, .. }) = events.recv().await else {
        panic!("the host joins its own meeting")
    };
    // The host's events are not needed here; the meeting runs while they are taken.
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let mut target = JoinTarget::parse(&link).expect("the link parses");
    target.host = "127.0.0.1".into();
    (target, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_exchange_brings_the_hosts_picture() {
    let steps = example();
    assert_eq!(
        steps[0].side,
        Side::Client,
        "the example starts with the client's hello"
    );
    let (target, _meeting) = host_as_documented(&steps).await;
    let (candidates_tx, candidates) = mpsc::channel(64);
    let (tracks_tx, mut tracks) = mpsc::channel(8);
    let pc = other_stack(Theirs {
        candidates: candidates_tx,
        tracks: tracks_tx,
    })
    .await;
    let url = format!("ws://127.0.0.1:{}/", target.port);
    let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("connects");
    let mut client = Client {
        socket,
        link: Offering::new(Arc::clone(&pc)),
        candidates,
        facts: Facts {
            code: target.code.clone().expect("the link has the meeting code"),
            ..Facts::default()
        },
        received: Vec::new(),
    };

    for step in &steps {
        match step.side {
            Side::Client => {
                for message in client.fill(step).await {
                    client.send(&message).await;
                }
            }
            Side::Host => client.expect(&steps, step).await,
        }
    }

    // First media: the host's camera arrives on our first video m-line and is decoded.
    let offer = client.link.offered().expect("the example offers");
    let camera_mid = first_mid(offer, "video").expect("the offer has video");
    let pictures = Arc::new(VideoSlot::default());
    let (sound, _heard) = std::sync::mpsc::sync_channel(1024);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while pictures.read_if_newer(0, &mut VideoFrame::default()).is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no picture from the host's camera within 10 s"
        );
        while let Ok(track) = tracks.try_recv() {
            if track.kind().await == RtpCodecKind::Video {
                let mid = mid_of(&pc, &track).await;
                assert_eq!(
                    mid.as_deref(),
                    Some(camera_mid.as_str()),
                    "the host's camera arrived on another m-line than our first video one"
                );
            }
            receive(track, &pictures, &sound).await;
        }
        if let Some(message) = client.next(&steps, Duration::from_millis(20)).await {
            client.received.push(message);
        }
    }
    println!("first media: a picture from the host's camera, which came on our m-line {camera_mid}");
    let _ = pc.close().await;
}

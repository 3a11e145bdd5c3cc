//! What the signaling tests share: a host on loopback, guests, and raw sockets that say
//! what the real client never would; and a peer that is not Video Meet ([`other_stack`]).
#![allow(dead_code)] // Each test file uses some of these.

pub mod other_stack;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use videomeet_net::JoinTarget;
use videomeet_net::protocol::{ClientMessage, MediaState, PROTOCOL_VERSION, ServerMessage};
use videomeet_net::signaling::{HelloParams, HostConfig, JoinError, Joined, SignalingServer, join};

/// A raw WebSocket client.
pub type RawSocket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A meeting "Standup" on loopback, with its host Grace in it.
pub async fn host(passcode: Option<&str>) -> (SignalingServer, Joined) {
    let mut config = HostConfig::new("Standup", "Grace");
    config.passcode = passcode.map(Into::into);
    host_with(config).await
}

/// A meeting as `config` says (on loopback, any port), with its host Grace in it.
pub async fn host_with(mut config: HostConfig) -> (SignalingServer, Joined) {
    config.bind_ip = LOOPBACK;
    config.port = 0;
    let server = SignalingServer::start(config).await.expect("server starts");
    let me = join(
        &target(&server),
        HelloParams {
            name: "Grace".into(),
            host_token: Some(server.host_token().into()),
            ..Default::default()
        },
    )
    .await
    .expect("the host joins its own meeting");
    (server, me)
}

pub fn target(server: &SignalingServer) -> JoinTarget {
    JoinTarget {
        host: "127.0.0.1".into(),
        port: server.local_addr().port(),
        code: Some(server.meeting().code.clone()),
    }
}

pub async fn guest(server: &SignalingServer, name: &str, passcode: Option<&str>) -> Result<Joined, JoinError> {
    join(
        &target(server),
        HelloParams {
            name: name.into(),
            passcode: passcode.map(Into::into),
            media: MediaState {
                mic: true,
                camera: true,
                screen: false,
                hand: None,
                camera_size: None,
                recording: false,
            },
            ..Default::default()
        },
    )
    .await
}

/// The next message that is not keep-alive traffic, within two seconds.
pub async fn next(events: &mut mpsc::Receiver<ServerMessage>) -> ServerMessage {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(2), events.recv())
            .await
            .expect("a message within 2 s")
            .expect("connection open");
        if !matches!(message, ServerMessage::Pong { .. }) {
            return message;
        }
    }
}

/// A bare WebSocket, to say things the real client never would.
pub async fn raw(server: &SignalingServer) -> RawSocket {
    let url = format!("ws://127.0.0.1:{}/", server.local_addr().port());
    tokio_tungstenite::connect_async(url).await.expect("connects").0
}

/// Everything a raw socket receives until the host closes it (or 8 s pass).
pub async fn everything_received<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    socket: &mut tokio_tungstenite::WebSocketStream<S>,
) -> Vec<ServerMessage> {
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, socket.next()).await {
        if let Message::Text(text) = message {
            received.push(serde_json::from_str(text.as_str()).expect("valid server message"));
        }
    }
    received
}

/// A hello as a guest's program would send it, with `passcode` and `session`.
pub fn hello(name: &str, passcode: Option<&str>, session: Option<&str>) -> ClientMessage {
    ClientMessage::Hello {
        version: PROTOCOL_VERSION,
        name: name.into(),
        passcode: passcode.map(Into::into),
        code: None,
        host_token: None,
        session: session.map(Into::into),
        media: MediaState::default(),
        rejoin: None,
    }
}

/// A bare WebSocket from `source` (any 127.x.y.z address reaches the loopback server, so
/// tests can play several machines) that has said `hello`.
pub async fn hello_from(
    server: &SignalingServer,
    source: Ipv4Addr,
    hello: &ClientMessage,
) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((source, 0).into()).expect("binds to a loopback address");
    let stream = socket.connect(server.local_addr()).await.expect("connects");
    let url = format!("ws://127.0.0.1:{}/", server.local_addr().port());
    let (mut socket, _) = tokio_tungstenite::client_async(url, stream).await.expect("upgrades");
    socket.send(Message::text(hello.to_json())).await.unwrap();
    socket
}

/// The next message a raw socket receives, within five seconds.
/// Sends `message` as a client would.
pub async fn say<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    socket: &mut tokio_tungstenite::WebSocketStream<S>,
    message: &ClientMessage,
) {
    socket.send(Message::text(message.to_json())).await.expect("sends");
}

pub async fn first_answer<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    socket: &mut tokio_tungstenite::WebSocketStream<S>,
) -> ServerMessage {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next()).await;
        if let Ok(Some(Ok(Message::Text(text)))) = message {
            return serde_json::from_str(text.as_str()).expect("a valid server message");
        }
        assert!(matches!(message, Ok(Some(Ok(_)))), "no answer: {message:?}");
    }
}

/// The first message the host answers a `hello` with `passcode` from `source`.
pub async fn answer_from(server: &SignalingServer, source: Ipv4Addr, passcode: &str) -> ServerMessage {
    let mut socket = hello_from(server, source, &hello("Someone", Some(passcode), None)).await;
    first_answer(&mut socket).await
}

/// Participant ids nobody has, for [`sent_so_far`]'s markers.
static MARKERS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(4_000_000_000);

/// Everything the host has sent `who` so far (keep-alive traffic aside): `who` signals to a
/// participant nobody is, and what arrives before the host's refusal was sent before it.
/// Once another participant's own `sent_so_far` has returned, whatever the host did for
/// what that one sent earlier is in here.
pub async fn sent_so_far(who: &mut Joined) -> Vec<ServerMessage> {
    let nobody = MARKERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let marker = videomeet_net::protocol::Signal::Candidate {
        candidate: String::new(),
        sdp_mid: None,
        sdp_mline_index: None,
    };
    who.client.send(ClientMessage::Signal {
        to: nobody,
        signal: marker,
    });
    let refusal = format!("there is no other participant {nobody}");
    let mut seen = Vec::new();
    loop {
        match next(&mut who.events).await {
            ServerMessage::Error { message } if message == refusal => return seen,
            other => seen.push(other),
        }
    }
}

//! Joining a meeting: the participant's side of the signaling connection.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::address::JoinTarget;
use crate::protocol::{
    ClientMessage, DenyReason, MediaState, MeetingInfo, PROTOCOL_VERSION, PeerId, PeerInfo, ServerMessage, limits,
};

/// How long joining may take before it counts as unreachable.
const JOIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages queued in each direction.
const QUEUE: usize = 256;

/// Called when the host makes us wait to be let in, with the host's words.
#[derive(Clone)]
pub struct WaitingHook(pub Arc<dyn Fn(&str) + Send + Sync>);

impl fmt::Debug for WaitingHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WaitingHook")
    }
}

/// A new random session token, for [`HelloParams::session`].
pub fn session_token() -> String {
    crate::secret::token()
}

/// What the participant says when joining.
#[derive(Clone, Debug, Default)]
pub struct HelloParams {
    /// Display name.
    pub name: String,
    /// Passcode, if the meeting needs one.
    pub passcode: Option<String>,
    /// The host's secret; only the host's own program has it.
    pub host_token: Option<String>,
    /// Microphone, camera and screen state at joining.
    pub media: MediaState,
    /// Our session token (see [`session_token`]); a host that turned it away keeps it out.
    pub session: Option<String>,
    /// Told when the host makes us wait until it lets us in.
    pub on_waiting: Option<WaitingHook>,
    /// The address to connect from, on a machine with several; the system's choice when
    /// `None`.
    pub local_ip: Option<std::net::IpAddr>,
    /// Coming back into a meeting that moved to a new host.
    pub rejoin: Option<crate::protocol::Rejoin>,
}

/// Why joining failed, in terms a person can act on.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum JoinError {
    /// No computer of that name was found.
    #[error("no computer called {host} was found on this network")]
    UnknownHost {
        /// The name looked up.
        host: String,
    },
    /// Nothing answered at that address.
    #[error("could not reach a meeting at {address}: {reason}")]
    Unreachable {
        /// The address tried.
        address: String,
        /// What went wrong.
        reason: String,
    },
    /// The host turned us away.
    #[error("{message}")]
    Denied {
        /// Why, for the program.
        reason: DenyReason,
        /// Why, for the user.
        message: String,
    },
    /// The other side does not speak the protocol.
    #[error("the host answered something unexpected: {0}")]
    Protocol(String),
}

/// A joined meeting: our id, what the host told us, and the stream of what happens next.
pub struct Joined {
    /// Sends messages to the host.
    pub client: SignalingClient,
    /// Our id in the meeting.
    pub you: PeerId,
    /// The meeting.
    pub meeting: MeetingInfo,
    /// Everyone who was already there.
    pub peers: Vec<PeerInfo>,
    /// Everything the host sends from now on; closes when the connection ends.
    pub events: mpsc::Receiver<ServerMessage>,
}

/// A TCP connection to `host`, from `local_ip` when given.
async fn connect_from(
    local_ip: Option<std::net::IpAddr>,
    host: std::net::SocketAddr,
) -> Result<tokio::net::TcpStream, String> {
    let Some(local_ip) = local_ip else {
        return tokio::net::TcpStream::connect(host).await.map_err(|e| e.to_string());
    };
    let socket = if local_ip.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(|e| e.to_string())?;
    socket
        .bind(std::net::SocketAddr::new(local_ip, 0))
        .map_err(|e| format!("cannot connect from {local_ip}: {e}"))?;
    socket.connect(host).await.map_err(|e| e.to_string())
}

/// Connects to the meeting at `target` and says hello.
pub async fn join(target: &JoinTarget, params: HelloParams) -> Result<Joined, JoinError> {
    let address = target.authority();
    let unreachable = |reason: String| JoinError::Unreachable {
        address: address.clone(),
        reason,
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(limits::MAX_MESSAGE_BYTES * 4))
        .max_frame_size(Some(limits::MAX_MESSAGE_BYTES * 4));
    // A name that does not resolve is another mistake than a host that does not answer.
    let found = tokio::time::timeout(JOIN_TIMEOUT, tokio::net::lookup_host(&address))
        .await
        .map_err(|_| unreachable("the name was not found within 5 seconds".into()))?;
    let Some(host_address) = found.ok().and_then(|mut addresses| addresses.next()) else {
        return Err(JoinError::UnknownHost {
            host: target.host.clone(),
        });
    };
    let url = format!("ws://{address}/");
    let connecting = async {
        let stream = connect_from(params.local_ip, host_address).await?;
        // Messages are small and want to leave at once.
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
        tokio_tungstenite::client_async_with_config(url, stream, Some(config))
            .await
            .map_err(|e| e.to_string())
    };
    let (mut socket, _) = tokio::time::timeout(JOIN_TIMEOUT, connecting)
        .await
        .map_err(|_| unreachable("no answer within 5 seconds".into()))?
        .map_err(unreachable)?;
    let hello = ClientMessage::Hello {
        version: PROTOCOL_VERSION,
        name: params.name,
        passcode: params.passcode,
        code: target.code.clone(),
        host_token: params.host_token,
        session: params.session,
        media: params.media,
        rejoin: params.rejoin,
    };
    socket
        .send(Message::text(hello.to_json()))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let mut first = tokio::time::timeout(JOIN_TIMEOUT, next_message(&mut socket))
        .await
        .map_err(|_| unreachable("the host did not answer".into()))??;
    if let ServerMessage::Waiting { message } = &first {
        if let Some(WaitingHook(hook)) = &params.on_waiting {
            hook(message);
        }
        first = wait_to_be_let_in(&mut socket)
            .await
            .map_err(|()| unreachable("the host stopped answering".into()))??;
    }
    let (you, meeting, peers) = match first {
        ServerMessage::Welcome {
            you, meeting, peers, ..
        } => (you, meeting, peers),
        ServerMessage::Denied { reason, message, .. } => return Err(JoinError::Denied { reason, message }),
        ServerMessage::Ended => {
            return Err(JoinError::Denied {
                reason: DenyReason::WrongMeeting,
                message: "The meeting has ended.".into(),
            });
        }
        other => return Err(JoinError::Protocol(format!("{other:?}"))),
    };
    let (outbox, outgoing) = mpsc::channel(QUEUE);
    let (incoming, events) = mpsc::channel(QUEUE);
    let task = tokio::spawn(pump(socket, outgoing, incoming));
    Ok(Joined {
        client: SignalingClient { outbox, task },
        you,
        meeting,
        peers,
        events,
    })
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// After `waiting`: pings the host while it decides, and returns its next word (`welcome`,
/// `denied` or `ended`). `Err(())` when the host goes silent.
async fn wait_to_be_let_in(socket: &mut Socket) -> Result<Result<ServerMessage, JoinError>, ()> {
    let mut keepalive = tokio::time::interval(limits::PING_INTERVAL);
    let mut last_heard = Instant::now();
    let mut nonce = 0u64;
    loop {
        let silent = tokio::time::Instant::from_std(last_heard + limits::HOST_SILENCE_LIMIT);
        tokio::select! {
            received = next_message(socket) => match received {
                Ok(ServerMessage::Pong { .. } | ServerMessage::Ping { .. }) => last_heard = Instant::now(),
                other => return Ok(other),
            },
            _ = keepalive.tick() => {
                nonce += 1;
                if socket.send(Message::text(ClientMessage::Ping { nonce }.to_json())).await.is_err() {
                    return Ok(Err(JoinError::Protocol("the host closed the connection".into())));
                }
            }
            () = tokio::time::sleep_until(silent) => return Err(()),
        }
    }
}

async fn next_message(socket: &mut Socket) -> Result<ServerMessage, JoinError> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(text.as_str()).map_err(|e| JoinError::Protocol(e.to_string()));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            Some(Ok(other)) => return Err(JoinError::Protocol(format!("unexpected {other:?}"))),
            Some(Err(error)) => return Err(JoinError::Protocol(error.to_string())),
            None => return Err(JoinError::Protocol("the host closed the connection".into())),
        }
    }
}

/// Moves messages between the socket and the channels, and keeps the connection alive.
/// Ends when the host has been silent for [`limits::HOST_SILENCE_LIMIT`] (it answers our
/// pings every 2 s while it is there).
async fn pump(mut socket: Socket, mut outgoing: mpsc::Receiver<ClientMessage>, incoming: mpsc::Sender<ServerMessage>) {
    let mut keepalive = tokio::time::interval(limits::PING_INTERVAL);
    let mut nonce = 0u64;
    let mut last_heard = Instant::now();
    loop {
        let silent = tokio::time::Instant::from_std(last_heard + limits::HOST_SILENCE_LIMIT);
        tokio::select! {
            message = outgoing.recv() => {
                let Some(message) = message else { break };
                let leaving = message == ClientMessage::Leave;
                if socket.send(Message::text(message.to_json())).await.is_err() {
                    break;
                }
                if leaving {
                    // The host closes the connection once it has taken the leave in; closing
                    // first could race the leave message.
                    let drain = async { while next_message(&mut socket).await.is_ok() {} };
                    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
                    break;
                }
            }
            received = next_message(&mut socket) => match received {
                Ok(ServerMessage::Pong { .. }) => last_heard = Instant::now(),
                Ok(ServerMessage::Ping { nonce }) => {
                    last_heard = Instant::now();
                    let pong = ClientMessage::Pong { nonce };
                    if socket.send(Message::text(pong.to_json())).await.is_err() {
                        break;
                    }
                }
                Ok(message) => {
                    last_heard = Instant::now();
                    let ended = message == ServerMessage::Ended;
                    if incoming.send(message).await.is_err() || ended {
                        break;
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, "signaling connection ended");
                    break;
                }
            },
            _ = keepalive.tick() => {
                nonce += 1;
                if socket.send(Message::text(ClientMessage::Ping { nonce }.to_json())).await.is_err() {
                    break;
                }
            }
            () = tokio::time::sleep_until(silent) => {
                tracing::info!("the host has been silent for {:?}", limits::HOST_SILENCE_LIMIT);
                break;
            }
        }
    }
    // Best effort: the host may be gone already.
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
}

/// Sends messages to the host. Dropping it drops the connection (the host notices at once).
pub struct SignalingClient {
    outbox: mpsc::Sender<ClientMessage>,
    task: JoinHandle<()>,
}

impl SignalingClient {
    /// Queues a message; false when the connection is gone or hopelessly backed up.
    pub fn send(&self, message: ClientMessage) -> bool {
        self.outbox.try_send(message).is_ok()
    }

    /// Leaves the meeting cleanly: the others are told at once.
    pub async fn leave(mut self) {
        if self.outbox.send(ClientMessage::Leave).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.task).await;
        }
    }
}

impl Drop for SignalingClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

//! One guest's WebSocket connection on the host: handshake, admission, then relaying.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use subtle::ConstantTimeEq;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{WebSocketStream, accept_async_with_config, accept_hdr_async_with_config};

use super::allowance::OUTBOX_CAPACITY;
use super::rate::TokenBucket;
use super::room::{Joining, RoomEvent};
use super::server::{ConnectionSlot, Shared};
use super::web::Io;
use crate::protocol::{ClientMessage, DenyReason, LeaveReason, PROTOCOL_VERSION, ServerMessage, limits};
use crate::text::clean_name;

/// Refused messages a connection may send before it is closed.
const MAX_REFUSALS: u32 = 20;

type Socket = WebSocketStream<Io>;

/// What the guest said in `hello`, after checking.
struct Admitted {
    name: String,
    media: crate::protocol::MediaState,
    is_host: bool,
    session: Option<String>,
    /// It joined from a web page (its handshake carried an `Origin`).
    browser: bool,
    /// Coming over from the meeting's former host with a valid ticket: the id to keep.
    rejoin_id: Option<crate::protocol::PeerId>,
}

/// How waiting for the room's answer ended without a place in the meeting.
enum NotJoined {
    /// Turned away: tell the guest why.
    Denied(DenyReason),
    /// The guest left, went silent or misbehaved, or the meeting ended.
    Gone,
}

/// Serves one connection until it closes. Nothing about the meeting reaches the guest
/// before the room has admitted it.
pub(crate) async fn serve(stream: Io, peer: SocketAddr, slot: ConnectionSlot, shared: Arc<Shared>) {
    let opened = tokio::select! {
        opened = open(stream, peer, &shared) => opened,
        () = slot.make_room() => {
            tracing::debug!(%peer, "closed without a hello to make room for a newcomer");
            return;
        }
    };
    let Some((mut socket, admitted)) = opened else {
        return;
    };
    slot.proven();
    let (outbox, mut inbox) = mpsc::channel(OUTBOX_CAPACITY);
    let (reply, joined) = oneshot::channel();
    let ticket = shared.ticket();
    let join = RoomEvent::Join {
        joining: Joining {
            name: admitted.name,
            media: admitted.media,
            is_host: admitted.is_host,
            browser: admitted.browser,
            address: peer.ip(),
            session: admitted.session,
            rejoin_id: admitted.rejoin_id,
            ticket,
            outbox,
        },
        reply,
    };
    if shared.room.send(join).await.is_err() {
        return close(&mut socket).await;
    }
    let id = match wait_for_room(&mut socket, &mut inbox, joined, ticket, &shared).await {
        Ok(id) => id,
        Err(NotJoined::Denied(reason)) => return deny(&mut socket, reason).await,
        Err(NotJoined::Gone) => return close(&mut socket).await,
    };
    let span = tracing::debug_span!("guest", id, %peer);
    let reason = relay(socket, inbox, id, &shared).await;
    let _enter = span.enter();
    tracing::debug!(?reason, "connection ended");
    // The room may already be gone (meeting ended); nothing left to tell then.
    let _ = shared.room.send(RoomEvent::Gone { id, reason }).await;
}

/// Tells a connection over the limits so (`denied` with `too_many_connections`) and closes
/// it, within a second.
pub(crate) async fn turn_away(stream: TcpStream) {
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        let stream: Io = Box::new(stream);
        if let Ok(mut socket) = accept_async_with_config(stream, Some(socket_config())).await {
            deny(&mut socket, DenyReason::TooManyConnections).await;
        }
    })
    .await;
}

/// Message and frame limits of every connection.
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(limits::MAX_MESSAGE_BYTES))
        .max_frame_size(Some(limits::MAX_MESSAGE_BYTES))
}

/// The WebSocket handshake and `hello`, within [`limits::HANDSHAKE_TIMEOUT`] each: the socket
/// and what the guest said, or `None` when it was turned away (and told why) or gave up.
async fn open(stream: Io, peer: SocketAddr, shared: &Shared) -> Option<(Socket, Admitted)> {
    let mut origin = None;
    #[allow(clippy::result_large_err, reason = "the handshake callback's type is tungstenite's")]
    let note_origin = |request: &Request, response: Response| {
        origin = request
            .headers()
            .get("origin")
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        Ok(response)
    };
    let mut socket = match tokio::time::timeout(
        limits::HANDSHAKE_TIMEOUT,
        accept_hdr_async_with_config(stream, note_origin, Some(socket_config())),
    )
    .await
    {
        Ok(Ok(socket)) => socket,
        Ok(Err(error)) => {
            tracing::debug!(%peer, %error, "WebSocket handshake failed");
            return None;
        }
        Err(_) => return None,
    };
    if !shared.trusts_origin(origin.as_deref()) {
        tracing::warn!(%peer, origin = origin.as_deref(), "refused a web page from an origin not allowed");
        deny(&mut socket, DenyReason::ForbiddenOrigin).await;
        return None;
    }
    let reason = match tokio::time::timeout(limits::HANDSHAKE_TIMEOUT, read_hello(&mut socket, shared, peer)).await {
        Ok(Ok(admitted)) => {
            let browser = origin.is_some();
            return Some((socket, Admitted { browser, ..admitted }));
        }
        Ok(Err(reason)) => reason,
        Err(_) => DenyReason::HandshakeTimeout,
    };
    deny(&mut socket, reason).await;
    None
}

/// Waits for `hello` and checks version, meeting code and passcode.
async fn read_hello(socket: &mut Socket, shared: &Shared, peer: SocketAddr) -> Result<Admitted, DenyReason> {
    let text = loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => break text,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            _ => return Err(DenyReason::BadHello),
        }
    };
    let Ok(ClientMessage::Hello {
        version,
        name,
        passcode,
        code,
        host_token,
        session,
        media,
        rejoin,
    }) = serde_json::from_str(text.as_str())
    else {
        return Err(DenyReason::BadHello);
    };
    if version != PROTOCOL_VERSION {
        return Err(DenyReason::VersionMismatch);
    }
    if session.as_ref().is_some_and(|session| !is_session_token(session)) {
        return Err(DenyReason::BadHello);
    }
    if code.is_some_and(|code| !code.eq_ignore_ascii_case(&shared.meeting.code)) {
        return Err(DenyReason::WrongMeeting);
    }
    let is_host = host_token.is_some_and(|token| secrets_match(&token, &shared.host_token));
    // Those coming over from the former host were let in there; the ticket says so.
    let rejoin_id = rejoin.and_then(|rejoin| {
        let expected = shared.rejoin_ticket.as_ref()?;
        secrets_match(&rejoin.ticket, expected).then_some(rejoin.id)
    });
    if !is_host
        && rejoin_id.is_none()
        && let Some(expected) = &shared.passcode
    {
        let (mut tries, now) = (shared.tries(), std::time::Instant::now());
        if tries.wait(peer.ip(), now).is_some() {
            // Not even checked: a guesser learns nothing while it waits.
            return Err(DenyReason::TooManyTries);
        }
        if passcode.is_some_and(|given| secrets_match(&given, expected)) {
            tries.right(peer.ip());
        } else {
            if tries.wrong(peer.ip(), now) {
                tracing::warn!("many wrong passcodes: guessing is slowed for the whole meeting");
                // Best effort: a room too busy to hear this has other worries.
                let _ = shared.room.try_send(RoomEvent::Guessing);
            }
            return Err(DenyReason::WrongPasscode);
        }
    }
    Ok(Admitted {
        name: clean_name(&name),
        media,
        is_host,
        session,
        browser: false,
        rejoin_id,
    })
}

/// True for a session token of at most [`limits::MAX_SESSION_CHARS`] visible ASCII characters.
fn is_session_token(session: &str) -> bool {
    !session.is_empty()
        && session.len() <= limits::MAX_SESSION_CHARS
        && session.bytes().all(|byte| byte.is_ascii_graphic())
}

/// Waits for the room to let the guest in, passing on what the room sends meanwhile
/// (`waiting`, then `welcome`) and answering keep-alives. A guest that leaves, goes silent
/// or waits longer than [`limits::KNOCK_TIMEOUT`] withdraws its knock.
async fn wait_for_room(
    socket: &mut Socket,
    inbox: &mut mpsc::Receiver<ServerMessage>,
    mut joined: oneshot::Receiver<Result<u32, DenyReason>>,
    ticket: crate::protocol::KnockId,
    shared: &Shared,
) -> Result<u32, NotJoined> {
    let give_up = tokio::time::Instant::now() + limits::KNOCK_TIMEOUT;
    let mut last_heard = Instant::now();
    let mut refusals = 0;
    // The room queues `welcome` just before it answers `joined`. Passed on at once, a guest
    // could answer it (with its offers) before that answer is here, and have them refused
    // as if it were still waiting; so `welcome` goes out only together with the answer.
    let mut welcome = None;
    let ending = loop {
        let idle_deadline = tokio::time::Instant::from_std(last_heard + limits::IDLE_TIMEOUT);
        tokio::select! {
            answer = &mut joined => return match answer {
                Ok(Ok(id)) => {
                    if let Some(welcome) = welcome {
                        // A closed socket is noticed by the relay that follows.
                        send(socket, &welcome).await;
                    }
                    Ok(id)
                }
                Ok(Err(reason)) => Err(NotJoined::Denied(reason)),
                Err(_) => {
                    // The room let go: pass on its last word (`ended`), if any.
                    while let Ok(message) = inbox.try_recv() {
                        send(socket, &message).await;
                    }
                    Err(NotJoined::Gone)
                }
            },
            Some(message) = inbox.recv(), if welcome.is_none() => {
                if matches!(message, ServerMessage::Welcome { .. }) {
                    welcome = Some(message);
                } else if !send(socket, &message).await {
                    break NotJoined::Gone;
                }
            }
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    last_heard = Instant::now();
                    match serde_json::from_str::<ClientMessage>(text.as_str()) {
                        Ok(ClientMessage::Ping { nonce }) => {
                            send(socket, &ServerMessage::Pong { nonce }).await;
                        }
                        Ok(ClientMessage::Leave) => break NotJoined::Gone,
                        _ => {
                            refusals += 1;
                            if refusals > MAX_REFUSALS || !send(socket, &refused("waiting for the host to let you in")).await {
                                break NotJoined::Gone;
                            }
                        }
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => last_heard = Instant::now(),
                _ => break NotJoined::Gone,
            },
            () = tokio::time::sleep_until(idle_deadline) => break NotJoined::Gone,
            () = tokio::time::sleep_until(give_up) => break NotJoined::Denied(DenyReason::NotAdmitted),
        }
    };
    // No answer may arrive from now on; one that came just before is taken back.
    joined.close();
    if let Ok(Ok(id)) = joined.try_recv() {
        let _ = shared
            .room
            .send(RoomEvent::Gone {
                id,
                reason: LeaveReason::Left,
            })
            .await;
    }
    let _ = shared.room.send(RoomEvent::Withdraw { ticket }).await;
    Err(ending)
}

/// Compares secrets in time independent of where they differ.
fn secrets_match(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// Passes messages between the guest and the room until either side ends. While the room
/// is busy (it waits for the host's program when that falls behind), the guest's next
/// message waits and nothing more is read, but what the room sends keeps going out: the
/// room may be waiting for exactly that.
async fn relay(mut socket: Socket, mut inbox: mpsc::Receiver<ServerMessage>, id: u32, shared: &Shared) -> LeaveReason {
    let mut bucket = TokenBucket::new(limits::MESSAGES_PER_SECOND, limits::MESSAGE_BURST);
    let mut refusals = 0;
    let mut last_heard = Instant::now();
    let mut for_room: Option<ClientMessage> = None;
    loop {
        let idle_deadline = tokio::time::Instant::from_std(last_heard + limits::IDLE_TIMEOUT);
        tokio::select! {
            permit = shared.room.reserve(), if for_room.is_some() => {
                let (Ok(permit), Some(message)) = (permit, for_room.take()) else {
                    return LeaveReason::ConnectionLost;
                };
                let leaving = message == ClientMessage::Leave;
                permit.send(RoomEvent::Message { from: id, message });
                if leaving {
                    close(&mut socket).await;
                    return LeaveReason::Left;
                }
            }
            incoming = socket.next(), if for_room.is_none() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                        last_heard = Instant::now();
                        continue;
                    }
                    Some(Ok(Message::Binary(_))) => {
                        refusals += 1;
                        if refusals > MAX_REFUSALS || !send(&mut socket, &refused("binary messages are not part of the protocol")).await {
                            return LeaveReason::Misbehaved;
                        }
                        continue;
                    }
                    Some(Ok(Message::Close(_))) | None => return LeaveReason::ConnectionLost,
                    Some(Ok(Message::Frame(_))) => continue,
                    Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
                        return LeaveReason::ConnectionLost;
                    }
                    Some(Err(WsError::Capacity(_) | WsError::Utf8(_) | WsError::Protocol(_))) => {
                        let _ = send(&mut socket, &refused("message too large or malformed; closing")).await;
                        return LeaveReason::Misbehaved;
                    }
                    Some(Err(_)) => return LeaveReason::ConnectionLost,
                };
                last_heard = Instant::now();
                if !bucket.take(last_heard) {
                    refusals += 1;
                    if refusals > MAX_REFUSALS {
                        let _ = send(&mut socket, &refused("too many messages; closing")).await;
                        return LeaveReason::Misbehaved;
                    }
                    continue;
                }
                match serde_json::from_str::<ClientMessage>(text.as_str()) {
                    Ok(message) => for_room = Some(message),
                    Err(error) => {
                        refusals += 1;
                        let reply = refused(&format!("could not read the message: {error}"));
                        if refusals > MAX_REFUSALS || !send(&mut socket, &reply).await {
                            return LeaveReason::Misbehaved;
                        }
                    }
                }
            }
            outgoing = inbox.recv() => match outgoing {
                Some(message) => {
                    let ended = message == ServerMessage::Ended;
                    if !send(&mut socket, &message).await {
                        return LeaveReason::ConnectionLost;
                    }
                    if ended {
                        close(&mut socket).await;
                        return LeaveReason::Left;
                    }
                }
                // The room let go of us: the meeting ended or we were too slow.
                None => {
                    close(&mut socket).await;
                    return LeaveReason::ConnectionLost;
                }
            },
            () = tokio::time::sleep_until(idle_deadline) => return LeaveReason::ConnectionLost,
        }
    }
}

fn refused(message: &str) -> ServerMessage {
    ServerMessage::Error {
        message: message.into(),
    }
}

/// Sends one message; false when the connection is gone.
async fn send(socket: &mut Socket, message: &ServerMessage) -> bool {
    socket.send(Message::text(message.to_json())).await.is_ok()
}

async fn deny(socket: &mut Socket, reason: DenyReason) {
    let message = match reason {
        DenyReason::WrongPasscode => "The passcode is wrong.".to_owned(),
        DenyReason::VersionMismatch => {
            format!("This meeting runs protocol version {PROTOCOL_VERSION}; update Video Meet on one side.")
        }
        DenyReason::WrongMeeting => "The link is for a meeting that is not running here.".to_owned(),
        DenyReason::MeetingFull => format!("The meeting is full ({} participants).", limits::MAX_PARTICIPANTS),
        DenyReason::BadHello => "The first message must be a valid hello.".to_owned(),
        DenyReason::TooManyConnections => "Too many connections; try again later.".to_owned(),
        DenyReason::HandshakeTimeout => "No hello arrived in time.".to_owned(),
        DenyReason::Removed => "The host removed you from this meeting.".to_owned(),
        DenyReason::Locked => "The host has locked the meeting: nobody new can join.".to_owned(),
        DenyReason::NotAdmitted => "The host did not let you in.".to_owned(),
        DenyReason::ForbiddenOrigin => "This meeting does not accept web pages from other sites.".to_owned(),
        DenyReason::TooManyTries => {
            "Too many wrong passcodes from this address; wait a few seconds and try again.".to_owned()
        }
    };
    let denied = ServerMessage::Denied {
        reason,
        message,
        version: PROTOCOL_VERSION,
    };
    let _ = send(socket, &denied).await;
    close(socket).await;
}

async fn close(socket: &mut Socket) {
    // The peer may be gone already; closing is best effort.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), socket.close(None)).await;
}

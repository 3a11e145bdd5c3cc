//! The meeting's state on the host: who is in, and what goes to whom.
//!
//! One task owns it; connections talk to it through [`RoomEvent`]s, and it talks back
//! through each member's bounded outbox. A member whose outbox is full is too slow to keep
//! up and is dropped rather than allowed to hold everyone up.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{mpsc, oneshot};

use crate::protocol::{
    ClientMessage, DenyReason, LeaveReason, MediaState, MeetingInfo, PROTOCOL_VERSION, PeerId, PeerInfo, ServerMessage,
    limits,
};

/// Messages queued for one member before it counts as too slow.
pub(crate) const OUTBOX_CAPACITY: usize = 256;

/// What connections tell the room.
pub(crate) enum RoomEvent {
    /// An admitted client wants in; the room answers with its id (and has sent `welcome`).
    Join {
        joining: Joining,
        reply: oneshot::Sender<Result<PeerId, DenyReason>>,
    },
    /// A message from a member.
    Message { from: PeerId, message: ClientMessage },
    /// A member's connection ended.
    Gone { id: PeerId, reason: LeaveReason },
    /// The host's program is stopping the meeting.
    End,
}

/// A client the connection has admitted (passcode and all), asking the room to join.
pub(crate) struct Joining {
    pub name: String,
    pub media: MediaState,
    pub is_host: bool,
    /// Where it connects from: the host's removals keep that address out.
    pub address: IpAddr,
    pub outbox: mpsc::Sender<ServerMessage>,
}

struct Member {
    name: String,
    media: MediaState,
    is_host: bool,
    address: IpAddr,
    outbox: mpsc::Sender<ServerMessage>,
}

impl Member {
    fn info(&self, id: PeerId) -> PeerInfo {
        PeerInfo {
            id,
            name: self.name.clone(),
            media: self.media,
            is_host: self.is_host,
        }
    }
}

/// The room task's state.
pub(crate) struct Room {
    meeting: MeetingInfo,
    members: BTreeMap<PeerId, Member>,
    next_id: PeerId,
    chat_seq: u64,
    participant_count: Arc<AtomicUsize>,
    /// Several participants may share their screens at once (the host's choice).
    many_sharers: bool,
    /// Nobody new gets in (the host's choice).
    locked: bool,
    /// Addresses of participants the host removed: they stay out.
    removed: HashSet<IpAddr>,
    ended: bool,
}

impl Room {
    /// An empty room for `meeting`; `participant_count` follows the number of members.
    pub fn new(meeting: MeetingInfo, participant_count: Arc<AtomicUsize>) -> Self {
        Self {
            meeting,
            members: BTreeMap::new(),
            next_id: 1,
            chat_seq: 0,
            participant_count,
            many_sharers: false,
            locked: false,
            removed: HashSet::new(),
            ended: false,
        }
    }

    /// Runs until the meeting ends or every sender is gone.
    pub async fn run(mut self, mut events: mpsc::Receiver<RoomEvent>) {
        while let Some(event) = events.recv().await {
            self.handle(event);
            self.participant_count.store(self.members.len(), Ordering::Relaxed);
            if self.ended {
                break;
            }
        }
        // Dropping the outboxes closes every connection after what is queued.
    }

    fn handle(&mut self, event: RoomEvent) {
        match event {
            RoomEvent::Join { joining, reply } => {
                let result = self.join(joining);
                // The connection may have given up waiting; then it is gone anyway.
                if let Err(Ok(id)) = reply.send(result) {
                    self.remove(id, LeaveReason::ConnectionLost);
                }
            }
            RoomEvent::Message { from, message } => self.on_message(from, message),
            RoomEvent::Gone { id, reason } => self.remove(id, reason),
            RoomEvent::End => self.end(),
        }
    }

    fn join(&mut self, joining: Joining) -> Result<PeerId, DenyReason> {
        let Joining {
            name,
            media,
            is_host,
            address,
            outbox,
        } = joining;
        if self.removed.contains(&address) && !is_host {
            return Err(DenyReason::Removed);
        }
        if self.locked && !is_host {
            return Err(DenyReason::Locked);
        }
        if self.members.len() >= limits::MAX_PARTICIPANTS {
            return Err(DenyReason::MeetingFull);
        }
        let id = self.next_id;
        self.next_id += 1;
        let member = Member {
            name,
            media,
            is_host,
            address,
            outbox,
        };
        let welcome = ServerMessage::Welcome {
            version: PROTOCOL_VERSION,
            you: id,
            meeting: self.meeting.clone(),
            peers: self.members.iter().map(|(id, m)| m.info(*id)).collect(),
        };
        if member.outbox.try_send(welcome).is_err() {
            return Err(DenyReason::TooManyConnections);
        }
        let joined = ServerMessage::PeerJoined { peer: member.info(id) };
        self.members.insert(id, member);
        self.broadcast(&joined, Some(id));
        Ok(id)
    }

    fn on_message(&mut self, from: PeerId, message: ClientMessage) {
        if !self.members.contains_key(&from) {
            return;
        }
        match message {
            ClientMessage::Signal { to, signal } => {
                if to != from && self.members.contains_key(&to) {
                    self.send(to, ServerMessage::Signal { from, signal });
                } else {
                    self.send(
                        from,
                        ServerMessage::Error {
                            message: format!("there is no other participant {to}"),
                        },
                    );
                }
            }
            ClientMessage::Chat { text } => {
                let text = text.trim();
                if text.chars().count() > limits::MAX_CHAT_CHARS {
                    self.send(
                        from,
                        ServerMessage::Error {
                            message: format!("chat messages are limited to {} characters", limits::MAX_CHAT_CHARS),
                        },
                    );
                } else if !text.is_empty() {
                    self.chat_seq += 1;
                    let name = self.members.get(&from).map(|m| m.name.clone()).unwrap_or_default();
                    let chat = ServerMessage::Chat {
                        from,
                        name,
                        text: text.to_owned(),
                        sent_at_ms: crate::clock_ms(),
                        seq: self.chat_seq,
                    };
                    self.broadcast(&chat, None);
                }
            }
            ClientMessage::MediaState { mut media } => {
                if media.screen
                    && let Some(refusal) = self.share_refusal(from)
                {
                    media.screen = false;
                    self.send(from, refusal);
                }
                if let Some(member) = self.members.get_mut(&from) {
                    member.media = media;
                }
                self.broadcast(&ServerMessage::MediaState { id: from, media }, Some(from));
            }
            ClientMessage::AllowManySharers { allowed } => {
                if self.host_only(from, "share screens") {
                    self.many_sharers = allowed;
                }
            }
            ClientMessage::LockMeeting { locked } => {
                if self.host_only(from, "lock the meeting") {
                    self.locked = locked;
                }
            }
            ClientMessage::Remove { id } => {
                if self.host_only(from, "remove participants") {
                    let removable = self.members.get(&id).filter(|member| !member.is_host);
                    if let Some(member) = removable {
                        self.removed.insert(member.address);
                        // The last thing it hears; the connection closes with its outbox.
                        let _ = member.outbox.try_send(ServerMessage::Removed);
                        self.remove(id, LeaveReason::Removed);
                    }
                }
            }
            ClientMessage::Ping { nonce } => self.send(from, ServerMessage::Pong { nonce }),
            ClientMessage::Pong { .. } => {}
            ClientMessage::Leave => self.remove(from, LeaveReason::Left),
            ClientMessage::Hello { .. } => self.send(
                from,
                ServerMessage::Error {
                    message: "already joined".into(),
                },
            ),
        }
    }

    /// True when `from` hosts; otherwise tells them that only the host may `what`.
    fn host_only(&mut self, from: PeerId, what: &str) -> bool {
        let host = self.members.get(&from).is_some_and(|member| member.is_host);
        if !host {
            self.send(
                from,
                ServerMessage::Error {
                    message: format!("only the host may {what}"),
                },
            );
        }
        host
    }

    /// Why `from` may not share now: another participant is sharing and only one may.
    fn share_refusal(&self, from: PeerId) -> Option<ServerMessage> {
        if self.many_sharers {
            return None;
        }
        self.members
            .iter()
            .find(|(id, member)| **id != from && member.media.screen)
            .map(|(id, member)| ServerMessage::ShareRefused {
                sharer: *id,
                name: member.name.clone(),
            })
    }

    fn remove(&mut self, id: PeerId, reason: LeaveReason) {
        let Some(member) = self.members.remove(&id) else {
            return;
        };
        if member.is_host {
            // The meeting lives in the host's program: without the host there is no meeting.
            self.end();
        } else {
            self.broadcast(&ServerMessage::PeerLeft { id, reason }, None);
        }
    }

    fn end(&mut self) {
        self.broadcast(&ServerMessage::Ended, None);
        self.members.clear();
        self.ended = true;
    }

    fn send(&mut self, to: PeerId, message: ServerMessage) {
        let too_slow = self
            .members
            .get(&to)
            .is_some_and(|member| is_full(member.outbox.try_send(message)));
        if too_slow {
            self.remove(to, LeaveReason::ConnectionLost);
        }
    }

    fn broadcast(&mut self, message: &ServerMessage, except: Option<PeerId>) {
        let too_slow: Vec<PeerId> = self
            .members
            .iter()
            .filter(|(id, _)| Some(**id) != except)
            .filter(|(_, member)| is_full(member.outbox.try_send(message.clone())))
            .map(|(id, _)| *id)
            .collect();
        for id in too_slow {
            self.remove(id, LeaveReason::ConnectionLost);
        }
    }
}

/// True when a member's outbox is full: it cannot keep up. A closed outbox is not counted:
/// that connection has ended and its `Gone` event, with the real reason, is on its way.
fn is_full(sent: Result<(), mpsc::error::TrySendError<ServerMessage>>) -> bool {
    matches!(sent, Err(mpsc::error::TrySendError::Full(_)))
}

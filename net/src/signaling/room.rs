//! The meeting's state on the host: who is in, and what goes to whom.
//!
//! One task owns it; connections talk to it through [`RoomEvent`]s, and it talks back
//! through each member's bounded outbox. What each member may make the room queue for the
//! others is limited ([`Allowance`]) so that it fits every outbox; a guest whose outbox is
//! full anyway is not reading what it is sent, and is dropped rather than allowed to hold
//! everyone up. The host's own connection is never dropped: its program is the meeting, so
//! the room waits for it instead.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::allowance::{Allowance, MEDIA_STATE_DELAY};
use super::backlog::HostBacklog;
use super::barred::Barred;
use super::names;
use crate::protocol::{
    ClientMessage, DenyReason, KnockId, LeaveReason, MediaState, MeetingInfo, PROTOCOL_VERSION, PeerId, PeerInfo,
    ServerMessage, Signal, limits,
};

mod conversation;
mod handover;
mod moderation;
mod recording;

/// The room's answer to a `Join`: the new member's id, or why not.
pub(crate) type JoinReply = oneshot::Sender<Result<PeerId, DenyReason>>;

/// How long the room waits for a host's program that takes no messages before it ends the
/// meeting: guests count a host silent for 15 s as lost, so they are told first.
const HOST_STALL: Duration = Duration::from_secs(10);

/// What connections tell the room.
pub(crate) enum RoomEvent {
    /// A client whose hello passed the checks wants in. The room answers with its id (and
    /// has sent `welcome`), or with why not; when the host asks guests to wait, the answer
    /// comes once the host has decided, and `waiting` goes out meanwhile.
    Join { joining: Joining, reply: JoinReply },
    /// A waiting guest gave up (its connection ended).
    Withdraw { ticket: KnockId },
    /// A message from a member.
    Message { from: PeerId, message: ClientMessage },
    /// A member's connection ended.
    Gone { id: PeerId, reason: LeaveReason },
    /// So many wrong passcodes came in that guessing is now slowed for the whole meeting.
    Guessing,
    /// The host's program is stopping the meeting.
    End,
}

/// A client the connection has admitted (passcode and all), asking the room to join.
pub(crate) struct Joining {
    pub name: String,
    pub media: MediaState,
    pub is_host: bool,
    /// It joined from a web page.
    pub browser: bool,
    /// Where it connects from: the host's removals keep that address out.
    pub address: IpAddr,
    /// The client's session token, if it sent one: denials and removals keep it out.
    pub session: Option<String>,
    /// Coming over from the meeting's former host (its ticket checked): the id to keep.
    pub rejoin_id: Option<PeerId>,
    /// Names this request while it waits for the host (unique per server).
    pub ticket: KnockId,
    pub outbox: mpsc::Sender<ServerMessage>,
}

struct Member {
    name: String,
    media: MediaState,
    is_host: bool,
    /// The host made them a co-host: they moderate too.
    cohost: bool,
    browser: bool,
    address: IpAddr,
    session: Option<String>,
    outbox: mpsc::Sender<ServerMessage>,
    allowance: Allowance,
    /// Its media state changed faster than its allowance: the latest goes out later.
    media_unsent: bool,
}

/// A guest waiting for the host to let them in.
struct Knock {
    joining: Joining,
    reply: JoinReply,
}

impl Member {
    fn info(&self, id: PeerId) -> PeerInfo {
        PeerInfo {
            id,
            name: self.name.clone(),
            media: self.media,
            is_host: self.is_host,
            browser: self.browser,
            cohost: self.cohost,
        }
    }

    /// Hosts or co-hosts: lets guests in, turns others' devices off, and the like.
    fn moderates(&self) -> bool {
        self.is_host || self.cohost
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
    /// Addresses the host removed or turned away: they stay out.
    barred_addresses: Barred<IpAddr>,
    /// Sessions the host removed or turned away: they stay out, from any address.
    barred_sessions: Barred<String>,
    /// Guests wait until the host lets them in (the host's choice).
    ask_to_join: bool,
    /// Guests waiting for the host, by ticket.
    knocks: BTreeMap<KnockId, Knock>,
    /// Messages for hosts, waiting for room in their outboxes.
    host_backlog: HostBacklog,
    /// When merged media states go out.
    media_due: Option<tokio::time::Instant>,
    /// Hands raised so far: the next raised hand's number is one more.
    hands_raised: u64,
    /// Handing the meeting over to a new host, and coming over from a former one.
    handover: handover::Handover,
    ended: bool,
}

impl Room {
    /// An empty room for `meeting`; `participant_count` follows the number of members.
    /// With `ask_to_join`, guests wait until the host lets them in.
    pub fn new(meeting: MeetingInfo, participant_count: Arc<AtomicUsize>, ask_to_join: bool) -> Self {
        Self {
            meeting,
            members: BTreeMap::new(),
            next_id: 1,
            chat_seq: 0,
            participant_count,
            many_sharers: false,
            locked: false,
            barred_addresses: Barred::default(),
            barred_sessions: Barred::default(),
            ask_to_join,
            knocks: BTreeMap::new(),
            host_backlog: HostBacklog::default(),
            media_due: None,
            hands_raised: 0,
            handover: handover::Handover::default(),
            ended: false,
        }
    }

    /// Runs until the meeting ends or every sender is gone.
    pub async fn run(mut self, mut events: mpsc::Receiver<RoomEvent>) {
        loop {
            let event = match self.media_due {
                Some(due) => tokio::select! {
                    event = events.recv() => event,
                    () = tokio::time::sleep_until(due) => {
                        self.send_merged_media_states();
                        self.wait_for_hosts().await;
                        if self.ended {
                            break;
                        }
                        continue;
                    }
                },
                None => events.recv().await,
            };
            let Some(event) = event else { break };
            self.handle(event);
            self.wait_for_hosts().await;
            self.participant_count.store(self.members.len(), Ordering::Relaxed);
            if self.ended {
                break;
            }
        }
        // Dropping the outboxes closes every connection after what is queued.
    }

    fn handle(&mut self, event: RoomEvent) {
        match event {
            // Those coming over from the former host were let in there; each id comes once,
            // within a minute of the handover.
            RoomEvent::Join { joining, reply } if let Some(id) = joining.rejoin_id => {
                if self.handover.expects(id) {
                    self.admit(joining, reply);
                } else {
                    let _ = reply.send(Err(DenyReason::BadHello));
                }
            }
            RoomEvent::Join { joining, reply } => match self.refusal(&joining) {
                Some(reason) => {
                    let _ = reply.send(Err(reason));
                }
                None if self.ask_to_join && !joining.is_host => self.knock(joining, reply),
                None => self.admit(joining, reply),
            },
            RoomEvent::Withdraw { ticket } => {
                if self.knocks.remove(&ticket).is_some() {
                    self.tell_moderators(&ServerMessage::KnockEnded { knock: ticket });
                }
            }
            RoomEvent::Message { from, message } => self.on_message(from, message),
            RoomEvent::Gone { id, reason } => self.remove(id, reason),
            RoomEvent::Guessing => self.tell_moderators(&ServerMessage::PasscodeGuessing),
            RoomEvent::End => self.end(),
        }
    }

    /// Why `joining` may not come in now, if it may not.
    fn refusal(&self, joining: &Joining) -> Option<DenyReason> {
        if joining.is_host {
            return None;
        }
        let barred = self.barred_sessions.reason(joining.session.as_ref());
        if let Some(reason) = barred.or_else(|| self.barred_addresses.reason(Some(&joining.address))) {
            return Some(reason);
        }
        if self.locked {
            return Some(DenyReason::Locked);
        }
        if self.members.len() >= limits::MAX_PARTICIPANTS {
            return Some(DenyReason::MeetingFull);
        }
        None
    }

    /// Lets `joining` in and answers its connection.
    fn admit(&mut self, joining: Joining, reply: JoinReply) {
        let host = joining.is_host;
        let result = self.join(joining);
        // The connection may have given up waiting; then it is gone anyway.
        if let Err(Ok(id)) = reply.send(result) {
            self.remove(id, LeaveReason::ConnectionLost);
        } else if host && let Ok(id) = result {
            // A host joining late (or again) hears of the guests already waiting.
            self.tell_of_knocks(id);
        }
    }

    /// Tells moderator `id` of every guest waiting now.
    fn tell_of_knocks(&mut self, id: PeerId) {
        let waiting: Vec<ServerMessage> = self
            .knocks
            .iter()
            .map(|(ticket, knock)| knocking(*ticket, knock))
            .collect();
        for message in waiting {
            self.send(id, message);
        }
    }

    /// Puts `joining` in the waiting room and tells the host.
    fn knock(&mut self, mut joining: Joining, reply: JoinReply) {
        if !self.make_room_to_wait(joining.address) {
            let _ = reply.send(Err(DenyReason::TooManyConnections));
            return;
        }
        let message = match self.recording_notice() {
            Some(notice) => format!("Waiting for the host to let you in. {notice}"),
            None => "Waiting for the host to let you in.".to_owned(),
        };
        let waiting = ServerMessage::Waiting { message };
        if joining.outbox.try_send(waiting).is_err() {
            let _ = reply.send(Err(DenyReason::TooManyConnections));
            return;
        }
        joining.name = self.guest_name(&joining.name);
        let ticket = joining.ticket;
        let knock = Knock { joining, reply };
        let message = knocking(ticket, &knock);
        self.knocks.insert(ticket, knock);
        self.tell_moderators(&message);
    }

    /// Keeps `joining`'s address and session out with `reason`: a session token is optional,
    /// so the address is what makes a turn-away hold.
    fn bar(&mut self, joining: &Joining, reason: DenyReason) {
        self.barred_addresses.bar(Some(&joining.address), reason);
        self.barred_sessions.bar(joining.session.as_ref(), reason);
    }

    /// Whether a guest from `address` may wait now. An address waits with at most
    /// [`limits::WAITING_PER_ADDRESS`] knocks; when the waiting room is full, a newcomer
    /// from an address with fewer knocks than the one with most takes the place of that
    /// one's oldest (told `too_many_connections`), so knocks from a few addresses cannot
    /// keep everyone else out, nor one knock from each of many addresses.
    fn make_room_to_wait(&mut self, address: IpAddr) -> bool {
        let mut per_address: HashMap<IpAddr, usize> = HashMap::new();
        for knock in self.knocks.values() {
            *per_address.entry(knock.joining.address).or_default() += 1;
        }
        let own = per_address.get(&address).copied().unwrap_or(0);
        if own >= limits::WAITING_PER_ADDRESS {
            return false;
        }
        if self.knocks.len() < limits::MAX_WAITING {
            return true;
        }
        let most = per_address.values().copied().max().unwrap_or(0);
        if most <= own {
            return false;
        }
        // Tickets grow with time: the first found is the oldest of the most crowded.
        let oldest = self
            .knocks
            .iter()
            .find(|(_, knock)| per_address.get(&knock.joining.address) == Some(&most))
            .map(|(ticket, _)| *ticket);
        if let Some(ticket) = oldest
            && let Some(knock) = self.knocks.remove(&ticket)
        {
            let _ = knock.reply.send(Err(DenyReason::TooManyConnections));
            self.tell_moderators(&ServerMessage::KnockEnded { knock: ticket });
        }
        true
    }

    /// The host's answer to a knock: in, or out with its address and session barred.
    fn answer_knock(&mut self, ticket: KnockId, admitted: bool) {
        let Some(Knock { joining, reply }) = self.knocks.remove(&ticket) else {
            return;
        };
        self.tell_moderators(&ServerMessage::KnockEnded { knock: ticket });
        if admitted {
            match self.refusal(&joining) {
                Some(reason) => {
                    let _ = reply.send(Err(reason));
                }
                None => self.admit(joining, reply),
            }
        } else {
            self.bar(&joining, DenyReason::NotAdmitted);
            let _ = reply.send(Err(DenyReason::NotAdmitted));
        }
    }

    /// Turns every waiting guest away with `reason` (their sessions may knock again later).
    fn turn_away_waiting(&mut self, reason: DenyReason) {
        for (ticket, knock) in std::mem::take(&mut self.knocks) {
            let _ = knock.reply.send(Err(reason));
            self.tell_moderators(&ServerMessage::KnockEnded { knock: ticket });
        }
    }

    fn join(&mut self, joining: Joining) -> Result<PeerId, DenyReason> {
        let Joining {
            name,
            media,
            is_host,
            browser,
            address,
            session,
            outbox,
            rejoin_id,
            ..
        } = joining;
        let name = if is_host { name } else { self.guest_name(&name) };
        // A hand goes up, and a recording starts, by `media_state` once in, where the host
        // gives the hand its place and checks that the newcomer may record.
        let media = MediaState {
            hand: None,
            recording: false,
            ..media
        };
        let (id, cohost) = match rejoin_id.and_then(|id| self.handover.keep(id)) {
            Some(kept) => kept,
            None => {
                self.next_id += 1;
                (self.next_id - 1, false)
            }
        };
        let member = Member {
            name,
            media,
            is_host,
            cohost,
            browser,
            address,
            session,
            outbox,
            allowance: Allowance::new(),
            media_unsent: false,
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

    /// What a guest who asked for `wanted` is called: unlike the host's name and everyone
    /// else's, here or waiting.
    fn guest_name(&self, wanted: &str) -> String {
        let taken = std::iter::once(self.meeting.host_name.as_str())
            .chain(self.members.values().map(|member| member.name.as_str()))
            .chain(self.knocks.values().map(|knock| knock.joining.name.as_str()));
        names::guest_name(wanted, taken)
    }

    fn on_message(&mut self, from: PeerId, message: ClientMessage) {
        if !self.members.contains_key(&from) {
            return;
        }
        match message {
            ClientMessage::Signal { to, signal } => self.relay_signal(from, to, signal),
            ClientMessage::Chat { text, to } => self.chat(from, &text, to),
            ClientMessage::OfferFile { token, name, size, to } => self.offer_file(from, token, &name, size, to),
            ClientMessage::Rename { name } => self.rename(from, &name),
            ClientMessage::React { emoji } => self.react(from, emoji),
            ClientMessage::MediaState { media } => self.media_state(from, media),
            ClientMessage::TurnOff { id, device } => self.turn_off(from, id, device),
            ClientMessage::AskToTurnOn { id, device } => self.ask_to_turn_on(from, id, device),
            ClientMessage::MakeCohost { id, cohost } => self.make_cohost(from, id, cohost),
            ClientMessage::AllowGuestRecording { allowed } => self.allow_guest_recording(from, allowed),
            ClientMessage::AllowManySharers { allowed } => {
                if self.host_only(from, "share screens") {
                    self.many_sharers = allowed;
                }
            }
            ClientMessage::LockMeeting { locked } => {
                if self.moderator_only(from, "lock the meeting") {
                    self.locked = locked;
                    if locked {
                        self.turn_away_waiting(DenyReason::Locked);
                    }
                    self.tell_moderators(&ServerMessage::Locked { locked });
                }
            }
            ClientMessage::AskToJoin { required } => {
                if self.host_only(from, "decide who waits") {
                    self.ask_to_join = required;
                }
            }
            ClientMessage::Admit { knock } => {
                if self.moderator_only(from, "let guests in") {
                    self.answer_knock(knock, true);
                }
            }
            ClientMessage::Deny { knock } => {
                if self.moderator_only(from, "turn guests away") {
                    self.answer_knock(knock, false);
                }
            }
            ClientMessage::LowerHand { id } => self.lower_hand(from, id),
            ClientMessage::AllowBack => {
                if self.host_only(from, "let people back") {
                    self.barred_addresses.clear();
                    self.barred_sessions.clear();
                }
            }
            ClientMessage::Remove { id } => self.remove_participant(from, id),
            ClientMessage::Ping { nonce } => self.send(from, ServerMessage::Pong { nonce }),
            ClientMessage::Pong { .. } => {}
            ClientMessage::HandOver { to } => self.hand_over(from, to),
            ClientMessage::HostReady { port } => self.host_ready(from, port),
            ClientMessage::Leave => self.remove(from, LeaveReason::Left),
            ClientMessage::Hello { .. } => self.refuse(from, "already joined".into()),
        }
    }

    /// Tells `from` that what it sent was refused, and why.
    fn refuse(&mut self, from: PeerId, message: String) {
        self.send(from, ServerMessage::Error { message });
    }

    /// Passes `signal` from `from` on to `to`, within `from`'s allowance.
    fn relay_signal(&mut self, from: PeerId, to: PeerId, signal: Signal) {
        if to == from || !self.members.contains_key(&to) {
            return self.refuse(from, format!("there is no other participant {to}"));
        }
        let allowed = self
            .members
            .get_mut(&from)
            .map(|member| member.allowance.signal(to, &signal, Instant::now()));
        match allowed {
            Some(Ok(())) => self.send(to, ServerMessage::Signal { from, signal }),
            Some(Err(refusal)) => self.refuse(from, refusal.to_string()),
            None => {}
        }
    }

    /// Takes `from`'s new media state: a share refused while another is on, a raised hand
    /// numbered, and everyone told (later, merged, beyond its allowance).
    fn media_state(&mut self, from: PeerId, mut media: MediaState) {
        if media.screen
            && let Some(refusal) = self.share_refusal(from)
        {
            media.screen = false;
            self.send(from, refusal);
        }
        self.check_recording(from, &mut media);
        let Some(before) = self.members.get(&from).map(|member| member.media.hand) else {
            return;
        };
        // Hands are numbered here, in the order they go up, whatever the client sent.
        media.hand = match (before, media.hand) {
            (Some(kept), Some(_)) => Some(kept),
            (None, Some(_)) => {
                self.hands_raised += 1;
                Some(self.hands_raised)
            }
            (_, None) => None,
        };
        if media.hand != before {
            // The one who raised it learns its place.
            self.send(from, ServerMessage::MediaState { id: from, media });
        }
        let Some(member) = self.members.get_mut(&from) else {
            return;
        };
        member.media = media;
        member.media_unsent = !member.allowance.media_state(Instant::now());
        if member.media_unsent {
            self.media_due
                .get_or_insert_with(|| tokio::time::Instant::now() + MEDIA_STATE_DELAY);
        } else {
            self.broadcast(&ServerMessage::MediaState { id: from, media }, Some(from));
        }
    }

    /// True when `from` hosts; otherwise tells them that only the host may `what`.
    fn host_only(&mut self, from: PeerId, what: &str) -> bool {
        let host = self.members.get(&from).is_some_and(|member| member.is_host);
        if !host {
            self.refuse(from, format!("only the host may {what}"));
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

    /// Sends the media states merged while their senders' allowances were used up.
    fn send_merged_media_states(&mut self) {
        let now = Instant::now();
        let due: Vec<(PeerId, MediaState)> = self
            .members
            .iter_mut()
            .filter(|(_, member)| member.media_unsent)
            .filter_map(|(id, member)| {
                member.media_unsent = !member.allowance.media_state(now);
                (!member.media_unsent).then_some((*id, member.media))
            })
            .collect();
        for (id, media) in due {
            self.broadcast(&ServerMessage::MediaState { id, media }, Some(id));
        }
        self.media_due = self
            .members
            .values()
            .any(|member| member.media_unsent)
            .then(|| tokio::time::Instant::now() + MEDIA_STATE_DELAY);
    }

    fn remove(&mut self, id: PeerId, reason: LeaveReason) {
        let Some(member) = self.members.remove(&id) else {
            return;
        };
        for other in self.members.values_mut() {
            other.allowance.forget(id);
        }
        if member.is_host {
            // The meeting lives in the host's program: without the host there is no meeting.
            self.end();
        } else {
            self.broadcast(&ServerMessage::PeerLeft { id, reason }, None);
        }
    }

    /// Back-pressure from the host's program: nothing more is taken in until what is held
    /// for it has gone out. A program that takes nothing for [`HOST_STALL`] has stopped: the
    /// meeting ends, and everyone is told.
    async fn wait_for_hosts(&mut self) {
        if !self.host_backlog.drain(HOST_STALL).await {
            tracing::warn!("the host's program stopped reading; ending the meeting");
            self.end();
        }
    }

    fn end(&mut self) {
        for knock in std::mem::take(&mut self.knocks).into_values() {
            // Their connections pass it on and close.
            let _ = knock.joining.outbox.try_send(ServerMessage::Ended);
        }
        self.broadcast(&ServerMessage::Ended, None);
        self.members.clear();
        self.ended = true;
    }

    /// Sends `message` to the host (and anyone else holding the host's token) and the
    /// co-hosts.
    fn tell_moderators(&mut self, message: &ServerMessage) {
        let moderators: Vec<PeerId> = self
            .members
            .iter()
            .filter(|(_, member)| member.moderates())
            .map(|(id, _)| *id)
            .collect();
        for id in moderators {
            self.send(id, message.clone());
        }
    }

    fn send(&mut self, to: PeerId, message: ServerMessage) {
        let too_slow = self
            .members
            .get(&to)
            .is_some_and(|member| !self.host_backlog.deliver(to, &member.outbox, member.is_host, message));
        if too_slow {
            self.remove(to, LeaveReason::ConnectionLost);
        }
    }

    fn broadcast(&mut self, message: &ServerMessage, except: Option<PeerId>) {
        let too_slow: Vec<PeerId> = self
            .members
            .iter()
            .filter(|(id, _)| Some(**id) != except)
            .filter(|(id, member)| {
                !self
                    .host_backlog
                    .deliver(**id, &member.outbox, member.is_host, message.clone())
            })
            .map(|(id, _)| *id)
            .collect();
        for id in too_slow {
            self.remove(id, LeaveReason::ConnectionLost);
        }
    }
}

/// What the host is told about a waiting guest.
fn knocking(ticket: KnockId, knock: &Knock) -> ServerMessage {
    ServerMessage::Knocking {
        knock: ticket,
        name: knock.joining.name.clone(),
    }
}

#[cfg(test)]
#[path = "room_tests.rs"]
mod tests;

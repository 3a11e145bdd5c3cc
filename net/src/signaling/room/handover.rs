//! Handing the meeting over: the host leaves and another participant's program hosts it
//! from then on. The room sends the next host what it needs (`take_over`), and once that
//! one's own room listens (`host_ready`), tells everyone else where to go (`host_moved`).
//! A room that goes on with a handed-over meeting lets those coming over in with their ids.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::Room;
use crate::protocol::{PeerId, ServerMessage, Takeover};

/// What the room knows of a handover, either way.
#[derive(Default)]
pub(super) struct Handover {
    /// The passcode, which the next host needs.
    passcode: Option<String>,
    /// Handing over now: to whom, with which ticket.
    handing_to: Option<(PeerId, String)>,
    /// Coming over from a former host: the ids kept for them, each with whether they
    /// were a co-host.
    kept: BTreeMap<PeerId, bool>,
    /// Until when they may come over.
    kept_until: Option<Instant>,
}

/// How long those coming over from a former host may take.
const COMING_OVER: Duration = Duration::from_secs(60);

impl Handover {
    /// Whether `id` may come over from the former host now.
    pub(super) fn expects(&self, id: PeerId) -> bool {
        self.kept.contains_key(&id) && self.kept_until.is_some_and(|until| Instant::now() < until)
    }

    /// The id `id` keeps coming over, and whether it is a co-host; `None` when it was not
    /// in the meeting handed over or has come already.
    pub(super) fn keep(&mut self, id: PeerId) -> Option<(PeerId, bool)> {
        self.kept.remove(&id).map(|cohost| (id, cohost))
    }
}

impl Room {
    /// The meeting's passcode, handed on with the meeting.
    pub(crate) fn set_passcode(&mut self, passcode: Option<String>) {
        self.handover.passcode = passcode.filter(|passcode| !passcode.is_empty());
    }

    /// Goes on with a meeting handed over by its former host: its settings, and a place
    /// for each of its participants under the id they had.
    pub(crate) fn go_on_with(&mut self, takeover: &Takeover) {
        self.locked = takeover.locked;
        self.many_sharers = takeover.many_sharers;
        let cohosts: BTreeSet<PeerId> = takeover.cohosts.iter().copied().collect();
        self.handover.kept = takeover.ids.iter().map(|id| (*id, cohosts.contains(id))).collect();
        self.handover.kept_until = Some(Instant::now() + COMING_OVER);
        self.next_id = takeover.ids.iter().max().map_or(1, |id| id + 1);
        self.chat_seq = takeover.chat_seq;
    }

    /// The host hands the meeting over to `to`, who must be a program in the meeting.
    pub(super) fn hand_over(&mut self, from: PeerId, to: PeerId) {
        if !self.host_only(from, "hand the meeting over") {
            return;
        }
        if to == from || self.members.get(&to).is_none_or(|member| member.browser) {
            return self.refuse(from, "the meeting can only be handed to another program in it".into());
        }
        let ticket = crate::secret::token();
        let cohosts = self
            .members
            .iter()
            .filter(|(_, member)| member.cohost)
            .map(|(id, _)| *id)
            .collect();
        let takeover = Takeover {
            ticket: ticket.clone(),
            meeting: self.meeting.clone(),
            passcode: self.handover.passcode.clone(),
            locked: self.locked,
            ask_to_join: self.ask_to_join,
            many_sharers: self.many_sharers,
            ids: self.members.keys().copied().collect(),
            cohosts,
            chat_seq: self.chat_seq,
        };
        self.handover.handing_to = Some((to, ticket));
        self.send(to, ServerMessage::TakeOver(Box::new(takeover)));
    }

    /// The next host's room listens on `port`: everyone else (but browser guests, whose page
    /// this host serves) is told to come over.
    pub(super) fn host_ready(&mut self, from: PeerId, port: u16) {
        let Some((to, ticket)) = self.handover.handing_to.clone().filter(|(to, _)| *to == from) else {
            return self.refuse(from, "nobody asked you to host this meeting".into());
        };
        let Some(address) = self.members.get(&to).map(|member| member.address) else {
            return;
        };
        let moved = ServerMessage::HostMoved {
            to,
            host: address.to_string(),
            port,
            ticket,
        };
        let programs: Vec<PeerId> = self
            .members
            .iter()
            .filter(|(id, member)| **id != to && !member.browser)
            .map(|(id, _)| *id)
            .collect();
        for id in programs {
            self.send(id, moved.clone());
        }
    }
}

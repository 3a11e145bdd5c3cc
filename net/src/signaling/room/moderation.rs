//! What the host and its co-hosts may do to the others: turn their devices off (never on:
//! that is only asked for), lower their hands and remove them; and what the host alone
//! may do: make co-hosts. Nobody but the host acts on the host.

use std::time::Instant;

use super::Room;
use crate::protocol::{DenyReason, LeaveReason, MediaDevice, PeerId, ServerMessage};

impl Room {
    /// True when `from` hosts or co-hosts; otherwise tells them that only those may `what`.
    pub(super) fn moderator_only(&mut self, from: PeerId, what: &str) -> bool {
        let moderates = self.members.get(&from).is_some_and(super::Member::moderates);
        if !moderates {
            self.refuse(from, format!("only the host or a co-host may {what}"));
        }
        moderates
    }

    /// Whether `from` may act on participant `id` (as `what` says): someone else in the
    /// meeting, and not the host unless `spares_host` is false. Tells `from` why not.
    fn may_act_on(&mut self, from: PeerId, id: PeerId, what: &str, spares_host: bool) -> bool {
        let refusal = match self.members.get(&id) {
            None => format!("there is no participant {id}"),
            Some(_) if id == from => format!("you cannot {what} yourself this way"),
            Some(member) if spares_host && member.is_host => format!("nobody may {what} the host"),
            Some(_) => return true,
        };
        self.refuse(from, refusal);
        false
    }

    /// Takes one act of moderation from `from`'s allowance; tells `from` when none is left.
    fn moderation_allowed(&mut self, from: PeerId) -> bool {
        let allowed = self
            .members
            .get_mut(&from)
            .is_some_and(|member| member.allowance.moderate(Instant::now()));
        if !allowed {
            self.refuse(from, "you are moderating too fast; this was not done".into());
        }
        allowed
    }

    /// Turns `device` off for participant `id`, or for everyone but `from` and the host;
    /// only those whose device is on are told.
    pub(super) fn turn_off(&mut self, from: PeerId, id: Option<PeerId>, device: MediaDevice) {
        let what = "turn off";
        if !self.moderator_only(from, "turn off others' microphones, cameras and shares") {
            return;
        }
        if let Some(id) = id
            && !self.may_act_on(from, id, what, true)
        {
            return;
        }
        if !self.moderation_allowed(from) {
            return;
        }
        let targets: Vec<PeerId> = self
            .members
            .iter()
            .filter(|(other, member)| match id {
                Some(id) => **other == id,
                None => **other != from && !member.is_host,
            })
            .filter(|(_, member)| member.media.is_on(device))
            .map(|(other, _)| *other)
            .collect();
        for target in targets {
            self.send(target, ServerMessage::TurnedOff { device, by: from });
        }
    }

    /// Asks participant `id` to turn their microphone or camera on, if it is off.
    pub(super) fn ask_to_turn_on(&mut self, from: PeerId, id: PeerId, device: MediaDevice) {
        if !self.moderator_only(from, "ask others to turn their microphones or cameras on") {
            return;
        }
        if device == MediaDevice::Screen {
            return self.refuse(from, "only a microphone or a camera can be asked for".into());
        }
        if !self.may_act_on(from, id, "ask", false) || !self.moderation_allowed(from) {
            return;
        }
        if self.members.get(&id).is_some_and(|member| !member.media.is_on(device)) {
            self.send(id, ServerMessage::AskedToTurnOn { device, by: from });
        }
    }

    /// Makes participant `id` a co-host or no longer one, and tells everyone. A new co-host
    /// hears of the guests waiting now; one no longer a co-host, that they need no answer
    /// from it.
    pub(super) fn make_cohost(&mut self, from: PeerId, id: PeerId, cohost: bool) {
        if !self.host_only(from, "make co-hosts")
            || !self.may_act_on(from, id, "make a co-host of", true)
            || !self.moderation_allowed(from)
        {
            return;
        }
        let Some(member) = self.members.get_mut(&id).filter(|member| member.cohost != cohost) else {
            return;
        };
        member.cohost = cohost;
        self.broadcast(&ServerMessage::Cohost { id, cohost }, None);
        if cohost {
            self.tell_of_knocks(id);
            let locked = self.locked;
            self.send(id, ServerMessage::Locked { locked });
        } else {
            let tickets: Vec<_> = self.knocks.keys().copied().collect();
            for knock in tickets {
                self.send(id, ServerMessage::KnockEnded { knock });
            }
            self.stop_forbidden_recordings();
        }
    }

    /// Puts participant `id`'s raised hand down, for everyone to see.
    pub(super) fn lower_hand(&mut self, from: PeerId, id: PeerId) {
        if !self.moderator_only(from, "lower hands") {
            return;
        }
        let raised = match self.members.get(&id) {
            None => return self.refuse(from, format!("there is no participant {id}")),
            Some(member) => member.media.hand.is_some(),
        };
        if !raised || !self.moderation_allowed(from) {
            return;
        }
        if let Some(member) = self.members.get_mut(&id) {
            member.media.hand = None;
            let media = member.media;
            self.broadcast(&ServerMessage::MediaState { id, media }, None);
        }
    }

    /// Removes participant `id` (never the host) and keeps their address and session out.
    pub(super) fn remove_participant(&mut self, from: PeerId, id: PeerId) {
        if !self.moderator_only(from, "remove participants") || !self.may_act_on(from, id, "remove", true) {
            return;
        }
        let Some(member) = self.members.get(&id) else {
            return;
        };
        self.barred_addresses.bar(Some(&member.address), DenyReason::Removed);
        self.barred_sessions.bar(member.session.as_ref(), DenyReason::Removed);
        // The last thing it hears; the connection closes with its outbox.
        let _ = member.outbox.try_send(ServerMessage::Removed);
        self.remove(id, LeaveReason::Removed);
    }
}

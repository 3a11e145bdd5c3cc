//! What participants say to each other through the room: chat, to everyone or privately,
//! reactions, and the names they go by.

use std::time::Instant;

use super::{Room, names};
use crate::protocol::{PeerId, REACTIONS, ServerMessage, limits};
use crate::text::{clean_chat, uncut_name};

impl Room {
    /// Passes `from`'s chat message, numbered, to everyone or to `to` alone (and back to
    /// `from`), or tells `from` why not.
    pub(super) fn chat(&mut self, from: PeerId, text: &str, to: Option<PeerId>) {
        if !self.knows_recipient(from, to, "the message was not delivered") {
            return;
        }
        let text = clean_chat(text);
        let Some(member) = self.members.get_mut(&from).filter(|_| !text.is_empty()) else {
            return;
        };
        if text.chars().count() > limits::MAX_CHAT_CHARS {
            let refusal = format!("chat messages are limited to {} characters", limits::MAX_CHAT_CHARS);
            return self.refuse(from, refusal);
        }
        if !member.allowance.chat(Instant::now()) {
            let refusal = format!(
                "you are sending chat messages too fast (at most {} at once, {} a second); this one was not delivered",
                limits::CHAT_BURST,
                limits::CHATS_PER_SECOND
            );
            return self.refuse(from, refusal);
        }
        // Private messages are numbered in the same order, so that both sides place them
        // among the others.
        self.chat_seq += 1;
        let chat = ServerMessage::Chat {
            from,
            name: member.name.clone(),
            text,
            sent_at_ms: crate::clock_ms(),
            seq: self.chat_seq,
            to,
        };
        self.deliver(from, to, &chat);
    }

    /// Passes `from`'s offer of a file, numbered among the chat messages, to everyone or to
    /// `to` alone (and back to `from`), or tells `from` why not: too large for this meeting,
    /// or offered too fast (offers share chat's allowance).
    pub(super) fn offer_file(&mut self, from: PeerId, token: u64, name: &str, size: u64, to: Option<PeerId>) {
        if !self.knows_recipient(from, to, "the file was not offered") {
            return;
        }
        let file = crate::files::name::safe_file_name(name);
        let Some(limit) = self.meeting.max_file_bytes else {
            return self.refuse(from, "this meeting does not take files".into());
        };
        let Some(member) = self.members.get_mut(&from) else {
            return;
        };
        if size > limit {
            let refusal = format!(
                "\"{file}\" is {}; this meeting takes files of up to {}",
                crate::files::size_text(size),
                crate::files::size_text(limit)
            );
            return self.refuse(from, refusal);
        }
        if !member.allowance.chat(Instant::now()) {
            let refusal = format!("you are offering files too fast; \"{file}\" was not offered");
            return self.refuse(from, refusal);
        }
        self.chat_seq += 1;
        let offer = ServerMessage::FileOffered {
            from,
            name: member.name.clone(),
            token,
            file,
            size,
            sent_at_ms: crate::clock_ms(),
            seq: self.chat_seq,
            to,
        };
        self.deliver(from, to, &offer);
    }

    /// Whether `to` (when given) is another participant; tells `from` otherwise, ending with
    /// `what_happened`.
    fn knows_recipient(&mut self, from: PeerId, to: Option<PeerId>, what_happened: &str) -> bool {
        match to {
            Some(to) if to == from || !self.members.contains_key(&to) => {
                self.refuse(from, format!("there is no other participant {to}; {what_happened}"));
                false
            }
            _ => true,
        }
    }

    /// Sends `message` from `from` to everyone, or to `to` and back to `from`.
    fn deliver(&mut self, from: PeerId, to: Option<PeerId>, message: &ServerMessage) {
        match to {
            Some(to) => {
                self.send(to, message.clone());
                self.send(from, message.clone());
            }
            None => self.broadcast(message, None),
        }
    }

    /// Shows `from`'s reaction to everyone: one of the few allowed, as often as chat.
    pub(super) fn react(&mut self, from: PeerId, emoji: String) {
        let Some(member) = self.members.get_mut(&from) else {
            return;
        };
        let refusal = if !REACTIONS.contains(&emoji.as_str()) {
            format!("a reaction is one of {}", REACTIONS.join(" "))
        } else if !member.allowance.chat(Instant::now()) {
            "you are reacting too fast; this one was not shown".to_owned()
        } else {
            return self.broadcast(&ServerMessage::Reaction { from, emoji }, None);
        };
        self.refuse(from, refusal);
    }

    /// Gives `from` the name it asked for, cleaned and told apart from everyone else's as a
    /// joining guest's is, and tells everyone (`from` too, who learns what it got); or tells
    /// `from` why not.
    pub(super) fn rename(&mut self, from: PeerId, wanted: &str) {
        let wanted = uncut_name(wanted);
        if wanted.is_empty() {
            return self.refuse(from, "a name needs at least one visible character".into());
        }
        if wanted.chars().count() > limits::MAX_NAME_CHARS {
            let refusal = format!("names are limited to {} characters", limits::MAX_NAME_CHARS);
            return self.refuse(from, refusal);
        }
        let Some(member) = self.members.get_mut(&from) else {
            return;
        };
        if !member.allowance.rename(Instant::now()) {
            return self.refuse(from, "you are renaming too fast; your name was not changed".into());
        }
        let name = self.name_for(from, &wanted);
        let Some(member) = self.members.get_mut(&from) else {
            return;
        };
        let renamed = ServerMessage::Renamed {
            id: from,
            name: name.clone(),
        };
        if member.name == name {
            // Nothing changed for the others; the sender still gets its answer.
            return self.send(from, renamed);
        }
        if member.is_host {
            // Newcomers' `welcome` says who hosts.
            self.meeting.host_name.clone_from(&name);
        }
        member.name = name;
        self.broadcast(&renamed, None);
    }

    /// What member `id`, asking for `wanted`, is called: unlike everyone else's name, here
    /// or waiting, and the host's, while its own may stay.
    fn name_for(&self, id: PeerId, wanted: &str) -> String {
        let renaming_host = self.members.get(&id).is_some_and(|member| member.is_host);
        let host = (!renaming_host).then_some(self.meeting.host_name.as_str());
        let taken = host
            .into_iter()
            .chain(
                self.members
                    .iter()
                    .filter(|(other, _)| **other != id)
                    .map(|(_, member)| member.name.as_str()),
            )
            .chain(self.knocks.values().map(|knock| knock.joining.name.as_str()));
        names::guest_name(wanted, taken)
    }
}

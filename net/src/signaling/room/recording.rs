//! Who may record the meeting: anyone, unless the host keeps recording to itself and its
//! co-hosts. Everyone sees who records (`recording` in their media state).

use super::Room;
use crate::protocol::{MediaState, PeerId, ServerMessage};
use crate::signaling::GUESTS_MAY_NOT_RECORD;

impl Room {
    /// Whether `id` may record now.
    pub(super) fn may_record(&self, id: PeerId) -> bool {
        !self.meeting.no_guest_recording || self.members.get(&id).is_some_and(|member| member.moderates())
    }

    /// `from`'s new media state says it records: refused, and taken without, when it may not.
    pub(super) fn check_recording(&mut self, from: PeerId, media: &mut MediaState) {
        if media.recording && !self.may_record(from) {
            media.recording = false;
            let message = GUESTS_MAY_NOT_RECORD.to_owned();
            self.send(from, ServerMessage::RecordingRefused { message });
        }
    }

    /// Host only: guests may record, or no longer; everyone is told, and every guest
    /// recording stops.
    pub(super) fn allow_guest_recording(&mut self, from: PeerId, allowed: bool) {
        if !self.host_only(from, "decide who records") {
            return;
        }
        self.meeting.no_guest_recording = !allowed;
        self.broadcast(&ServerMessage::GuestRecording { allowed }, None);
        self.stop_forbidden_recordings();
    }

    /// Stops the recordings of everyone who may not record (after the host forbade it, or
    /// a co-host became a guest again): each is told, and everyone sees it stopped.
    pub(super) fn stop_forbidden_recordings(&mut self) {
        let stopped: Vec<PeerId> = self
            .members
            .iter()
            .filter(|(_, member)| member.media.recording)
            .map(|(id, _)| *id)
            .filter(|id| !self.may_record(*id))
            .collect();
        for id in stopped {
            let Some(member) = self.members.get_mut(&id) else {
                continue;
            };
            member.media.recording = false;
            let media = member.media;
            let message = GUESTS_MAY_NOT_RECORD.to_owned();
            self.send(id, ServerMessage::RecordingRefused { message });
            self.broadcast(&ServerMessage::MediaState { id, media }, None);
        }
    }

    /// Someone records now: what a guest waiting to come in is told.
    pub(super) fn recording_notice(&self) -> Option<&'static str> {
        self.members
            .values()
            .any(|member| member.media.recording)
            .then_some("This meeting is being recorded.")
    }
}

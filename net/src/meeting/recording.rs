//! Recording the meeting here: a [`Recorder`] fed the decoded pictures everyone sees, the
//! mix we hear and our microphone, told who is in the meeting as it changes. Everyone sees
//! that we record (`recording` in our media state); a guest records only while the host
//! allows guests to.

use std::path::PathBuf;
use std::sync::Arc;

use videomeet_media::audio::mixer::MixerInput;
use videomeet_media::record::{Finished, Participant, Recorder, RecordingSettings, Scene, Voice};

use super::{Actor, Event, Problem};
use crate::protocol::ClientMessage;
use crate::signaling::GUESTS_MAY_NOT_RECORD;

/// Our recording, while it runs.
pub(super) struct Recording {
    recorder: Recorder,
}

impl Actor {
    /// Starts recording into a new file at `path` (and each person's sound into a file of
    /// its own beside it, with `voice_files`).
    pub(super) async fn start_recording(&mut self, path: PathBuf, voice_files: bool) -> Result<(), Problem> {
        let problem = |message: String| Problem::Recording { message };
        if self.recording.is_some() {
            return Err(problem("You are recording already.".into()));
        }
        if !self.may_record() {
            return Err(problem(GUESTS_MAY_NOT_RECORD.into()));
        }
        let sharing = self.recording_scene().participants.iter().any(|p| p.screen.is_some());
        let settings = RecordingSettings {
            voice_files,
            ..RecordingSettings::new(path.clone(), sharing)
        };
        let (levels, ended) = (Arc::clone(&self.capture.levels), self.recordings_ended_tx.clone());
        let started = tokio::task::spawn_blocking(move || {
            Recorder::start(settings, levels, move |finished| {
                // From the recording's thread, never the runtime.
                let _ = ended.blocking_send(finished);
            })
        })
        .await;
        let recorder = match started {
            Ok(Ok(recorder)) => recorder,
            Ok(Err(error)) => return Err(problem(format!("Could not record: {error}"))),
            Err(error) => return Err(problem(format!("Could not record: {error}"))),
        };
        if self
            .mixer
            .input()
            .try_send(MixerInput::Record(Some(recorder.mix_input())))
            .is_err()
        {
            tracing::warn!("the recording hears nobody: the sound mixer is behind");
        }
        self.capture.microphone_tap.set(Some(recorder.microphone_input()));
        recorder.set_scene(self.recording_scene());
        self.recording = Some(Recording { recorder });
        self.media.recording = true;
        self.tell_host(ClientMessage::MediaState { media: self.media });
        self.emit(Event::RecordingStarted { path });
        Ok(())
    }

    /// Stops our recording, if one runs, and waits until its file is closed; its end is
    /// reported as it comes from the recording's thread.
    pub(super) async fn stop_recording(&mut self) {
        let Some(recording) = self.take_recording() else {
            return;
        };
        let _ = tokio::task::spawn_blocking(move || recording.recorder.stop()).await;
    }

    /// The recording is over (stopped, or ended on its own: a full disk): its file is closed.
    pub(super) fn on_recording_ended(&mut self, finished: Finished) {
        // Ended on its own: what it was fed is let go.
        drop(self.take_recording());
        self.emit(Event::RecordingEnded(finished));
    }

    /// Our recording, no longer fed, and everyone told that we stopped.
    fn take_recording(&mut self) -> Option<Recording> {
        let recording = self.recording.take()?;
        let _ = self.mixer.input().try_send(MixerInput::Record(None));
        self.capture.microphone_tap.set(None);
        self.media.recording = false;
        self.tell_host(ClientMessage::MediaState { media: self.media });
        Some(recording)
    }

    /// Whether we may record: hosting, a co-host, or guests may.
    fn may_record(&self) -> bool {
        let guests_may = self
            .known
            .meeting
            .as_ref()
            .is_none_or(|meeting| !meeting.no_guest_recording);
        guests_may || self.server.is_some() || self.known.cohost
    }

    /// Tells our recording who is in the meeting now and what they show.
    pub(super) fn refresh_recording_scene(&self) {
        if let Some(recording) = &self.recording {
            recording.recorder.set_scene(self.recording_scene());
        }
    }

    /// Everyone as the recording shows them: ourselves first, then the others in the
    /// order they joined, each with the pictures they send now.
    fn recording_scene(&self) -> Scene {
        let ours = Participant {
            name: self.known.name.clone().unwrap_or_else(|| self.name.clone()),
            voice: Voice::Ours,
            camera: self.media.camera.then(|| Arc::clone(&self.capture.slot)),
            screen: self.screen.as_ref().map(|share| Arc::clone(&share.capture.picture)),
        };
        let others = self.known.people.iter().map(|(id, person)| {
            let media = person.info.media;
            Participant {
                name: person.info.name.clone(),
                voice: Voice::Theirs(*id),
                camera: person.camera.clone().filter(|_| media.camera),
                screen: person.screen.clone().filter(|_| media.screen),
            }
        });
        Scene {
            participants: std::iter::once(ours).chain(others).collect(),
        }
    }
}

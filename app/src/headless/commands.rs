//! Commands for a headless meeting: one JSON object per line on stdin, such as
//! `{"command":"mute"}` or `{"command":"chat","text":"hello"}`. Each is answered on stdout
//! with a `reply` line saying whether it worked; a line that is not a command is answered
//! with a `refused` line and changes nothing.

use std::io::BufRead;

use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;
use videomeet_media::audio::Cue;
use videomeet_media::{MicrophoneChoice, SpeakerChoice, VideoChoice};
use videomeet_net::meeting::{Command, MeetingHandle, SaveTo};
use videomeet_net::protocol::{KnockId, MediaDevice, PeerId, ViewSize};

use crate::cli::find_screen;

/// One line of stdin. (Variants without fields are written `{}` so that unknown fields
/// are refused for them too.)
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Line {
    /// Turn the microphone off.
    Mute {},
    /// Turn the microphone on.
    Unmute {},
    /// Turn the camera on or off.
    Camera { on: bool },
    /// Send a chat message to everyone, or privately `to` one participant.
    Chat {
        text: String,
        #[serde(default)]
        to: Option<PeerId>,
    },
    /// Offer a file to everyone, or privately `to` one participant.
    SendFile {
        path: std::path::PathBuf,
        #[serde(default)]
        to: Option<PeerId>,
    },
    /// Take the file numbered `seq` (a `file_offered` event's) into `folder` (the
    /// Downloads folder when absent), under its name made safe and numbered when taken.
    SaveFile {
        seq: u64,
        #[serde(default)]
        folder: Option<std::path::PathBuf>,
    },
    /// Stop the transfers of file `seq`: the one with `peer`, or all.
    CancelFile {
        seq: u64,
        #[serde(default)]
        peer: Option<PeerId>,
    },
    /// Go by another name (the host may number it: see the `renamed` event).
    Rename { name: String },
    /// Play a sound through our speaker: `joined`, `left`, `message` or `knock`.
    PlaySound { sound: String },
    /// Share a screen: `display`, `display:N` or `window:TITLE`, as `--share` takes.
    Share { screen: String },
    /// Stop sharing.
    StopSharing {},
    /// Raise our hand, or put it down.
    Hand { raised: bool },
    /// Show a reaction over our picture: one of 👍 👏 😂 ❤ 🎉 😮.
    React { emoji: String },
    /// Capture from another camera (an id from `videomeet devices`).
    UseCamera { id: String },
    /// Capture from another microphone.
    UseMicrophone { id: String },
    /// Play to another speaker.
    UseSpeaker { id: String },
    /// Echo cancellation and noise suppression on or off.
    VoiceProcessing { on: bool },
    /// Host or co-host: lock the meeting, or open it again.
    Lock { locked: bool },
    /// Host: guests wait until let in, or come in at once.
    AskToJoin { on: bool },
    /// Host or co-host: let a waiting guest in (the `knock` of its `knocking` event).
    Admit { knock: KnockId },
    /// Host or co-host: turn a waiting guest away.
    Deny { knock: KnockId },
    /// Host or co-host: remove a participant.
    Remove { id: PeerId },
    /// Host or co-host: put a participant's raised hand down.
    LowerHand { id: PeerId },
    /// Host or co-host: turn a participant's `mic`, `camera` or `screen` off; without `id`,
    /// everyone's but ours and the host's.
    TurnOff {
        #[serde(default)]
        id: Option<PeerId>,
        device: MediaDevice,
    },
    /// Host or co-host: ask a participant to turn their `mic` or `camera` on.
    AskToTurnOn { id: PeerId, device: MediaDevice },
    /// Host: make a participant a co-host, or no longer one.
    MakeCohost { id: PeerId, cohost: bool },
    /// Host: let several share at once.
    AllowManySharers { allowed: bool },
    /// Host: everyone removed or turned away may ask again.
    AllowBack {},
    /// Record the meeting into a new MP4 file at `path` (the Videos folder, named after the
    /// meeting and the time, when absent).
    Record {
        #[serde(default)]
        path: Option<std::path::PathBuf>,
        /// Each person's sound in a file of its own beside it, too.
        #[serde(default)]
        voices: bool,
    },
    /// Stop recording (the `recording_ended` event follows once the file is closed).
    StopRecording {},
    /// Host: guests may record the meeting, or only the host and co-hosts.
    AllowGuestRecording { allowed: bool },
    /// How large we draw each participant's camera, e.g. `[{"id":2,"width":480,"height":270}]`
    /// (`0x0`: not drawn), so that a forwarding host sends the layer that fits.
    View { sizes: Vec<ViewSize> },
    /// Host: leave, handing the meeting over to a co-host (else the program that came
    /// first); `ended` with `handed_over` follows once everyone has been told.
    HandOver {},
    /// Leave the meeting (ends it for everyone when hosting).
    Leave {},
}

impl Line {
    /// Reads one line of input.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        serde_json::from_str(text).map_err(|error| anyhow::anyhow!("not a command: {error}"))
    }

    /// The meeting command this line asks for, or why there is none.
    pub fn command(self) -> anyhow::Result<Command> {
        let unknown = |kind: &str, id: &str| anyhow::anyhow!("unknown {kind} \"{id}\"; see `videomeet devices`");
        Ok(match self {
            Self::Mute {} => Command::SetMic(false),
            Self::Unmute {} => Command::SetMic(true),
            Self::Camera { on } => Command::SetCamera(on),
            Self::Chat { text, to: None } => Command::Chat(text),
            Self::Chat { text, to: Some(to) } => Command::PrivateChat { to, text },
            Self::SendFile { path, to } => Command::SendFile { path, to },
            Self::SaveFile { seq, folder } => {
                let folder = match folder {
                    Some(folder) => folder,
                    None => crate::folders::downloads_dir()
                        .ok_or_else(|| anyhow::anyhow!("no Downloads folder is known here; give a `folder`"))?,
                };
                Command::SaveFile {
                    seq,
                    to: SaveTo::Folder(folder),
                }
            }
            Self::CancelFile { seq, peer } => Command::CancelFile { seq, peer },
            Self::Rename { name } => Command::Rename(name),
            Self::PlaySound { sound } => Command::PlayCue(Cue::from_name(&sound).ok_or_else(|| {
                let known: Vec<&str> = Cue::ALL.iter().map(|cue| cue.name()).collect();
                anyhow::anyhow!("unknown sound \"{sound}\"; one of {}", known.join(", "))
            })?),
            Self::Share { screen } => Command::ShareScreen(find_screen(&screen)?),
            Self::StopSharing {} => Command::StopSharing,
            Self::Hand { raised } => Command::RaiseHand(raised),
            Self::React { emoji } => Command::React(emoji),
            Self::UseCamera { id } => {
                Command::UseCamera(VideoChoice::from_id(&id).ok_or_else(|| unknown("camera", &id))?)
            }
            Self::UseMicrophone { id } => {
                Command::UseMicrophone(MicrophoneChoice::from_id(&id).ok_or_else(|| unknown("microphone", &id))?)
            }
            Self::UseSpeaker { id } => {
                Command::UseSpeaker(SpeakerChoice::from_id(&id).ok_or_else(|| unknown("speaker", &id))?)
            }
            Self::VoiceProcessing { on } => Command::UseVoiceProcessing(on),
            Self::Lock { locked } => Command::LockMeeting(locked),
            Self::AskToJoin { on } => Command::AskToJoin(on),
            Self::Admit { knock } => Command::Admit(knock),
            Self::Deny { knock } => Command::Deny(knock),
            Self::Remove { id } => Command::Remove(id),
            Self::LowerHand { id } => Command::LowerHand(id),
            Self::TurnOff { id, device } => Command::TurnOff { id, device },
            Self::AskToTurnOn { id, device } => Command::AskToTurnOn { id, device },
            Self::MakeCohost { id, cohost } => Command::MakeCohost { id, cohost },
            Self::AllowManySharers { allowed } => Command::AllowManySharers(allowed),
            Self::AllowBack {} => Command::AllowBack,
            Self::Record { path, voices } => {
                let path = match path {
                    Some(path) => path,
                    None => {
                        let folder = crate::folders::videos_dir()
                            .ok_or_else(|| anyhow::anyhow!("no Videos folder is known here; give a `path`"))?;
                        crate::folders::recording_path(&folder, "Meeting", chrono::Local::now())
                    }
                };
                Command::StartRecording {
                    path,
                    voice_files: voices,
                }
            }
            Self::StopRecording {} => Command::StopRecording,
            Self::AllowGuestRecording { allowed } => Command::AllowGuestRecording(allowed),
            Self::View { sizes } => Command::View(sizes),
            Self::HandOver {} => Command::HandOver,
            Self::Leave {} => Command::Leave,
        })
    }
}

/// Lines of stdin queued at most while the meeting carries out the one before.
const QUEUED_LINES: usize = 16;

/// Reads commands from stdin until it closes, carrying them out one after the other.
pub fn listen(handle: MeetingHandle) -> anyhow::Result<()> {
    let (lines_tx, mut lines) = mpsc::channel::<String>(QUEUED_LINES);
    std::thread::Builder::new()
        .name("stdin-commands".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if lines_tx.blocking_send(line).is_err() {
                    break;
                }
            }
        })?;
    tokio::spawn(async move {
        while let Some(line) = lines.recv().await {
            if line.trim().is_empty() {
                continue;
            }
            let answer = match Line::parse(&line).and_then(Line::command) {
                Err(error) => json!({"event": "refused", "line": line, "message": error.to_string()}),
                Ok(command) => match handle.ask(command).await {
                    Ok(()) => json!({"event": "reply", "line": line, "ok": true}),
                    Err(problem) => {
                        json!({"event": "reply", "line": line, "ok": false, "problem": problem, "message": problem.to_string()})
                    }
                },
            };
            println!("{answer}");
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_commands() {
        let command = |text: &str| Line::parse(text).and_then(Line::command).unwrap();
        assert_eq!(command(r#"{"command":"mute"}"#), Command::SetMic(false));
        assert_eq!(command(r#"{"command":"camera","on":true}"#), Command::SetCamera(true));
        assert_eq!(
            command(r#"{"command":"chat","text":"hello"}"#),
            Command::Chat("hello".into())
        );
        assert_eq!(command(r#"{"command":"admit","knock":7}"#), Command::Admit(7));
        assert_eq!(
            command(r#"{"command":"use_speaker","id":"mute"}"#),
            Command::UseSpeaker(SpeakerChoice::Mute)
        );
        assert_eq!(command(r#"{"command":"leave"}"#), Command::Leave);
    }

    #[test]
    fn moderation_renames_private_chat_and_sounds_become_commands() {
        let command = |text: &str| Line::parse(text).and_then(Line::command).unwrap();
        assert_eq!(
            command(r#"{"command":"turn_off","device":"mic"}"#),
            Command::TurnOff {
                id: None,
                device: MediaDevice::Mic
            }
        );
        assert_eq!(
            command(r#"{"command":"ask_to_turn_on","id":2,"device":"camera"}"#),
            Command::AskToTurnOn {
                id: 2,
                device: MediaDevice::Camera
            }
        );
        assert_eq!(
            command(r#"{"command":"make_cohost","id":2,"cohost":true}"#),
            Command::MakeCohost { id: 2, cohost: true }
        );
        assert_eq!(
            command(r#"{"command":"rename","name":"Ada"}"#),
            Command::Rename("Ada".into())
        );
        assert_eq!(
            command(r#"{"command":"chat","text":"psst","to":3}"#),
            Command::PrivateChat {
                to: 3,
                text: "psst".into()
            }
        );
        assert_eq!(
            command(r#"{"command":"play_sound","sound":"knock"}"#),
            Command::PlayCue(Cue::Knock)
        );
        assert_eq!(command(r#"{"command":"hand_over"}"#), Command::HandOver);
    }

    #[test]
    fn what_is_not_a_command_is_refused_with_a_reason() {
        for (bad, reason) in [
            ("mute", "not a command"),
            (r#"{"command":"shout"}"#, "unknown variant"),
            (r#"{"command":"camera"}"#, "missing field `on`"),
            (r#"{"command":"camera","on":"yes"}"#, "invalid type"),
            (r#"{"command":"mute","loud":true}"#, "unknown field"),
            (r#"{"command":"admit","knock":-1}"#, "invalid value"),
            (r#"{"command":"use_camera","id":"/dev/nothing"}"#, "unknown camera"),
            (r#"{"command":"turn_off","device":"speaker"}"#, "unknown variant"),
            (r#"{"command":"play_sound","sound":"fanfare"}"#, "unknown sound"),
        ] {
            let error = Line::parse(bad).and_then(Line::command).unwrap_err().to_string();
            assert!(error.contains(reason), "{bad}: {error}");
        }
    }
}

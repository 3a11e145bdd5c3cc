//! The meeting's side of our own devices: switching the camera, microphone and speaker,
//! sharing a screen, and what to do when one of them stops on its own.

use videomeet_media::audio::mixer::MixerInput;
use videomeet_media::capture;
use videomeet_media::codec::H264Config;
use videomeet_media::screen::ScreenChoice;
use videomeet_media::{MicrophoneChoice, SpeakerChoice, VideoChoice};

use crate::peer::VideoFeed;
use crate::protocol::ClientMessage;

use super::ActiveShare;
use super::local_media::{DEVICE_TIMEOUT, DeviceEnded};
use super::{Event, Meeting};

impl Meeting {
    pub(super) fn on_device_ended(&mut self, ended: DeviceEnded) {
        match ended {
            DeviceEnded::Screen { share, reason } => self.on_share_ended(share, reason),
            DeviceEnded::Camera { camera, reason } => self.on_camera_ended(camera, &reason),
            DeviceEnded::Microphone { microphone, reason } => self.on_microphone_ended(microphone, &reason),
            DeviceEnded::Speaker { reason } => {
                self.emit(Event::Problem(format!("{reason}. Choose another speaker in Devices.")));
            }
        }
    }

    /// Captures from `camera` from now on (opened only while the camera is on); on failure
    /// the user is told why and the camera in use goes on.
    pub(super) async fn switch_camera(&mut self, camera: VideoChoice) {
        // Two encoders must never interleave in one stream: the old one stops sending (and
        // lets its device go) first, and resumes only if the new camera fails.
        self.video.set_enabled(false);
        let number = self.cameras_opened + 1;
        match self
            .capture
            .open_camera(camera.clone(), number, self.media.camera)
            .await
        {
            Ok((video, encoder)) => {
                // The new encoder starts with a keyframe; the old thread stops on drop.
                self.cameras_opened = number;
                self.video = video;
                self.camera = camera;
                self.camera_encoder = encoder;
                self.follow_bandwidth();
            }
            Err(problem) => {
                self.video.set_enabled(self.media.camera);
                self.camera_encoder.keyframes.request();
                self.emit(Event::Problem(problem));
            }
        }
    }

    /// Starts sharing `choice` in place of any share running now (which keeps going if the
    /// new one cannot start).
    pub(super) async fn share_screen(&mut self, choice: ScreenChoice) -> Result<(), String> {
        self.shares_started += 1;
        let number = self.shares_started;
        let name = choice.name.clone();
        let (frames, ended) = (self.capture.outbound.clone(), self.capture.outbound.devices.clone());
        let capture = tokio::task::spawn_blocking(move || {
            capture::start_screen(
                choice,
                H264Config::SCREEN,
                move |frame| frames.video_frame(VideoFeed::Screen, &frame.data),
                move |error| {
                    // From the capture thread, never the runtime: waiting here is fine.
                    let reason = error.to_string();
                    let _ = ended.blocking_send(DeviceEnded::Screen { share: number, reason });
                },
            )
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|error| format!("could not share \"{name}\": {error}"))?;
        self.screen = Some(ActiveShare {
            number,
            name: name.clone(),
            capture,
            last_frame: None,
        });
        self.media.screen = true;
        self.follow_bandwidth();
        self.emit(Event::Sharing(Some(name)));
        Ok(())
    }

    /// Camera `number` stopped on its own: if it is the one in use, video is off for everyone
    /// and the user is told why and what to do.
    pub(super) fn on_camera_ended(&mut self, number: u64, reason: &str) {
        if number == self.cameras_opened {
            self.media.camera = false;
            self.device_ended(reason, "camera");
        }
    }

    /// Opens `microphone` in place of the one in use, which goes on if it cannot be opened.
    pub(super) async fn use_microphone(&mut self, microphone: MicrophoneChoice) {
        let number = self.microphones_opened + 1;
        match self
            .capture
            .open_microphone(microphone.clone(), number, self.media.mic)
            .await
        {
            Ok(audio) => {
                (self.audio, self.microphones_opened) = (audio, number);
                self.microphone = microphone;
            }
            Err(problem) => self.emit(Event::Problem(problem)),
        }
    }

    /// Microphone `number` stopped on its own: if it is the one in use, we are muted for
    /// everyone and the user is told why and what to do.
    pub(super) fn on_microphone_ended(&mut self, number: u64, reason: &str) {
        if number == self.microphones_opened {
            self.media.mic = false;
            self.device_ended(reason, "microphone");
        }
    }

    /// Tells everyone our media changed after a `device` stopped, and the user what to do.
    pub(super) fn device_ended(&mut self, reason: &str, device: &str) {
        self.tell_host(ClientMessage::MediaState { media: self.media });
        self.emit(Event::MediaState {
            id: self.you,
            media: self.media,
        });
        self.emit(Event::Problem(format!("{reason}. Choose another {device} in Devices.")));
    }

    /// Share `number` ended on its own: tell everyone, and the user why.
    pub(super) fn on_share_ended(&mut self, number: u64, reason: String) {
        if self.screen.as_ref().is_none_or(|share| share.number != number) {
            return; // an earlier share, already replaced or stopped
        }
        let name = self.screen.take().map(|share| share.name).unwrap_or_default();
        self.media.screen = false;
        if let Some(client) = &self.client {
            client.send(ClientMessage::MediaState { media: self.media });
        }
        self.emit(Event::Sharing(None));
        self.emit(Event::Problem(format!("Sharing \"{name}\" stopped: {reason}")));
    }

    /// Asks the playout thread to switch speakers and waits (off the runtime) for the answer.
    pub(super) async fn use_speaker(&self, speaker: SpeakerChoice) -> Result<(), String> {
        let label = speaker.label().to_owned();
        let (done, outcome) = std::sync::mpsc::sync_channel(1);
        self.mixer
            .input()
            .try_send(MixerInput::UseSpeaker { speaker, done })
            .map_err(|_| format!("could not switch to {label}: the sound output is busy"))?;
        tokio::task::spawn_blocking(move || outcome.recv_timeout(DEVICE_TIMEOUT))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|_| format!("could not switch to {label}: the sound output did not answer"))?
            .map_err(|error| format!("could not switch to {label}: {error}"))
    }
}

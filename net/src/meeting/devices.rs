//! The meeting's side of our own devices: switching the camera, microphone and speaker,
//! sharing a screen, and what to do when one of them stops on its own.

use videomeet_media::audio::mixer::MixerInput;
use videomeet_media::capture;
use videomeet_media::codec::H264Config;
use videomeet_media::screen::ScreenChoice;
use videomeet_media::video::Layer;
use videomeet_media::{MicrophoneChoice, SpeakerChoice, VideoChoice};

use crate::peer::VideoFeed;
use crate::protocol::ClientMessage;

use super::ActiveShare;
use super::local_media::{DEVICE_TIMEOUT, DeviceEnded, opened};
use super::{Actor, Device, Event, Problem};

impl Actor {
    pub(super) fn on_device_ended(&mut self, ended: DeviceEnded) {
        match ended {
            DeviceEnded::Screen { share, reason } => self.on_share_ended(share, reason),
            DeviceEnded::Camera { camera, reason } => self.on_camera_ended(camera, reason),
            DeviceEnded::Microphone { microphone, reason } => self.on_microphone_ended(microphone, reason),
            DeviceEnded::Speaker { reason } => self.emit(Event::Problem(Problem::DeviceLost {
                device: Device::Speaker,
                name: String::new(),
                reason,
            })),
        }
    }

    /// Captures from `camera` from now on (opened only while the camera is on); on failure
    /// the camera in use goes on.
    pub(super) async fn switch_camera(&mut self, camera: VideoChoice) -> Result<(), Problem> {
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
                // The layers wanted of our camera do not change with the camera.
                encoder.wanted.set(self.camera_encoder.wanted.get());
                self.camera_encoder = encoder;
                self.follow_bandwidth();
                Ok(())
            }
            Err(problem) => {
                self.video.set_enabled(self.media.camera);
                self.camera_encoder.keyframes.request();
                Err(problem)
            }
        }
    }

    /// Starts sharing `choice` in place of any share running now (which keeps going if the
    /// new one cannot start).
    pub(super) async fn share_screen(&mut self, choice: ScreenChoice) -> Result<(), Problem> {
        self.shares_started += 1;
        let number = self.shares_started;
        let name = choice.name.clone();
        let (frames, ended) = (self.capture.outbound.clone(), self.capture.outbound.devices.clone());
        let started = tokio::task::spawn_blocking(move || {
            capture::start_screen(
                choice,
                H264Config::SCREEN,
                move |frame| frames.video_frame(VideoFeed::Screen, Layer::Full, frame),
                move |error| {
                    // From the capture thread, never the runtime: waiting here is fine.
                    let reason = error.to_string();
                    let _ = ended.blocking_send(DeviceEnded::Screen { share: number, reason });
                },
            )
        })
        .await;
        let capture = opened(Device::Screen, name.clone(), started)?;
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
    pub(super) fn on_camera_ended(&mut self, number: u64, reason: String) {
        if number == self.cameras_opened {
            self.media.camera = false;
            self.device_ended(Device::Camera, reason);
        }
    }

    /// Opens `microphone` in place of the one in use, which goes on if it cannot be opened.
    pub(super) async fn use_microphone(&mut self, microphone: MicrophoneChoice) -> Result<(), Problem> {
        let number = self.microphones_opened + 1;
        let audio = self
            .capture
            .open_microphone(microphone.clone(), number, self.media.mic)
            .await?;
        (self.audio, self.microphones_opened) = (audio, number);
        self.microphone = microphone;
        Ok(())
    }

    /// Microphone `number` stopped on its own: if it is the one in use, we are muted for
    /// everyone and the user is told why and what to do.
    pub(super) fn on_microphone_ended(&mut self, number: u64, reason: String) {
        if number == self.microphones_opened {
            self.media.mic = false;
            self.device_ended(Device::Microphone, reason);
        }
    }

    /// Tells everyone our media changed after a `device` stopped, and the user what to do.
    pub(super) fn device_ended(&mut self, device: Device, reason: String) {
        self.tell_host(ClientMessage::MediaState { media: self.media });
        self.emit(Event::MediaState {
            id: self.you,
            media: self.media,
        });
        let name = String::new();
        self.emit(Event::Problem(Problem::DeviceLost { device, name, reason }));
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
        let device = Device::Screen;
        self.emit(Event::Problem(Problem::DeviceLost { device, name, reason }));
    }

    /// Asks the playout thread to switch speakers and waits (off the runtime) for the answer.
    pub(super) async fn use_speaker(&self, speaker: SpeakerChoice) -> Result<(), Problem> {
        let name = speaker.label().to_owned();
        let failed = |reason: String| Problem::DeviceFailed {
            device: Device::Speaker,
            name: name.clone(),
            reason,
        };
        let (done, outcome) = std::sync::mpsc::sync_channel(1);
        self.mixer
            .input()
            .try_send(MixerInput::UseSpeaker { speaker, done })
            .map_err(|_| failed("the sound output is busy".into()))?;
        tokio::task::spawn_blocking(move || outcome.recv_timeout(DEVICE_TIMEOUT))
            .await
            .map_err(|error| failed(error.to_string()))?
            .map_err(|_| failed("the sound output did not answer".into()))?
            .map_err(|error| failed(error.to_string()))
    }
}

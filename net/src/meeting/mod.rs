//! The meeting actor: one task that owns a meeting and is driven by commands.
//!
//! The window, the headless command line, the tests and the benchmarks all run a meeting
//! through this actor. It joins through the signaling client (the host's program joins its
//! own server over loopback), keeps one [`PeerLink`] per other participant, feeds them the
//! encoded output of the capture threads, and reports what happens as [`Event`]s.

mod api;
mod local_media;
mod path;
mod remote;
mod stats;

pub use api::*;
pub use local_media::bitrate_for;
use local_media::{CaptureSetup, DEVICE_TIMEOUT, DeviceEnded, Inbound, Outbound};
use path::PathNews;
use remote::Remote;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use videomeet_media::audio::mixer::{Mixer, MixerInput};
use videomeet_media::audio::{AudioLevels, EchoReference};
use videomeet_media::capture::{self, CaptureThread, EncoderControl, ScreenShare};
use videomeet_media::codec::H264Config;
use videomeet_media::decode_thread::VideoDecoderThread;
use videomeet_media::screen::ScreenChoice;
use videomeet_media::slot::VideoSlot;
use videomeet_media::{MicrophoneChoice, SpeakerChoice, VideoChoice};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::RTCPeerConnectionState;

use crate::address::JoinTarget;
use crate::bandwidth::{Allocation, SendRange};
use crate::discovery::Announcement;
use crate::peer::{PeerConfig, PeerEvent, PeerLink, VideoFeed};
use crate::protocol::{ClientMessage, MediaState, PeerId, ServerMessage, Signal};
use crate::receive::{receive_audio, receive_video};
use crate::signaling::{HelloParams, SignalingClient, SignalingServer, join, session_token};

/// Our running screen share.
struct ActiveShare {
    /// Tells this share's end from an earlier one's.
    number: u64,
    name: String,
    capture: ScreenShare,
    /// When its last frame was sent, for the frame's duration.
    last_frame: Option<std::time::Instant>,
}

/// The actor. Create it with [`Meeting::start`], then spawn [`Meeting::run`].
pub struct Meeting {
    server: Option<SignalingServer>,
    announcement: Option<Announcement>,
    announced_count: usize,
    client: Option<SignalingClient>,
    signaling: mpsc::Receiver<ServerMessage>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
    waker: Waker,
    /// The other participants we have a media connection with.
    remotes: HashMap<PeerId, Remote>,
    peer_events_tx: mpsc::Sender<(PeerId, PeerEvent)>,
    peer_events: mpsc::Receiver<(PeerId, PeerEvent)>,
    inbound: Inbound,
    capture: CaptureSetup,
    video: CaptureThread,
    /// The camera chosen, opened again when turned on after it stopped.
    camera: VideoChoice,
    audio: CaptureThread,
    /// The microphone chosen, opened again when voice processing is switched.
    microphone: MicrophoneChoice,
    mixer: Mixer,
    /// The camera encoder's keyframe flag and bitrate.
    camera_encoder: EncoderControl,
    screen: Option<ActiveShare>,
    shares_started: u64,
    /// Cameras opened so far; the newest is the one in use.
    cameras_opened: u64,
    /// Microphones opened so far; the newest is the one in use.
    microphones_opened: u64,
    frame_interval: Duration,
    media: MediaState,
    peer_config: PeerConfig,
    /// Our id in the meeting.
    you: PeerId,
}

impl Meeting {
    /// Hosts or joins, opens the capture devices, and returns the actor with its handle and
    /// event stream.
    pub async fn start(
        role: Role,
        config: MeetingConfig,
        waker: Waker,
    ) -> Result<(Self, MeetingHandle, mpsc::Receiver<Event>), MeetingError> {
        let media = MediaState {
            mic: config.mic_on,
            camera: config.camera_on,
            screen: false,
        };
        let (server, target, passcode, host_token) = match role {
            Role::Host(host) => {
                let server = SignalingServer::start(host).await.map_err(MeetingError::Host)?;
                let target = JoinTarget {
                    host: "127.0.0.1".into(),
                    port: server.local_addr().port(),
                    code: Some(server.meeting().code.clone()),
                };
                let token = server.host_token().to_owned();
                (Some(server), target, None, Some(token))
            }
            Role::Join { target, passcode } => (None, target, passcode, None),
        };
        let joined = join(
            &target,
            HelloParams {
                name: config.name.clone(),
                passcode,
                host_token,
                media,
                session: Some(config.session.clone().unwrap_or_else(session_token)),
                on_waiting: config.on_waiting.clone(),
            },
        )
        .await?;
        let (events_tx, events) = mpsc::channel(1024);
        let (commands_tx, commands) = mpsc::channel(64);
        let (outbound, inbound) = Outbound::new();
        let (peer_events_tx, peer_events) = mpsc::channel(256);

        let fps = config.video_format.fps.max(1);
        let capture = CaptureSetup {
            format: config.video_format,
            h264: H264Config {
                bitrate_bps: bitrate_for(config.video_format),
                max_fps: fps,
                ..H264Config::CAMERA_720P
            },
            slot: Arc::new(VideoSlot::default()),
            levels: Arc::new(AudioLevels::default()),
            echo: EchoReference::default(),
            voice_processing: config.voice_processing,
            outbound,
        };
        let (video, camera_encoder) = capture
            .open_camera(config.camera.clone(), 0, media.camera)
            .await
            .map_err(MeetingError::Device)?;
        let audio = capture
            .open_microphone(config.microphone.clone(), 0, media.mic)
            .await
            .map_err(MeetingError::Device)?;
        let mixer = {
            let (speaker, tap, echo, levels, failed) = (
                config.speaker.clone(),
                config.audio_tap.clone(),
                capture.echo.clone(),
                Arc::clone(&capture.levels),
                capture.outbound.devices.clone(),
            );
            let speaker_failed = move |error: videomeet_media::audio::AudioError| {
                // From the playout thread: never wait there.
                let _ = failed.try_send(DeviceEnded::Speaker {
                    reason: error.to_string(),
                });
            };
            tokio::task::spawn_blocking(move || Mixer::start(speaker, tap, echo, levels, speaker_failed))
                .await
                .map_err(|e| MeetingError::Device(e.to_string()))?
                .map_err(|e| MeetingError::Device(e.to_string()))?
        };

        let mut announcement = None;
        let link_host = match &server {
            Some(server) => {
                if config.announce {
                    match Announcement::start(server.meeting(), server.local_addr().port(), 1) {
                        Ok(started) => announcement = Some(started),
                        Err(error) => {
                            let _ = events_tx.try_send(Event::Problem(error.to_string()));
                        }
                    }
                }
                crate::address::lan_address().to_string()
            }
            None => target.host.clone(),
        };
        let link = JoinTarget {
            host: link_host,
            port: target.port,
            code: Some(joined.meeting.code.clone()),
        };
        let _ = events_tx.try_send(Event::Joined {
            you: joined.you,
            meeting: joined.meeting.clone(),
            link: link.to_string(),
            local_video: Arc::clone(&capture.slot),
            audio_levels: Arc::clone(&capture.levels),
        });
        let peer_config = PeerConfig {
            send: SendRange::for_camera(capture.h264.bitrate_bps),
            ..config.peer
        };
        let mut meeting = Self {
            server,
            announcement,
            announced_count: 1,
            client: Some(joined.client),
            signaling: joined.events,
            commands,
            events: events_tx,
            waker,
            remotes: HashMap::new(),
            peer_events_tx,
            peer_events,
            inbound,
            capture,
            video,
            camera: config.camera.clone(),
            audio,
            microphone: config.microphone.clone(),
            mixer,
            camera_encoder,
            screen: None,
            shares_started: 0,
            cameras_opened: 0,
            microphones_opened: 0,
            frame_interval: Duration::from_secs(1) / fps,
            media,
            peer_config,
            you: joined.you,
        };
        // The newcomer offers to everyone already there.
        for peer in joined.peers {
            meeting.emit(Event::PeerJoined(peer.clone()));
            if let Some(link) = meeting.connect(peer.id).await {
                match link.create_offer().await {
                    Ok(offer) => meeting.signal(peer.id, offer),
                    Err(error) => meeting.emit(Event::Problem(error.to_string())),
                }
            }
        }
        Ok((meeting, MeetingHandle { commands: commands_tx }, events))
    }

    /// Runs until the meeting ends for us.
    pub async fn run(mut self) {
        let mut housekeeping = tokio::time::interval(Duration::from_secs(1));
        let mut bandwidth = tokio::time::interval(BANDWIDTH_INTERVAL);
        loop {
            tokio::select! {
                // Sound first: it is what a meeting cannot do without, and it is light.
                biased;
                Some(packet) = self.inbound.sound.recv() => self.send_sound(packet).await,
                message = self.signaling.recv() => match message {
                    Some(message) => {
                        if !self.on_signaling(message).await {
                            break;
                        }
                    }
                    None => {
                        self.emit(Event::Problem("lost the connection to the host".into()));
                        break;
                    }
                },
                Some((id, event)) = self.peer_events.recv() => self.on_peer_event(id, event).await,
                Some((feed, frame)) = self.inbound.video.recv() => self.send_video(feed, frame).await,
                Some(ended) = self.inbound.devices.recv() => self.on_device_ended(ended),
                command = self.commands.recv() => match command {
                    Some(Command::Leave) | None => break,
                    Some(command) => self.on_command(command).await,
                },
                _ = housekeeping.tick() => self.housekeeping().await,
                _ = bandwidth.tick() => self.follow_bandwidth(),
            }
        }
        self.shut_down().await;
    }

    fn emit(&self, event: Event) {
        // A full queue means the owner stopped reading; events are dropped rather than
        // letting the meeting stall.
        let _ = self.events.try_send(event);
        (self.waker)();
    }

    fn signal(&self, to: PeerId, signal: Signal) {
        if let Some(client) = &self.client {
            client.send(ClientMessage::Signal { to, signal });
        }
    }

    /// The link to `id`, created on first use.
    async fn connect(&mut self, id: PeerId) -> Option<Arc<PeerLink>> {
        if let Some(remote) = self.remotes.get(&id) {
            return Some(Arc::clone(&remote.link));
        }
        let (events_tx, mut events) = mpsc::channel(64);
        let link = match PeerLink::new(&self.peer_config, events_tx).await {
            Ok(link) => Arc::new(link),
            Err(error) => {
                self.emit(Event::Problem(error.to_string()));
                return None;
            }
        };
        let tagged = self.peer_events_tx.clone();
        let forward = tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if tagged.send((id, event)).await.is_err() {
                    break;
                }
            }
        });
        let mut remote = Remote::new(Arc::clone(&link));
        remote.tasks.push(forward);
        self.remotes.insert(id, remote);
        Some(link)
    }

    /// Handles one message from the host; false when the meeting is over.
    async fn on_signaling(&mut self, message: ServerMessage) -> bool {
        match message {
            ServerMessage::PeerJoined { peer } => {
                // They will offer; be ready for it.
                self.connect(peer.id).await;
                self.emit(Event::PeerJoined(peer));
            }
            ServerMessage::PeerLeft { id, reason } => {
                self.disconnect(id);
                self.emit(Event::PeerLeft { id, reason });
            }
            ServerMessage::Signal { from, signal } => self.on_remote_signal(from, signal).await,
            ServerMessage::Chat {
                from,
                name,
                text,
                sent_at_ms,
                ..
            } => self.emit(Event::Chat {
                from,
                name,
                text,
                sent_at_ms,
            }),
            ServerMessage::MediaState { id, media } => self.emit(Event::MediaState { id, media }),
            ServerMessage::ShareRefused { name, .. } => {
                // The host recorded our screen as off already.
                if self.screen.take().is_some() {
                    self.media.screen = false;
                    self.emit(Event::Sharing(None));
                }
                self.emit(Event::Problem(format!(
                    "{name} is sharing their screen; one person can share at a time"
                )));
            }
            ServerMessage::Error { message } => tracing::debug!(%message, "host refused a message"),
            ServerMessage::Ended => return false,
            ServerMessage::Removed => {
                self.emit(Event::Problem("The host removed you from the meeting.".into()));
                return false;
            }
            ServerMessage::Knocking { knock, name } => self.emit(Event::Knocking { knock, name }),
            ServerMessage::KnockEnded { knock } => self.emit(Event::KnockEnded(knock)),
            ServerMessage::PasscodeGuessing => self.emit(Event::Problem(
                "Many wrong passcodes are being tried. Each further try now waits its turn; lock the meeting to keep everyone new out."
                    .into(),
            )),
            ServerMessage::Welcome { .. }
            | ServerMessage::Waiting { .. }
            | ServerMessage::Denied { .. }
            | ServerMessage::Ping { .. }
            | ServerMessage::Pong { .. } => {}
        }
        true
    }

    async fn on_remote_signal(&mut self, from: PeerId, signal: Signal) {
        let Some(link) = self.connect(from).await else { return };
        let result = match signal {
            Signal::Offer { sdp } => link.accept_offer(sdp).await.map(|answer| self.signal(from, answer)),
            Signal::Answer { sdp } => link.accept_answer(sdp).await,
            Signal::Candidate {
                candidate,
                sdp_mid,
                sdp_mline_index,
            } => {
                // A candidate we cannot use costs nothing (the others still connect), and a
                // peer may send thousands: the log notes it; the user is not told each time.
                if let Err(error) = link.add_remote_candidate(candidate, sdp_mid, sdp_mline_index).await {
                    tracing::debug!(peer = from, %error, "ignored a remote candidate");
                }
                return;
            }
        };
        if let Err(error) = result {
            tracing::warn!(peer = from, %error, "negotiation failed");
            self.emit(Event::Problem(format!(
                "could not connect media with participant {from}: {error}"
            )));
        }
    }

    async fn on_peer_event(&mut self, id: PeerId, event: PeerEvent) {
        match event {
            PeerEvent::Candidate(candidate) => self.signal(id, candidate),
            PeerEvent::IceConnected => self.emit(Event::Connection {
                id,
                step: ConnectionStep::Ice,
            }),
            PeerEvent::State(RTCPeerConnectionState::Connected) => {
                let news = self.remotes.get_mut(&id).map(|remote| remote.path.works());
                if let Some(news) = news {
                    self.on_path_news(id, news).await;
                }
                self.emit(Event::Connection {
                    id,
                    step: ConnectionStep::Dtls,
                });
                // A new viewer needs keyframes to start from.
                self.request_keyframe(VideoFeed::Camera);
                self.request_keyframe(VideoFeed::Screen);
                let code = match self.remotes.get(&id) {
                    Some(remote) => remote.link.safety_code().await,
                    None => None,
                };
                if let Some(code) = code {
                    self.emit(Event::SafetyCode { id, code });
                }
            }
            PeerEvent::State(RTCPeerConnectionState::Disconnected | RTCPeerConnectionState::Failed) => {
                let news = self.remotes.get_mut(&id).map(|remote| remote.path.broke());
                if let Some(news) = news {
                    self.on_path_news(id, news).await;
                }
                // Already broken: a restart may be due again.
                self.restart_ice(id).await;
            }
            PeerEvent::State(_) => {}
            // The encoder takes the flag at its next frame, so a burst of requests from
            // several viewers costs one keyframe.
            PeerEvent::KeyframeRequested(feed) => self.request_keyframe(feed),
            PeerEvent::Track(track) => self.on_track(id, track).await,
        }
    }

    async fn on_track(&mut self, id: PeerId, track: Arc<dyn TrackRemote>) {
        use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
        let task = match track.kind().await {
            RtpCodecKind::Video => {
                let Some(link) = self.remotes.get(&id).map(|remote| Arc::clone(&remote.link)) else {
                    return;
                };
                let feed = link.feed_of(&track).await;
                let slot = Arc::new(VideoSlot::default());
                let waker = Arc::clone(&self.waker);
                let thread_name = match feed {
                    VideoFeed::Camera => format!("video-decode-{id}"),
                    VideoFeed::Screen => format!("screen-decode-{id}"),
                };
                match VideoDecoderThread::start(&thread_name, Arc::clone(&slot), move || waker()) {
                    Ok(decoder) => {
                        if feed == VideoFeed::Camera
                            && let Some(remote) = self.remotes.get_mut(&id)
                        {
                            remote.meter.decode = Some(decoder.stats());
                        }
                        self.emit(Event::Video { id, feed, slot });
                        tokio::spawn(receive_video(track, decoder))
                    }
                    Err(error) => {
                        self.emit(Event::Problem(format!("cannot decode video: {error}")));
                        return;
                    }
                }
            }
            _ => tokio::spawn(receive_audio(track, id, self.mixer.input())),
        };
        match self.remotes.get_mut(&id) {
            Some(remote) => remote.tasks.push(task),
            None => task.abort(),
        }
    }

    async fn send_sound(&self, packet: Bytes) {
        for (id, Remote { link, .. }) in &self.remotes {
            if let Err(error) = link.send_audio(packet.clone()).await {
                tracing::trace!(peer = id, %error, "sound not sent");
            }
        }
    }

    async fn send_video(&mut self, feed: VideoFeed, frame: Bytes) {
        if self.capture.outbound.take_dropped(feed) {
            self.request_keyframe(feed);
        }
        let duration = match feed {
            VideoFeed::Screen => match self.screen.as_mut() {
                // The screen's frame rate follows its content: time each frame by the last.
                Some(share) => {
                    let now = std::time::Instant::now();
                    let since = share.last_frame.replace(now).map(|last| now - last);
                    since
                        .unwrap_or(self.frame_interval)
                        .clamp(Duration::from_millis(10), Duration::from_secs(1))
                }
                None => return,
            },
            VideoFeed::Camera => self.frame_interval,
        };
        for (id, Remote { link, .. }) in &self.remotes {
            if let Err(error) = link.send_video(feed, frame.clone(), duration).await {
                tracing::trace!(peer = id, %error, "video not sent");
            }
        }
    }

    /// Asks the encoder of our `feed` for a keyframe (several requests at once cost one).
    fn request_keyframe(&self, feed: VideoFeed) {
        match feed {
            VideoFeed::Camera => self.camera_encoder.keyframes.request(),
            VideoFeed::Screen => {
                if let Some(share) = &self.screen {
                    share.capture.control.keyframes.request();
                }
            }
        }
    }

    fn on_device_ended(&mut self, ended: DeviceEnded) {
        match ended {
            DeviceEnded::Screen { share, reason } => self.on_share_ended(share, reason),
            DeviceEnded::Camera { camera, reason } => self.on_camera_ended(camera, &reason),
            DeviceEnded::Microphone { microphone, reason } => self.on_microphone_ended(microphone, &reason),
            DeviceEnded::Speaker { reason } => {
                self.emit(Event::Problem(format!("{reason}. Choose another speaker in Devices.")));
            }
        }
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::SetMic(on) => {
                self.audio.set_enabled(on);
                self.media.mic = on;
            }
            Command::SetCamera(true) if !self.video.is_running() => {
                // The camera stopped earlier (unplugged, or it did not open again): afresh.
                self.media.camera = true;
                self.switch_camera(self.camera.clone()).await;
                if !self.video.is_running() {
                    self.media.camera = false;
                    self.emit(Event::MediaState {
                        id: self.you,
                        media: self.media,
                    });
                    return;
                }
            }
            Command::SetCamera(on) => {
                self.video.set_enabled(on);
                if on {
                    self.camera_encoder.keyframes.request();
                }
                self.media.camera = on;
            }
            Command::Chat(text) => return self.tell_host(ClientMessage::Chat { text }),
            Command::UseCamera(camera) => return self.switch_camera(camera).await,
            Command::UseMicrophone(microphone) => {
                self.use_microphone(microphone).await;
                return;
            }
            Command::UseVoiceProcessing(on) => {
                if self.capture.voice_processing != on {
                    self.capture.voice_processing = on;
                    self.use_microphone(self.microphone.clone()).await;
                }
                return;
            }
            Command::UseSpeaker(speaker) => {
                if let Err(problem) = self.use_speaker(speaker).await {
                    self.emit(Event::Problem(problem));
                }
                return;
            }
            Command::ShareScreen(choice) => {
                if let Err(problem) = self.share_screen(choice).await {
                    self.emit(Event::Problem(problem));
                    if !self.media.screen {
                        return;
                    }
                }
            }
            Command::StopSharing => {
                if self.screen.take().is_none() {
                    return;
                }
                self.media.screen = false;
                self.emit(Event::Sharing(None));
            }
            Command::AllowManySharers(allowed) => return self.tell_host(ClientMessage::AllowManySharers { allowed }),
            Command::LockMeeting(locked) => return self.tell_host(ClientMessage::LockMeeting { locked }),
            Command::AllowBack => return self.tell_host(ClientMessage::AllowBack),
            Command::Remove(id) => return self.tell_host(ClientMessage::Remove { id }),
            Command::AskToJoin(required) => return self.tell_host(ClientMessage::AskToJoin { required }),
            Command::Admit(knock) => return self.tell_host(ClientMessage::Admit { knock }),
            Command::Deny(knock) => return self.tell_host(ClientMessage::Deny { knock }),
            Command::Leave => return,
        }
        if let Some(client) = &self.client {
            client.send(ClientMessage::MediaState { media: self.media });
        }
    }

    /// Captures from `camera` from now on (opened only while the camera is on); on failure
    /// the user is told why and the camera in use goes on.
    async fn switch_camera(&mut self, camera: VideoChoice) {
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

    /// Sends `message` to the host's program.
    fn tell_host(&self, message: ClientMessage) {
        if let Some(client) = &self.client {
            client.send(message);
        }
    }

    /// Starts sharing `choice` in place of any share running now (which keeps going if the
    /// new one cannot start).
    async fn share_screen(&mut self, choice: ScreenChoice) -> Result<(), String> {
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
    fn on_camera_ended(&mut self, number: u64, reason: &str) {
        if number == self.cameras_opened {
            self.media.camera = false;
            self.device_ended(reason, "camera");
        }
    }

    /// Opens `microphone` in place of the one in use, which goes on if it cannot be opened.
    async fn use_microphone(&mut self, microphone: MicrophoneChoice) {
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
    fn on_microphone_ended(&mut self, number: u64, reason: &str) {
        if number == self.microphones_opened {
            self.media.mic = false;
            self.device_ended(reason, "microphone");
        }
    }

    /// Tells everyone our media changed after a `device` stopped, and the user what to do.
    fn device_ended(&mut self, reason: &str, device: &str) {
        self.tell_host(ClientMessage::MediaState { media: self.media });
        self.emit(Event::MediaState {
            id: self.you,
            media: self.media,
        });
        self.emit(Event::Problem(format!("{reason}. Choose another {device} in Devices.")));
    }

    /// Share `number` ended on its own: tell everyone, and the user why.
    fn on_share_ended(&mut self, number: u64, reason: String) {
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
    async fn use_speaker(&self, speaker: SpeakerChoice) -> Result<(), String> {
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

    /// What we learned of the path to `id`: "reconnecting" shown or taken away, and ICE
    /// restarted when it broke.
    async fn on_path_news(&mut self, id: PeerId, news: PathNews) {
        match news {
            PathNews::Broke => {
                self.emit(Event::Reconnecting { id, reconnecting: true });
                self.restart_ice(id).await;
            }
            PathNews::Works => self.emit(Event::Reconnecting {
                id,
                reconnecting: false,
            }),
            PathNews::Same => {}
        }
    }

    /// Restarts ICE to `id` if we are the side that offers (the later joiner, as when the
    /// connection was first made, so the two never offer at once) and a restart is due.
    async fn restart_ice(&mut self, id: PeerId) {
        let now = std::time::Instant::now();
        let Some(remote) = self.remotes.get_mut(&id) else {
            return;
        };
        if self.you < id || !remote.path.restart_due(now) {
            return;
        }
        let link = Arc::clone(&remote.link);
        match link.restart_ice().await {
            Ok(offer) => self.signal(id, offer),
            Err(error) => tracing::debug!(peer = id, %error, "ICE restart failed"),
        }
    }

    /// Sets our encoders' bitrates from the slowest path's estimate (see [`crate::bandwidth`]).
    fn follow_bandwidth(&self) {
        let Some(slowest) = self
            .remotes
            .values()
            .map(|remote| remote.link.send_estimate_bps())
            .min()
        else {
            return;
        };
        let sharing = self.screen.is_some();
        let allocation = Allocation::for_estimate(
            slowest,
            sharing,
            self.capture.h264.bitrate_bps,
            H264Config::SCREEN.bitrate_bps,
        );
        self.camera_encoder.bitrate.set(allocation.camera_bps);
        if let Some(share) = &self.screen {
            share.capture.control.bitrate.set(allocation.screen_bps);
        }
    }

    async fn housekeeping(&mut self) {
        let broken: Vec<PeerId> = self
            .remotes
            .iter()
            .filter(|(_, remote)| remote.path.is_broken())
            .map(|(id, _)| *id)
            .collect();
        for id in broken {
            self.restart_ice(id).await;
        }
        let mut stats = Vec::with_capacity(self.remotes.len());
        let mut news = Vec::new();
        let now = std::time::Instant::now();
        for (id, remote) in &mut self.remotes {
            let counters = remote.link.counters().await;
            // Our own ears first: webrtc may take 10 s to say a path failed.
            news.push((*id, remote.path.heard(counters.heard, now)));
            let playout = self.capture.levels.playout.counts(*id);
            let mut read = remote.meter.read(*id, counters, playout);
            read.estimate_kbps = remote.link.send_estimate_bps() as f64 / 1000.0;
            stats.push(read);
        }
        if !stats.is_empty() {
            stats.sort_by_key(|s| s.id);
            self.emit(Event::Stats(stats));
        }
        for (id, news) in news {
            self.on_path_news(id, news).await;
        }
        let (Some(server), Some(announcement)) = (&self.server, &mut self.announcement) else {
            return;
        };
        let count = server.participant_count();
        if count != self.announced_count {
            self.announced_count = count;
            if let Err(error) = announcement.update(count) {
                tracing::debug!(%error, "announcement not updated");
            }
        }
    }

    fn disconnect(&mut self, id: PeerId) {
        let _ = self.mixer.input().try_send(MixerInput::Remove(id));
        // Its tasks stop and its connection closes as it goes.
        self.remotes.remove(&id);
    }

    async fn shut_down(mut self) {
        if let Some(client) = self.client.take() {
            client.leave().await;
        }
        let ids: Vec<PeerId> = self.remotes.keys().copied().collect();
        for id in ids {
            self.disconnect(id);
        }
        self.announcement.take();
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        self.emit(Event::Ended);
    }
}

/// How often the encoders' bitrates follow congestion control's estimates.
const BANDWIDTH_INTERVAL: Duration = Duration::from_millis(200);

//! Starting a meeting: hosting or joining (waiting to be let in, if the host asks), then
//! opening our devices for it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use videomeet_media::audio::mixer::Mixer;
use videomeet_media::audio::{AudioLevels, EchoReference};
use videomeet_media::codec::H264Config;
use videomeet_media::record::SoundTap;
use videomeet_media::slot::VideoSlot;

use crate::address::JoinTarget;
use crate::bandwidth::SendRange;
use crate::discovery::Announcement;
use crate::peer::PeerConfig;
use crate::signaling::{HelloParams, Joined, SignalingServer, WaitingHook, join, session_token};

use super::emitter::Emitter;
use super::files::Files;
use super::forwarding::Fanouts;
use super::local_media::{CaptureSetup, DeviceEnded, Outbound, bitrate_for, opened};
use super::{
    Actor, Command, Device, EndReason, Event, MeetingConfig, MeetingError, MeetingHandle, Problem, Request, Role,
    Waker, WebPage,
};

/// Requests queued for a meeting, at most.
const COMMAND_QUEUE: usize = 64;

/// A meeting not started yet. [`Meeting::new`] returns at once; [`Meeting::run`] hosts or
/// joins, opens our devices and runs the meeting until it ends, reporting everything
/// (waiting to be let in, a failed start, the end) as [`Event`]s.
pub struct Meeting {
    role: Role,
    config: MeetingConfig,
    commands: mpsc::Receiver<Request>,
    events: Arc<Emitter>,
}

impl Meeting {
    /// A meeting to host or join, its handle and its events. Nothing happens until it runs.
    pub fn new(role: Role, config: MeetingConfig, waker: Waker) -> (Self, MeetingHandle, mpsc::Receiver<Event>) {
        let (commands_tx, commands) = mpsc::channel(COMMAND_QUEUE);
        let (events, events_rx) = Emitter::new(waker);
        let events = Arc::new(events);
        let meeting = Self {
            role,
            config,
            commands,
            events,
        };
        (meeting, MeetingHandle { commands: commands_tx }, events_rx)
    }

    /// Hosts or joins, then runs the meeting until it ends for us. [`Command::Leave`] while
    /// we wait to be let in withdraws the request; other commands given before we are in
    /// are carried out once we are.
    pub async fn run(self) {
        let Self {
            role,
            config,
            mut commands,
            events,
        } = self;
        // The host says it once per knock; a few queued are plenty.
        let (waiting_tx, mut waiting) = mpsc::channel(4);
        let hello = HelloParams {
            name: config.name.clone(),
            media: config.media_at_start(),
            session: Some(config.session.clone().unwrap_or_else(session_token)),
            local_ip: config.local_ip,
            on_waiting: Some(WaitingHook(Arc::new(move |message| {
                let _ = waiting_tx.try_send(message.to_owned());
            }))),
            ..HelloParams::default()
        };
        let entering = enter(role, hello);
        tokio::pin!(entering);
        let mut early = Vec::new();
        let entered = loop {
            tokio::select! {
                entered = &mut entering => break entered,
                Some(message) = waiting.recv() => events.emit(Event::Waiting(message)),
                request = commands.recv() => match request {
                    Some(Request { command: Command::Leave, reply }) => {
                        if let Some(reply) = reply {
                            let _ = reply.send(Ok(()));
                        }
                        return events.emit(Event::Ended(EndReason::Left));
                    }
                    Some(request) => early.push(request),
                    None => return events.emit(Event::Ended(EndReason::Left)),
                },
            }
        };
        let actor = match entered {
            Ok((server, joined, target)) => Actor::open(server, joined, target, config, commands, events).await,
            Err(error) => Err((error, events)),
        };
        match actor {
            Ok(mut actor) => {
                for request in early {
                    actor.on_request(request).await;
                }
                actor.run().await;
            }
            Err((error, events)) => events.emit(Event::Ended(EndReason::NotStarted(Arc::new(error)))),
        }
    }
}

/// Hosts (starting the signaling server) or connects to the host, and joins saying `hello`
/// (the passcode and host token come from `role`).
async fn enter(role: Role, hello: HelloParams) -> Result<(Option<SignalingServer>, Joined, JoinTarget), MeetingError> {
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
    let hello = HelloParams {
        passcode,
        host_token,
        ..hello
    };
    let joined = join(&target, hello).await?;
    Ok((server, joined, target))
}

impl Actor {
    /// Opens our devices for the meeting we are in, and says hello to everyone there.
    async fn open(
        server: Option<SignalingServer>,
        joined: Joined,
        target: JoinTarget,
        config: MeetingConfig,
        commands: mpsc::Receiver<Request>,
        events: Arc<Emitter>,
    ) -> Result<Self, (MeetingError, Arc<Emitter>)> {
        let media = config.media_at_start();
        let (outbound, inbound) = Outbound::new();
        let (peer_events_tx, peer_events) = mpsc::channel(256);
        let (recordings_ended_tx, recordings_ended) = mpsc::channel(4);

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
            microphone_tap: SoundTap::default(),
        };
        let (video, camera_encoder) = match capture.open_camera(config.camera.clone(), 0, media.camera).await {
            Ok(opened) => opened,
            Err(problem) => return Err((problem.into(), events)),
        };
        let audio = match capture.open_microphone(config.microphone.clone(), 0, media.mic).await {
            Ok(opened) => opened,
            Err(problem) => return Err((problem.into(), events)),
        };
        let mixer = {
            let (speaker, tap, echo, levels, failed) = (
                config.speaker.clone(),
                config.audio_tap.clone(),
                capture.echo.clone(),
                Arc::clone(&capture.levels),
                capture.outbound.devices.clone(),
            );
            let name = speaker.label().to_owned();
            let speaker_failed = move |error: videomeet_media::audio::AudioError| {
                // From the playout thread: never wait there.
                let _ = failed.try_send(DeviceEnded::Speaker {
                    reason: error.to_string(),
                });
            };
            let started =
                tokio::task::spawn_blocking(move || Mixer::start(speaker, tap, echo, levels, speaker_failed)).await;
            match opened(Device::Speaker, name, started) {
                Ok(mixer) => mixer,
                Err(problem) => return Err((problem.into(), events)),
            }
        };

        let mut announcement = None;
        let link_host = match &server {
            Some(server) => {
                if config.announce {
                    match Announcement::start(server.meeting(), server.local_addr().port(), 1) {
                        Ok(started) => announcement = Some(started),
                        Err(error) => {
                            let reason = error.to_string();
                            events.emit(Event::Problem(Problem::NotAnnounced { reason }));
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
        let web_page = server.as_ref().map(|server| WebPage {
            link: format!("https://{}/{}", link.authority(), joined.meeting.code),
            fingerprint: server.web_identity().fingerprint(),
        });
        events.emit(Event::Joined {
            you: joined.you,
            meeting: joined.meeting.clone(),
            link: link.to_string(),
            web_page,
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
            announced_recording: false,
            client: Some(joined.client),
            signaling: joined.events,
            commands,
            events,
            remotes: HashMap::new(),
            forwarding: joined.meeting.forwarding,
            host: joined
                .peers
                .iter()
                .find(|peer| peer.is_host)
                .map_or(joined.you, |peer| peer.id),
            relayed: HashMap::new(),
            departed: Default::default(),
            fanouts: Fanouts::default(),
            layering: Default::default(),
            speakers: Default::default(),
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
            name: config.name.clone(),
            files: Files::new(joined.meeting.max_file_bytes),
            recording: None,
            recordings_ended_tx,
            recordings_ended,
            known: super::MeetingView {
                you: Some(joined.you),
                meeting: Some(joined.meeting.clone()),
                ..Default::default()
            },
            announce: config.announce,
            handing_over: None,
        };
        meeting.greet(joined.peers).await;
        Ok(meeting)
    }

    /// Coming into a meeting: everyone already there is news (unless known from before the
    /// meeting moved to a new host), and the newcomer offers to each it connects to.
    pub(super) async fn greet(&mut self, peers: Vec<crate::protocol::PeerInfo>) {
        for peer in peers {
            if !self.known.people.contains_key(&peer.id) {
                self.emit(Event::PeerJoined(peer.clone()));
            }
            if !self.connects_to(peer.id) {
                continue;
            }
            if let Some(link) = self.connect(peer.id).await {
                match link.create_offer().await {
                    Ok(offer) => self.signal(peer.id, offer),
                    Err(error) => self.emit(Event::Problem(Problem::MediaConnection {
                        id: peer.id,
                        reason: error.to_string(),
                    })),
                }
            }
        }
    }
}

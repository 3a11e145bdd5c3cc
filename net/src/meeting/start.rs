//! Starting a meeting: hosting or joining, then opening our devices for it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use videomeet_media::audio::mixer::Mixer;
use videomeet_media::audio::{AudioLevels, EchoReference};
use videomeet_media::codec::H264Config;
use videomeet_media::slot::VideoSlot;

use crate::address::JoinTarget;
use crate::bandwidth::SendRange;
use crate::discovery::Announcement;
use crate::peer::PeerConfig;
use crate::protocol::MediaState;
use crate::signaling::{HelloParams, SignalingServer, join, session_token};

use super::local_media::{CaptureSetup, DeviceEnded, Outbound, bitrate_for};
use super::{Event, Meeting, MeetingConfig, MeetingError, MeetingHandle, Role, Waker};

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
}

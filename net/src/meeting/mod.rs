//! The meeting actor: one task that owns a meeting and is driven by commands.
//!
//! The window, the headless command line, the tests and the benchmarks all run a meeting
//! through this actor. It joins through the signaling client (the host's program joins its
//! own server over loopback), keeps one [`PeerLink`] per other participant, feeds them the
//! encoded output of the capture threads, and reports what happens as [`Event`]s.

mod api;
mod devices;
mod emitter;
mod files;
mod forwarding;
mod handover;
mod local_media;
mod path;
mod recording;
mod remote;
mod signals;
mod speakers;
mod start;
mod stats;
mod view;

pub use api::*;
use emitter::Emitter;
use forwarding::{Fanouts, Layering, Relayed};
pub use local_media::bitrate_for;
use local_media::{CaptureSetup, Inbound, OutFrame};
use path::PathNews;
use remote::Remote;
pub use start::Meeting;
pub use view::{ChatMessage, MeetingView, Person, SharedFile, Transfer};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use videomeet_media::audio::mixer::{Mixer, MixerInput};
use videomeet_media::capture::{CaptureThread, EncoderControl, ScreenShare};
use videomeet_media::codec::H264Config;
use videomeet_media::decode_thread::VideoDecoderThread;
use videomeet_media::slot::VideoSlot;
use videomeet_media::{MicrophoneChoice, VideoChoice};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::RTCPeerConnectionState;

use crate::bandwidth::Allocation;
use crate::discovery::Announcement;
use crate::peer::{Layer, PeerConfig, PeerEvent, VideoFeed};
use crate::protocol::{ClientMessage, FeedKind, MediaState, PeerId, ServerMessage};
use crate::receive::{forward_track, receive_audio, receive_video};
use crate::signaling::{SignalingClient, SignalingServer};

/// Our running screen share.
struct ActiveShare {
    /// Tells this share's end from an earlier one's.
    number: u64,
    name: String,
    capture: ScreenShare,
    /// When its last frame was sent, for the frame's duration.
    last_frame: Option<std::time::Instant>,
}

/// The running meeting, once [`Meeting::run`] is in.
struct Actor {
    server: Option<SignalingServer>,
    announcement: Option<Announcement>,
    announced_count: usize,
    /// The announcement says that someone records.
    announced_recording: bool,
    client: Option<SignalingClient>,
    signaling: mpsc::Receiver<ServerMessage>,
    commands: mpsc::Receiver<Request>,
    events: Arc<Emitter>,
    /// The other participants we have a media connection with.
    remotes: HashMap<PeerId, Remote>,
    /// The meeting's host forwards everyone's media (see [`forwarding`]).
    forwarding: bool,
    /// The host's id (ours when we host).
    host: PeerId,
    /// Participants whose media reaches us through the forwarding host's connection.
    relayed: HashMap<PeerId, Relayed>,
    /// Participants who left: a track of theirs that arrives late is not taken.
    departed: std::collections::HashSet<PeerId>,
    /// As a forwarding host: each guest's feeds, to the others.
    fanouts: Fanouts,
    /// As a forwarding host: how everyone draws everyone, to choose layers.
    layering: Layering,
    /// As a forwarding host: whose sound each participant gets.
    speakers: speakers::Speakers,
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
    /// Our name as we joined (the host's name for us follows in `known`).
    name: String,
    /// Files offered, and those moving.
    files: files::Files,
    /// Our recording of the meeting, while it runs.
    recording: Option<recording::Recording>,
    /// Where a recording's thread says that its file is closed.
    recordings_ended_tx: mpsc::Sender<videomeet_media::record::Finished>,
    recordings_ended: mpsc::Receiver<videomeet_media::record::Finished>,
    /// Who is in the meeting and what they send, as our own events told it (what a
    /// recording shows).
    known: MeetingView,
    /// We announce the meeting on the network when we host it (also after it is handed to us).
    announce: bool,
    /// Handing the meeting over: since when, and to whom.
    handing_over: Option<(std::time::Instant, PeerId)>,
}

impl Actor {
    /// Runs until the meeting ends for us.
    async fn run(mut self) {
        let mut housekeeping = tokio::time::interval(Duration::from_secs(1));
        let mut bandwidth = tokio::time::interval(BANDWIDTH_INTERVAL);
        let end = loop {
            tokio::select! {
                // Sound first: it is what a meeting cannot do without, and it is light.
                biased;
                Some(packet) = self.inbound.sound.recv() => self.send_sound(packet).await,
                message = self.signaling.recv() => match message {
                    Some(message) => {
                        if let Some(end) = self.on_signaling(message).await {
                            break end;
                        }
                    }
                    None => break EndReason::HostLost,
                },
                Some((id, event)) = self.peer_events.recv() => self.on_peer_event(id, event).await,
                Some(frame) = self.inbound.video.recv() => self.send_video(frame).await,
                Some(ended) = self.inbound.devices.recv() => self.on_device_ended(ended),
                Some(finished) = self.recordings_ended.recv() => self.on_recording_ended(finished),
                request = self.commands.recv() => match request {
                    Some(Request { command: Command::Leave, reply }) => {
                        if let Some(reply) = reply {
                            let _ = reply.send(Ok(()));
                        }
                        break EndReason::Left;
                    }
                    None => break EndReason::Left,
                    Some(request) => self.on_request(request).await,
                },
                _ = housekeeping.tick() => self.housekeeping().await,
                _ = bandwidth.tick() => {
                    self.follow_bandwidth();
                    self.choose_layers();
                    self.choose_speakers();
                }
            }
        };
        self.shut_down(end).await;
    }

    fn emit(&mut self, event: Event) {
        // Who is in the meeting and what they show: for a recording.
        if matches!(
            event,
            Event::Joined { .. }
                | Event::PeerJoined(_)
                | Event::PeerLeft { .. }
                | Event::Video { .. }
                | Event::Renamed { .. }
                | Event::MediaState { .. }
                | Event::Cohost { .. }
                | Event::GuestRecording(_)
        ) {
            self.known.apply(&event);
            self.refresh_recording_scene();
        }
        self.events.emit(event);
    }

    /// Carries out a request, and tells its outcome to whoever asked, or reports a failure
    /// as a problem when nobody did.
    async fn on_request(&mut self, Request { command, reply }: Request) {
        let outcome = self.on_command(command).await;
        // Our camera or share may have changed.
        self.refresh_recording_scene();
        match (reply, outcome) {
            (Some(reply), outcome) => {
                let _ = reply.send(outcome);
            }
            (None, Err(problem)) => self.emit(Event::Problem(problem)),
            (None, Ok(())) => {}
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
                for layer in Layer::ALL {
                    self.request_keyframe(VideoFeed::Camera, layer);
                }
                self.request_keyframe(VideoFeed::Screen, Layer::Full);
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
            PeerEvent::KeyframeRequested(feed, layer) => {
                // A forwarding host sends each guest one layer of its camera, on one track:
                // the request is for that layer.
                let layer = match self.remotes.get(&id) {
                    Some(remote) if feed == VideoFeed::Camera && self.forwards() => {
                        remote.own_camera.target.unwrap_or(layer)
                    }
                    _ => layer,
                };
                self.request_keyframe(feed, layer);
            }
            PeerEvent::Track(track) => self.on_track(id, track).await,
            PeerEvent::Channel(channel) => self.on_channel(id, channel).await,
        }
    }

    /// A track arrived on the connection to `id`: its sender's media (or, from a forwarding
    /// host, another participant's) is decoded or mixed, and forwarded when we forward.
    async fn on_track(&mut self, id: PeerId, track: Arc<dyn TrackRemote>) {
        let Some(link) = self.remotes.get(&id).map(|remote| Arc::clone(&remote.link)) else {
            return;
        };
        let (relayed_from, kind, layer) = link.origin_of(&track).await;
        let who = relayed_from.unwrap_or(id);
        if self.departed.contains(&who) {
            return;
        }
        let fanout = (self.forwards() && relayed_from.is_none()).then(|| {
            let fanout = self.fanouts.of(id, kind, layer);
            fanout.set_upstream(Arc::clone(&track));
            fanout
        });
        if let Some(fanout) = fanout.clone()
            && kind == FeedKind::Camera
        {
            // A guest's camera at a forwarding host: each layer to the others as it came,
            // and the layer chosen for our own window decoded.
            let task = tokio::spawn(forward_track(track, fanout));
            if let Some(remote) = self.remotes.get_mut(&id) {
                remote.tasks.push(task);
            }
            self.view_forwarded_camera(id);
            return;
        }
        let task = match kind {
            FeedKind::Camera | FeedKind::Screen => {
                let feed = if kind == FeedKind::Camera {
                    VideoFeed::Camera
                } else {
                    VideoFeed::Screen
                };
                let slot = Arc::new(VideoSlot::default());
                let waker = self.events.waker();
                let thread_name = match feed {
                    VideoFeed::Camera => format!("video-decode-{who}"),
                    VideoFeed::Screen => format!("screen-decode-{who}"),
                };
                match VideoDecoderThread::start(&thread_name, Arc::clone(&slot), move || waker()) {
                    Ok(decoder) => {
                        if feed == VideoFeed::Camera {
                            let meter = match relayed_from {
                                Some(from) => Some(&mut self.relayed.entry(from).or_default().meter),
                                None => self.remotes.get_mut(&id).map(|remote| &mut remote.meter),
                            };
                            if let Some(meter) = meter {
                                meter.decode = Some(decoder.stats());
                            }
                        }
                        self.emit(Event::Video { id: who, feed, slot });
                        tokio::spawn(receive_video(track, decoder, fanout))
                    }
                    Err(error) => {
                        let reason = error.to_string();
                        self.emit(Event::Problem(Problem::Decoder { id: who, reason }));
                        return;
                    }
                }
            }
            FeedKind::Audio => tokio::spawn(receive_audio(track, who, self.mixer.input(), fanout)),
        };
        let tasks = match relayed_from {
            Some(from) => Some(&mut self.relayed.entry(from).or_default().tasks),
            None => self.remotes.get_mut(&id).map(|remote| &mut remote.tasks),
        };
        match tasks {
            Some(tasks) => tasks.push(task),
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

    async fn send_video(&mut self, frame: OutFrame) {
        let OutFrame {
            feed,
            layer,
            data,
            keyframe,
        } = frame;
        if self.capture.outbound.take_dropped(feed, layer) {
            self.request_keyframe(feed, layer);
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
        let forwards = self.forwards();
        let mut keyframes_wanted = Vec::new();
        for (id, remote) in &mut self.remotes {
            // Whether this connection gets this picture: each layer on its own track to a
            // forwarding host; the layer chosen for each guest from a forwarding host (a
            // change of layer waits for its keyframe); the full camera otherwise.
            let send = match feed {
                VideoFeed::Screen => true,
                VideoFeed::Camera if remote.link.has_layers() => true,
                VideoFeed::Camera if forwards => {
                    let own = &mut remote.own_camera;
                    if own.target.is_none() {
                        own.current = None;
                    }
                    if own.current != own.target && Some(layer) == own.target && keyframe {
                        own.current = own.target;
                    }
                    if own.current != own.target
                        && let Some(target) = own.target
                    {
                        keyframes_wanted.push(target);
                    }
                    own.current == Some(layer)
                }
                VideoFeed::Camera => layer == Layer::Full,
            };
            if !send {
                continue;
            }
            if let Err(error) = remote.link.send_video(feed, layer, data.clone(), duration).await {
                tracing::trace!(peer = id, %error, "video not sent");
            }
        }
        for layer in keyframes_wanted {
            self.request_keyframe(VideoFeed::Camera, layer);
        }
    }

    /// Asks the encoder of our `feed` (of that layer of the camera) for a keyframe (several
    /// requests at once cost one).
    fn request_keyframe(&self, feed: VideoFeed, layer: Layer) {
        match feed {
            VideoFeed::Camera => self.camera_encoder.layer(layer).keyframes.request(),
            VideoFeed::Screen => {
                if let Some(share) = &self.screen {
                    share.capture.control.keyframes.request();
                }
            }
        }
    }

    /// Carries out `command`; an error says why it could not be done (what was in use goes on).
    async fn on_command(&mut self, command: Command) -> Result<(), Problem> {
        let changes_media = matches!(
            command,
            Command::SetMic(_)
                | Command::SetCamera(_)
                | Command::ShareScreen(_)
                | Command::StopSharing
                | Command::RaiseHand(_)
        );
        match command {
            Command::SetMic(on) => {
                self.audio.set_enabled(on);
                self.media.mic = on;
            }
            Command::SetCamera(true) if !self.video.is_running() => {
                // The camera stopped earlier (unplugged, or it did not open again): afresh.
                self.media.camera = true;
                if let Err(problem) = self.switch_camera(self.camera.clone()).await {
                    self.media.camera = false;
                    self.emit(Event::MediaState {
                        id: self.you,
                        media: self.media,
                    });
                    return Err(problem);
                }
            }
            Command::SetCamera(on) => {
                self.video.set_enabled(on);
                if on {
                    for layer in Layer::ALL {
                        self.request_keyframe(VideoFeed::Camera, layer);
                    }
                }
                self.media.camera = on;
            }
            Command::Chat(text) => self.tell_host(ClientMessage::Chat { text, to: None }),
            Command::PrivateChat { to, text } => self.tell_host(ClientMessage::Chat { text, to: Some(to) }),
            Command::Rename(name) => self.tell_host(ClientMessage::Rename { name }),
            Command::SendFile { path, to } => return self.offer_file(path, to),
            Command::SaveFile { seq, to } => return self.save_file(seq, to).await,
            Command::CancelFile { seq, peer } => self.cancel_file(seq, peer),
            Command::PlayCue(cue) => {
                // A full queue means the mixer is a second behind: the cue would come late.
                let _ = self.mixer.input().try_send(MixerInput::Cue(cue));
            }
            Command::UseCamera(camera) => return self.switch_camera(camera).await,
            Command::UseMicrophone(microphone) => return self.use_microphone(microphone).await,
            Command::UseVoiceProcessing(on) => {
                if self.capture.voice_processing == on {
                    return Ok(());
                }
                self.capture.voice_processing = on;
                return self.use_microphone(self.microphone.clone()).await;
            }
            Command::UseSpeaker(speaker) => return self.use_speaker(speaker).await,
            Command::ShareScreen(choice) => self.share_screen(choice).await?,
            Command::StopSharing => {
                if self.screen.take().is_none() {
                    return Ok(());
                }
                self.media.screen = false;
                self.emit(Event::Sharing(None));
            }
            Command::AllowManySharers(allowed) => self.tell_host(ClientMessage::AllowManySharers { allowed }),
            Command::StartRecording { path, voice_files } => return self.start_recording(path, voice_files).await,
            Command::StopRecording => self.stop_recording().await,
            Command::AllowGuestRecording(allowed) => self.tell_host(ClientMessage::AllowGuestRecording { allowed }),
            Command::LockMeeting(locked) => self.tell_host(ClientMessage::LockMeeting { locked }),
            Command::AllowBack => self.tell_host(ClientMessage::AllowBack),
            // The host numbers raised hands; any number says "up".
            Command::RaiseHand(up) => self.media.hand = up.then_some(0),
            Command::LowerHand(id) => self.tell_host(ClientMessage::LowerHand { id }),
            Command::React(emoji) => self.tell_host(ClientMessage::React { emoji }),
            Command::View(sizes) => self.set_view(sizes),
            Command::Remove(id) => self.tell_host(ClientMessage::Remove { id }),
            Command::TurnOff { id, device } => self.tell_host(ClientMessage::TurnOff { id, device }),
            Command::AskToTurnOn { id, device } => self.tell_host(ClientMessage::AskToTurnOn { id, device }),
            Command::MakeCohost { id, cohost } => self.tell_host(ClientMessage::MakeCohost { id, cohost }),
            Command::AskToJoin(required) => self.tell_host(ClientMessage::AskToJoin { required }),
            Command::Admit(knock) => self.tell_host(ClientMessage::Admit { knock }),
            Command::Deny(knock) => self.tell_host(ClientMessage::Deny { knock }),
            Command::HandOver => return self.hand_over(),
            Command::Leave => {}
        }
        if changes_media {
            self.tell_host(ClientMessage::MediaState { media: self.media });
        }
        Ok(())
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

    /// Sets our encoders' bitrates from the paths' estimates (see [`crate::bandwidth`]): the
    /// slowest path's, since everyone gets the same streams; but a forwarding host's camera
    /// follows the fastest, since a slower path gets a smaller layer of it.
    fn follow_bandwidth(&self) {
        let estimates = self.remotes.values().map(|remote| remote.link.send_estimate_bps());
        let (Some(slowest), Some(fastest)) = (estimates.clone().min(), estimates.max()) else {
            return;
        };
        let sharing = self.screen.is_some();
        let allocation = |estimate| {
            Allocation::for_estimate(
                estimate,
                sharing,
                self.capture.h264.bitrate_bps,
                H264Config::SCREEN.bitrate_bps,
            )
        };
        let camera_path = if self.forwards() { fastest } else { slowest };
        self.camera_encoder.bitrate.set(allocation(camera_path).camera_bps);
        if let Some(share) = &self.screen {
            share.capture.control.bitrate.set(allocation(slowest).screen_bps);
        }
    }

    async fn housekeeping(&mut self) {
        // Events held while the owner's queue was full go out even if nothing new happens.
        self.events.flush();
        self.check_handover();
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
        let mut relayed_counters = HashMap::new();
        for (id, remote) in &mut self.remotes {
            let (counters, relayed) = remote.link.counters().await;
            relayed_counters.extend(relayed);
            // Our own ears first: webrtc may take 10 s to say a path failed.
            news.push((*id, remote.path.heard(counters.heard, now)));
            let playout = self.capture.levels.playout.counts(*id);
            let mut read = remote.meter.read(*id, counters, playout);
            read.estimate_kbps = remote.link.send_estimate_bps() as f64 / 1000.0;
            stats.push(read);
        }
        for (id, relayed) in &mut self.relayed {
            let counters = relayed_counters.remove(id).unwrap_or_default();
            let playout = self.capture.levels.playout.counts(*id);
            stats.push(relayed.meter.read(*id, counters, playout));
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
        let recording = self.media.recording || self.known.people.values().any(|p| p.info.media.recording);
        if recording != self.announced_recording {
            // Those looking for meetings see it before they join.
            self.announced_recording = recording;
            self.announced_count = count;
            if let Err(error) = announcement.set_recording(recording, count) {
                tracing::debug!(%error, "announcement not updated");
            }
        } else if count != self.announced_count {
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
        self.relayed.remove(&id);
        self.departed.insert(id);
        self.layering.forget(id);
        self.speakers.forget(id);
        self.fanouts.remove(id);
    }

    async fn shut_down(mut self, end: EndReason) {
        // The recording's file is closed, and said so, before the meeting is over.
        self.stop_recording().await;
        while let Ok(finished) = self.recordings_ended.try_recv() {
            self.emit(Event::RecordingEnded(finished));
        }
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
        self.emit(Event::Ended(end));
    }
}

/// How often the encoders' bitrates follow congestion control's estimates.
const BANDWIDTH_INTERVAL: Duration = Duration::from_millis(200);

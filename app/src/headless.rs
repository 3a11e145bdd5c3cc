//! Meetings without a window: `videomeet host --headless` and `videomeet join --headless`
//! print what happens as JSON lines, one event per line, for scripts, tests and benchmarks.
//!
//! Runs the same meeting actor as the window, and keeps the same picture of the meeting
//! ([`MeetingView`]). Once a second it also reports each incoming video's frame rate and,
//! when the sender uses the test pattern, the capture-to-decoded latency read from the
//! frames' stamps. Commands come as JSON lines on stdin (see [`commands`]).

mod commands;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use videomeet_media::audio::goertzel::amplitude;
use videomeet_media::audio::marker::MarkerListener;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::read_stamp;
use videomeet_media::{VideoFrame, clock};
use videomeet_net::meeting::{Command, EndReason, Event, Meeting, MeetingConfig, MeetingView, Outcome, Role};
use videomeet_net::peer::VideoFeed;
use videomeet_net::protocol::PeerId;

use crate::cli::ViewLayout;
use crate::stop::StopRequests;

/// How long a meeting has to end after Ctrl+C or SIGTERM before the program stops anyway.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Runs one meeting until it ends or `duration` passes, printing events to stdout. Ctrl+C
/// or SIGTERM leaves the meeting as `duration` passing does (ending it for everyone when we
/// host); a second one while leaving stops the program at once.
pub fn run(
    role: Role,
    mut config: MeetingConfig,
    duration: Option<Duration>,
    first_commands: Vec<Command>,
    layout: Option<ViewLayout>,
    history: bool,
) -> anyhow::Result<()> {
    let hosting = matches!(role, Role::Host(_));
    let mut recorder = history
        .then(crate::history::History::open_default)
        .flatten()
        .map(|history| crate::history::Recorder::new(&history, &config.name, hosting));
    // What we hear, to report which tones are in it.
    let (tap, heard) = std::sync::mpsc::sync_channel(256);
    config.audio_tap = Some(tap);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("meeting-net")
        .enable_all()
        .build()
        .context("could not start the network runtime")?;
    let result = runtime.block_on(async move {
        let mut stop = StopRequests::catch().context("could not listen for Ctrl+C")?;
        // Decoder threads wake us on every new frame, so latency is read when the frame is ready.
        let new_frame = Arc::new(tokio::sync::Notify::new());
        let waker = {
            let new_frame = Arc::clone(&new_frame);
            Arc::new(move || new_frame.notify_one())
        };
        let started = Instant::now();
        let (meeting, handle, mut events) = Meeting::new(role, config, waker);
        tokio::spawn(meeting.run());
        for command in first_commands {
            handle.send(command);
        }
        commands::listen(handle.clone())?;
        let mut view = MeetingView::default();
        let mut hearing = Hearing::default();
        let stop_at = duration.map(|d| tokio::time::Instant::now() + d);
        let mut videos: HashMap<(PeerId, VideoFeed), VideoStats> = HashMap::new();
        let mut report = tokio::time::interval(Duration::from_secs(1));
        // After a stall (a busy machine), the next report comes a second later: caught-up
        // ticks in a burst made periods of a millisecond, and one picture in one read as
        // 1000 fps.
        report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut leaving = false;
        // Who the view was last sized for.
        let mut viewed: Vec<PeerId> = Vec::new();
        // Asked to stop: when to give up waiting for the meeting to end.
        let mut stopping: Option<tokio::time::Instant> = None;
        // Participants heard so far: the first played sound of each is reported
        // (`first_audio`), looked for every 5 ms.
        let mut heard_from: HashSet<PeerId> = HashSet::new();
        let mut listen = tokio::time::interval(Duration::from_millis(5));
        listen.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let end = loop {
            let unheard = view.people.keys().any(|id| !heard_from.contains(id));
            tokio::select! {
                event = events.recv() => {
                    let Some(event) = event else { break EndReason::Left };
                    print_event(&event);
                    if let Some(recorder) = &mut recorder {
                        recorder.on_event(&event);
                    }
                    view.apply(&event);
                    if let Event::Ended(reason) = event {
                        break reason;
                    }
                    if let Some(layout) = layout {
                        // The host first (for a guest, the one it hears from first), then
                        // in the order they came.
                        let mut others: Vec<PeerId> = view.people.keys().copied().collect();
                        others.sort_by_key(|id| (!view.people[id].info.is_host, *id));
                        if others != viewed {
                            handle.send(Command::View(layout.sizes(&others)));
                            viewed = others;
                        }
                    }
                    // A stats reader for each video on show, as long as it is.
                    videos.retain(|(id, feed), stats| {
                        view.video(*id, *feed).is_some_and(|slot| Arc::ptr_eq(slot, &stats.slot))
                    });
                    for (id, person) in &view.people {
                        for feed in [VideoFeed::Camera, VideoFeed::Screen] {
                            if let Some(slot) = person.video(feed) {
                                videos.entry((*id, feed)).or_insert_with(|| VideoStats::new(Arc::clone(slot)));
                            }
                        }
                    }
                }
                _ = report.tick() => {
                    hearing.take(&heard);
                    let by_participant = view.audio_levels.as_ref().map(|levels| levels.take_remote_rms()).unwrap_or_default();
                    if let Some(line) = hearing.report(&by_participant) {
                        println!("{line}");
                    }
                    for ((id, feed), stats) in &mut videos {
                        if let Some(line) = stats.report(*id, *feed) {
                            println!("{line}");
                        }
                    }
                },
                () = new_frame.notified() => {}
                _ = listen.tick(), if unheard => {
                    if let Some(levels) = &view.audio_levels {
                        let unheard: Vec<PeerId> = view.people.keys().filter(|id| !heard_from.contains(id)).copied().collect();
                        for id in unheard {
                            let counts = levels.playout.counts(id);
                            if counts.decoded + counts.recovered > 0 {
                                heard_from.insert(id);
                                let ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
                                println!("{}", json!({"event": "first_audio", "id": id, "ms_since_start": ms}));
                            }
                        }
                    }
                }
                () = sleep_until(stop_at), if !leaving => {
                    leaving = true;
                    handle.send(Command::Leave);
                }
                request = stop.next() => {
                    if stopping.is_some() {
                        request.exit_now();
                    }
                    tracing::info!("{request}: leaving the meeting");
                    stopping = Some(tokio::time::Instant::now() + LEAVE_TIMEOUT);
                    if !leaving {
                        leaving = true;
                        handle.send(Command::Leave);
                    }
                }
                () = sleep_until(stopping) => {
                    tracing::warn!("the meeting did not end within {LEAVE_TIMEOUT:?} of leaving; stopping anyway");
                    break EndReason::Left;
                }
            }
            for ((id, feed), stats) in &mut videos {
                if stats.collect() {
                    // Join (or the peer's arrival) to first decoded picture.
                    let ms = started.elapsed().as_secs_f64() * 1000.0;
                    let ms = (ms * 10.0).round() / 10.0;
                    println!(
                        "{}",
                        json!({"event": "first_frame", "id": id, "feed": feed, "ms_since_start": ms})
                    );
                }
            }
        };
        match end {
            EndReason::NotStarted(error) => Err(anyhow::anyhow!("{error}")),
            _ => Ok(()),
        }
    });
    // Work left on blocking threads (a device that does not close) must not hold up the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The guest page's link and fingerprint, when hosting.
fn page_json(web_page: &Option<videomeet_net::meeting::WebPage>) -> serde_json::Value {
    json!(
        web_page
            .as_ref()
            .map(|page| json!({"link": page.link, "fingerprint": page.fingerprint}))
    )
}

fn print_event(event: &Event) {
    let line = match event {
        Event::Joined {
            you,
            meeting,
            link,
            web_page,
            ..
        } => json!({"event": "joined", "you": you, "meeting": meeting, "link": link, "web_page": page_json(web_page)}),
        Event::PeerJoined(peer) => json!({"event": "peer_joined", "peer": peer}),
        Event::HostChanged {
            host,
            meeting,
            link,
            web_page,
            ..
        } => json!({
            "event": "host_changed", "host": host, "meeting": meeting, "link": link, "web_page": page_json(web_page),
        }),
        Event::PeerLeft { id, reason } => json!({"event": "peer_left", "id": id, "reason": reason}),
        Event::Video { id, feed, .. } => json!({"event": "video", "id": id, "feed": feed}),
        Event::Sharing(name) => json!({"event": "sharing", "screen": name}),
        Event::SafetyCode { id, code } => json!({"event": "safety_code", "id": id, "code": code}),
        Event::Chat {
            from,
            name,
            text,
            sent_at_ms,
            seq,
            to,
        } => {
            json!({"event": "chat", "from": from, "name": name, "text": text, "sent_at_ms": sent_at_ms, "seq": seq, "to": to})
        }
        Event::Renamed { id, name } => json!({"event": "renamed", "id": id, "name": name}),
        Event::FileOffered(offer) => json!({"event": "file_offered", "offer": offer}),
        Event::FileProgress {
            seq,
            peer,
            sending,
            progress,
        } => json!({
            "event": "file_progress", "seq": seq, "peer": peer, "sending": sending,
            "bytes": progress.bytes, "total": progress.total,
            "bytes_per_second": progress.bytes_per_second.round(),
        }),
        Event::FileEnded {
            seq,
            peer,
            sending,
            outcome,
        } => {
            let (state, detail) = match outcome {
                Outcome::Saved(path) => ("saved", json!(path)),
                Outcome::Delivered => ("delivered", json!(null)),
                Outcome::Cancelled { by_us, reason } => ("cancelled", json!({"by_us": by_us, "reason": reason})),
                Outcome::Failed(reason) => ("failed", json!(reason)),
            };
            json!({"event": "file_ended", "seq": seq, "peer": peer, "sending": sending, "outcome": state, "detail": detail})
        }
        Event::Cohost { id, cohost } => json!({"event": "cohost", "id": id, "cohost": cohost}),
        Event::Locked(locked) => json!({"event": "locked", "locked": locked}),
        Event::TurnedOff { device, by } => json!({"event": "turned_off", "device": device, "by": by}),
        Event::AskedToTurnOn { device, by } => json!({"event": "asked_to_turn_on", "device": device, "by": by}),
        Event::MediaState { id, media } => json!({"event": "media_state", "id": id, "media": media}),
        Event::Reaction { from, emoji } => json!({"event": "reaction", "from": from, "emoji": emoji}),
        Event::Connection { id, step } => json!({"event": "connection", "id": id, "step": step}),
        Event::Stats(peers) => json!({"event": "stats", "peers": peers}),
        Event::Reconnecting { id, reconnecting } => {
            json!({"event": "reconnecting", "id": id, "reconnecting": reconnecting})
        }
        Event::Knocking { knock, name } => json!({"event": "knocking", "knock": knock, "name": name}),
        Event::KnockEnded(knock) => json!({"event": "knock_ended", "knock": knock}),
        Event::Waiting(message) => json!({"event": "waiting", "message": message}),
        Event::RecordingStarted { path } => json!({"event": "recording_started", "path": path}),
        Event::RecordingEnded(finished) => json!({
            "event": "recording_ended", "path": finished.path, "seconds": finished.duration.as_secs_f64(),
            "bytes": finished.bytes, "error": finished.error, "voice_files": finished.voice_files,
            "pictures": finished.pictures,
        }),
        Event::GuestRecording(allowed) => json!({"event": "guest_recording", "allowed": allowed}),
        Event::Problem(problem) => json!({"event": "problem", "problem": problem, "message": problem.to_string()}),
        Event::Ended(reason) => json!({"event": "ended", "reason": reason.code(), "message": reason.to_string()}),
    };
    println!("{line}");
}

/// Frame rate and stamp latency of one remote video, per reporting period.
struct VideoStats {
    slot: Arc<VideoSlot>,
    frame: VideoFrame,
    seen: u64,
    frames: u32,
    latencies_us: Vec<u64>,
    since: Instant,
    /// When the last new picture was taken in, to find freezes.
    last_frame_at: Option<Instant>,
    /// Longest wait between two pictures in this period.
    max_gap: Duration,
    /// Waits over [`FREEZE`] in this period.
    freezes: u32,
}

/// A wait between two pictures longer than this is a freeze a viewer notices.
const FREEZE: Duration = Duration::from_millis(150);

impl VideoStats {
    fn new(slot: Arc<VideoSlot>) -> Self {
        Self {
            slot,
            frame: VideoFrame::default(),
            seen: 0,
            frames: 0,
            latencies_us: Vec::new(),
            since: Instant::now(),
            last_frame_at: None,
            max_gap: Duration::ZERO,
            freezes: 0,
        }
    }

    /// Takes in the newest frame, if there is one; true when it is the very first.
    fn collect(&mut self) -> bool {
        let Some(generation) = self.slot.read_if_newer(self.seen, &mut self.frame) else {
            return false;
        };
        let first = self.seen == 0;
        self.frames += (generation - self.seen) as u32;
        self.seen = generation;
        let now = Instant::now();
        if let Some(gap) = self.last_frame_at.map(|last| now - last) {
            self.max_gap = self.max_gap.max(gap);
            self.freezes += u32::from(gap > FREEZE);
        }
        self.last_frame_at = Some(now);
        if let Some(stamp) = read_stamp(&self.frame) {
            self.latencies_us
                .push(clock::now_us().saturating_sub(stamp.capture_time_us));
        }
        first
    }

    /// One `video_stats` JSON line for the period since the last report.
    fn report(&mut self, id: PeerId, feed: VideoFeed) -> Option<serde_json::Value> {
        if self.seen == 0 {
            return None;
        }
        let elapsed = self.since.elapsed().as_secs_f64();
        self.since = Instant::now();
        let fps = f64::from(std::mem::take(&mut self.frames)) / elapsed.max(0.001);
        let mut latencies = std::mem::take(&mut self.latencies_us);
        latencies.sort_unstable();
        let to_ms = |us: u64| (us as f64 / 100.0).round() / 10.0;
        let percentile_ms = |p: usize| {
            latencies
                .get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
                .map(|us| to_ms(*us))
        };
        let max_gap_ms = std::mem::take(&mut self.max_gap).as_secs_f64() * 1000.0;
        Some(json!({
            "event": "video_stats",
            "id": id,
            "feed": feed,
            "width": self.frame.width(),
            "height": self.frame.height(),
            "fps": (fps * 10.0).round() / 10.0,
            "latency_ms_p50": percentile_ms(50),
            "latency_ms_p95": percentile_ms(95),
            "latency_ms_p99": percentile_ms(99),
            // Every reading, so that percentiles over a whole run can be computed.
            "latencies_ms": latencies.iter().map(|us| to_ms(*us)).collect::<Vec<_>>(),
            "max_gap_ms": (max_gap_ms * 10.0).round() / 10.0,
            "freezes": std::mem::take(&mut self.freezes),
        }))
    }
}

/// What we heard in the last second: loudness, the test tones in it, and how late the
/// tones' timing markers came.
#[derive(Default)]
struct Hearing {
    samples: Vec<f32>,
    markers: MarkerListener,
    marker_latencies_us: Vec<u64>,
}

impl Hearing {
    /// Lowest and highest tone frequency looked for, and the step, in Hz.
    const SCAN_HZ: (u32, u32, u32) = (100, 2_500, 10);
    /// Samples the tones are looked for in: the last 200 ms, 5 Hz resolution, enough to
    /// tell test tones apart.
    const TONE_WINDOW: usize = 9_600;

    fn take(&mut self, heard: &std::sync::mpsc::Receiver<videomeet_media::AudioFrame>) {
        self.samples.clear();
        self.marker_latencies_us.clear();
        for frame in heard.try_iter() {
            self.samples.extend_from_slice(&frame.samples[..]);
            self.marker_latencies_us.extend(self.markers.listen(&frame));
        }
    }

    /// One `audio_stats` JSON line, when anything was mixed since the last: the RMS level
    /// of all of it (`rms`) and of each participant in it (`rms_by_id`, keyed by
    /// participant id), both over the whole period, and the frequencies of the clear tones
    /// at its end. `by_participant` is each participant's RMS over the same period.
    fn report(&self, by_participant: &[(PeerId, f32)]) -> Option<serde_json::Value> {
        if self.samples.is_empty() {
            return None;
        }
        let rms = |samples: &[f32]| {
            let mean_square = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / samples.len() as f64;
            rounded(mean_square.sqrt())
        };
        let window = &self.samples[self.samples.len().saturating_sub(Self::TONE_WINDOW)..];
        let (low, high, step) = Self::SCAN_HZ;
        let levels: Vec<(u32, f32)> = if window.len() == Self::TONE_WINDOW {
            (low..=high)
                .step_by(step as usize)
                .map(|hz| (hz, amplitude(window, hz as f32)))
                .collect()
        } else {
            Vec::new()
        };
        let tones: Vec<u32> = levels
            .windows(3)
            .filter(|w| w[1].1 > 0.05 && w[1].1 >= w[0].1 && w[1].1 > w[2].1)
            .map(|w| w[1].0)
            .collect();
        let rms_by_id: serde_json::Map<String, serde_json::Value> = by_participant
            .iter()
            .map(|&(id, rms)| (id.to_string(), rounded(f64::from(rms)).into()))
            .collect();
        // From the sender's capture to the mix handed to the speaker.
        let marker_latency_ms: Vec<f64> = self
            .marker_latencies_us
            .iter()
            .map(|us| (*us as f64 / 100.0).round() / 10.0)
            .collect();
        Some(json!({
            "event": "audio_stats",
            "rms": rms(&self.samples),
            "rms_by_id": rms_by_id,
            "tones_hz": tones,
            "marker_latency_ms": marker_latency_ms,
        }))
    }
}

/// An RMS level to three decimals.
fn rounded(rms: f64) -> f64 {
    (rms * 1000.0).round() / 1000.0
}

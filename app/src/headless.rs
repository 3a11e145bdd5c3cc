//! Meetings without a window: `videomeet host` and `videomeet join` print what happens.
//!
//! Runs the same meeting actor as the window. With the test pattern on the other side it
//! also reports frame rate and capture-to-decoded latency read from the frames' stamps.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::read_stamp;
use videomeet_media::{VideoFrame, clock};
use videomeet_net::meeting::{Command, Event, Meeting, MeetingConfig, Role};
use videomeet_net::protocol::PeerId;

/// Runs one meeting until it ends or `duration` passes, printing events to stdout.
pub fn run(role: Role, config: MeetingConfig, duration: Option<Duration>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("meeting-net")
        .enable_all()
        .build()
        .context("could not start the network runtime")?;
    runtime.block_on(async move {
        // Decoder threads wake us on every new frame, so latency is read when the frame is ready.
        let new_frame = Arc::new(tokio::sync::Notify::new());
        let waker = {
            let new_frame = Arc::clone(&new_frame);
            Arc::new(move || new_frame.notify_one())
        };
        let (meeting, handle, mut events) = Meeting::start(role, config, waker).await?;
        tokio::spawn(meeting.run());
        let stop_at = duration.map(|d| tokio::time::Instant::now() + d);
        let mut videos: HashMap<PeerId, VideoStats> = HashMap::new();
        let mut report = tokio::time::interval(Duration::from_secs(1));
        let mut leaving = false;
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(Event::Ended) | None => {
                        println!("meeting ended");
                        break;
                    }
                    Some(Event::Video { id, slot }) => {
                        println!("video from participant {id}");
                        videos.insert(id, VideoStats::new(slot));
                    }
                    Some(Event::PeerLeft { id, reason }) => {
                        videos.remove(&id);
                        print_event(&Event::PeerLeft { id, reason });
                    }
                    Some(event) => print_event(&event),
                },
                _ = report.tick() => {
                    for (id, stats) in &mut videos {
                        stats.collect();
                        if let Some(line) = stats.report() {
                            println!("participant {id}: {line}");
                        }
                    }
                },
                () = new_frame.notified() => {}
                () = sleep_until(stop_at), if !leaving => {
                    leaving = true;
                    handle.send(Command::Leave);
                }
            }
            for stats in videos.values_mut() {
                stats.collect();
            }
        }
        anyhow::Ok(())
    })
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn print_event(event: &Event) {
    match event {
        Event::Joined { you, meeting, link, .. } => {
            println!(
                "joined \"{}\" hosted by {} as participant {you}",
                meeting.title, meeting.host_name
            );
            println!("link: {link}");
        }
        Event::PeerJoined(peer) => println!(
            "{} joined (participant {}{})",
            peer.name,
            peer.id,
            if peer.is_host { ", host" } else { "" }
        ),
        Event::PeerLeft { id, reason } => println!("participant {id} left ({reason:?})"),
        Event::Chat { name, text, .. } => println!("{name}: {text}"),
        Event::MediaState { id, media } => println!(
            "participant {id}: microphone {}, camera {}",
            on_off(media.mic),
            on_off(media.camera)
        ),
        Event::Problem(problem) => println!("problem: {problem}"),
        Event::Video { .. } | Event::Ended => {}
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// Frame rate and stamp latency of one remote video, per reporting period.
struct VideoStats {
    slot: Arc<VideoSlot>,
    frame: VideoFrame,
    seen: u64,
    frames: u32,
    latencies_us: Vec<u64>,
    since: Instant,
}

impl VideoStats {
    fn new(slot: Arc<VideoSlot>) -> Self {
        Self {
            slot,
            frame: VideoFrame::default(),
            seen: 0,
            frames: 0,
            latencies_us: Vec::new(),
            since: Instant::now(),
        }
    }

    fn collect(&mut self) {
        if let Some(generation) = self.slot.read_if_newer(self.seen, &mut self.frame) {
            self.frames += (generation - self.seen) as u32;
            self.seen = generation;
            if let Some(stamp) = read_stamp(&self.frame) {
                self.latencies_us
                    .push(clock::now_us().saturating_sub(stamp.capture_time_us));
            }
        }
    }

    fn report(&mut self) -> Option<String> {
        let elapsed = self.since.elapsed().as_secs_f64();
        self.since = Instant::now();
        let fps = f64::from(std::mem::take(&mut self.frames)) / elapsed.max(0.001);
        let mut latencies = std::mem::take(&mut self.latencies_us);
        latencies.sort_unstable();
        let (width, height) = (self.frame.width(), self.frame.height());
        match latencies.get(latencies.len() / 2) {
            Some(median) => Some(format!(
                "{width}x{height} {fps:.1} fps, capture-to-decoded median {:.1} ms",
                *median as f64 / 1000.0
            )),
            None if self.seen > 0 => Some(format!("{width}x{height} {fps:.1} fps")),
            None => None,
        }
    }
}

//! A meeting participant for the tests that run whole meetings through the actor, on
//! loopback with synthetic devices: what it has seen, heard and decoded.
#![allow(dead_code)] // Each test file uses some of these.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use videomeet_media::audio::playout_stats::PlayoutCounts;
use videomeet_media::clock::now_us;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::{VideoFormat, read_stamp};
use videomeet_media::{AudioFrame, MicrophoneChoice, SpeakerChoice, VideoChoice, VideoFrame};
use videomeet_net::JoinTarget;
use videomeet_net::impair::ImpairedRuntime;
use videomeet_net::meeting::{Device, Meeting, MeetingConfig, MeetingHandle, MeetingView, Problem, Role};
use videomeet_net::peer::{PeerConfig, VideoFeed};
use videomeet_net::protocol::PeerId;
use videomeet_net::signaling::HostConfig;

/// Waits until a participant has seen what a check asks for; a timeout names the check.
#[macro_export]
macro_rules! until {
    ($participant:expr, $seconds:expr, $check:expr) => {
        $participant.until($seconds, stringify!($check), $check).await
    };
}

/// What one participant has seen so far: the meeting as its events told it.
pub type Seen = MeetingView;

pub struct Participant {
    pub handle: MeetingHandle,
    pub seen: Arc<Mutex<Seen>>,
    pub heard: Receiver<AudioFrame>,
    pub actor: tokio::task::JoinHandle<()>,
    pub tone_hz: f32,
}

impl Participant {
    pub async fn start(role: Role, name: &str, tone_hz: u32) -> Self {
        Self::start_on(role, name, tone_hz, None).await
    }

    /// Like [`Participant::start`], sending through `network` when given.
    pub async fn start_on(role: Role, name: &str, tone_hz: u32, network: Option<Arc<ImpairedRuntime>>) -> Self {
        Self::start_sized(role, name, tone_hz, network, VideoFormat::new(320, 240, 30)).await
    }

    /// Like [`Participant::start_on`], with a camera of `format`.
    pub async fn start_sized(
        role: Role,
        name: &str,
        tone_hz: u32,
        network: Option<Arc<ImpairedRuntime>>,
        format: VideoFormat,
    ) -> Self {
        let (tap, heard) = sync_channel(4096);
        let config = MeetingConfig {
            name: name.into(),
            camera: VideoChoice::TestPattern,
            video_format: format,
            camera_on: true,
            microphone: MicrophoneChoice::TestTone { freq_hz: tone_hz },
            mic_on: true,
            speaker: SpeakerChoice::Mute,
            voice_processing: true,
            audio_tap: Some(tap),
            peer: PeerConfig {
                ice_addrs: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
                impairment: network,
                ..PeerConfig::default()
            },
            ..MeetingConfig::default()
        };
        let (meeting, handle, mut events) = Meeting::new(role, config, Arc::new(|| {}));
        let actor = tokio::spawn(meeting.run());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let collected = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                collected.lock().unwrap().apply(&event);
            }
        });
        let participant = Self {
            handle,
            seen,
            heard,
            actor,
            tone_hz: tone_hz as f32,
        };
        until!(participant, 5, |seen| seen.you.is_some());
        participant
    }

    pub fn id(&self) -> PeerId {
        self.seen.lock().unwrap().you.expect("joined")
    }

    /// Waits until `check` holds, up to `seconds`; the panic names `what` was awaited and
    /// by whom. Called through [`until!`], which names the check by its source.
    pub async fn until(&self, seconds: u64, what: &str, check: impl Fn(&Seen) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while !check(&self.seen.lock().unwrap()) {
            let who = self.seen.lock().unwrap().you;
            assert!(
                Instant::now() < deadline,
                "participant {who:?} waited {seconds} s in vain for {what}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Where `from`'s decoded `feed` arrives (it must have arrived).
    pub fn slot(&self, from: PeerId, feed: VideoFeed) -> Arc<VideoSlot> {
        let seen = self.seen.lock().unwrap();
        Arc::clone(
            seen.video(from, feed)
                .unwrap_or_else(|| panic!("no {feed:?} from {from}")),
        )
    }

    /// How we played `from`'s sound over `duration`: 20 ms frames decoded, rebuilt from
    /// the next packet's FEC data, or concealed. A frame counts as rebuilt whenever the next
    /// packet is there, FEC data in it or not: these counts show the receiver using FEC, not
    /// the sender putting it in.
    pub async fn played_over(&self, from: PeerId, duration: Duration) -> PlayoutCounts {
        let levels = Arc::clone(self.seen.lock().unwrap().audio_levels.as_ref().expect("joined"));
        let before = levels.playout.counts(from);
        tokio::time::sleep(duration).await;
        levels.playout.counts(from).since(&before)
    }

    /// Watches `from`'s camera for `duration`. Pictures are counted as the slot counts them,
    /// one for each picture the decoder published, read here or not. The sender's frame
    /// numbers in them only have to rise; where they jump by more than the pictures in
    /// between, they tell how many of its frames never reached the screen.
    pub async fn watch(&self, from: PeerId, duration: Duration) -> Watched {
        let slot = self.slot(from, VideoFeed::Camera);
        let mut frame = VideoFrame::default();
        // The picture on show when watching starts is not counted (it may be from before an
        // outage), nor frames skipped before the first new one.
        let first = slot.generation();
        let (mut generation, mut number) = (first, None);
        let mut previous_size = (0, 0);
        let mut watched = Watched {
            over: duration,
            pictures: 0,
            skipped: 0,
            unreadable: 0,
            longest_gap: Duration::ZERO,
        };
        let (start, mut shown_at) = (Instant::now(), Instant::now());
        while start.elapsed() < duration {
            if let Some(newer) = slot.read_if_newer(generation, &mut frame) {
                let stamp = read_stamp(&frame);
                let counter = stamp.map(|stamp| stamp.counter);
                match (number, counter) {
                    (Some(previous), Some(counter)) => {
                        // How old the picture is tells a picture of long ago from another
                        // camera's picture of now.
                        let age_ms = stamp.map_or(0, |stamp| now_us().saturating_sub(stamp.capture_time_us) / 1000);
                        assert!(
                            counter > previous,
                            "frame {counter} ({}x{}, captured {age_ms} ms ago) shown after frame {previous} ({previous_size:?})",
                            frame.width(),
                            frame.height()
                        );
                        watched.skipped += u64::from(counter - previous).saturating_sub(newer - generation);
                    }
                    (_, None) => watched.unreadable += 1,
                    (None, Some(_)) => {}
                }
                watched.longest_gap = watched.longest_gap.max(shown_at.elapsed());
                (generation, number, shown_at) = (newer, counter, Instant::now());
                previous_size = (frame.width(), frame.height());
            }
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        watched.pictures = generation - first;
        watched.longest_gap = watched.longest_gap.max(shown_at.elapsed());
        watched
    }

    /// Asserts that `from`'s camera moves here at nearly its full 30 pictures a second for
    /// the next second: at least 20 pictures, none on screen for longer than 450 ms, at most
    /// 6 of the sender's frames never decoded. A picture frozen half of the time fails.
    pub async fn sees_moving(&self, from: PeerId, what: &str) {
        let watched = self.watch(from, Duration::from_secs(1)).await;
        watched.assert_moving(what, 20, Duration::from_millis(450), 6);
    }

    /// Waits until this participant is told that its `device` stopped on its own.
    pub async fn until_lost(&self, seconds: u64, device: Device) {
        let what = format!("word that the {device} stopped");
        self.until(seconds, &what, |seen| {
            seen.problems
                .iter()
                .any(|p| matches!(p, Problem::DeviceLost { device: lost, .. } if *lost == device))
        })
        .await;
    }

    /// The last second of what this participant heard.
    pub fn last_second_heard(&self) -> Vec<f32> {
        let played: Vec<f32> = self.heard.try_iter().flat_map(|frame| frame.samples.to_vec()).collect();
        played[played.len().saturating_sub(48_000)..].to_vec()
    }
}

/// What a participant decoded of someone's camera while watching it. Few pictures with
/// few frames skipped mean that frames were made late or came late: a sender starved of
/// the machine, or a queue on the way, rather than a receiver dropping what it got.
#[derive(Debug)]
pub struct Watched {
    /// How long it watched.
    pub over: Duration,
    /// Pictures decoded and shown.
    pub pictures: u64,
    /// Frames the sender numbered and this participant never decoded: lost on the way,
    /// dropped by the decoder or before sending.
    pub skipped: u64,
    /// Pictures whose frame number could not be read (a camera sent at a quarter of its
    /// size on a thin path blurs it away), so that they say nothing of order or continuity.
    pub unreadable: u64,
    /// Longest time without a new picture, from the start to the end of watching.
    pub longest_gap: Duration,
}

impl Watched {
    /// Pictures a second.
    pub fn fps(&self) -> f64 {
        self.pictures as f64 / self.over.as_secs_f64()
    }

    /// Asserts that the video moved during `what`: at least `pictures` pictures, never
    /// still for longer than `longest_gap`, at most `skipped` of the sender's frames never
    /// decoded.
    pub fn assert_moving(&self, what: &str, pictures: u64, longest_gap: Duration, skipped: u64) {
        println!("{what}: {:.1} pictures a second, {self:?}", self.fps());
        assert!(
            self.pictures >= pictures,
            "{what}: {} pictures, not {pictures}: {self:?}",
            self.pictures
        );
        assert!(
            self.longest_gap <= longest_gap,
            "{what}: still for longer than {longest_gap:?}: {self:?}"
        );
        assert!(
            self.skipped <= skipped,
            "{what}: more than {skipped} frames never decoded: {self:?}"
        );
    }
}

/// The machine's cores, shared by the tests of this file, which run at once: a test that
/// measures timing on a constrained network takes them whole, because on two busy cores
/// a starved encoder looks like the network's fault.
pub static MACHINE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// A share of the machine, beside the other tests.
pub async fn shared_machine() -> tokio::sync::RwLockReadGuard<'static, ()> {
    MACHINE.read().await
}

/// The whole machine, once every other test has finished or before any starts.
pub async fn whole_machine() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    MACHINE.write().await
}

/// Grace hosts on loopback with a 440 Hz tone; returns her and where to join.
pub async fn host_on_loopback() -> (Participant, JoinTarget) {
    host_on(None).await
}

/// Like [`host_on_loopback`], Grace sending through `network` when given.
pub async fn host_on(network: Option<Arc<ImpairedRuntime>>) -> (Participant, JoinTarget) {
    host_sized(network, VideoFormat::new(320, 240, 30)).await
}

/// Like [`host_on`], with a camera of `format`.
pub async fn host_sized(network: Option<Arc<ImpairedRuntime>>, format: VideoFormat) -> (Participant, JoinTarget) {
    let mut host_config = HostConfig::new("Lab", "Grace");
    host_config.bind_ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    host_config.port = 0;
    let host = Participant::start_sized(Role::Host(host_config), "Grace", 440, network, format).await;
    let link = host.seen.lock().unwrap().link.clone().expect("a link");
    let mut target = JoinTarget::parse(&link).expect("the link parses");
    target.host = "127.0.0.1".into();
    (host, target)
}

/// Checks that `frame` shows the test windows' known picture with its top-left corner at
/// `at`: each colour block within a small error, and the one-pixel strokes sharp (their
/// median contrast against the white between them at least 0.6, where 1.0 is lossless and a
/// blurred stroke falls towards 0).
#[allow(dead_code)]
pub fn assert_known_content(frame: &VideoFrame, at: (u32, u32)) {
    use videomeet_media::screen::test_window::{BLOCK_COLOURS, STROKE_SPACING};
    let pixel = |x: u32, y: u32| frame.rgb_at(at.0 + x, at.1 + y);
    for (index, &(r, g, b)) in BLOCK_COLOURS.iter().enumerate() {
        let (dr, dg, db) = pixel(index as u32 * 160 + 80, 90);
        let off = r.abs_diff(dr).max(g.abs_diff(dg)).max(b.abs_diff(db));
        assert!(
            off <= 24,
            "block {index}: sent {:?}, decoded {:?}",
            (r, g, b),
            (dr, dg, db)
        );
    }
    let luma = |x: u32, y: u32| {
        let (r, g, b) = pixel(x, y);
        0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b)
    };
    let mut contrasts: Vec<f64> = (200..340)
        .step_by(7)
        .flat_map(|y| (1..150).step_by(STROKE_SPACING as usize).map(move |x| (x, y)))
        .map(|(x, y)| ((luma(x - 1, y) + luma(x + 2, y)) / 2.0 - luma(x, y)) / 255.0)
        .collect();
    contrasts.sort_by(f64::total_cmp);
    let median = contrasts[contrasts.len() / 2];
    println!(
        "one-pixel stroke contrast after coding: median {median:.2}, lowest {:.2}",
        contrasts[0]
    );
    assert!(median >= 0.6, "strokes blurred: median contrast {median:.2}");
}

/// Whether `id` is seen sharing a screen (`on`) or not.
#[allow(dead_code)]
pub fn screen_shown(id: PeerId, on: bool) -> impl Fn(&Seen) -> bool {
    move |seen| seen.people.get(&id).is_some_and(|p| p.info.media.screen == on)
}

/// Our own share has ended and we were told that the screen was lost.
#[allow(dead_code)]
pub fn share_lost(seen: &Seen) -> bool {
    seen.sharing.is_none()
        && seen.problems.iter().any(|p| {
            matches!(
                p,
                Problem::DeviceLost {
                    device: Device::Screen,
                    ..
                }
            )
        })
}

impl Participant {
    /// The first picture of `from`'s screen decoded here; fails after `deadline`.
    #[allow(dead_code)]
    pub async fn first_screen_picture(&self, from: PeerId, deadline: Instant) -> VideoFrame {
        let slot = self.slot(from, VideoFeed::Screen);
        let mut frame = VideoFrame::default();
        while slot.read_if_newer(0, &mut frame).is_none() {
            assert!(Instant::now() < deadline, "no screen picture decoded in time");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        frame
    }
}

/// How loud `hz` is in most of `samples`: the median of its level in each 20 ms, so that
/// neither a few concealed frames nor the jumps in phase between rebuilt ones count.
#[allow(dead_code)]
pub fn tone_level(samples: &[f32], hz: f32) -> f32 {
    let mut levels: Vec<f32> = samples
        .chunks_exact(960)
        .map(|frame| videomeet_media::audio::goertzel::amplitude(frame, hz))
        .collect();
    levels.sort_by(f32::total_cmp);
    levels.get(levels.len() / 2).copied().unwrap_or(0.0)
}

//! Screen sharing figures at 1920x1080 on a real X server (run under Xvfb here):
//!
//! * capture: one look at the whole display (X11 `GetImage` plus the pointer);
//! * encode: converting and encoding a changed 1080p screen of text;
//! * capture-to-decoded: a full-screen window shows scrolling text with a stamp (frame
//!   counter and the time it was drawn), one participant shares the display and the other
//!   reads the stamps from the frames it decodes. Measured from two moments: when the bench
//!   began drawing the picture (the stamp's time, which includes the bench's own drawing)
//!   and when the X server had it on screen (the drawing thread's note for that counter);
//! * bitrate while the screen is still and while the text scrolls (30 new pictures a second),
//!   and the sharer's congestion-control estimate, which bounds it.
//!
//! `cargo bench -p videomeet-net --bench screen_share` with a display (DISPLAY set).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use videomeet_media::codec::{H264Config, H264Encoder};
use videomeet_media::screen::test_window::{TestWindow, known_content};
use videomeet_media::screen::{ChannelOrder, ScreenCapture, ScreenKind, ScreenPicture, list_screens};
use videomeet_media::video::convert::i420_to_bgra;
use videomeet_media::video::stamp::draw_stamp;
use videomeet_media::video::{PixelConverter, PixelFormat, Stamp, read_stamp};
use videomeet_media::{EncodedVideoFrame, VideoFrame, clock};
use videomeet_net::JoinTarget;
use videomeet_net::meeting::{Command, Event, Meeting, MeetingConfig, Role};
use videomeet_net::peer::{PeerConfig, VideoFeed};
use videomeet_net::signaling::HostConfig;

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
/// Rows the text moves up per picture while scrolling.
const SCROLL_ROWS: usize = 6;

fn main() {
    if std::env::var_os("DISPLAY").is_none() {
        eprintln!("screen_share: no display (set DISPLAY, e.g. run Xvfb :99 -screen 0 1920x1080x24)");
        return;
    }
    let mut text = Scroller::new();
    let mut window = TestWindow::open("Screen share bench", 0, 0, &text.picture(0, None)).expect("a window opens");
    window
        .move_pointer(WIDTH as i16 - 1, HEIGHT as i16 - 1)
        .expect("pointer moved");
    let display = list_screens()
        .expect("screens are listed")
        .into_iter()
        .find(|s| s.kind == ScreenKind::Display)
        .expect("a display");

    // Capture and encode, each on its own.
    let mut capture = ScreenCapture::open(&display).expect("the display opens");
    let mut picture = ScreenPicture::default();
    let grabs: Vec<f64> = (0..60)
        .map(|_| timed(|| capture.grab(&mut picture).expect("a picture")))
        .collect();
    assert_eq!(
        (picture.width, picture.height),
        (WIDTH, HEIGHT),
        "the display is 1920x1080"
    );
    let mut encoder = H264Encoder::new(H264Config::SCREEN).expect("an encoder");
    let (mut converter, mut frame, mut encoded) = (
        PixelConverter::default(),
        VideoFrame::default(),
        EncodedVideoFrame::default(),
    );
    let encodes: Vec<f64> = (0..60)
        .map(|index| {
            let scrolled = text.picture(index, None);
            timed(|| {
                converter
                    .to_i420(PixelFormat::Bgra, &scrolled.data, (WIDTH, HEIGHT), &mut frame)
                    .expect("converted");
                frame.capture_time_us = index as u64 * 33_333;
                encoder.encode(&frame, &mut encoded).expect("encoded");
            })
        })
        .collect();

    // The whole path, through a meeting on loopback.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let (from_drawn, from_shown, drawing, still_kbps, scrolling_kbps, fps, estimates) = runtime.block_on(async {
        let mut host_config = HostConfig::new("Bench", "Viewer");
        host_config.bind_ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        host_config.port = 0;
        let (viewer, _viewer_handle, mut viewer_events) =
            Meeting::new(Role::Host(host_config), config("Viewer"), Arc::new(|| {}));
        tokio::spawn(viewer.run());
        let link = match viewer_events.recv().await {
            Some(Event::Joined { link, .. }) => link,
            _ => panic!("no joined event"),
        };
        let mut target = JoinTarget::parse(&link).expect("a link");
        target.host = "127.0.0.1".into();
        let (sharer, sharer_handle, mut sharer_events) =
            Meeting::new(Role::Join { target, passcode: None }, config("Sharer"), Arc::new(|| {}));
        tokio::spawn(sharer.run());
        sharer_handle.send(Command::ShareScreen(display.clone()));

        let slot = loop {
            match viewer_events.recv().await {
                Some(Event::Video {
                    feed: VideoFeed::Screen,
                    slot,
                    ..
                }) => break slot,
                Some(_) => {}
                None => panic!("the meeting ended"),
            }
        };
        // Still: nothing on screen changes for 6 s; the rate of the last 4 is kept.
        let still_kbps = receive_kbps(&mut viewer_events, Duration::from_secs(6), Duration::from_secs(2)).await;

        // Scrolling with stamps, 30 pictures a second, drawn by a thread of its own, which
        // notes when each picture was on screen (and how long drawing it took).
        let scrolling = Arc::new(AtomicBool::new(true));
        let on_screen_us = Arc::new(Mutex::new(Vec::new()));
        let drawer = {
            let scrolling = Arc::clone(&scrolling);
            let on_screen_us = Arc::clone(&on_screen_us);
            std::thread::Builder::new().name("scroller".into()).spawn(move || {
                let start = Instant::now();
                let (mut index, mut drawing) = (0u32, Vec::new());
                while scrolling.load(Ordering::Relaxed) {
                    let began = clock::now_us();
                    let stamp = Stamp {
                        counter: index,
                        capture_time_us: began,
                    };
                    window.show(&text.picture(index as usize, Some(stamp))).expect("shown");
                    let shown = clock::now_us();
                    on_screen_us.lock().expect("notes").push(shown);
                    drawing.push(shown.saturating_sub(began) as f64 / 1000.0);
                    index += 1;
                    clock::sleep_until(start + Duration::from_millis(33) * index);
                }
                drawing
            })
        }
        .expect("the drawing thread starts");
        let notes = Arc::clone(&on_screen_us);
        let reader = tokio::spawn(async move {
            let (mut frame, mut seen, mut frames) = (VideoFrame::default(), 0, 0u32);
            let (mut from_drawn, mut from_shown) = (Vec::new(), Vec::new());
            let end = Instant::now() + Duration::from_secs(12);
            while Instant::now() < end {
                if let Some(generation) = slot.read_if_newer(seen, &mut frame) {
                    seen = generation;
                    frames += 1;
                    if let Some(stamp) = read_stamp(&frame) {
                        let now = clock::now_us();
                        from_drawn.push(now.saturating_sub(stamp.capture_time_us) as f64 / 1000.0);
                        let shown = notes.lock().expect("notes").get(stamp.counter as usize).copied();
                        if let Some(shown) = shown {
                            from_shown.push(now.saturating_sub(shown) as f64 / 1000.0);
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            (from_drawn, from_shown, f64::from(frames) / 12.0)
        });
        let sharer_view = tokio::spawn(async move {
            let (start, mut seen) = (Instant::now(), Vec::new());
            while start.elapsed() < Duration::from_secs(12) {
                if let Ok(Some(Event::Stats(stats))) =
                    tokio::time::timeout(Duration::from_millis(200), sharer_events.recv()).await
                {
                    seen.extend(stats.iter().map(|s| s.estimate_kbps));
                }
            }
            seen
        });
        let scrolling_kbps = receive_kbps(&mut viewer_events, Duration::from_secs(12), Duration::from_secs(2)).await;
        let estimates = sharer_view.await.expect("the sharer's events were read");
        let (from_drawn, from_shown, fps) = reader.await.expect("the reader ran");
        scrolling.store(false, Ordering::Relaxed);
        let drawing = drawer.join().expect("the drawer ran");
        (
            from_drawn,
            from_shown,
            drawing,
            still_kbps,
            scrolling_kbps,
            fps,
            estimates,
        )
    });

    let (grabs, encodes) = (percentiles(grabs), percentiles(encodes));
    let (from_drawn, from_shown, drawing) = (percentiles(from_drawn), percentiles(from_shown), percentiles(drawing));
    println!("| 1920x1080 screen, Xvfb | p50 | p95 |");
    println!("|---|---|---|");
    println!("| capture, one look (ms) | {:.1} | {:.1} |", grabs.0, grabs.1);
    println!(
        "| convert + encode a changed picture (ms) | {:.1} | {:.1} |",
        encodes.0, encodes.1
    );
    println!(
        "| the bench drawing a picture: stamp, X PutImage, sync (ms) | {:.1} | {:.1} |",
        drawing.0, drawing.1
    );
    println!(
        "| drawing begun to decoded, scrolling text (ms) | {:.1} | {:.1} |",
        from_drawn.0, from_drawn.1
    );
    println!(
        "| on screen to decoded, scrolling text (ms) | {:.1} | {:.1} |",
        from_shown.0, from_shown.1
    );
    println!(
        "decoded while scrolling: {fps:.1} fps; bitrate still: {still_kbps:.0} kbps; scrolling: {scrolling_kbps:.0} kbps"
    );
    println!(
        "the sharer's send estimate while scrolling: {:.0} kbps at first, {:.0} kbps at the end",
        estimates.first().copied().unwrap_or_default(),
        estimates.last().copied().unwrap_or_default()
    );
}

/// A screen of text that scrolls, with an optional stamp in its top-left corner.
struct Scroller {
    /// Two screens of letter marks, so any scroll offset has a full screen below it.
    sheet: ScreenPicture,
    converter: PixelConverter,
    frame: VideoFrame,
}

impl Scroller {
    fn new() -> Self {
        // The bottom half of the known picture is text: make it two screens tall.
        let tall = known_content(WIDTH, HEIGHT * 4);
        let half = (WIDTH * HEIGHT * 2 * 4) as usize;
        Self {
            sheet: ScreenPicture {
                width: WIDTH,
                height: HEIGHT * 2,
                order: ChannelOrder::Bgra,
                data: tall.data[half..].to_vec(),
            },
            converter: PixelConverter::default(),
            frame: VideoFrame::default(),
        }
    }

    fn picture(&mut self, index: usize, stamp: Option<Stamp>) -> ScreenPicture {
        let row = (WIDTH * 4) as usize;
        let offset = (index * SCROLL_ROWS) % HEIGHT as usize;
        let mut data = self.sheet.data[offset * row..(offset + HEIGHT as usize) * row].to_vec();
        if let Some(stamp) = stamp {
            // Stamps are drawn on I420 pictures: through I420 and back.
            self.converter
                .to_i420(PixelFormat::Bgra, &data, (WIDTH, HEIGHT), &mut self.frame)
                .expect("converted");
            draw_stamp(&mut self.frame, stamp);
            i420_to_bgra(&self.frame, &mut data).expect("converted back");
        }
        ScreenPicture {
            width: WIDTH,
            height: HEIGHT,
            order: ChannelOrder::Bgra,
            data,
        }
    }
}

/// A participant with the camera and microphone off, so only the screen is sent.
fn config(name: &str) -> MeetingConfig {
    MeetingConfig {
        name: name.into(),
        camera_on: false,
        mic_on: false,
        peer: PeerConfig {
            ice_addrs: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            ..PeerConfig::default()
        },
        ..MeetingConfig::default()
    }
}

/// The mean rate received from the other participant over `period`, after `settle`.
async fn receive_kbps(events: &mut tokio::sync::mpsc::Receiver<Event>, period: Duration, settle: Duration) -> f64 {
    let (start, mut rates) = (Instant::now(), Vec::new());
    while start.elapsed() < period {
        if let Ok(Some(Event::Stats(stats))) = tokio::time::timeout(Duration::from_millis(200), events.recv()).await
            && start.elapsed() > settle
        {
            rates.extend(stats.iter().map(|s| s.receive_kbps));
        }
    }
    rates.iter().sum::<f64>() / rates.len().max(1) as f64
}

fn timed(work: impl FnOnce()) -> f64 {
    let start = Instant::now();
    work();
    start.elapsed().as_secs_f64() * 1000.0
}

/// Median and 95th percentile.
fn percentiles(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |p: usize| {
        values
            .get((values.len() * p / 100).min(values.len().saturating_sub(1)))
            .copied()
    };
    (at(50).unwrap_or(f64::NAN), at(95).unwrap_or(f64::NAN))
}

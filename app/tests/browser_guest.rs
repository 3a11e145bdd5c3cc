//! Debian's Chromium joins a headless `videomeet host` as a guest through
//! `tests/browser/guest.html`, a page written from `net/PROTOCOL.md` alone.
//!
//! What arrives is measured where a user would see and hear it: the pictures the browser
//! decodes and the sound it plays (its `getStats`, logged by the page), and the pictures
//! the host decodes and the tones it hears (its JSON lines). The page also shares a screen,
//! which must reach the host as a screen, not as a second camera.
//!
//! The page is served from a small HTTP server on 127.0.0.1 (a secure context, so the page
//! may use the camera), whose origin the host is told to trust. Skipped, loudly, when
//! `chromium` is not installed (`installer/setup-debian.sh --test` installs it), and a
//! failure then under CI.

mod common;
#[path = "../src/bench/headless_chromium.rs"]
mod headless_chromium;

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Running;
use serde_json::Value;
use videomeet_media::testing;

/// The guest page.
const PAGE: &str = include_str!("browser/guest.html");
/// What the page's log lines start with.
const TAG: &str = "videomeet-guest";
/// Everything must have arrived this long after the browser starts.
const DEADLINE: Duration = Duration::from_secs(40);
/// Seconds after its media connection is up that the page shares its screen.
const SHARE_AFTER_SECS: u32 = 3;
/// The frame rate of the browser's fake camera: what the page asks for.
const CAMERA_FPS: u32 = 30;
/// The host's camera size.
const HOST_SIZE: (u64, u64) = (640, 360);
/// The tone Chromium's fake microphone plays, from a sound file the test writes. Its own
/// sound is a 400 Hz beep of a few tens of milliseconds every half second, and the host
/// reports the last 200 ms of each second: the two clocks stay in step, and in some runs
/// every one of those windows fell between two beeps (silence for 40 s).
const BROWSER_TONE_HZ: u32 = 660;
/// RMS (host) or level (browser, 0 to 1) that is clearly sound, not silence: about -26 dBFS.
/// The tones arrive at 0.21 (host) and about 0.35 (browser).
const AUDIBLE: f64 = 0.05;

/// The DTLS cipher suites PROTOCOL.md says Video Meet allows, named as `getStats` names them.
const DTLS_CIPHERS: [&str; 2] = [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
];
/// The SRTP protection profiles PROTOCOL.md says Video Meet allows.
const SRTP_PROFILES: [&str; 3] = [
    "SRTP_AEAD_AES_128_GCM",
    "SRTP_AEAD_AES_256_GCM",
    "SRTP_AES128_CM_HMAC_SHA1_80",
];

#[test]
fn chromium_joins_a_host_by_the_protocol_document() {
    let Some(version) = chromium_version() else {
        // CI runs the test command, which installs Chromium: missing there, it is a fault.
        testing::skip_unless_required(
            "chromium_joins_a_host_by_the_protocol_document",
            "`chromium` is not installed, so no browser joined a meeting. Install it: \
             installer/setup-debian.sh --test (or apt install chromium)",
            testing::under_ci(),
        );
        return;
    };
    println!("browser: {version}");
    let page = PageServer::start();
    let origin = page.origin();
    let (host, host_lines, joined) = common::start_host(&[
        "--size",
        &format!("{}x{}", HOST_SIZE.0, HOST_SIZE.1),
        "--allow-origin",
        &origin,
    ]);
    let host_id = joined["you"].as_u64().expect("the host's id");
    let link = joined["link"].as_str().expect("a meeting link");
    // videomeet://ADDRESS:PORT/CODE; the page is on 127.0.0.1, so is the host it calls.
    let (address, code) = link
        .strip_prefix("videomeet://")
        .and_then(|rest| rest.split_once('/'))
        .unwrap_or_else(|| panic!("not a meeting link: {link}"));
    let port = address
        .rsplit_once(':')
        .map(|(_, port)| port)
        .expect("a port in the link");
    let url = format!("{origin}/guest.html?signal=127.0.0.1:{port}&code={code}&share_after={SHARE_AFTER_SECS}");

    let profile = Profile::new();
    let tone = profile.0.join("tone.wav");
    std::fs::write(&tone, tone_wav(BROWSER_TONE_HZ)).expect("the microphone's sound file is written");
    let started = Instant::now();
    let mut browser = Running(
        Command::new("chromium")
            .args(headless_chromium::flags(CAMERA_FPS))
            .arg(format!("--use-file-for-fake-audio-capture={}", tone.display()))
            .arg(format!("--user-data-dir={}", profile.0.display()))
            .arg(&url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts"),
    );
    let browser_lines = common::read_lines("browser-log", browser.0.stderr.take().expect("chromium's log"));

    let mut call = Call::new(host_id);
    let mut browser_log = Vec::new();
    let missing = loop {
        for line in host_lines.try_iter() {
            if let Ok(event) = serde_json::from_str(&line) {
                call.host.push(event);
            }
        }
        for line in browser_lines.try_iter() {
            match headless_chromium::page_report(&line, TAG) {
                Some(report) => call.page.push(report),
                // Without a session bus every D-Bus call fails, harmlessly and often.
                None if line.contains("dbus") || line.contains("DBus") => {}
                None => browser_log.push(line),
            }
        }
        if let Ok(Some(status)) = browser.0.try_wait() {
            panic!("chromium stopped ({status}); its log:\n{}", browser_log.join("\n"));
        }
        if let Some(refusal) = call.refused() {
            panic!("the page was turned away or lost the meeting: {refusal}");
        }
        let missing = call.missing();
        if missing.is_empty() || started.elapsed() > DEADLINE {
            break missing;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let elapsed = started.elapsed();
    drop((browser, host));
    println!("{}", call.summary());
    println!("looked for {:.1} s after starting the browser", elapsed.as_secs_f64());
    if !missing.is_empty() {
        let problems: Vec<String> = call
            .page
            .iter()
            .filter(|r| r["event"] == "problem" || r["event"] == "error")
            .map(Value::to_string)
            .collect();
        let log_tail = &browser_log[browser_log.len().saturating_sub(30)..];
        panic!(
            "after {:.0} s, what did not arrive:\n  - {}\nthe page's problems and the host's refusals: {problems:?}\n\
             the browser's log (last lines):\n{}\nthe page's last report: {}",
            elapsed.as_secs_f64(),
            missing.join("\n  - "),
            log_tail.join("\n"),
            call.page
                .iter()
                .rev()
                .find(|r| r["event"] == "stats")
                .unwrap_or(&Value::Null),
        );
    }
}

/// `video_stats` lines as WIDTHxHEIGHT@FPS.
fn brief(stats: &[(usize, &Value)]) -> Vec<String> {
    stats
        .iter()
        .map(|(_, e)| format!("{}x{}@{}", e["width"], e["height"], e["fps"]))
        .collect()
}

/// `chromium --version`, or `None` when it is not installed.
fn chromium_version() -> Option<String> {
    match Command::new("chromium").arg("--version").output() {
        Ok(output) => Some(String::from_utf8_lossy(&output.stdout).trim().to_owned()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => panic!("chromium is installed but does not run: {error}"),
    }
}

/// What both sides reported so far, and what they still lack.
struct Call {
    host_id: u64,
    /// The host's JSON lines.
    host: Vec<Value>,
    /// The page's reports.
    page: Vec<Value>,
}

impl Call {
    fn new(host_id: u64) -> Self {
        Self {
            host_id,
            host: Vec::new(),
            page: Vec::new(),
        }
    }

    /// Why the page is out of the meeting, if it is.
    fn refused(&self) -> Option<&Value> {
        self.page
            .iter()
            .find(|r| ["denied", "closed", "ended", "removed"].contains(&r["event"].as_str().unwrap_or("")))
    }

    /// The browser's id in the meeting, once it has joined.
    fn browser_id(&self) -> Option<u64> {
        self.page.iter().find(|r| r["event"] == "welcome")?["you"].as_u64()
    }

    /// What the page measured, each second, of its connection to the host.
    fn browser_stats(&self) -> impl Iterator<Item = &Value> {
        let host = self.host_id.to_string();
        self.page
            .iter()
            .filter(move |r| r["event"] == "stats")
            .map(move |r| &r["peers"][&host])
            .filter(|peer| peer.is_object())
    }

    /// The host's lines of `event` about the browser (`id`).
    fn host_about<'a>(&'a self, event: &'a str) -> impl Iterator<Item = &'a Value> {
        let id = self.browser_id();
        self.host
            .iter()
            .filter(move |e| e["event"] == event && id.is_some() && e["id"].as_u64() == id)
    }

    /// Pictures of the host's camera the browser decoded over the reports (growth), and
    /// their size.
    fn browser_pictures(&self) -> (u64, u64, u64) {
        let frames: Vec<&Value> = self.browser_stats().map(|p| &p["in"]["camera"]).collect();
        let decoded = |v: Option<&&Value>| v.and_then(|v| v["frames_decoded"].as_u64()).unwrap_or(0);
        let size = |key: &str| frames.last().and_then(|v| v[key].as_u64()).unwrap_or(0);
        (
            decoded(frames.last()).saturating_sub(decoded(frames.first())),
            size("width"),
            size("height"),
        )
    }

    /// The loudness of the host's sound as the browser played it (RMS from the energy over
    /// the reports), and the highest audio level it reported.
    fn browser_loudness(&self) -> (f64, f64) {
        let audio: Vec<&Value> = self.browser_stats().map(|p| &p["in"]["audio"]).collect();
        let number = |v: Option<&&Value>, key: &str| v.and_then(|v| v[key].as_f64()).unwrap_or(0.0);
        let energy = number(audio.last(), "energy") - number(audio.first(), "energy");
        let seconds = number(audio.last(), "seconds") - number(audio.first(), "seconds");
        let rms = if seconds >= 1.0 { (energy / seconds).sqrt() } else { 0.0 };
        let level = audio.iter().filter_map(|a| a["level"].as_f64()).fold(0.0, f64::max);
        (rms, level)
    }

    /// The DTLS cipher and SRTP profile the browser reports for its connection to the host.
    fn ciphers(&self) -> Option<(String, String)> {
        let transport = &self.browser_stats().last()?["transport"];
        Some((
            transport["dtls_cipher"].as_str()?.to_owned(),
            transport["srtp_cipher"].as_str()?.to_owned(),
        ))
    }

    /// The size of the screen the page shares, once it does.
    fn shared_width(&self) -> Option<u64> {
        self.page.iter().find(|r| r["event"] == "sharing")?["width"].as_u64()
    }

    /// The host's `video_stats` of the browser's `feed` ("camera" or "screen"), in order, with
    /// their index among all host lines.
    fn host_video(&self, feed: &str) -> Vec<(usize, &Value)> {
        let id = self.browser_id();
        self.host
            .iter()
            .enumerate()
            .filter(|(_, e)| e["event"] == "video_stats" && e["feed"] == feed)
            .filter(|(_, e)| id.is_some() && e["id"].as_u64() == id)
            .collect()
    }

    /// Seconds in which the host's sound (all it hears, and the browser is the only one to
    /// hear) was audible with Chromium's tone in it.
    fn host_heard_tone(&self) -> usize {
        self.host
            .iter()
            .filter(|e| e["event"] == "audio_stats" && e["rms"].as_f64() >= Some(AUDIBLE))
            .filter(|e| {
                e["tones_hz"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64)
                    .any(|hz| hz.abs_diff(u64::from(BROWSER_TONE_HZ)) <= 10)
            })
            .count()
    }

    /// Everything a user would notice missing, one sentence each; empty when all arrived.
    fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        let Some(browser) = self.browser_id() else {
            return vec!["the page never got `welcome` from the host".into()];
        };
        let (pictures, width, height) = self.browser_pictures();
        if pictures < 60 || width == 0 {
            missing.push(format!(
                "the browser did not decode the host's camera: {pictures} pictures decoded over its \
                 reports (at least 60 wanted), {width}x{height}"
            ));
        }
        let (rms, level) = self.browser_loudness();
        if rms < AUDIBLE || level < AUDIBLE {
            missing.push(format!(
                "the browser did not hear the host's tone: RMS {rms:.3}, highest audio level {level:.3} \
                 (at least {AUDIBLE} wanted)"
            ));
        }
        match self.ciphers() {
            Some((dtls, srtp)) if DTLS_CIPHERS.contains(&dtls.as_str()) && SRTP_PROFILES.contains(&srtp.as_str()) => {}
            other => missing.push(format!(
                "the connection is not protected as PROTOCOL.md says (DTLS {DTLS_CIPHERS:?}, SRTP \
                 {SRTP_PROFILES:?}): {other:?}"
            )),
        }
        let camera = self.host_video("camera");
        let smooth = camera.iter().filter(|(_, e)| e["fps"].as_f64() >= Some(10.0)).count();
        if smooth < 3 {
            missing.push(format!(
                "the host did not decode the browser's camera: {smooth} seconds at 10 fps or more \
                 (3 wanted), WxH@fps each second: {:?}",
                brief(&camera)
            ));
        }
        if self.host_about("first_audio").next().is_none() || self.host_heard_tone() < 3 {
            missing.push(format!(
                "the host did not hear the browser's microphone (a {BROWSER_TONE_HZ} Hz tone): first \
                 sound from participant {browser}: {:?}, seconds with the tone: {} (3 wanted)",
                self.host_about("first_audio").next(),
                self.host_heard_tone()
            ));
        }
        let Some(shared_width) = self.shared_width() else {
            missing.push("the page did not share a screen (getDisplayMedia)".into());
            return missing;
        };
        if !self.host_about("media_state").any(|e| e["media"]["screen"] == true) {
            missing.push("the host was not told that the browser shares its screen (media_state)".into());
        }
        let screen = self.host_video("screen");
        let shown = screen
            .iter()
            .filter(|(_, e)| e["fps"].as_f64() > Some(0.0) && e["width"].as_u64() == Some(shared_width))
            .count();
        if shown < 2 {
            missing.push(format!(
                "the host did not decode the browser's screen as a screen: {shown} seconds of \
                 {shared_width}-wide screen pictures (2 wanted), WxH@fps each second: {:?}",
                brief(&screen)
            ));
        }
        // The screen must not take the camera's place.
        let as_camera = camera
            .iter()
            .filter(|(_, e)| e["width"].as_u64() == Some(shared_width))
            .count();
        if as_camera > 0 {
            missing.push(format!(
                "the browser's screen arrived as its camera: {as_camera} seconds of {shared_width}-wide \
                 pictures as the camera"
            ));
        }
        let screen_from = screen.first().map_or(usize::MAX, |(at, _)| *at);
        let camera_beside = camera.iter().filter(|(at, _)| *at > screen_from).count();
        if camera_beside < 2 {
            missing.push(format!(
                "the host did not keep decoding the browser's camera beside its screen: {camera_beside} \
                 seconds of camera after the screen came (2 wanted)"
            ));
        }
        missing
    }

    /// The figures seen, for the test's output.
    fn summary(&self) -> String {
        let (pictures, width, height) = self.browser_pictures();
        let (rms, level) = self.browser_loudness();
        let brief = |feed: &str| brief(&self.host_video(feed));
        let heard: Vec<String> = self
            .host
            .iter()
            .filter(|e| e["event"] == "audio_stats")
            .map(|e| format!("{}{}", e["rms"], e["tones_hz"]))
            .collect();
        format!(
            "browser, from the host: {pictures} pictures decoded over {} reports at {width}x{height}; \
             sound RMS {rms:.3}, highest level {level:.3}\n\
             connection (the browser's stats): {:?}\n\
             page shared a screen {:?} wide\n\
             host, from the browser (video_stats WxH@fps): camera {:?}\n\
             host, from the browser: screen {:?}\n\
             host heard (RMS[tones Hz]): {heard:?}",
            self.browser_stats().count(),
            self.ciphers(),
            self.shared_width(),
            brief("camera"),
            brief("screen"),
        )
    }
}

/// One second of a sine tone at `hz` (a whole number of cycles, so that it loops without a
/// click), 48 kHz 16-bit mono WAV, at about -10 dBFS.
fn tone_wav(hz: u32) -> Vec<u8> {
    const RATE: u32 = 48_000;
    let samples: Vec<u8> = (0..RATE)
        .map(|i| {
            (0.3 * (std::f64::consts::TAU * f64::from(hz) * f64::from(i) / f64::from(RATE)).sin() * 32767.0) as i16
        })
        .flat_map(i16::to_le_bytes)
        .collect();
    let mut wav = Vec::with_capacity(44 + samples.len());
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + samples.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    // PCM, 1 channel, the rate, bytes a second, bytes a frame, bits a sample.
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&(RATE * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    wav.extend_from_slice(&samples);
    wav
}

/// Serves the guest page on 127.0.0.1, on any free port, until the test ends.
struct PageServer {
    port: u16,
}

impl PageServer {
    fn start() -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a port for the page");
        let port = listener.local_addr().expect("the page's address").port();
        std::thread::Builder::new()
            .name("page-server".into())
            .spawn(move || {
                for stream in listener.incoming().map_while(Result::ok) {
                    // One thread a connection: a browser may open one it sends nothing on.
                    let _ = std::thread::Builder::new()
                        .name("page-request".into())
                        .spawn(move || serve_page(stream));
                }
            })
            .expect("the page server starts");
        Self { port }
    }

    /// What the page's origin is, for `--allow-origin`.
    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Answers one HTTP request: the page for `/guest.html`, 404 for anything else.
fn serve_page(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let (status, body) = if path == "/guest.html" || path.starts_with("/guest.html?") {
        ("200 OK", PAGE)
    } else {
        ("404 Not Found", "")
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A new browser profile folder, removed when the test ends.
struct Profile(PathBuf);

impl Profile {
    fn new() -> Self {
        let folder = std::env::temp_dir().join(format!("videomeet-browser-guest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).expect("a folder for the browser's profile");
        Self(folder)
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

//! What the browser guest tests share: a headless host, its own guest page opened from it
//! by browsers started headless (Debian's Chromium and Firefox ESR, with fake camera,
//! microphone and screen), the page's reports read back from their logs, Chromium driven
//! and photographed through DevTools, and the checks of what arrived on each side.
//!
//! The browsers load the page as a guest does, over HTTPS from the host itself, at
//! `https://127.0.0.1:PORT/CODE` (the host's certificate names 127.0.0.1), so its content
//! security policy and origin check are the ones guests meet, with nothing allowed for the
//! tests alone. The certificate is the host's own, which no authority vouches for: Chromium
//! is told to accept it, as a guest clicks through the warning, and Firefox's profile
//! trusts that one certificate, as a guest who compared its fingerprint and accepted it.

// Each browser's test file uses the part of this module its scenarios need.
#![allow(dead_code)]

mod devtools;

use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use videomeet_media::testing;

use self::devtools::{DESKTOP, DevTools, PHONE};
use crate::common::{self, Running};
use crate::headless_chromium;

/// The passcode of the meetings that have one, and a wrong one a guest might type.
pub const PASSCODE: &str = "2468";
pub const WRONG_PASSCODE: &str = "1357";
/// How long a chat message may take to show, or a refusal to come.
pub const ANSWER_WAIT: Duration = Duration::from_secs(10);
/// The host's certificate file in its config folder (`app/src/hosting.rs`): the
/// certificate, then its key.
const HOST_CERTIFICATE: &str = "host-certificate.pem";
/// The longest Chromium takes to say where its DevTools listen.
const DEVTOOLS_WAIT: Duration = Duration::from_secs(10);
/// The longest Chromium may take to close when asked to.
const BROWSER_CLOSE_WAIT: Duration = Duration::from_secs(5);
/// The longest the page may take to show what a screenshot is taken of.
const SHOWN_WAIT: Duration = Duration::from_secs(10);

/// What the page's log lines start with.
const TAG: &str = "videomeet-guest";
/// The frame rate of the browser's fake camera.
pub const CAMERA_FPS: u32 = 30;
/// The tone the browser's fake microphone plays. Chromium's own sound is a 400 Hz beep of
/// a few tens of milliseconds every half second, and the host reports the last 200 ms of
/// each second: the two clocks stay in step, and in some runs every one of those windows
/// fell between two beeps (silence for 40 s). So Chromium plays a sound file the test
/// writes, and Firefox's fake tone is set to the same pitch.
pub const BROWSER_TONE_HZ: u32 = 660;
/// RMS (native) or level (browser, 0 to 1) that is clearly sound, not silence: about -26
/// dBFS. The tones arrive at 0.21 (native) and about 0.35 (browser).
pub const AUDIBLE: f64 = 0.05;
/// Pictures a browser must decode of each camera over its reports.
const PICTURES_WANTED: u64 = 60;
/// Seconds of a camera a native participant must decode at 10 fps or more.
const SMOOTH_SECONDS_WANTED: usize = 3;

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

/// The browser tests run meetings with several processes on a small machine: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

pub fn take_turn() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A browser the tests can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Browser {
    Chromium,
    Firefox,
}

impl Browser {
    fn program(self) -> &'static str {
        match self {
            Self::Chromium => "chromium",
            Self::Firefox => "firefox-esr",
        }
    }

    /// `--version`, or `None` when the browser is not installed.
    pub fn version(self) -> Option<String> {
        match Command::new(self.program()).arg("--version").output() {
            Ok(output) => Some(String::from_utf8_lossy(&output.stdout).trim().to_owned()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => panic!("{} is installed but does not run: {error}", self.program()),
        }
    }

    /// Starts the browser on `url` with a fresh profile in `profile`, accepting the host's
    /// certificate (`host_pem`); returns it and its log lines (the page's console among
    /// them).
    fn start(self, url: &str, profile: &Path, host_pem: &Path) -> (Running, Vec<Receiver<String>>) {
        let mut command = Command::new(self.program());
        match self {
            Self::Chromium => {
                let tone = profile.join("tone.wav");
                std::fs::write(&tone, tone_wav(BROWSER_TONE_HZ)).expect("the microphone's sound file is written");
                command
                    .args(headless_chromium::flags(CAMERA_FPS))
                    .arg(headless_chromium::ACCEPT_HOST_CERTIFICATE)
                    // Any free port: the log says which (see `devtools::LISTENING`).
                    .arg("--remote-debugging-port=0")
                    .arg(format!("--use-file-for-fake-audio-capture={}", tone.display()))
                    .arg(format!("--user-data-dir={}", profile.display()));
            }
            Self::Firefox => {
                std::fs::write(profile.join("user.js"), firefox_preferences()).expect("the profile's preferences");
                trust_host_certificate(profile, host_pem);
                command.args(["--headless", "--no-remote", "--profile"]).arg(profile);
            }
        }
        let mut browser = Running(
            command
                .arg(url)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|error| panic!("{} starts: {error}", self.program())),
        );
        let stdout = browser.0.stdout.take().expect("the browser's output");
        let stderr = browser.0.stderr.take().expect("the browser's log");
        let lines = vec![
            common::read_lines("browser-output", stdout),
            common::read_lines("browser-log", stderr),
        ];
        (browser, lines)
    }
}

/// Whether `program` is installed (it runs at all).
fn installed_program(program: &str) -> bool {
    let ran = Command::new(program)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match ran {
        Ok(_) => true,
        Err(error) => error.kind() != std::io::ErrorKind::NotFound,
    }
}

/// Makes Firefox's `profile` trust the host's certificate (the first block of `host_pem`,
/// before its key), as a guest does who compared its fingerprint with the host's and
/// accepted it: in the profile's own certificate store (NSS), as a trust anchor for web
/// sites (`C,,`). The certificate is no CA (it has no basic constraints), so nothing it
/// might sign is trusted by it: only itself. (Trusted peer, `P,,`, would say so more
/// narrowly, but Firefox's verifier does not take it for a certificate that signed itself.)
fn trust_host_certificate(profile: &Path, host_pem: &Path) {
    const END: &str = "-----END CERTIFICATE-----\n";
    let pem = std::fs::read_to_string(host_pem)
        .unwrap_or_else(|error| panic!("the host's certificate {}: {error}", host_pem.display()));
    let certificate = pem
        .find(END)
        .map(|at| &pem[..at + END.len()])
        .filter(|block| block.starts_with("-----BEGIN CERTIFICATE-----"))
        .unwrap_or_else(|| panic!("{} does not start with a certificate", host_pem.display()));
    let certificate_file = profile.join("host-certificate.pem");
    std::fs::write(&certificate_file, certificate).expect("the host's certificate is copied");
    let store = format!("sql:{}", profile.display());
    let certificate_file = certificate_file.display().to_string();
    // A new store without a password, then the certificate in it.
    let commands: [&[&str]; 2] = [
        &["-N", "--empty-password"],
        &["-A", "-n", "videomeet-host", "-t", "C,,", "-i", &certificate_file],
    ];
    for args in commands {
        let output = Command::new("certutil")
            .args(args)
            .args(["-d", &store])
            .output()
            .expect("certutil runs");
        assert!(
            output.status.success(),
            "certutil {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Firefox ESR's preferences for a test profile: fake devices granted without asking (the
/// microphone's tone at the pitch the host listens for), sound played without a click, the
/// page's console on stdout, and nothing fetched from outside.
///
/// Debian's Firefox offers H.264 (the only video Video Meet speaks) for WebRTC only with
/// Cisco's OpenH264 plugin, which it downloads at run time, or with "hardware" H.264, which
/// goes through the system's FFmpeg (libavcodec). The graphics blocklist entry that gates
/// the latter is set to "allowed" (1), and the platform encoder is preferred to the plugin.
fn firefox_preferences() -> String {
    let preferences: [(&str, String); 14] = [
        ("media.navigator.streams.fake", "true".into()),
        ("media.navigator.permission.disabled", "true".into()),
        ("media.navigator.audio.fake_frequency", BROWSER_TONE_HZ.to_string()),
        ("media.autoplay.default", "0".into()),
        ("devtools.console.stdout.content", "true".into()),
        ("gfx.blacklist.webrtc.hw.acceleration.h264", "1".into()),
        ("media.webrtc.hw.h264.enabled", "true".into()),
        ("media.webrtc.platformencoder", "true".into()),
        ("media.ffmpeg.encoder.enabled", "true".into()),
        // 1: the platform encoder first, the plugin as its fallback.
        ("media.webrtc.encoder_creation_strategy", "1".into()),
        ("media.gmp-manager.updateEnabled", "false".into()),
        ("app.update.enabled", "false".into()),
        ("browser.shell.checkDefaultBrowser", "false".into()),
        ("datareporting.policy.dataSubmissionEnabled", "false".into()),
    ];
    preferences
        .iter()
        .map(|(name, value)| format!("user_pref(\"{name}\", {value});\n"))
        .collect()
}

/// The page's report in a browser's log line: Chromium writes
/// `[...:INFO:CONSOLE:25] "videomeet-guest {...}", source: ...`, Firefox
/// `console.log: "videomeet-guest {\"event\":...}"` (the text as a quoted string).
pub fn page_report(line: &str) -> Option<Value> {
    if let Some(quoted) = line.strip_prefix("console.log: ") {
        let text: String = serde_json::from_str(quoted.trim()).ok()?;
        return serde_json::from_str(text.strip_prefix(TAG)?.strip_prefix(' ')?).ok();
    }
    headless_chromium::page_report(line, TAG)
}

/// Whether `browser` and what it needs are installed (its version); when they are not,
/// `test` is skipped, loudly, or fails under CI, whose test command installs them.
pub fn installed(browser: Browser, test: &str) -> Option<String> {
    let version = browser.version();
    // What is missing, and its Debian package. Firefox's profile trusts the host's
    // certificate with NSS's `certutil`.
    let missing = if version.is_none() {
        Some((browser.program(), browser.program()))
    } else if browser == Browser::Firefox && !installed_program("certutil") {
        Some(("certutil", "libnss3-tools"))
    } else {
        None
    };
    if let Some((program, package)) = missing {
        let reason = format!(
            "`{program}` is not installed, so no browser joined a meeting. Install it: \
             installer/setup-debian.sh --test (or apt install {package})"
        );
        testing::skip_unless_required(test, &reason, testing::under_ci());
        return None;
    }
    version
}

/// A meeting the tests run: its headless host, which serves the guest page.
pub struct Meeting {
    _host: Running,
    /// The host's config folder, where it keeps its page's certificate (declared after the
    /// host, so that it is removed once the host has stopped).
    config: TempFolder,
    pub host_id: u64,
    /// The meeting's link for the program, `videomeet://ADDRESS:PORT/CODE`.
    link: String,
    /// The host's page for this meeting on this computer, `https://127.0.0.1:PORT/CODE`.
    page: String,
}

impl Meeting {
    /// A headless host sending `host_size` pictures, with `args` added, and a config folder
    /// of its own. Returns the meeting and the host's lines (its `joined` event first).
    pub fn host(host_size: &str, args: &[&str]) -> (Self, Native) {
        let config = TempFolder::new("host-config");
        let mut all_args = vec!["--size", host_size];
        all_args.extend_from_slice(args);
        let (mut host, host_lines, joined) =
            common::start_host_with_env(&all_args, [("VIDEOMEET_CONFIG_DIR", config.path())]);
        // `https://LAN-ADDRESS:PORT/CODE`: the same port and code on this computer's own
        // address, which the certificate names too.
        let web_link = joined["web_page"]["link"]
            .as_str()
            .unwrap_or_else(|| panic!("the host serves no guest page: {joined}"));
        let (address, code) = web_link
            .strip_prefix("https://")
            .and_then(|rest| rest.split_once('/'))
            .unwrap_or_else(|| panic!("not a page's link: {web_link}"));
        let (_, port) = address
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("no port in the page's link: {web_link}"));
        let page = format!("https://127.0.0.1:{port}/{code}");
        let mut lines = Native::new("the host", host_lines, host.0.stdin.take());
        let meeting = Self {
            _host: host,
            config,
            host_id: joined["you"].as_u64().expect("the host's id"),
            link: joined["link"].as_str().expect("a meeting link").to_owned(),
            page,
        };
        lines.events.push(joined);
        (meeting, lines)
    }

    /// Opens the host's page in `browser`, with `query` (its test hooks, such as
    /// `name=Ada&join=1`).
    pub fn open_page(&self, browser: Browser, query: &str) -> Page {
        Page::open(
            browser,
            &format!("{}?{query}", self.page),
            &self.config.path().join(HOST_CERTIFICATE),
        )
    }

    /// A headless native guest (`videomeet join`) named `name`, with `args` added, taking
    /// commands on its input.
    pub fn native_guest(&self, name: &str, args: &[&str]) -> Native {
        let mut guest = Running(
            common::videomeet(&["join", "--headless", &self.link, "--name", name])
                .args(args)
                .stdin(Stdio::piped())
                .spawn()
                .expect("the native guest starts"),
        );
        let lines = common::read_lines("guest-output", guest.0.stdout.take().expect("the guest's output"));
        let mut native = Native::new("the native guest", lines, guest.0.stdin.take());
        native.process = Some(guest);
        native
    }
}

/// A browser running the page, and what it logged.
pub struct Page {
    pub browser: Browser,
    process: Running,
    lines: Vec<Receiver<String>>,
    /// The page's reports so far.
    pub reports: Vec<Value>,
    /// The browser's other log lines, for a failure's message.
    pub log: Vec<String>,
    pub started: Instant,
    /// Where Chromium's DevTools listen, once its log said so.
    devtools_address: Option<String>,
    devtools: Option<DevTools>,
    _profile: TempFolder,
}

impl Page {
    /// `browser` on `url`, accepting the host's certificate in `host_pem`.
    fn open(browser: Browser, url: &str, host_pem: &Path) -> Self {
        let profile = TempFolder::new(&format!("browser-guest-{browser:?}"));
        let started = Instant::now();
        let (process, lines) = browser.start(url, profile.path(), host_pem);
        Self {
            browser,
            process,
            lines,
            reports: Vec::new(),
            log: Vec::new(),
            started,
            devtools_address: None,
            devtools: None,
            _profile: profile,
        }
    }

    /// Takes in what the browser logged since the last call; panics when it stopped.
    pub fn read(&mut self) {
        for lines in &self.lines {
            for line in lines.try_iter() {
                match page_report(&line) {
                    Some(report) => self.reports.push(report),
                    // Without a session bus every D-Bus call fails, harmlessly and often.
                    None if line.contains("dbus") || line.contains("DBus") => {}
                    None => {
                        if let Some(address) = line.strip_prefix(devtools::LISTENING) {
                            self.devtools_address = Some(address.trim().to_owned());
                        }
                        self.log.push(line);
                    }
                }
            }
        }
        if let Ok(Some(status)) = self.process.0.try_wait() {
            panic!(
                "{:?} stopped ({status}); its log:\n{}",
                self.browser,
                self.log.join("\n")
            );
        }
    }

    /// The page's reports of `event`.
    pub fn events<'a>(&'a self, event: &'a str) -> impl Iterator<Item = &'a Value> {
        self.reports.iter().filter(move |r| r["event"] == event)
    }

    /// Why the page is out of the meeting, if it is.
    pub fn refusal(&self) -> Option<&Value> {
        self.reports
            .iter()
            .find(|r| ["denied", "closed", "ended", "removed"].contains(&r["event"].as_str().unwrap_or("")))
    }

    /// The browser's id in the meeting, once it has joined.
    pub fn id(&self) -> Option<u64> {
        self.events("welcome").next()?["you"].as_u64()
    }

    /// Whether the page was refused, and why (`denied`).
    pub fn denied(&self) -> Option<&Value> {
        self.events("denied").next()
    }

    /// Whether the page showed a chat message `text` from `id`.
    pub fn chat_from(&self, id: u64, text: &str) -> bool {
        self.events("chat")
            .any(|r| r["from"].as_u64() == Some(id) && r["text"] == text)
    }

    /// What the page was told of `id` leaving (`peer_left`), once it was.
    pub fn left(&self, id: u64) -> Option<&Value> {
        self.events("peer_left")
            .map(|r| &r["message"])
            .find(|message| message["id"].as_u64() == Some(id))
    }

    /// Chromium's DevTools on this page (connected at the first call).
    pub fn devtools(&mut self) -> &mut DevTools {
        assert_eq!(
            self.browser,
            Browser::Chromium,
            "only Chromium is driven through DevTools"
        );
        if self.devtools.is_none() {
            let asked = Instant::now();
            while self.devtools_address.is_none() {
                assert!(
                    asked.elapsed() < DEVTOOLS_WAIT,
                    "Chromium did not say where its DevTools listen; its log:\n{}",
                    self.log.join("\n")
                );
                std::thread::sleep(Duration::from_millis(50));
                self.read();
            }
            self.devtools = self.devtools_address.as_deref().map(DevTools::connect);
        }
        self.devtools.as_mut().expect("connected")
    }

    /// Clicks the element `selector` (CSS) finds, as a user does: it must be shown.
    pub fn click(&mut self, selector: &str) {
        let selector_text = serde_json::to_string(selector).expect("a selector in JSON");
        let clicked = self.devtools().evaluate(&format!(
            "(() => {{
               const target = document.querySelector({selector_text});
               if (!target || target.disabled || target.getClientRects().length === 0) return false;
               target.click();
               return true;
             }})()"
        ));
        assert_eq!(clicked, true, "the page shows no {selector} to click");
    }

    /// Writes `text` in the chat and sends it, as a user does: the chat panel opened with
    /// its button (unless it is open), the text typed, the send button clicked.
    pub fn send_chat(&mut self, text: &str) {
        let panel_open = self
            .devtools()
            .evaluate("document.getElementById(\"chat-button\").getAttribute(\"aria-pressed\") === \"true\"");
        if panel_open != true {
            self.click("#chat-button");
        }
        let text = serde_json::to_string(text).expect("text in JSON");
        self.devtools().evaluate(&format!(
            "(() => {{
               const input = document.getElementById(\"chat-input\");
               input.focus();
               input.value = {text};
               input.dispatchEvent(new InputEvent(\"input\", {{ bubbles: true }}));
             }})()"
        ));
        self.click("#chat-form button[type=submit]");
    }

    /// Screenshots of what the page shows once JavaScript `shown` holds (`what` says what
    /// that is), at a desktop's size and a phone's; kept as `{stage}-desktop.png` and
    /// `{stage}-phone.png` among the test artifacts, and named in the test's output.
    pub fn screenshots(&mut self, stage: &str, shown: &str, what: &str) {
        self.devtools().wait_until(shown, what, SHOWN_WAIT);
        let folder = artifacts_folder();
        std::fs::create_dir_all(&folder).expect("the artifacts folder");
        for viewport in [DESKTOP, PHONE] {
            let png = self.devtools().screenshot(viewport);
            let path = folder.join(format!("{stage}-{}.png", viewport.name));
            std::fs::write(&path, png).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            println!("screenshot: {}", path.display());
        }
    }

    /// Whether the page's connection to `id` is up.
    pub fn connected_to(&self, id: u64) -> bool {
        self.events("connection")
            .any(|r| r["id"].as_u64() == Some(id) && r["state"] == "connected")
    }

    /// What the page measured each second of its connection to `connection`.
    fn stats(&self, connection: u64) -> impl Iterator<Item = &Value> {
        let key = connection.to_string();
        self.events("stats")
            .map(move |r| &r["peers"][&key])
            .filter(|peer| peer.is_object())
    }

    /// Pictures of `track` ("camera", "camera of 3"...) on `connection` the browser decoded
    /// over its reports (growth), and their size.
    pub fn pictures(&self, connection: u64, track: &str) -> (u64, u64, u64) {
        let frames: Vec<&Value> = self.stats(connection).map(|p| &p["in"][track]).collect();
        let decoded = |v: Option<&&Value>| v.and_then(|v| v["frames_decoded"].as_u64()).unwrap_or(0);
        let size = |key: &str| frames.last().and_then(|v| v[key].as_u64()).unwrap_or(0);
        (
            decoded(frames.last()).saturating_sub(decoded(frames.first())),
            size("width"),
            size("height"),
        )
    }

    /// The loudness of `track` ("audio", "audio of 3"...) on `connection` as the browser
    /// played it (RMS from the energy over the reports), and the highest level it reported.
    pub fn loudness(&self, connection: u64, track: &str) -> (f64, f64) {
        let audio: Vec<&Value> = self.stats(connection).map(|p| &p["in"][track]).collect();
        let number = |v: Option<&&Value>, key: &str| v.and_then(|v| v[key].as_f64()).unwrap_or(0.0);
        let energy = number(audio.last(), "energy") - number(audio.first(), "energy");
        let seconds = number(audio.last(), "seconds") - number(audio.first(), "seconds");
        let rms = if seconds >= 1.0 { (energy / seconds).sqrt() } else { 0.0 };
        let level = audio.iter().filter_map(|a| a["level"].as_f64()).fold(0.0, f64::max);
        (rms, level)
    }

    /// The DTLS cipher and SRTP profile the browser reports for `connection`.
    pub fn ciphers(&self, connection: u64) -> Option<(String, String)> {
        let transport = &self.stats(connection).last()?["transport"];
        Some((
            transport["dtls_cipher"].as_str()?.to_owned(),
            transport["srtp_cipher"].as_str()?.to_owned(),
        ))
    }

    /// Whether the page has its camera on its camera m-line to `connection`, and the RTP
    /// packets the browser sent on it so far.
    pub fn camera_sent(&self, connection: u64) -> (bool, u64) {
        let camera = self.stats(connection).last().map(|p| &p["out"]["camera"]);
        (
            camera.is_some_and(|c| c["sending"] == true),
            camera.and_then(|c| c["packets"].as_u64()).unwrap_or(0),
        )
    }

    /// The safety code the page shows for its connection to `id`.
    pub fn safety_code(&self, id: u64) -> Option<&str> {
        self.events("safety_code")
            .filter(|r| r["id"].as_u64() == Some(id))
            .last()?["code"]
            .as_str()
    }

    /// Milliseconds from the page's start to its first decoded remote picture.
    pub fn first_picture_ms(&self) -> Option<f64> {
        self.events("first_picture").next()?["ms"].as_f64()
    }

    /// The width of the screen the page shares, once it does.
    pub fn shared_width(&self) -> Option<u64> {
        self.events("sharing").next()?["width"].as_u64()
    }

    /// The page's problems and the host's refusals, for a failure's message.
    pub fn problems(&self) -> Vec<String> {
        self.reports
            .iter()
            .filter(|r| r["event"] == "problem" || r["event"] == "error")
            .map(Value::to_string)
            .collect()
    }

    /// Everything a browser user would notice missing from `connection`'s `camera` and
    /// `audio` tracks, named `who`.
    pub fn check_received(&self, connection: u64, camera: &str, audio: &str, who: &str, missing: &mut Vec<String>) {
        let (pictures, width, height) = self.pictures(connection, camera);
        if pictures < PICTURES_WANTED || width == 0 {
            missing.push(format!(
                "the browser did not decode {who}'s camera: {pictures} pictures decoded over its reports \
                 (at least {PICTURES_WANTED} wanted), {width}x{height}"
            ));
        }
        let (rms, level) = self.loudness(connection, audio);
        if rms < AUDIBLE || level < AUDIBLE {
            missing.push(format!(
                "the browser did not hear {who}'s tone: RMS {rms:.3}, highest audio level {level:.3} \
                 (at least {AUDIBLE} wanted)"
            ));
        }
        // Firefox decodes sound that nothing plays; a user hears only what an <audio> plays.
        if !self.played(connection, audio) {
            missing.push(format!(
                "the page does not play {who}'s sound (no <audio> element playing it)"
            ));
        }
    }

    /// Whether the page played `track` on `connection` at its last report.
    fn played(&self, connection: u64, track: &str) -> bool {
        self.stats(connection)
            .last()
            .is_some_and(|p| p["in"][track]["played"] == true)
    }

    /// The connection to `connection` is protected as PROTOCOL.md says.
    pub fn check_ciphers(&self, connection: u64, missing: &mut Vec<String>) {
        match self.ciphers(connection) {
            Some((dtls, srtp)) if DTLS_CIPHERS.contains(&dtls.as_str()) && SRTP_PROFILES.contains(&srtp.as_str()) => {}
            other => missing.push(format!(
                "the connection is not protected as PROTOCOL.md says (DTLS {DTLS_CIPHERS:?}, SRTP \
                 {SRTP_PROFILES:?}): {other:?}"
            )),
        }
    }

    /// The page's safety code for `id` is the one `native` shows for the browser.
    pub fn check_safety_code(&self, id: u64, native: &Native, missing: &mut Vec<String>) {
        let ours = self.safety_code(id);
        let theirs = self.id().and_then(|browser| native.safety_code(browser));
        if ours.is_none() || ours != theirs {
            missing.push(format!(
                "the page's safety code for participant {id} is not the one {} shows: {ours:?} and {theirs:?}",
                native.name
            ));
        }
    }

    /// A summary of what arrived, for the test's output.
    pub fn summary(&self, connection: u64, tracks: &[(&str, &str)]) -> String {
        let mut lines: Vec<String> = tracks
            .iter()
            .map(|(camera, audio)| {
                let (pictures, width, height) = self.pictures(connection, camera);
                let (rms, level) = self.loudness(connection, audio);
                format!(
                    "browser, {camera}: {pictures} pictures at {width}x{height}; {audio}: RMS {rms:.3}, \
                     highest level {level:.3}"
                )
            })
            .collect();
        lines.push(format!(
            "connection (the browser's stats): {:?}; safety code {:?}",
            self.ciphers(connection),
            self.safety_code(connection)
        ));
        lines.join("\n")
    }

    /// The join time, for the test's output: from the page's start to its first picture.
    pub fn join_time(&self) -> String {
        match self.first_picture_ms() {
            Some(ms) => format!(
                "join time ({:?}): first picture {ms:.0} ms after the page started",
                self.browser
            ),
            None => format!("join time ({:?}): no picture", self.browser),
        }
    }

    /// The failure message when something did not arrive.
    pub fn failure(&self, missing: &[String]) -> String {
        let log_tail = &self.log[self.log.len().saturating_sub(30)..];
        let silent = if self.reports.is_empty() {
            "\nthe page reported nothing: did it load? (Was the host's certificate refused?)"
        } else {
            ""
        };
        format!(
            "after {:.0} s, what did not arrive:\n  - {}{silent}\nthe page's problems and the host's refusals: \
             {:?}\nthe browser's log (last lines):\n{}\nthe page's last report: {}",
            self.started.elapsed().as_secs_f64(),
            missing.join("\n  - "),
            self.problems(),
            log_tail.join("\n"),
            self.events("stats").last().unwrap_or(&Value::Null),
        )
    }
}

impl Drop for Page {
    /// Closes Chromium through DevTools when they are connected: killed, its helper
    /// processes would go on writing in its profile for a moment, after it is removed.
    fn drop(&mut self) {
        let Some(devtools) = &mut self.devtools else {
            return;
        };
        devtools.close_browser();
        let asked = Instant::now();
        while matches!(self.process.0.try_wait(), Ok(None)) && asked.elapsed() < BROWSER_CLOSE_WAIT {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A native participant's JSON lines, and its input for commands: the host or a guest.
pub struct Native {
    pub name: &'static str,
    lines: Receiver<String>,
    pub events: Vec<Value>,
    input: Option<ChildStdin>,
    /// A guest's process, ended with it.
    process: Option<Running>,
}

impl Native {
    pub fn new(name: &'static str, lines: Receiver<String>, input: Option<ChildStdin>) -> Self {
        Self {
            name,
            lines,
            events: Vec::new(),
            input,
            process: None,
        }
    }

    /// Gives it `command` (a headless meeting's command line, such as
    /// `{"command":"leave"}`).
    pub fn send(&mut self, command: &Value) {
        use std::io::Write;
        let input = self.input.as_mut().expect("its input is open");
        writeln!(input, "{command}")
            .and_then(|()| input.flush())
            .unwrap_or_else(|error| panic!("{} did not take {command}: {error}", self.name));
    }

    /// Whether it printed a chat message `text` from `id`.
    pub fn chat_from(&self, id: u64, text: &str) -> bool {
        self.events
            .iter()
            .any(|e| e["event"] == "chat" && e["from"].as_u64() == Some(id) && e["text"] == text)
    }

    /// What it was told of `id` leaving (`peer_left`), once it was.
    pub fn left(&self, id: u64) -> Option<&Value> {
        self.events
            .iter()
            .find(|e| e["event"] == "peer_left" && e["id"].as_u64() == Some(id))
    }

    pub fn read(&mut self) {
        for line in self.lines.try_iter() {
            if let Ok(event) = serde_json::from_str(&line) {
                self.events.push(event);
            }
        }
    }

    /// The participant's id, from its `joined` event (a guest's; the host's comes first).
    pub fn id(&self) -> Option<u64> {
        self.events.iter().find(|e| e["event"] == "joined")?["you"].as_u64()
    }

    /// The safety code it shows for its connection to `id`.
    pub fn safety_code(&self, id: u64) -> Option<&str> {
        self.events
            .iter()
            .rev()
            .find(|e| e["event"] == "safety_code" && e["id"].as_u64() == Some(id))?["code"]
            .as_str()
    }

    /// `video_stats` of `id`'s `feed` ("camera" or "screen"), in order, with their index
    /// among all lines.
    pub fn video(&self, id: u64, feed: &str) -> Vec<(usize, &Value)> {
        self.events
            .iter()
            .enumerate()
            .filter(|(_, e)| e["event"] == "video_stats" && e["feed"] == feed && e["id"].as_u64() == Some(id))
            .collect()
    }

    /// Seconds in which what it heard was audible with the browser's tone in it.
    pub fn heard_browser_tone(&self) -> usize {
        self.events
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

    fn first_audio_from(&self, id: u64) -> Option<&Value> {
        self.events
            .iter()
            .find(|e| e["event"] == "first_audio" && e["id"].as_u64() == Some(id))
    }

    /// It decoded the browser's (`id`'s) camera and heard its tone.
    pub fn check_received(&self, id: u64, missing: &mut Vec<String>) {
        self.check_camera(id, missing);
        self.check_sound(id, missing);
    }

    /// It decoded the browser's (`id`'s) camera, smoothly.
    pub fn check_camera(&self, id: u64, missing: &mut Vec<String>) {
        let camera = self.video(id, "camera");
        let smooth = camera.iter().filter(|(_, e)| e["fps"].as_f64() >= Some(10.0)).count();
        if smooth < SMOOTH_SECONDS_WANTED {
            missing.push(format!(
                "{} did not decode the browser's camera: {smooth} seconds at 10 fps or more \
                 ({SMOOTH_SECONDS_WANTED} wanted), WxH@fps each second: {:?}",
                self.name,
                brief(&camera)
            ));
        }
    }

    /// It heard the browser's (`id`'s) tone.
    pub fn check_sound(&self, id: u64, missing: &mut Vec<String>) {
        if self.first_audio_from(id).is_none() || self.heard_browser_tone() < 3 {
            missing.push(format!(
                "{} did not hear the browser's microphone (a {BROWSER_TONE_HZ} Hz tone): first sound from \
                 participant {id}: {:?}, seconds with the tone: {} (3 wanted)",
                self.name,
                self.first_audio_from(id),
                self.heard_browser_tone()
            ));
        }
    }

    /// The browser's (`id`'s) screen, `shared_width` wide, reached it as a screen, and its
    /// camera went on beside it.
    pub fn check_screen(&self, id: u64, shared_width: Option<u64>, missing: &mut Vec<String>) {
        let Some(shared_width) = shared_width else {
            missing.push("the page did not share a screen (getDisplayMedia)".into());
            return;
        };
        let told = self
            .events
            .iter()
            .any(|e| e["event"] == "media_state" && e["id"].as_u64() == Some(id) && e["media"]["screen"] == true);
        if !told {
            missing.push(format!(
                "{} was not told that the browser shares its screen (media_state)",
                self.name
            ));
        }
        let screen = self.video(id, "screen");
        let shown = screen
            .iter()
            .filter(|(_, e)| e["fps"].as_f64() > Some(0.0) && e["width"].as_u64() == Some(shared_width))
            .count();
        if shown < 2 {
            missing.push(format!(
                "{} did not decode the browser's screen as a screen: {shown} seconds of {shared_width}-wide \
                 screen pictures (2 wanted), WxH@fps each second: {:?}",
                self.name,
                brief(&screen)
            ));
        }
        // The screen must not take the camera's place.
        let camera = self.video(id, "camera");
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
                "{} did not keep decoding the browser's camera beside its screen: {camera_beside} seconds \
                 of camera after the screen came (2 wanted)",
                self.name
            ));
        }
    }

    /// What it received from the browser (`id`), for the test's output.
    pub fn summary(&self, id: Option<u64>) -> String {
        let id = id.unwrap_or(u64::MAX);
        let heard: Vec<String> = self
            .events
            .iter()
            .filter(|e| e["event"] == "audio_stats")
            .map(|e| format!("{}{}", e["rms"], e["tones_hz"]))
            .collect();
        format!(
            "{0}, from the browser (video_stats WxH@fps): camera {1:?}\n\
             {0}, from the browser: screen {2:?}\n\
             {0} heard (RMS[tones Hz]): {heard:?}",
            self.name,
            brief(&self.video(id, "camera")),
            brief(&self.video(id, "screen")),
        )
    }
}

/// `video_stats` lines as WIDTHxHEIGHT@FPS.
fn brief(stats: &[(usize, &Value)]) -> Vec<String> {
    stats
        .iter()
        .map(|(_, e)| format!("{}x{}@{}", e["width"], e["height"], e["fps"]))
        .collect()
}

/// Reads the page and the native participants every 100 ms until `missing` (what is still
/// lacking, one sentence each) is empty or `deadline` has passed since the page started.
/// Returns what is still missing.
pub fn watch(
    page: &mut Page,
    natives: &mut [&mut Native],
    deadline: Duration,
    missing: impl Fn(&Page, &[&mut Native]) -> Vec<String>,
) -> Vec<String> {
    loop {
        read_all(page, natives);
        if let Some(refusal) = page.refusal() {
            panic!("the page was turned away or lost the meeting: {refusal}");
        }
        let lacking = missing(page, natives);
        if lacking.is_empty() || page.started.elapsed() > deadline {
            return lacking;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Reads the page and the native participants every 50 ms until `done` holds (then returns
/// true) or `timeout` has passed.
pub fn wait_until(
    page: &mut Page,
    natives: &mut [&mut Native],
    timeout: Duration,
    done: impl Fn(&Page, &[&mut Native]) -> bool,
) -> bool {
    let start = Instant::now();
    loop {
        read_all(page, natives);
        if done(page, natives) {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read_all(page: &mut Page, natives: &mut [&mut Native]) {
    page.read();
    for native in natives.iter_mut() {
        native.read();
    }
}

/// `natives[sender]` writes `text` to everyone (its `chat` command); the page must show it.
/// Returns what is missing.
pub fn check_chat_to_page(page: &mut Page, natives: &mut [&mut Native], sender: usize, text: &str) -> Vec<String> {
    let from = natives[sender].id().expect("the sender is in the meeting");
    natives[sender].send(&json!({"command": "chat", "text": text}));
    if wait_until(page, natives, ANSWER_WAIT, |page, _| page.chat_from(from, text)) {
        Vec::new()
    } else {
        vec![format!(
            "the page did not show {}'s chat message {text:?} within {ANSWER_WAIT:?}; what it showed: {:?}",
            natives[sender].name,
            page.events("chat").collect::<Vec<_>>()
        )]
    }
}

/// The page, which joined with a wrong passcode, was refused for it (`denied` with
/// `wrong_passcode`) and never let in. Returns what is missing.
pub fn check_wrong_passcode_refused(page: &mut Page, natives: &mut [&mut Native]) -> Vec<String> {
    let answered = wait_until(page, natives, ANSWER_WAIT, |page, _| {
        page.denied().is_some() || page.id().is_some()
    });
    match (answered, page.denied(), page.id()) {
        (_, Some(denied), None) if denied["message"]["reason"] == "wrong_passcode" => Vec::new(),
        (false, ..) => vec![format!(
            "the page with a wrong passcode was neither refused nor let in within {ANSWER_WAIT:?}"
        )],
        (_, denied, id) => vec![format!(
            "the page with a wrong passcode was not refused for it: refused {denied:?}, let in as {id:?}"
        )],
    }
}

/// Where the tests keep what a person may want to look at after a run (the page's
/// screenshots): `test-artifacts/browser-guest/` in the target folder.
pub fn artifacts_folder() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .join("test-artifacts")
        .join("browser-guest")
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

/// A new folder in the temporary folder (a browser's profile, a host's config), removed
/// when the test is done with it.
struct TempFolder(PathBuf);

impl TempFolder {
    fn new(what: &str) -> Self {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let number = MADE.fetch_add(1, Ordering::Relaxed);
        let folder = std::env::temp_dir().join(format!("videomeet-{what}-{}-{number}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).expect("a temporary folder");
        Self(folder)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

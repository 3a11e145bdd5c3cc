//! Chromium driven through its DevTools protocol, as a user drives the page: clicks and
//! typing, and screenshots of what the page shows.
//!
//! Chromium started with `--remote-debugging-port=0` logs where it listens
//! (`DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID`); one WebSocket there
//! reaches its page through a session attached to it.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

/// What Chromium's log line giving its DevTools address starts with.
pub const LISTENING: &str = "DevTools listening on ";

/// The longest a command may take; a screenshot, the slowest, takes well under a second.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// How often a condition in the page is looked at while waiting for it, in milliseconds.
const LOOK_EVERY_MS: u32 = 50;

/// A size the page is shown at for a screenshot.
#[derive(Clone, Copy, Debug)]
pub struct Viewport {
    /// What the screenshot's file is called after.
    pub name: &'static str,
    pub width: u32,
    pub height: u32,
    /// A phone's: the page's viewport meta tag applies, as on a phone.
    pub mobile: bool,
}

/// A laptop's window.
pub const DESKTOP: Viewport = Viewport {
    name: "desktop",
    width: 1280,
    height: 800,
    mobile: false,
};

/// A phone held upright.
pub const PHONE: Viewport = Viewport {
    name: "phone",
    width: 390,
    height: 844,
    mobile: true,
};

/// A DevTools connection to a browser's one page.
pub struct DevTools {
    socket: WebSocket<TcpStream>,
    /// The session attached to the page, which page commands go to.
    session: String,
    last_id: u64,
}

impl DevTools {
    /// Connects to the browser at `url` (as it logged after [`LISTENING`]) and attaches to
    /// its page, once that has loaded.
    pub fn connect(url: &str) -> Self {
        let address = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("not a DevTools address: {url}"));
        let stream = TcpStream::connect(address).unwrap_or_else(|error| panic!("DevTools at {url}: {error}"));
        stream
            .set_read_timeout(Some(COMMAND_TIMEOUT))
            .expect("a read timeout for DevTools");
        let (socket, _) = tungstenite::client(url, stream).unwrap_or_else(|error| panic!("DevTools at {url}: {error}"));
        let mut devtools = Self {
            socket,
            session: String::new(),
            last_id: 0,
        };
        let targets = devtools.command(None, "Target.getTargets", json!({}));
        let page = targets["targetInfos"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|target| target["type"] == "page")
            .unwrap_or_else(|| panic!("the browser has no page: {targets}"))["targetId"]
            .clone();
        let attached = devtools.command(
            None,
            "Target.attachToTarget",
            json!({"targetId": page, "flatten": true}),
        );
        devtools.session = attached["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session on the page: {attached}"))
            .to_owned();
        devtools.wait_for_load();
        devtools
    }

    /// Waits until the page has loaded: before, what runs in it may run in the blank page
    /// a browser starts with, or be lost when the page replaces it.
    fn wait_for_load(&mut self) {
        let asked = Instant::now();
        let loaded = json!({
            "expression": "location.protocol !== \"about:\" && document.readyState === \"complete\"",
            "returnByValue": true,
        });
        loop {
            let session = self.session.clone();
            match self.try_command(Some(&session), "Runtime.evaluate", loaded.clone()) {
                Ok(answer) if answer["result"]["value"] == true => return,
                answer => assert!(
                    asked.elapsed() < COMMAND_TIMEOUT,
                    "the page did not load within {COMMAND_TIMEOUT:?}: {answer:?}"
                ),
            }
            std::thread::sleep(Duration::from_millis(u64::from(LOOK_EVERY_MS)));
        }
    }

    /// Sends `method` with `params` to the page; returns its result.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.command(Some(&session), method, params)
    }

    /// Sends a command, to the page's session or the browser; returns its result.
    fn command(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.try_command(session, method, params)
            .unwrap_or_else(|error| panic!("DevTools {method} failed: {error}"))
    }

    /// Sends a command and waits for its answer (the events that come meanwhile are not
    /// needed): its result, or the error it was answered with.
    fn try_command(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value, String> {
        self.last_id += 1;
        let id = self.last_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = session.into();
        }
        self.socket
            .send(Message::text(message.to_string()))
            .map_err(|error| format!("not sent ({error})"))?;
        loop {
            let answer = match self.socket.read() {
                Ok(Message::Text(text)) => text,
                Ok(_) => continue,
                Err(error) => return Err(format!("no answer ({error})")),
            };
            let mut answer: Value = serde_json::from_str(answer.as_str()).map_err(|error| error.to_string())?;
            if answer["id"] != id {
                continue;
            }
            return match answer.get_mut("error") {
                Some(error) => Err(error.to_string()),
                None => Ok(answer["result"].take()),
            };
        }
    }

    /// Asks the browser to close, as its user would: its helper processes end with it.
    pub fn close_browser(&mut self) {
        // It may close before it answers.
        let _ = self.try_command(None, "Browser.close", json!({}));
    }

    /// Runs JavaScript `expression` in the page (awaiting it when it is a promise); returns
    /// its value.
    pub fn evaluate(&mut self, expression: &str) -> Value {
        let mut result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            let why = exception["exception"]["description"]
                .as_str()
                .or(exception["text"].as_str())
                .unwrap_or("no description");
            panic!("the page could not run `{expression}`: {why}");
        }
        result["result"]["value"].take()
    }

    /// Waits until JavaScript `condition` holds in the page, at most `timeout`; panics
    /// saying that `what` did not show otherwise. While the page is still loading, the
    /// condition may fail: then it is looked at again.
    pub fn wait_until(&mut self, condition: &str, what: &str, timeout: Duration) {
        let shown = self.evaluate(&format!(
            "new Promise((resolve) => {{
               const until = performance.now() + {timeout_ms};
               let failed = null;
               const look = () => {{
                 let holds = false;
                 try {{
                   holds = Boolean({condition});
                 }} catch (error) {{
                   failed = String(error);
                 }}
                 if (holds) resolve(true);
                 else if (performance.now() > until) resolve(failed);
                 else setTimeout(look, {LOOK_EVERY_MS});
               }};
               look();
             }})",
            timeout_ms = timeout.as_millis()
        ));
        assert_eq!(
            shown, true,
            "the page did not show {what} within {timeout:?} (the last failure to look: {shown})"
        );
    }

    /// A PNG of what the page shows at `viewport`'s size, taken once it has laid itself
    /// out again for it; the page gets its own size back afterwards.
    pub fn screenshot(&mut self, viewport: Viewport) -> Vec<u8> {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": viewport.width,
                "height": viewport.height,
                "deviceScaleFactor": 1,
                "mobile": viewport.mobile,
            }),
        );
        // Two frames: the new size's layout, then its painting.
        self.evaluate(
            "new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve(true))))",
        );
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        self.call("Emulation.clearDeviceMetricsOverride", json!({}));
        let png = shot["data"]
            .as_str()
            .and_then(base64_decode)
            .unwrap_or_else(|| panic!("the {} screenshot is no base64", viewport.name));
        let size = png_size(&png);
        assert_eq!(
            size,
            Some((viewport.width, viewport.height)),
            "the {} screenshot is not a PNG of the page's size",
            viewport.name
        );
        png
    }
}

/// Standard base64 (with padding), as DevTools sends binary data; `None` when `text` is not.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |symbol: u8| match symbol {
        b'A'..=b'Z' => Some(symbol - b'A'),
        b'a'..=b'z' => Some(symbol - b'a' + 26),
        b'0'..=b'9' => Some(symbol - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let text = text.trim_end_matches('=').as_bytes();
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0);
    for &symbol in text {
        bits = (bits << 6) | u32::from(value(symbol)?);
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
        }
    }
    Some(bytes)
}

/// The width and height in a PNG's header, when `png` is one.
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    // The signature, then the IHDR chunk: its length, its type, the width, the height.
    if !png.starts_with(SIGNATURE) || png.get(12..16)? != b"IHDR" {
        return None;
    }
    let number = |at: usize| Some(u32::from_be_bytes(png.get(at..at + 4)?.try_into().ok()?));
    Some((number(16)?, number(20)?))
}

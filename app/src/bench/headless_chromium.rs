//! How Video Meet runs Debian's Chromium without a window, shared by `videomeet bench`
//! (`app/src/bench/chromium.rs`) and the browser guest tests (`app/tests/browser/`): its
//! flags, and a page's reports read back from its log.

use serde_json::Value;

/// Accepts the host's own certificate for its guest page, which no authority vouches for,
/// as a guest does by clicking through the browser's warning once.
pub const ACCEPT_HOST_CERTIFICATE: &str = "--ignore-certificate-errors";

/// Headless, with a fake camera (a moving test pattern at `camera_fps` pictures a second),
/// microphone (a short 400 Hz beep every half second) and screen (`getDisplayMedia` gets a
/// test pattern), media permissions granted without asking (screen capture included), sound
/// played without a click, and the page's console written to stderr. The program is
/// `chromium`; the page and `--user-data-dir` come after these.
///
/// The fake camera runs at 20 pictures a second unless told otherwise, whatever frame rate
/// the page asks `getUserMedia` for.
pub fn flags(camera_fps: u32) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--use-fake-ui-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
        "--enable-logging=stderr",
        "--v=0",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([format!("--use-fake-device-for-media-stream=fps={camera_fps}")])
    .collect()
}

/// The JSON a page logged with `console.log(tag + " " + JSON.stringify(...))`, from a
/// browser log line such as
/// `[1:1:1203/053634.752743:INFO:CONSOLE:25] "tag {...}", source: http://... (25)`.
pub fn page_report(line: &str, tag: &str) -> Option<Value> {
    let start = line.find(tag)? + tag.len();
    let json = line.get(start..)?.strip_prefix(' ')?;
    let end = json.rfind("\", source:").unwrap_or(json.len());
    serde_json::from_str(json.get(..end)?).ok()
}

//! Is there a newer release? Asked only when the user turned it on (a LAN often has no
//! internet, and a meeting program should not call out unasked). Never downloads anything:
//! the app shows a notice with the release's page.

use std::time::Duration;

/// Where releases are listed (GitHub's "latest release" API for our repository).
/// `VIDEOMEET_UPDATE_URL` points the check elsewhere (a mirror, or a test server).
pub fn release_url() -> String {
    std::env::var("VIDEOMEET_UPDATE_URL").unwrap_or_else(|_| {
        let repository = env!("CARGO_PKG_REPOSITORY").trim_start_matches("https://github.com/");
        format!("https://api.github.com/repos/{repository}/releases/latest")
    })
}

/// How long the check may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Release descriptions larger than this are not ours.
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// A newer release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    /// Its version, "1.2.0".
    pub version: String,
    /// Its page, where the packages are.
    pub page: String,
}

/// Asks `url` for the latest release; `Some` when it is newer than `current`.
/// Blocks up to a few seconds: call it from a thread of its own.
pub fn newer_release(url: &str, current: &str) -> Result<Option<Release>, String> {
    let agent = ureq::AgentBuilder::new().timeout(TIMEOUT).build();
    let response = agent
        .get(url)
        .set("Accept", "application/vnd.github+json")
        .set("User-Agent", concat!("videomeet/", env!("CARGO_PKG_VERSION")))
        .call()
        .map_err(|error| format!("could not ask for updates: {error}"))?;
    let mut body = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(response.into_reader(), MAX_RESPONSE_BYTES),
        &mut body,
    )
    .map_err(|error| format!("could not read the release list: {error}"))?;
    newer_in(&body, current)
}

/// Reads a release description (`tag_name`, `html_url`) and compares it with `current`.
fn newer_in(body: &str, current: &str) -> Result<Option<Release>, String> {
    #[derive(serde::Deserialize)]
    struct Latest {
        tag_name: String,
        html_url: String,
    }
    let latest: Latest = serde_json::from_str(body).map_err(|error| format!("unexpected release list: {error}"))?;
    let version = latest.tag_name.trim_start_matches('v').to_owned();
    let (Some(theirs), Some(ours)) = (parse_version(&version), parse_version(current)) else {
        return Err(format!("unexpected release version \"{}\"", latest.tag_name));
    };
    if !latest.html_url.starts_with("https://") {
        return Err("the release page is not an https link".into());
    }
    Ok((theirs > ours).then_some(Release {
        version,
        page: latest.html_url,
    }))
}

/// "1.2.3" (a pre-release suffix ignored) as numbers to compare.
fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let core = text.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|part| part.parse::<u64>().ok());
    let version = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(version)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;

    fn release(tag: &str) -> String {
        format!(
            r#"{{"tag_name": "{tag}", "html_url": "https://github.com/videomeet/videomeet/releases/tag/{tag}", "assets": []}}"#
        )
    }

    #[test]
    fn only_a_higher_version_is_newer() {
        let newer = newer_in(&release("v0.2.0"), "0.1.0").expect("parses");
        assert_eq!(newer.map(|r| r.version), Some("0.2.0".into()));
        assert_eq!(newer_in(&release("v0.1.0"), "0.1.0"), Ok(None));
        assert_eq!(newer_in(&release("v0.0.9"), "0.1.0"), Ok(None));
        assert_eq!(newer_in(&release("0.10.0"), "0.9.3").map(|r| r.is_some()), Ok(true));
        assert_eq!(
            newer_in(&release("v1.0.0-rc.1"), "0.9.0").map(|r| r.is_some()),
            Ok(true)
        );
    }

    #[test]
    fn odd_answers_are_errors_not_notices() {
        for body in ["", "<html>", r#"{"tag_name": 3}"#, &release("latest"), &release("1.2")] {
            assert!(newer_in(body, "0.1.0").is_err(), "{body}");
        }
        let plain_http = r#"{"tag_name": "v9.0.0", "html_url": "http://example.com/"}"#;
        assert!(newer_in(plain_http, "0.1.0").is_err());
    }

    /// Answers one HTTP request with `body` on a local port; returns the URL.
    fn serve_once(body: String) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/releases/latest", listener.local_addr().expect("address"));
        std::thread::Builder::new()
            .name("release-server".into())
            .spawn(move || {
                if let Ok((mut stream, _)) = listener.accept() {
                    let mut request = [0u8; 4096];
                    let _ = stream.read(&mut request);
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes());
                }
            })
            .expect("server thread");
        url
    }

    #[test]
    fn a_release_server_is_asked_over_http() {
        let url = serve_once(release("v7.0.0"));
        let newer = newer_release(&url, "0.1.0").expect("answered");
        assert_eq!(newer.map(|r| r.version), Some("7.0.0".into()));
        let garbage = serve_once("not json".into());
        assert!(newer_release(&garbage, "0.1.0").is_err());
    }

    #[test]
    fn nobody_answering_is_an_error_in_time() {
        let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/", closed.local_addr().expect("address"));
        drop(closed);
        let started = std::time::Instant::now();
        assert!(newer_release(&url, "0.1.0").is_err());
        assert!(started.elapsed() < TIMEOUT + Duration::from_secs(1));
    }
}

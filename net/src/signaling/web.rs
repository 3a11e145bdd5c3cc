//! The meeting port speaks to browsers too: the guest page over HTTPS, and its WebSocket
//! over the same TLS, beside the native clients' plain WebSocket.
//!
//! Browsers give a page the camera and microphone only in a secure context, and a LAN
//! address over plain HTTP is not one; so the host serves its page over HTTPS with a
//! certificate it makes itself and keeps ([`WebIdentity`]). No authority vouches for it:
//! a browser warns once, and a careful guest compares the fingerprint the page's address
//! bar shows with the one in the host's Meeting info.
//!
//! One listener answers everything: a connection whose first byte starts a TLS handshake
//! is TLS, anything else plain. Inside either, the request head says whether it is a
//! WebSocket upgrade (the meeting) or a page request. A page asked for over plain HTTP is
//! sent to its HTTPS address.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use super::connection;
use super::server::{ConnectionSlot, Shared};
use crate::protocol::limits;

/// A byte stream a connection runs on: plain TCP, or TLS over it.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A connection's stream, whichever it is.
pub(crate) type Io = Box<dyn Stream>;

/// How long a certificate the host makes is valid. Some browsers refuse any server
/// certificate valid for longer than 825 days, even one the user accepted.
const VALID_DAYS: i64 = 800;

/// A certificate made again this long before it expires.
const RENEW_BEFORE_DAYS: i64 = 30;

/// The most a request head may take; a page request is far smaller.
const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// The guest page's files, built into the program.
const PAGE: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/guest.js");
const STYLE: &str = include_str!("page/guest.css");

/// The page's files together, in bytes: what a browser downloads to join (they are sent
/// uncompressed, each with a header of about 300 bytes).
pub const GUEST_PAGE_BYTES: usize = PAGE.len() + SCRIPT.len() + STYLE.len();

/// What the page may load and where it may connect: only this host (its own WebSocket
/// included), nothing from elsewhere.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The host's TLS certificate and key for its guest page.
pub struct WebIdentity {
    certificate: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl std::fmt::Debug for WebIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebIdentity")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

/// Why a certificate could not be made or kept.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("the certificate could not be made: {0}")]
    Make(#[from] rcgen::Error),
    #[error("the certificate could not be saved in {path}: {source}")]
    Save { path: String, source: io::Error },
}

impl WebIdentity {
    /// A new certificate for `names` (host names and IP addresses the page is reached by),
    /// with the PEM text to keep it (the certificate, then its key).
    fn make(names: &[String]) -> Result<(Self, String), IdentityError> {
        let mut params = rcgen::CertificateParams::new(names.to_vec())?;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(VALID_DAYS);
        let mut name = rcgen::DistinguishedName::new();
        name.push(rcgen::DnType::CommonName, "Video Meet host");
        params.distinguished_name = name;
        let key = rcgen::KeyPair::generate()?;
        let certificate = params.self_signed(&key)?;
        let pem = format!("{}{}", certificate.pem(), key.serialize_pem());
        let identity = Self {
            certificate: certificate.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        };
        Ok((identity, pem))
    }

    /// A new certificate for `names`, kept nowhere (a meeting whose page need not stay
    /// recognisable, as in tests).
    pub fn generate(names: &[String]) -> Result<Self, IdentityError> {
        Self::make(names).map(|(identity, _)| identity)
    }

    /// The certificate kept in `path`, or a new one for `names` saved there when there is
    /// none, it cannot be read, or it expires within [`RENEW_BEFORE_DAYS`] (told by the
    /// file's age). The file is readable by its owner only.
    pub fn load_or_create(path: &Path, names: &[String]) -> Result<Self, IdentityError> {
        let age = std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok());
        let fresh = age.is_some_and(|age| age.as_secs() < ((VALID_DAYS - RENEW_BEFORE_DAYS) * 86_400) as u64);
        if fresh && let Some(kept) = Self::load(path) {
            return Ok(kept);
        }
        let (identity, pem) = Self::make(names)?;
        save_private(path, &pem).map_err(|source| IdentityError::Save {
            path: path.display().to_string(),
            source,
        })?;
        Ok(identity)
    }

    fn load(path: &Path) -> Option<Self> {
        let pem = std::fs::read(path).ok()?;
        let certificate = CertificateDer::from_pem_slice(&pem).ok()?;
        let PrivateKeyDer::Pkcs8(key) = PrivateKeyDer::from_pem_slice(&pem).ok()? else {
            return None;
        };
        Some(Self { certificate, key })
    }

    /// The certificate's SHA-256 fingerprint as browsers show it: upper-case hex bytes
    /// separated by colons.
    pub fn fingerprint(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.certificate);
        digest
            .as_ref()
            .iter()
            .map(|byte| format!("{byte:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// A TLS acceptor presenting this certificate.
    pub(crate) fn acceptor(&self) -> Result<TlsAcceptor, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![self.certificate.clone()],
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// Writes `text` to `path` (its folder made if need be), readable by its owner only. It is
/// written beside and renamed into place, so that meetings started at once never read
/// half a file.
fn save_private(path: &Path, text: &str) -> io::Result<()> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let mut part = path.as_os_str().to_owned();
    part.push(format!(".{}.part", std::process::id()));
    let part = std::path::PathBuf::from(part);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&part)
        .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()))
        .and_then(|()| std::fs::rename(&part, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    written
}

/// The names a host's certificate is made for: this computer's addresses on the LAN and
/// its loopback names.
pub fn certificate_names() -> Vec<String> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    names.extend(
        if_addrs::get_if_addrs()
            .unwrap_or_default()
            .into_iter()
            .filter(|interface| !interface.is_loopback())
            .map(|interface| interface.ip())
            .filter(|ip| !matches!(ip, IpAddr::V6(v6) if v6.is_unicast_link_local()))
            .map(|ip| ip.to_string()),
    );
    names.dedup();
    names
}

/// A request's first line and the headers that decide where it goes.
#[derive(Debug, PartialEq)]
struct RequestHead {
    method: String,
    path: String,
    host: Option<String>,
    upgrade: bool,
}

impl RequestHead {
    /// Reads a request head (through the blank line) from `bytes`; `None` when it is not
    /// one.
    fn parse(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
        let (mut host, mut upgrade) = (None, false);
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("host") {
                host = Some(value.to_owned());
            } else if name.eq_ignore_ascii_case("upgrade") {
                upgrade = value.eq_ignore_ascii_case("websocket");
            }
        }
        Some(Self {
            method,
            path,
            host,
            upgrade,
        })
    }
}

/// Where a connection goes once its request head is read.
enum Route {
    /// A WebSocket upgrade: the meeting's connection, the head read again by its handshake.
    Meeting(Io),
    /// A page request, and whether it came over TLS.
    Page(Io, RequestHead, bool),
    /// A head that is no request.
    Malformed(Io),
}

/// Serves one accepted connection: TLS or plain, then the meeting or a page. Until the
/// request head is read, the connection gives its slot up to a newcomer as one that has
/// not said `hello` does.
pub(crate) async fn serve(stream: TcpStream, peer: SocketAddr, slot: ConnectionSlot, shared: Arc<Shared>) {
    let routed = tokio::select! {
        routed = tokio::time::timeout(limits::HANDSHAKE_TIMEOUT, route(stream, peer, &shared)) => routed,
        () = slot.make_room() => return,
    };
    match routed {
        Ok(Some(Route::Meeting(stream))) => connection::serve(stream, peer, slot, shared).await,
        Ok(Some(Route::Page(mut stream, request, secure))) => {
            respond(&mut stream, page_response(&request, secure, shared.local_port)).await;
        }
        Ok(Some(Route::Malformed(mut stream))) => respond(&mut stream, Response::status(400, "Bad Request")).await,
        Ok(None) | Err(_) => {}
    }
}

/// TLS when the first byte starts a handshake, then the request head.
async fn route(stream: TcpStream, peer: SocketAddr, shared: &Shared) -> Option<Route> {
    let mut first = [0u8; 1];
    let secure = stream.peek(&mut first).await.ok()? == 1 && first[0] == TLS_HANDSHAKE;
    let mut stream: Io = if secure {
        match shared.tls.accept(stream).await {
            Ok(tls) => Box::new(tls),
            Err(error) => {
                // A browser that has not accepted the certificate yet closes here.
                tracing::debug!(%peer, %error, "TLS handshake failed");
                return None;
            }
        }
    } else {
        Box::new(stream)
    };
    let head = read_head(&mut stream).await.ok()?;
    Some(match RequestHead::parse(&head) {
        Some(request) if request.upgrade => Route::Meeting(Box::new(Rewind::new(head, stream))),
        Some(request) => Route::Page(stream, request, secure),
        None => Route::Malformed(stream),
    })
}

/// Reads up to and including the blank line that ends a request head.
async fn read_head(stream: &mut Io) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_REQUEST_HEAD || stream.read(&mut byte).await? == 0 {
            return Err(io::ErrorKind::InvalidData.into());
        }
        head.push(byte[0]);
    }
    Ok(head)
}

/// An HTTP response, whole.
struct Response {
    status: u16,
    reason: &'static str,
    headers: Vec<(&'static str, String)>,
    body: &'static [u8],
}

impl Response {
    fn status(status: u16, reason: &'static str) -> Self {
        Self {
            status,
            reason,
            headers: vec![("Content-Type", "text/plain; charset=utf-8".into())],
            body: reason.as_bytes(),
        }
    }

    fn file(content_type: &str, body: &'static str) -> Self {
        Self {
            status: 200,
            reason: "OK",
            headers: vec![
                ("Content-Type", content_type.into()),
                ("Content-Security-Policy", CONTENT_SECURITY_POLICY.into()),
                // The page changes with the program; a stale copy would speak an old protocol.
                ("Cache-Control", "no-cache".into()),
            ],
            body: body.as_bytes(),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut text = format!("HTTP/1.1 {} {}\r\n", self.status, self.reason);
        for (name, value) in &self.headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str(&format!(
            "Content-Length: {}\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\
             Connection: close\r\n\r\n",
            self.body.len()
        ));
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(self.body);
        bytes
    }
}

/// What a page request gets: the page (at `/` and at `/CODE`), its script and style, a
/// redirect to HTTPS when asked over plain HTTP, or 404.
fn page_response(request: &RequestHead, secure: bool, port: u16) -> Response {
    if request.method != "GET" && request.method != "HEAD" {
        return Response::status(405, "Method Not Allowed");
    }
    if !secure {
        // Only the host's own address is trusted to name itself: a redirect elsewhere
        // would send the guest to another site.
        let host = request
            .host
            .as_deref()
            .and_then(|host| host.rsplit_once(':').map_or(Some(host), |(name, _)| Some(name)))
            .filter(|name| is_plain_host(name))
            .unwrap_or("localhost");
        let path = if request.path.starts_with('/') {
            request.path.as_str()
        } else {
            "/"
        };
        let mut response = Response::status(308, "Permanent Redirect");
        response
            .headers
            .push(("Location", format!("https://{host}:{port}{path}")));
        return response;
    }
    let path = request.path.split(['?', '#']).next().unwrap_or("/");
    match path {
        "/guest.js" => Response::file("text/javascript; charset=utf-8", SCRIPT),
        "/guest.css" => Response::file("text/css; charset=utf-8", STYLE),
        "/" => Response::file("text/html; charset=utf-8", PAGE),
        code if is_meeting_code_path(code) => Response::file("text/html; charset=utf-8", PAGE),
        _ => Response::status(404, "Not Found"),
    }
}

/// A host name or IP address with nothing else in it (no path, user or scheme).
fn is_plain_host(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
}

/// `/CODE`: a meeting code's length of letters and digits.
fn is_meeting_code_path(path: &str) -> bool {
    path.strip_prefix('/').is_some_and(|code| {
        code.len() == crate::secret::MEETING_CODE_LEN && code.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

async fn respond(stream: &mut Io, response: Response) {
    let write = async {
        stream.write_all(&response.bytes()).await?;
        stream.flush().await?;
        stream.shutdown().await
    };
    if let Err(error) = tokio::time::timeout(Duration::from_secs(5), write)
        .await
        .unwrap_or(Ok(()))
    {
        tracing::debug!(%error, "page response not sent");
    }
}

/// A stream that gives back bytes already read from it before reading on, so the
/// WebSocket handshake sees the request head this module read to route it.
struct Rewind {
    read_first: Vec<u8>,
    at: usize,
    inner: Io,
}

impl Rewind {
    fn new(read_first: Vec<u8>, inner: Io) -> Self {
        Self {
            read_first,
            at: 0,
            inner,
        }
    }
}

impl AsyncRead for Rewind {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.at < self.read_first.len() {
            let rest = &self.read_first[self.at..];
            let taken = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..taken]);
            self.at += taken;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Whether `origin` is the host's own page: `https://ADDRESS:PORT` where ADDRESS is one of
/// this computer's IP addresses or `localhost`, and PORT the meeting's. A name other than
/// `localhost` is never trusted: after DNS rebinding any site's name can point here.
pub(crate) fn is_own_page(origin: &str, port: u16) -> bool {
    let Some(rest) = origin.strip_prefix("https://") else {
        return false;
    };
    let Some((host, origin_port)) = rest.rsplit_once(':') else {
        return false;
    };
    if origin_port.parse::<u16>().ok() != Some(port) {
        return false;
    }
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let Ok(address) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() else {
        return false;
    };
    address.is_loopback()
        || if_addrs::get_if_addrs()
            .unwrap_or_default()
            .iter()
            .any(|interface| interface.ip() == address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> RequestHead {
        RequestHead::parse(text.as_bytes()).expect("a request head")
    }

    #[test]
    fn a_request_head_says_its_path_host_and_whether_it_upgrades() {
        let page = head("GET /ABCDEFGH?x=1 HTTP/1.1\r\nHost: 192.168.1.5:47800\r\nAccept: */*\r\n\r\n");
        assert_eq!(
            page,
            RequestHead {
                method: "GET".into(),
                path: "/ABCDEFGH?x=1".into(),
                host: Some("192.168.1.5:47800".into()),
                upgrade: false,
            }
        );
        let socket = head("GET / HTTP/1.1\r\nhost: h\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n");
        assert!(socket.upgrade);
        assert!(RequestHead::parse(b"\xff\xfe\r\n\r\n").is_none());
        assert!(RequestHead::parse(b"GET\r\n\r\n").is_none());
    }

    #[test]
    fn the_page_its_files_and_codes_are_served_and_nothing_else() {
        let get = |path: &str| page_response(&head(&format!("GET {path} HTTP/1.1\r\n\r\n")), true, 47800).status;
        assert_eq!(get("/"), 200);
        assert_eq!(get("/ABCDEFGH"), 200);
        assert_eq!(get("/guest.js"), 200);
        assert_eq!(get("/guest.css"), 200);
        for path in [
            "/../etc/passwd",
            "/guest.js/",
            "/ABCDEFGH/x",
            "/favicon.ico",
            "/ABC",
            "//evil",
        ] {
            assert_eq!(get(path), 404, "{path}");
        }
        let post = head("POST / HTTP/1.1\r\n\r\n");
        assert_eq!(page_response(&post, true, 47800).status, 405);
    }

    #[test]
    fn plain_http_is_sent_to_https_on_the_same_host_and_never_elsewhere() {
        let location = |request: &str| {
            let response = page_response(&head(request), false, 47800);
            assert_eq!(response.status, 308);
            response
                .headers
                .iter()
                .find(|(name, _)| *name == "Location")
                .map(|(_, value)| value.clone())
                .expect("a Location")
        };
        assert_eq!(
            location("GET /ABCDEFGH HTTP/1.1\r\nHost: 192.168.1.5:47800\r\n\r\n"),
            "https://192.168.1.5:47800/ABCDEFGH"
        );
        assert_eq!(
            location("GET / HTTP/1.1\r\nHost: evil.example/x@y:47800\r\n\r\n"),
            "https://localhost:47800/"
        );
        assert_eq!(location("GET / HTTP/1.1\r\n\r\n"), "https://localhost:47800/");
    }

    #[test]
    fn only_this_computers_addresses_on_the_meeting_port_are_the_own_page() {
        assert!(is_own_page("https://127.0.0.1:47800", 47800));
        assert!(is_own_page("https://localhost:47800", 47800));
        assert!(!is_own_page("https://127.0.0.1:47801", 47800), "another port");
        assert!(!is_own_page("http://127.0.0.1:47800", 47800), "not HTTPS");
        assert!(!is_own_page("https://meeting.example:47800", 47800), "a name");
        assert!(!is_own_page("https://203.0.113.9:47800", 47800), "not ours");
        assert!(!is_own_page("null", 47800));
    }

    #[test]
    fn a_certificate_is_kept_and_read_back_with_the_same_fingerprint() {
        let folder = std::env::temp_dir().join(format!("videomeet-web-identity-{}", std::process::id()));
        let path = folder.join("host.pem");
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let made = WebIdentity::load_or_create(&path, &names).expect("made");
        let kept = WebIdentity::load_or_create(&path, &names).expect("read back");
        assert_eq!(made.fingerprint(), kept.fingerprint());
        assert_eq!(made.fingerprint().len(), 32 * 3 - 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("saved").permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key is readable by its owner only");
        }
        std::fs::write(&path, "not a certificate").expect("spoilt");
        let remade = WebIdentity::load_or_create(&path, &names).expect("made again");
        assert_ne!(remade.fingerprint(), made.fingerprint());
        assert!(remade.acceptor().is_ok());
        let _ = std::fs::remove_dir_all(folder);
    }
}

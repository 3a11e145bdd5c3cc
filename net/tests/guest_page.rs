//! The host's guest page on the meeting port: served over HTTPS with the host's own
//! certificate, its WebSocket over the same TLS admitted from the host's own origin only,
//! plain HTTP sent to HTTPS, and the native clients' plain WebSocket unchanged.

mod common;

use std::sync::Arc;

use common::{LOOPBACK, first_answer, guest, hello, host, say};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use videomeet_net::protocol::{DenyReason, ServerMessage};
use videomeet_net::signaling::SignalingServer;

/// Trusts one certificate, named by its fingerprint, as a guest who compared it does.
#[derive(Debug)]
struct Pinned {
    fingerprint: String,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let digest = ring::digest::digest(&ring::digest::SHA256, end_entity);
        let seen: Vec<String> = digest.as_ref().iter().map(|byte| format!("{byte:02X}")).collect();
        if seen.join(":") == self.fingerprint {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("another certificate".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A TLS connection to the host's port that trusts the host's certificate only.
async fn tls(server: &SignalingServer) -> TlsStream<TcpStream> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Pinned {
        fingerprint: server.web_identity().fingerprint(),
        provider: Arc::clone(&provider),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(server.local_addr()).await.expect("connects");
    connector
        .connect(ServerName::IpAddress(LOOPBACK.into()), tcp)
        .await
        .expect("a TLS handshake with the host's certificate")
}

/// `GET path` over `stream`; the whole response as text.
async fn get<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut stream: S, path: &str, host: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("asked");
    let mut response = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).into_owned()
}

/// A WebSocket over TLS as a page from `origin` opens it, having said `hello`.
async fn page_socket(
    server: &SignalingServer,
    origin: &str,
) -> tokio_tungstenite::WebSocketStream<TlsStream<TcpStream>> {
    let mut request = format!("wss://127.0.0.1:{}/", server.local_addr().port())
        .into_client_request()
        .expect("a request");
    request
        .headers_mut()
        .insert("origin", origin.parse().expect("an origin"));
    let (mut socket, _) = tokio_tungstenite::client_async(request, tls(server).await)
        .await
        .expect("upgrades over TLS");
    say(&mut socket, &hello("Phone", None, None)).await;
    socket
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_served_over_https_and_joins_from_the_hosts_own_origin_only() {
    let (server, _host) = host(None).await;
    let port = server.local_addr().port();
    let code = server.meeting().code.clone();

    let page = get(tls(&server).await, &format!("/{code}"), &format!("127.0.0.1:{port}")).await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("Content-Type: text/html"), "{page}");
    assert!(page.contains("Content-Security-Policy: default-src 'none'"), "{page}");
    let script = get(tls(&server).await, "/guest.js", "127.0.0.1").await;
    assert!(
        script.starts_with("HTTP/1.1 200 OK\r\n") && script.contains("text/javascript"),
        "{script}"
    );
    let missing = get(tls(&server).await, "/../../etc/passwd", "127.0.0.1").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");

    // Typed without https://: sent there, on the address it was asked by.
    let plain = TcpStream::connect(server.local_addr()).await.expect("connects");
    let redirect = get(plain, &format!("/{code}"), &format!("127.0.0.1:{port}")).await;
    assert!(redirect.starts_with("HTTP/1.1 308"), "{redirect}");
    assert!(
        redirect.contains(&format!("Location: https://127.0.0.1:{port}/{code}\r\n")),
        "{redirect}"
    );

    // Another site's page, even one that names this computer, is turned away.
    for origin in [
        format!("https://meeting.example:{port}"),
        format!("https://127.0.0.1:{}", port + 1),
    ] {
        let mut socket = page_socket(&server, &origin).await;
        assert!(
            matches!(
                first_answer(&mut socket).await,
                ServerMessage::Denied {
                    reason: DenyReason::ForbiddenOrigin,
                    ..
                }
            ),
            "{origin}"
        );
    }
    // The host's own page joins, and the others see it is a browser.
    let mut phone = page_socket(&server, &format!("https://127.0.0.1:{port}")).await;
    let ServerMessage::Welcome { you, .. } = first_answer(&mut phone).await else {
        panic!("the host's own page was not let in");
    };
    let ada = guest(&server, "Ada", None)
        .await
        .expect("a native guest still joins over plain WebSocket");
    let seen = ada.peers.iter().find(|peer| peer.id == you).expect("the phone is in");
    assert!(seen.browser, "{seen:?}");
    assert!(
        ada.peers.iter().all(|peer| peer.id == you || !peer.browser),
        "{:?}",
        ada.peers
    );
}

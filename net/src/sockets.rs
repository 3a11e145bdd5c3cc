//! The runtime under every WebRTC connection: tokio's, with UDP sockets whose kernel
//! buffers hold a burst.
//!
//! A file arrives as a stream of full datagrams, and a video keyframe as a burst of them.
//! With Linux's default receive buffer (208 KiB) a receiver busy for a few milliseconds
//! overflowed it: a 200 MB file beside a 720p call lost about 140 datagrams to full buffers
//! (SCTP's window was 4 MiB then; see the peer's `SCTP_RECEIVE_WINDOW` for the other half
//! of the cure). With 4 MiB buffers nothing was lost. The kernel caps the size at
//! `net.core.rmem_max` and `wmem_max`; where they are lower, the socket gets what they allow.

use std::io::{self, IoSliceMut};
use std::sync::Arc;
use std::task::{Context, Poll};

use webrtc::runtime::{AsyncUdpSocket, RecvMeta, Runtime, TokioRuntime, Transmit};

/// What each UDP socket asks the kernel to buffer, each way.
pub const SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// Asks the kernel for [`SOCKET_BUFFER`] bytes of buffer each way on `socket`; a smaller
/// one (the system's limit) or none at all still works, only less well under bursts.
pub fn make_roomy(socket: &std::net::UdpSocket) {
    let socket = socket2::SockRef::from(socket);
    if let Err(error) = socket.set_recv_buffer_size(SOCKET_BUFFER) {
        tracing::debug!(%error, "the receive buffer stays as it was");
    }
    if let Err(error) = socket.set_send_buffer_size(SOCKET_BUFFER) {
        tracing::debug!(%error, "the send buffer stays as it was");
    }
}

/// Tokio's runtime for WebRTC, with [`make_roomy`] sockets.
#[derive(Debug, Default)]
pub struct RoomyRuntime;

impl Runtime for RoomyRuntime {
    on_tokio!();

    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        make_roomy(&socket);
        wrap(socket)
    }

    fn name(&self) -> &'static str {
        "tokio-roomy"
    }
}

/// `socket` for WebRTC: tokio's, with quinn-udp's batching; a [`PlainUdpSocket`] where
/// quinn-udp cannot set it up.
pub fn wrap(socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
    let spare = socket.try_clone()?;
    match TokioRuntime.wrap_udp_socket(socket) {
        Ok(wrapped) => Ok(wrapped),
        Err(error) => {
            tracing::info!(%error, "UDP without batching: the system refused its setup");
            Ok(Arc::new(PlainUdpSocket::new(spare)?))
        }
    }
}

/// A UDP socket that sends and receives one datagram a call, and nothing more (no GSO, GRO
/// or ECN): for where quinn-udp, under tokio's sockets for WebRTC, cannot set a socket up.
/// Wine 8 is such a place: it answers quinn-udp's query of `IPV6_V6ONLY` on an IPv4 socket
/// with "not supported", and no media connection could be made there.
#[derive(Debug)]
pub struct PlainUdpSocket(tokio::net::UdpSocket);

impl PlainUdpSocket {
    /// Takes over `socket` (which must be inside a tokio runtime's reach).
    pub fn new(socket: std::net::UdpSocket) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        Ok(Self(tokio::net::UdpSocket::from_std(socket)?))
    }
}

impl AsyncUdpSocket for PlainUdpSocket {
    fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.local_addr()
    }

    fn poll_send(&self, cx: &mut Context<'_>, transmit: &Transmit<'_>) -> Poll<io::Result<usize>> {
        self.0.poll_send_to(cx, transmit.contents, transmit.destination)
    }

    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        let (Some(buf), Some(first)) = (bufs.first_mut(), meta.first_mut()) else {
            return Poll::Ready(Ok(0));
        };
        let mut read = tokio::io::ReadBuf::new(buf);
        match self.0.poll_recv_from(cx, &mut read) {
            Poll::Ready(Ok(from)) => {
                let len = read.filled().len();
                // Not a struct literal: the type is non-exhaustive.
                *first = RecvMeta::default();
                first.addr = from;
                first.len = len;
                first.stride = len.max(1);
                Poll::Ready(Ok(1))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The methods of a [`Runtime`] that runs everything on tokio, for a runtime that differs
/// only in how it wraps UDP sockets.
macro_rules! on_tokio {
    () => {
        fn spawn(
            &self,
            future: ::std::pin::Pin<Box<dyn ::std::future::Future<Output = ()> + Send>>,
        ) -> Box<dyn ::webrtc::runtime::JoinHandle> {
            ::webrtc::runtime::TokioRuntime.spawn(future)
        }

        fn spawn_reactor(
            &self,
            pool_size: usize,
            future: ::std::pin::Pin<Box<dyn ::std::future::Future<Output = ()> + Send>>,
        ) -> Box<dyn ::webrtc::runtime::JoinHandle> {
            ::webrtc::runtime::TokioRuntime.spawn_reactor(pool_size, future)
        }

        fn wrap_tcp_listener(
            &self,
            listener: ::std::net::TcpListener,
        ) -> ::std::io::Result<::std::sync::Arc<dyn ::webrtc::runtime::AsyncTcpListener>> {
            ::webrtc::runtime::TokioRuntime.wrap_tcp_listener(listener)
        }

        fn connect_tcp<'a>(
            &'a self,
            remote_addr: ::std::net::SocketAddr,
        ) -> ::std::pin::Pin<
            Box<
                dyn ::std::future::Future<
                        Output = ::std::io::Result<::std::sync::Arc<dyn ::webrtc::runtime::AsyncTcpStream>>,
                    > + Send
                    + 'a,
            >,
        > {
            ::webrtc::runtime::TokioRuntime.connect_tcp(remote_addr)
        }

        fn resolve_host<'a>(
            &'a self,
            host: &'a str,
        ) -> ::std::pin::Pin<
            Box<dyn ::std::future::Future<Output = ::std::io::Result<Vec<::std::net::SocketAddr>>> + Send + 'a>,
        > {
            Box::pin(async move { ::webrtc::runtime::TokioRuntime.resolve_host(host).await })
        }

        fn sleep(
            &self,
            duration: ::std::time::Duration,
        ) -> ::std::pin::Pin<Box<dyn ::std::future::Future<Output = ()> + Send + 'static>> {
            ::webrtc::runtime::TokioRuntime.sleep(duration)
        }

        fn interval(&self, period: ::std::time::Duration) -> Box<dyn ::webrtc::runtime::AsyncInterval> {
            ::webrtc::runtime::TokioRuntime.interval(period)
        }

        fn block_on(&self, future: ::std::pin::Pin<Box<dyn ::std::future::Future<Output = ()> + '_>>) {
            ::webrtc::runtime::TokioRuntime.block_on(future);
        }

        fn yield_now(&self) -> ::std::pin::Pin<Box<dyn ::std::future::Future<Output = ()> + Send + 'static>> {
            ::webrtc::runtime::TokioRuntime.yield_now()
        }
    };
}
pub(crate) use on_tokio;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_plain_socket_sends_and_receives_datagrams_whole() {
        let bind = || std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let (a, b) = (
            PlainUdpSocket::new(bind()).unwrap(),
            PlainUdpSocket::new(bind()).unwrap(),
        );
        let (a_at, b_at) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        for size in [1usize, 1200, 9000] {
            let datagram: Vec<u8> = (0..size).map(|n| n as u8).collect();
            assert_eq!(a.send_to(&datagram, b_at).await.unwrap(), size);
            let mut buf = vec![0u8; 65_536];
            let (got, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..got], from), (&datagram[..], a_at));
        }
        // Nothing waiting: a receive is pending, not an error.
        let mut buf = [0u8; 16];
        let waited = tokio::time::timeout(std::time::Duration::from_millis(50), b.recv_from(&mut buf)).await;
        assert!(waited.is_err(), "nothing came: {waited:?}");
    }

    #[test]
    fn a_roomy_socket_buffers_more_than_the_default() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let before = socket2::SockRef::from(&socket).recv_buffer_size().unwrap();
        make_roomy(&socket);
        let after = socket2::SockRef::from(&socket).recv_buffer_size().unwrap();
        let allowed = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .ok()
            .and_then(|max| max.trim().parse::<usize>().ok());
        // Linux doubles what it is asked for, up to twice the limit.
        if allowed.is_none_or(|max| max > before) {
            assert!(after > before, "{before} -> {after} bytes");
        }
    }
}

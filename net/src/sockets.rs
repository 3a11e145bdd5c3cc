//! The runtime under every WebRTC connection: tokio's, with UDP sockets whose kernel
//! buffers hold a burst.
//!
//! A file arrives as a stream of full datagrams, and a video keyframe as a burst of them.
//! With Linux's default receive buffer (208 KiB) a receiver busy for a few milliseconds
//! overflowed it: a 200 MB file beside a 720p call lost about 140 datagrams to full buffers
//! (SCTP's window was 4 MiB then; see the peer's `SCTP_RECEIVE_WINDOW` for the other half
//! of the cure). With 4 MiB buffers nothing was lost. The kernel caps the size at
//! `net.core.rmem_max` and `wmem_max`; where they are lower, the socket gets what they allow.

use std::io;
use std::sync::Arc;

use webrtc::runtime::{AsyncUdpSocket, Runtime, TokioRuntime};

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
        TokioRuntime.wrap_udp_socket(socket)
    }

    fn name(&self) -> &'static str {
        "tokio-roomy"
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

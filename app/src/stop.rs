//! Requests from the system to stop: Ctrl+C (SIGINT) and SIGTERM on Unix, Ctrl+C on Windows.
//! Once caught they no longer end the program by themselves: the first leaves the meeting
//! as the Leave button does, and a second, while leaving, ends the program at once.

/// A request to stop the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl+C (SIGINT).
    Interrupt,
    /// SIGTERM, what `kill` and service managers send.
    #[cfg_attr(not(unix), allow(dead_code))]
    Terminate,
}

impl Stop {
    /// The status to end the program with when it cannot leave cleanly (a second
    /// request): 128 + the signal number, as a shell reports a program the signal ended.
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Interrupt => 130,
            Self::Terminate => 143,
        }
    }

    /// Ends the program at once.
    pub fn exit_now(self) -> ! {
        tracing::warn!("{self}: stopping at once");
        std::process::exit(self.exit_code())
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Interrupt => "interrupted",
            Self::Terminate => "asked to terminate",
        })
    }
}

/// Catches the stop requests; made inside a tokio runtime.
pub struct StopRequests {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
}

impl StopRequests {
    /// Starts catching them.
    pub fn catch() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(windows)]
        {
            Ok(Self {
                ctrl_c: tokio::signal::windows::ctrl_c()?,
            })
        }
        #[cfg(not(any(unix, windows)))]
        {
            Ok(Self {})
        }
    }

    /// The next request.
    pub async fn next(&mut self) -> Stop {
        #[cfg(unix)]
        {
            tokio::select! {
                Some(()) = self.interrupt.recv() => Stop::Interrupt,
                Some(()) = self.terminate.recv() => Stop::Terminate,
                else => std::future::pending().await,
            }
        }
        #[cfg(windows)]
        {
            match self.ctrl_c.recv().await {
                Some(()) => Stop::Interrupt,
                None => std::future::pending().await,
            }
        }
        #[cfg(not(any(unix, windows)))]
        {
            std::future::pending().await
        }
    }
}

//! Holding off the screen saver and the system's sleep while in a meeting: a screen that
//! goes dark or a laptop that suspends mid-meeting ends the call for everyone watching.
//!
//! - Linux: the desktop's screen saver through D-Bus (`org.freedesktop.ScreenSaver.Inhibit`,
//!   which GNOME, KDE, Xfce and others serve on the session bus), and sleep through
//!   systemd-logind (`org.freedesktop.login1.Manager.Inhibit("sleep:idle")` on the system
//!   bus, held as long as the file it hands back stays open).
//! - Windows: `SetThreadExecutionState` on the holding thread.
//! - macOS: the system's own `caffeinate` (display and idle sleep), which also ends by itself
//!   when this program does, however it ends.
//! - Elsewhere it is not held off: the log says so.
//!
//! Each is best effort: with no desktop bus, no logind or a refusal the meeting goes on,
//! and the log says what could not be held. It is taken and released on a thread of its
//! own, so a slow or missing bus never holds the window up.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

/// The name the desktop shows for who holds the screen on.
#[cfg(target_os = "linux")]
const APPLICATION: &str = "Video Meet";

/// What holding needs from the desktop: its session bus, where there is one.
#[cfg(target_os = "linux")]
type SessionBus = zbus::Result<zbus::blocking::Connection>;
#[cfg(not(target_os = "linux"))]
type SessionBus = ();

/// How long dropping a [`KeepAwake`] waits for the desktop to take the release, so that a
/// program ending right after still gives the screen saver back.
const RELEASE_WAIT: Duration = Duration::from_secs(1);

/// While this lives, the screen saver and the system's sleep are held off.
pub struct KeepAwake {
    /// Dropped to release: the holding thread is waiting on the other end.
    release: Option<SyncSender<()>>,
    /// Closed by the holding thread once it has released everything.
    released: Receiver<()>,
}

impl Drop for KeepAwake {
    fn drop(&mut self) {
        self.release.take();
        // Disconnected (the thread is done) or, at worst, after the wait.
        let _ = self.released.recv_timeout(RELEASE_WAIT);
    }
}

impl KeepAwake {
    /// Holds them off, saying `reason` ("In a meeting") where the desktop asks why.
    pub fn hold(reason: &str) -> Self {
        let (release, release_asked) = sync_channel(0);
        let (done, released) = sync_channel(0);
        let reason = reason.to_owned();
        let started = std::thread::Builder::new().name("keep-awake".into()).spawn(move || {
            #[cfg(target_os = "linux")]
            let session_bus = zbus::blocking::Connection::session();
            #[cfg(not(target_os = "linux"))]
            let session_bus = ();
            hold_until(&reason, session_bus, &release_asked);
            drop(done);
        });
        if let Err(error) = started {
            tracing::warn!(%error, "the screen saver is not held off: no thread for it");
        }
        Self {
            release: Some(release),
            released,
        }
    }
}

/// Holds the screen saver and sleep off until `released` says so (its sender is gone).
#[cfg(target_os = "linux")]
fn hold_until(reason: &str, session: SessionBus, released: &Receiver<()>) {
    const SCREEN_SAVER: &str = "org.freedesktop.ScreenSaver";
    let screen_saver = session.and_then(|bus| {
        let reply = bus.call_method(
            Some(SCREEN_SAVER),
            "/org/freedesktop/ScreenSaver",
            Some(SCREEN_SAVER),
            "Inhibit",
            &(APPLICATION, reason),
        )?;
        let cookie: u32 = reply.body().deserialize()?;
        Ok((bus, cookie))
    });
    match &screen_saver {
        Ok((_, cookie)) => tracing::info!(cookie, "the screen saver is held off"),
        Err(error) => tracing::info!(%error, "the screen saver could not be held off"),
    }
    // Held for as long as this file stays open.
    let sleep_lock = zbus::blocking::Connection::system().and_then(|bus| {
        let reply = bus.call_method(
            Some("org.freedesktop.login1"),
            "/org/freedesktop/login1",
            Some("org.freedesktop.login1.Manager"),
            "Inhibit",
            &("sleep:idle", APPLICATION, reason, "block"),
        )?;
        reply.body().deserialize::<zbus::zvariant::OwnedFd>()
    });
    match &sleep_lock {
        Ok(_) => tracing::info!("sleep is held off"),
        Err(error) => tracing::info!(%error, "sleep could not be held off"),
    }
    let _ = released.recv();
    if let Ok((bus, cookie)) = screen_saver {
        let released = bus.call_method(
            Some(SCREEN_SAVER),
            "/org/freedesktop/ScreenSaver",
            Some(SCREEN_SAVER),
            "UnInhibit",
            &(cookie,),
        );
        if let Err(error) = released {
            tracing::warn!(%error, "the screen saver was not given back");
        }
    }
    drop(sleep_lock);
}

#[cfg(windows)]
#[allow(unsafe_code)] // one Win32 call, no pointers
fn hold_until(_reason: &str, (): SessionBus, released: &Receiver<()>) {
    // EXECUTION_STATE flags (winbase.h).
    const ES_CONTINUOUS: u32 = 0x8000_0000;
    const ES_SYSTEM_REQUIRED: u32 = 0x0000_0001;
    const ES_DISPLAY_REQUIRED: u32 = 0x0000_0002;
    #[link(name = "kernel32")]
    unsafe extern "system" {
        fn SetThreadExecutionState(flags: u32) -> u32;
    }
    // SAFETY: a plain Win32 call with flags only; it keeps no pointers.
    let before = unsafe { SetThreadExecutionState(ES_CONTINUOUS | ES_SYSTEM_REQUIRED | ES_DISPLAY_REQUIRED) };
    if before == 0 {
        tracing::info!("the screen and sleep could not be held off");
    }
    let _ = released.recv();
    // SAFETY: as above.
    unsafe { SetThreadExecutionState(ES_CONTINUOUS) };
}

#[cfg(target_os = "macos")]
fn hold_until(_reason: &str, (): SessionBus, released: &Receiver<()>) {
    // -d: the display stays on; -i: the system does not sleep when idle; -w: until this
    // process ends, so a crash never leaves the Mac awake.
    let held = std::process::Command::new("/usr/bin/caffeinate")
        .args(["-d", "-i", "-w", &std::process::id().to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let mut caffeinate = match held {
        Ok(child) => child,
        Err(error) => {
            tracing::info!(%error, "the screen and sleep could not be held off");
            let _ = released.recv();
            return;
        }
    };
    let _ = released.recv();
    let _ = caffeinate.kill();
    let _ = caffeinate.wait();
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
fn hold_until(_reason: &str, (): SessionBus, released: &Receiver<()>) {
    tracing::info!("the screen saver and sleep are not held off on this system");
    let _ = released.recv();
}

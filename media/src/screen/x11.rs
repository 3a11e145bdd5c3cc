//! X11: displays from RandR, windows from the window manager's client list (or the root
//! window's mapped children when no window manager runs), pictures with `GetImage` over one
//! connection kept for the whole share, the pointer from XFIXES.

use std::time::{Duration, Instant};

use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::Event;
use x11rb::protocol::damage::{ConnectionExt as _, ReportLevel};
use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::xfixes::ConnectionExt as _;
use x11rb::protocol::xproto::{
    AtomEnum, ChangeWindowAttributesAux, ConnectionExt as _, EventMask, ImageFormat, ImageOrder, MapState, Window,
};
use x11rb::rust_connection::RustConnection;

use super::picture::Pointer;
use super::{ChannelOrder, ScreenChoice, ScreenError, ScreenKind, ScreenPicture};

/// Windows smaller than this are tool tips, docks and the like, not something to share.
const MIN_WINDOW_SIDE: u16 = 48;

/// A rectangle in root-window coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Area {
    x: i16,
    y: i16,
    width: u16,
    height: u16,
}

struct Server {
    conn: RustConnection,
    root: Window,
    /// XFIXES is there, so the pointer can be drawn.
    pointer: bool,
}

fn failed(error: impl std::fmt::Display) -> ScreenError {
    ScreenError::Failed(error.to_string())
}

/// Connects to the X server `DISPLAY` names. A busy server sometimes resets a new
/// connection; another try a moment later gets through.
pub(super) fn connect() -> Result<(RustConnection, usize), ScreenError> {
    let mut attempt = 0;
    loop {
        match x11rb::connect(None) {
            Ok(connected) => return Ok(connected),
            Err(_) if attempt < 2 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(error) => return Err(failed(format!("cannot reach the X server: {error}"))),
        }
    }
}

impl Server {
    fn connect() -> Result<Self, ScreenError> {
        if std::env::var_os("DISPLAY").is_none() {
            return Err(ScreenError::Unsupported("no graphical display is running".into()));
        }
        let (conn, screen) = connect()?;
        let root = conn
            .setup()
            .roots
            .get(screen)
            .map(|s| s.root)
            .ok_or_else(|| failed("no X screen"))?;
        let pointer = conn
            .extension_information(x11rb::protocol::xfixes::X11_EXTENSION_NAME)
            .ok()
            .flatten()
            .is_some()
            && conn
                .xfixes_query_version(5, 0)
                .ok()
                .and_then(|c| c.reply().ok())
                .is_some();
        Ok(Self { conn, root, pointer })
    }

    /// The displays: RandR monitors, or the whole root window when RandR has none.
    fn displays(&self) -> Result<Vec<Area>, ScreenError> {
        let monitors = self
            .conn
            .randr_get_monitors(self.root, true)
            .ok()
            .and_then(|cookie| cookie.reply().ok())
            .map(|reply| reply.monitors)
            .unwrap_or_default();
        let mut areas: Vec<Area> = monitors
            .iter()
            .filter(|m| m.width > 0 && m.height > 0)
            .map(|m| Area {
                x: m.x,
                y: m.y,
                width: m.width,
                height: m.height,
            })
            .collect();
        if areas.is_empty() {
            let root = self
                .conn
                .get_geometry(self.root)
                .map_err(failed)?
                .reply()
                .map_err(failed)?;
            areas.push(Area {
                x: 0,
                y: 0,
                width: root.width,
                height: root.height,
            });
        }
        Ok(areas)
    }

    fn atom(&self, name: &str) -> Option<u32> {
        self.conn
            .intern_atom(true, name.as_bytes())
            .ok()?
            .reply()
            .ok()
            .map(|r| r.atom)
            .filter(|a| *a != 0)
    }

    /// The windows a person would call windows: the window manager's list when there is one.
    fn windows(&self) -> Result<Vec<(Window, String)>, ScreenError> {
        let managed = self.atom("_NET_CLIENT_LIST").and_then(|list| {
            let reply = self
                .conn
                .get_property(false, self.root, list, AtomEnum::WINDOW, 0, 4096)
                .ok()?
                .reply()
                .ok()?;
            Some(reply.value32()?.collect::<Vec<Window>>())
        });
        let candidates = match managed {
            Some(windows) if !windows.is_empty() => windows,
            _ => {
                self.conn
                    .query_tree(self.root)
                    .map_err(failed)?
                    .reply()
                    .map_err(failed)?
                    .children
            }
        };
        let mut windows = Vec::new();
        for window in candidates {
            let Ok(Ok(attributes)) = self.conn.get_window_attributes(window).map(|c| c.reply()) else {
                continue;
            };
            if attributes.map_state != MapState::VIEWABLE || attributes.override_redirect {
                continue;
            }
            let Ok(Ok(geometry)) = self.conn.get_geometry(window).map(|c| c.reply()) else {
                continue;
            };
            if geometry.width < MIN_WINDOW_SIDE || geometry.height < MIN_WINDOW_SIDE {
                continue;
            }
            // Our own window (the meeting itself) is not something to share.
            if self.process_of(window) == Some(std::process::id()) {
                continue;
            }
            if let Some(title) = self.title(window).filter(|t| !t.trim().is_empty()) {
                windows.push((window, title));
            }
        }
        Ok(windows)
    }

    /// The process that says it owns `window` (`_NET_WM_PID`), if it says so.
    fn process_of(&self, window: Window) -> Option<u32> {
        let property = self.atom("_NET_WM_PID")?;
        let reply = self
            .conn
            .get_property(false, window, property, AtomEnum::CARDINAL, 0, 1)
            .ok()?
            .reply()
            .ok()?;
        reply.value32()?.next()
    }

    fn title(&self, window: Window) -> Option<String> {
        let read = |property: u32, kind: u32| {
            let reply = self
                .conn
                .get_property(false, window, property, kind, 0, 1024)
                .ok()?
                .reply()
                .ok()?;
            (!reply.value.is_empty()).then(|| String::from_utf8_lossy(&reply.value).into_owned())
        };
        let utf8 = self.atom("UTF8_STRING");
        self.atom("_NET_WM_NAME")
            .zip(utf8)
            .and_then(|(name, utf8)| read(name, utf8))
            .or_else(|| read(AtomEnum::WM_NAME.into(), AtomEnum::STRING.into()))
    }

    /// Where `window` is on the root window now, or `None` when it is gone.
    fn window_area(&self, window: Window) -> Option<Area> {
        let geometry = self.conn.get_geometry(window).ok()?.reply().ok()?;
        let origin = self
            .conn
            .translate_coordinates(window, self.root, 0, 0)
            .ok()?
            .reply()
            .ok()?;
        Some(Area {
            x: origin.dst_x,
            y: origin.dst_y,
            width: geometry.width,
            height: geometry.height,
        })
    }
}

pub(super) fn list_screens() -> Result<Vec<ScreenChoice>, ScreenError> {
    let server = Server::connect()?;
    let displays = server.displays()?;
    let mut screens: Vec<ScreenChoice> = displays
        .iter()
        .enumerate()
        .map(|(index, area)| ScreenChoice {
            kind: ScreenKind::Display,
            id: index as u32,
            name: format!("Display {} ({}x{})", index + 1, area.width, area.height),
        })
        .collect();
    screens.extend(server.windows()?.into_iter().map(|(window, title)| ScreenChoice {
        kind: ScreenKind::Window,
        id: window,
        name: title,
    }));
    Ok(screens)
}

/// While waiting for damage, the pointer's position is checked this often (moving it
/// damages nothing on servers with a hardware cursor).
const POINTER_CHECK: Duration = Duration::from_millis(16);

/// An open X11 capture.
pub(super) struct Capture {
    server: Server,
    /// The display's area; windows are looked up at every grab, since they move.
    display: Option<Area>,
    /// Reports changes to what is captured (DAMAGE extension), when the server has it.
    damage: Option<u32>,
    /// Where the pointer was at the last grab (root coordinates).
    pointer_at: (i16, i16),
    /// Sequence number of the last grab's damage reset: reports older than it are stale.
    reset_at: u16,
}

/// Asks the server to report changes to `drawable`; `None` when it cannot.
fn watch_damage(server: &Server, drawable: Window) -> Option<u32> {
    let conn = &server.conn;
    conn.extension_information(x11rb::protocol::damage::X11_EXTENSION_NAME)
        .ok()??;
    conn.damage_query_version(1, 1).ok()?.reply().ok()?;
    let damage = conn.generate_id().ok()?;
    conn.damage_create(damage, drawable, ReportLevel::NON_EMPTY).ok()?;
    conn.flush().ok()?;
    Some(damage)
}

impl Capture {
    pub(super) fn open(choice: &ScreenChoice) -> Result<Self, ScreenError> {
        let server = Server::connect()?;
        let display = match choice.kind {
            ScreenKind::Display => {
                let displays = server.displays()?;
                let area = displays.get(choice.id as usize).copied();
                Some(area.ok_or_else(|| ScreenError::Gone(choice.name.clone()))?)
            }
            ScreenKind::Window => {
                server
                    .window_area(choice.id)
                    .ok_or_else(|| ScreenError::Gone(choice.name.clone()))?;
                None
            }
        };
        let watched = if display.is_some() { server.root } else { choice.id };
        if display.is_none() {
            let events = ChangeWindowAttributesAux::new().event_mask(EventMask::STRUCTURE_NOTIFY);
            server
                .conn
                .change_window_attributes(choice.id, &events)
                .map_err(failed)?;
        }
        let damage = watch_damage(&server, watched);
        Ok(Self {
            server,
            display,
            damage,
            pointer_at: (i16::MIN, i16::MIN),
            reset_at: 0,
        })
    }

    /// Waits until the server reports damage since the last grab, the pointer moves, or
    /// `until`; false at once when the server cannot report damage.
    pub(super) fn wait_for_damage(&mut self, until: Instant, interrupt: &dyn Fn() -> bool) -> bool {
        if self.damage.is_none() {
            return false;
        }
        let mut check_pointer_at = Instant::now();
        loop {
            let mut damaged = false;
            while let Ok(Some(event)) = self.server.conn.poll_for_event() {
                // Sequence numbers wrap at 16 bits: "not older" is a forward distance.
                damaged |= match event {
                    Event::DamageNotify(report) => report.sequence.wrapping_sub(self.reset_at) < u16::MAX / 2,
                    // A shared window closing, hiding or changing size is looked at at once.
                    Event::DestroyNotify(_) | Event::UnmapNotify(_) | Event::ConfigureNotify(_) => true,
                    _ => false,
                };
            }
            let now = Instant::now();
            if damaged || now >= until || interrupt() {
                return true;
            }
            if now >= check_pointer_at {
                check_pointer_at = now + POINTER_CHECK;
                let pointer = self
                    .server
                    .conn
                    .query_pointer(self.server.root)
                    .ok()
                    .and_then(|c| c.reply().ok());
                if pointer.is_none_or(|p| (p.root_x, p.root_y) != self.pointer_at) {
                    return true;
                }
            }
            std::thread::sleep((until - now).min(Duration::from_millis(4)));
        }
    }

    pub(super) fn grab(&mut self, choice: &ScreenChoice, picture: &mut ScreenPicture) -> Result<(), ScreenError> {
        let (drawable, area, source_origin) = match self.display {
            Some(area) => (self.server.root, area, (area.x, area.y)),
            None => {
                let area = self
                    .server
                    .window_area(choice.id)
                    .ok_or_else(|| ScreenError::Gone(choice.name.clone()))?;
                (choice.id, area, (0, 0))
            }
        };
        let conn = &self.server.conn;
        if let Some(damage) = self.damage {
            // Forget the damage so far: what changes after this comes as a new report.
            let reset = conn.damage_subtract(damage, 0u32, 0u32).map_err(failed)?;
            self.reset_at = reset.sequence_number() as u16;
        }
        let image = conn
            .get_image(
                ImageFormat::Z_PIXMAP,
                drawable,
                source_origin.0,
                source_origin.1,
                area.width,
                area.height,
                !0,
            )
            .map_err(failed)?;
        let pointer = self
            .server
            .pointer
            .then(|| conn.xfixes_get_cursor_image().ok())
            .flatten();
        let image = match image.reply() {
            Ok(image) => image,
            // A window that exists but cannot be read right now (minimised, being remapped)
            // keeps its last picture; one that is gone ends the share.
            Err(_) if self.display.is_none() && self.server.window_area(choice.id).is_some() => return Ok(()),
            Err(error) => return Err(failed(error)),
        };
        let setup = conn.setup();
        let bits_per_pixel = setup
            .pixmap_formats
            .iter()
            .find(|format| format.depth == image.depth)
            .map_or(0, |format| format.bits_per_pixel);
        if bits_per_pixel != 32 || setup.image_byte_order != ImageOrder::LSB_FIRST {
            return Err(ScreenError::Unsupported(format!(
                "the display uses {}-bit colour with {bits_per_pixel}-bit pixels; 24 or 32-bit colour is needed",
                image.depth
            )));
        }
        let expected = usize::from(area.width) * usize::from(area.height) * 4;
        if image.data.len() < expected {
            return Err(failed("the X server sent a short picture"));
        }
        picture.width = u32::from(area.width);
        picture.height = u32::from(area.height);
        picture.order = ChannelOrder::Bgra;
        picture.data = image.data;
        picture.data.truncate(expected);
        if let Some(Ok(cursor)) = pointer.map(|cookie| cookie.reply()) {
            self.pointer_at = (cursor.x, cursor.y);
            picture.draw_pointer(&Pointer {
                x: i32::from(cursor.x) - i32::from(cursor.xhot) - i32::from(area.x),
                y: i32::from(cursor.y) - i32::from(cursor.yhot) - i32::from(area.y),
                width: u32::from(cursor.width),
                height: u32::from(cursor.height),
                argb: &cursor.cursor_image,
            });
        }
        Ok(())
    }
}

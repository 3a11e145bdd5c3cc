//! A desktop to share from in tests, Wayland-style: a D-Bus session bus, PipeWire with its
//! session manager (WirePlumber), the real `xdg-desktop-portal`, and behind it a ScreenCast
//! backend of our own whose "display" is a known picture sent as a PipeWire video source.
//!
//! The backend stands where a compositor's portal (GNOME's, KDE's, wlroots') would: those
//! need a GPU or a person at the dialog. Everything the sharing program talks to is the real
//! thing: the portal's D-Bus interface, its restore tokens, its PipeWire remote and the
//! PipeWire stream.
//!
//! A test sees the desktop through [`TestDesktop::environment`], to give to a process of its
//! own; that process steers the backend over the bus with [`TestDesktopControl`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pipewire as pw;
use pw::spa;
use zbus::zvariant::{ObjectPath, OwnedValue, Value};

use super::ScreenPicture;

/// The backend's D-Bus name, and the desktop name its portal file is used in.
const BACKEND: &str = "org.freedesktop.impl.portal.desktop.videomeettest";
const DESKTOP_NAME: &str = "videomeettest";
const CONTROL_PATH: &str = "/org/videomeet/TestDesktop";
const CONTROL_INTERFACE: &str = "org.videomeet.TestDesktop";

/// What the backend was asked, and what it will answer next.
#[derive(Default)]
struct State {
    /// Times the "dialog" was shown: a Start without restore data.
    asked: u32,
    /// The next Start answers "cancelled".
    cancel_next: bool,
    /// Streams' node ids, by session.
    streams: HashMap<String, u32>,
}

/// Orders for the PipeWire thread.
enum Order {
    /// Make a video source; its node id goes back on the sender.
    NewStream(std::sync::mpsc::SyncSender<Result<u32, String>>),
    /// Remove every source: what they showed is gone.
    EndAll,
    /// The desktop ends.
    Quit,
}

/// The running test desktop. Everything it started ends when it is dropped.
pub struct TestDesktop {
    dir: PathBuf,
    bus: String,
    children: Vec<Child>,
    _backend: zbus::blocking::Connection,
    orders: pw::channel::Sender<Order>,
    pipewire: Option<std::thread::JoinHandle<()>>,
}

/// The programs the test desktop needs, and the first one missing.
pub fn missing_program() -> Option<&'static str> {
    const NEEDED: [&str; 4] = [
        "dbus-daemon",
        "pipewire",
        "wireplumber",
        "/usr/libexec/xdg-desktop-portal",
    ];
    NEEDED.into_iter().find(|program| {
        Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .stdout(Stdio::null())
            .status()
            .map_or(true, |status| !status.success())
    })
}

fn wait_for(what: &str, within: Duration, mut ready: impl FnMut() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + within;
    while !ready() {
        if Instant::now() > deadline {
            return Err(format!("{what} did not come up within {within:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

impl TestDesktop {
    /// Starts the desktop in a new folder under `parent`, showing `picture` on its one display.
    pub fn start(parent: &Path, picture: ScreenPicture) -> Result<Self, String> {
        let dir = parent.join(format!("test-desktop-{}", std::process::id()));
        let portals = dir.join("portals");
        std::fs::create_dir_all(&portals).map_err(|e| e.to_string())?;
        set_private(&dir)?;
        let mut children = Vec::new();
        let socket = dir.join("bus");
        let bus = format!("unix:path={}", socket.display());
        children.push(spawn(
            Command::new("dbus-daemon").args(["--session", "--nofork", "--nopidfile", &format!("--address={bus}")]),
            &dir,
            "dbus",
        )?);
        wait_for("the session bus", Duration::from_secs(5), || socket.exists())?;
        let environment = |command: &mut Command| {
            command
                .env("XDG_RUNTIME_DIR", &dir)
                .env("DBUS_SESSION_BUS_ADDRESS", &bus)
                .env("XDG_CURRENT_DESKTOP", DESKTOP_NAME)
                .env("XDG_DESKTOP_PORTAL_DIR", &portals)
                .env_remove("PIPEWIRE_REMOTE")
                .env_remove("PIPEWIRE_RUNTIME_DIR");
        };
        for program in ["pipewire", "wireplumber"] {
            let mut command = Command::new(program);
            environment(&mut command);
            children.push(spawn(&mut command, &dir, program)?);
            if program == "pipewire" {
                wait_for("PipeWire", Duration::from_secs(5), || dir.join("pipewire-0").exists())?;
            }
        }

        let state = Arc::new(Mutex::new(State::default()));
        let (orders, incoming) = pw::channel::channel();
        let remote = dir.join("pipewire-0");
        let (width, height) = (picture.width, picture.height);
        let pipewire = std::thread::Builder::new()
            .name("test-desktop-pipewire".into())
            .spawn(move || {
                if let Err(error) = serve_pictures(&remote, &picture, incoming) {
                    eprintln!("test desktop: PipeWire: {error}");
                }
            })
            .map_err(|e| e.to_string())?;
        let backend = zbus::blocking::connection::Builder::address(bus.as_str())
            .and_then(|builder| builder.name(BACKEND))
            .and_then(|builder| {
                builder.serve_at(
                    "/org/freedesktop/portal/desktop",
                    ScreenCastBackend {
                        state: state.clone(),
                        orders: Mutex::new(orders.clone()),
                        size: (width as i32, height as i32),
                    },
                )
            })
            .and_then(|builder| {
                builder.serve_at(
                    CONTROL_PATH,
                    Control {
                        state,
                        orders: Mutex::new(orders.clone()),
                    },
                )
            })
            .and_then(|builder| builder.build())
            .map_err(|error| format!("the test portal backend: {error}"))?;
        std::fs::write(
            portals.join(format!("{DESKTOP_NAME}.portal")),
            format!(
                "[portal]\nDBusName={BACKEND}\nInterfaces=org.freedesktop.impl.portal.ScreenCast;\nUseIn={DESKTOP_NAME}\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        let mut portal = Command::new("/usr/libexec/xdg-desktop-portal");
        portal.arg("--replace");
        environment(&mut portal);
        children.push(spawn(&mut portal, &dir, "xdg-desktop-portal")?);
        let mut desktop = Self {
            dir,
            bus,
            children,
            _backend: backend,
            orders,
            pipewire: Some(pipewire),
        };
        desktop.wait_for_portal()?;
        Ok(desktop)
    }

    fn wait_for_portal(&mut self) -> Result<(), String> {
        let connection = zbus::blocking::connection::Builder::address(self.bus.as_str())
            .and_then(|builder| builder.build())
            .map_err(|e| e.to_string())?;
        wait_for("xdg-desktop-portal's ScreenCast", Duration::from_secs(10), || {
            connection
                .call_method(
                    Some("org.freedesktop.portal.Desktop"),
                    "/org/freedesktop/portal/desktop",
                    Some("org.freedesktop.DBus.Properties"),
                    "Get",
                    &("org.freedesktop.portal.ScreenCast", "version"),
                )
                .is_ok()
        })
    }

    /// What a process needs in its environment to share from this desktop as from a Wayland
    /// session.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DBUS_SESSION_BUS_ADDRESS", self.bus.clone()),
            ("XDG_SESSION_TYPE", "wayland".into()),
            ("XDG_STATE_HOME", self.dir.join("state").display().to_string()),
        ]
    }
}

impl Drop for TestDesktop {
    fn drop(&mut self) {
        for child in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.orders.send(Order::Quit);
        if let Some(thread) = self.pipewire.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn set_private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string())
}

/// Starts a program of the desktop, its output in a log file beside it.
fn spawn(command: &mut Command, dir: &Path, name: &str) -> Result<Child, String> {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).map_err(|e| e.to_string())?;
    let errors = log.try_clone().map_err(|e| e.to_string())?;
    command
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(errors)
        .spawn()
        .map_err(|error| format!("cannot start {name}: {error}"))
}

fn owned<'a>(value: impl Into<Value<'a>>) -> OwnedValue {
    value.into().try_to_owned().unwrap_or_else(|_| OwnedValue::from(0u32))
}

type Results = HashMap<String, OwnedValue>;

/// `org.freedesktop.impl.portal.ScreenCast`, as a desktop would offer it.
struct ScreenCastBackend {
    state: Arc<Mutex<State>>,
    orders: Mutex<pw::channel::Sender<Order>>,
    size: (i32, i32),
}

#[zbus::interface(name = "org.freedesktop.impl.portal.ScreenCast")]
impl ScreenCastBackend {
    async fn create_session(
        &self,
        _handle: ObjectPath<'_>,
        session_handle: ObjectPath<'_>,
        _app_id: &str,
        _options: HashMap<String, OwnedValue>,
        #[zbus(object_server)] server: &zbus::ObjectServer,
    ) -> (u32, Results) {
        let _ = server.at(session_handle.to_owned(), Session).await;
        (0, Results::new())
    }

    async fn select_sources(
        &self,
        _handle: ObjectPath<'_>,
        session_handle: ObjectPath<'_>,
        _app_id: &str,
        options: HashMap<String, OwnedValue>,
    ) -> (u32, Results) {
        // Restore data from an earlier share means the person is not asked again.
        let restoring = options.contains_key("restore_data");
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !restoring {
            state.asked += 1;
        }
        state.streams.remove(session_handle.as_str());
        (0, Results::new())
    }

    async fn start(
        &self,
        _handle: ObjectPath<'_>,
        session_handle: ObjectPath<'_>,
        _app_id: &str,
        _parent_window: &str,
        _options: HashMap<String, OwnedValue>,
    ) -> (u32, Results) {
        if std::mem::take(
            &mut self
                .state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .cancel_next,
        ) {
            return (1, Results::new());
        }
        let (reply, node) = std::sync::mpsc::sync_channel(1);
        let sent = self
            .orders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .send(Order::NewStream(reply));
        let node = match sent.ok().and_then(|()| node.recv_timeout(Duration::from_secs(5)).ok()) {
            Some(Ok(node)) => node,
            Some(Err(error)) => {
                eprintln!("test desktop: no stream: {error}");
                return (2, Results::new());
            }
            None => return (2, Results::new()),
        };
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .streams
            .insert(session_handle.to_string(), node);
        let mut properties: HashMap<String, OwnedValue> = HashMap::new();
        properties.insert("source_type".into(), owned(1u32));
        properties.insert("size".into(), owned(self.size));
        properties.insert("position".into(), owned((0i32, 0i32)));
        let mut results = Results::new();
        results.insert("streams".into(), owned(vec![(node, properties)]));
        results.insert("persist_mode".into(), owned(2u32));
        results.insert(
            "restore_data".into(),
            owned((DESKTOP_NAME.to_owned(), 1u32, Value::from("display 1"))),
        );
        (0, results)
    }

    #[zbus(property, name = "AvailableSourceTypes")]
    fn available_source_types(&self) -> u32 {
        1
    }

    #[zbus(property, name = "AvailableCursorModes")]
    fn available_cursor_modes(&self) -> u32 {
        1 | 2
    }

    #[zbus(property, name = "version")]
    fn version(&self) -> u32 {
        4
    }
}

/// A session object: the portal closes it when the sharing program does.
struct Session;

#[zbus::interface(name = "org.freedesktop.impl.portal.Session")]
impl Session {
    async fn close(
        &self,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) {
        if let Some(path) = header.path() {
            let _ = server.remove::<Self, _>(path.to_owned()).await;
        }
    }

    #[zbus(property, name = "version")]
    fn version(&self) -> u32 {
        1
    }
}

/// The test's handle on the backend.
struct Control {
    state: Arc<Mutex<State>>,
    orders: Mutex<pw::channel::Sender<Order>>,
}

#[zbus::interface(name = "org.videomeet.TestDesktop")]
impl Control {
    /// Times the person was asked to choose.
    fn asked(&self) -> u32 {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).asked
    }

    /// The next share is cancelled at the dialog.
    fn cancel_next(&self) {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .cancel_next = true;
    }

    /// What is shared goes away (a display unplugged, a window closed).
    fn end_all(&self) {
        let _ = self
            .orders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .send(Order::EndAll);
    }
}

/// Steers the test desktop's backend from a process that was given its
/// [`TestDesktop::environment`].
pub struct TestDesktopControl(zbus::blocking::Connection);

impl TestDesktopControl {
    /// Connects over the session bus the environment names.
    pub fn connect() -> Result<Self, String> {
        zbus::blocking::Connection::session()
            .map(Self)
            .map_err(|error| format!("the test desktop's bus: {error}"))
    }

    fn call<R: for<'d> zbus::zvariant::DynamicDeserialize<'d>>(&self, method: &str) -> Result<R, String> {
        self.0
            .call_method(Some(BACKEND), CONTROL_PATH, Some(CONTROL_INTERFACE), method, &())
            .and_then(|reply| reply.body().deserialize::<R>())
            .map_err(|error| format!("{method}: {error}"))
    }

    /// Times the person was asked to choose what to share.
    pub fn asked(&self) -> Result<u32, String> {
        self.call("Asked")
    }

    /// Has the next share cancelled at the dialog.
    pub fn cancel_next(&self) -> Result<(), String> {
        self.call("CancelNext")
    }

    /// Makes what is shared go away, as an unplugged display or a closed window does.
    pub fn end_all(&self) -> Result<(), String> {
        self.call("EndAll")
    }
}

/// How often the picture is sent again while nothing changes.
const RESEND: Duration = Duration::from_millis(500);

/// Runs PipeWire video sources showing `picture`, one per started share, until the
/// desktop ends.
fn serve_pictures(remote: &Path, picture: &ScreenPicture, orders: pw::channel::Receiver<Order>) -> Result<(), String> {
    pw::init();
    let socket = std::os::unix::net::UnixStream::connect(remote).map_err(|e| e.to_string())?;
    let main_loop = pw::main_loop::MainLoopRc::new(None).map_err(|e| e.to_string())?;
    let context = pw::context::ContextRc::new(&main_loop, None).map_err(|e| e.to_string())?;
    let core = context.connect_fd_rc(socket.into(), None).map_err(|e| e.to_string())?;
    let streams: std::rc::Rc<std::cell::RefCell<Vec<Source>>> = Default::default();
    let picture = std::rc::Rc::new(picture.clone());
    let _orders = orders.attach(main_loop.loop_(), {
        let streams = streams.clone();
        let core = core.clone();
        let picture = picture.clone();
        let main_loop = main_loop.downgrade();
        move |order| match order {
            Order::NewStream(reply) => match Source::start(&core, picture.clone()) {
                Ok(source) => {
                    reply_when_known(&source.waiter, reply);
                    streams.borrow_mut().push(source);
                }
                Err(error) => {
                    let _ = reply.send(Err(error));
                }
            },
            Order::EndAll => streams.borrow_mut().clear(),
            Order::Quit => {
                streams.borrow_mut().clear();
                if let Some(main_loop) = main_loop.upgrade() {
                    main_loop.quit();
                }
            }
        }
    });
    let timer = main_loop.loop_().add_timer({
        let streams = streams.clone();
        move |_| {
            for source in streams.borrow().iter() {
                source.tick();
            }
        }
    });
    let _ = timer.update_timer(Some(Duration::from_millis(20)), Some(Duration::from_millis(20)));
    main_loop.run();
    Ok(())
}

/// Who waits for a source's node id.
type NodeWaiter = std::rc::Rc<std::cell::RefCell<NodeState>>;

#[derive(Default)]
struct NodeState {
    node: Option<u32>,
    reply: Option<std::sync::mpsc::SyncSender<Result<u32, String>>>,
    /// When the picture was last sent; `None` once it is to be sent at the next tick.
    sent_at: Option<Instant>,
    streaming: bool,
}

/// One video source (a "display").
struct Source {
    stream: pw::stream::StreamRc,
    _listener: pw::stream::StreamListener<()>,
    waiter: NodeWaiter,
}

impl Source {
    fn start(core: &pw::core::CoreRc, picture: std::rc::Rc<ScreenPicture>) -> Result<Self, String> {
        let stream = pw::stream::StreamRc::new(
            core.clone(),
            "test desktop display",
            pw::properties::properties! {
                *pw::keys::MEDIA_CLASS => "Video/Source",
                *pw::keys::MEDIA_TYPE => "Video",
                *pw::keys::MEDIA_CATEGORY => "Source",
            },
        )
        .map_err(|e| e.to_string())?;
        let waiter: NodeWaiter = Default::default();
        let (width, height) = (picture.width, picture.height);
        let listener = stream
            .add_local_listener_with_user_data(())
            .state_changed({
                let waiter = waiter.clone();
                move |stream, _, _, state| {
                    let mut waiter = waiter.borrow_mut();
                    if waiter.node.is_none() && stream.node_id() != pw::constants::ID_ANY {
                        waiter.node = Some(stream.node_id());
                        if let Some(reply) = waiter.reply.take() {
                            let _ = reply.send(Ok(stream.node_id()));
                        }
                    }
                    waiter.streaming = matches!(state, pw::stream::StreamState::Streaming);
                    waiter.sent_at = None;
                }
            })
            .param_changed(move |stream, _, id, parameter| {
                if parameter.is_none() || id != spa::param::ParamType::Format.as_raw() {
                    return;
                }
                if let Ok(buffers) = buffer_parameters(width, height)
                    && let Some(pod) = spa::pod::Pod::from_bytes(&buffers)
                {
                    let _ = stream.update_params(&mut [pod]);
                }
            })
            .process(move |stream, _| {
                let Some(mut buffer) = stream.dequeue_buffer() else {
                    return;
                };
                let Some(data) = buffer.datas_mut().first_mut() else {
                    return;
                };
                let row = picture.width as usize * 4;
                let size = row * picture.height as usize;
                if let Some(bytes) = data.data()
                    && bytes.len() >= size
                {
                    bytes[..size].copy_from_slice(&picture.data[..size]);
                }
                let chunk = data.chunk_mut();
                *chunk.offset_mut() = 0;
                *chunk.size_mut() = size as u32;
                *chunk.stride_mut() = row as i32;
            })
            .register()
            .map_err(|e| e.to_string())?;
        let format = source_format(width, height)?;
        let pod = spa::pod::Pod::from_bytes(&format).ok_or("the source's format")?;
        stream
            .connect(
                spa::utils::Direction::Output,
                None,
                pw::stream::StreamFlags::DRIVER | pw::stream::StreamFlags::MAP_BUFFERS,
                &mut [pod],
            )
            .map_err(|e| e.to_string())?;
        Ok(Self {
            stream,
            _listener: listener,
            waiter,
        })
    }

    /// Sends the picture when a viewer has just come, and again now and then.
    fn tick(&self) {
        let mut waiter = self.waiter.borrow_mut();
        if !waiter.streaming || waiter.sent_at.is_some_and(|at| at.elapsed() < RESEND) {
            return;
        }
        waiter.sent_at = Some(Instant::now());
        drop(waiter);
        let _ = self.stream.trigger_process();
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        let _ = self.stream.disconnect();
    }
}

/// Sends the source's node id on `reply` now, or once PipeWire has given it.
fn reply_when_known(waiter: &NodeWaiter, reply: std::sync::mpsc::SyncSender<Result<u32, String>>) {
    let mut waiter = waiter.borrow_mut();
    match waiter.node {
        Some(node) => {
            let _ = reply.send(Ok(node));
        }
        None => waiter.reply = Some(reply),
    }
}

fn serialize(object: spa::pod::Object) -> Result<Vec<u8>, String> {
    spa::pod::serialize::PodSerializer::serialize(std::io::Cursor::new(Vec::new()), &spa::pod::Value::Object(object))
        .map(|(bytes, _)| bytes.into_inner())
        .map_err(|error| format!("{error:?}"))
}

fn property(key: u32, value: spa::pod::Value) -> spa::pod::Property {
    spa::pod::Property {
        key,
        flags: spa::pod::PropertyFlags::empty(),
        value,
    }
}

/// The source's one format: BGRx of the picture's size, sent when it changes.
fn source_format(width: u32, height: u32) -> Result<Vec<u8>, String> {
    use spa::param::format::{FormatProperties, MediaSubtype, MediaType};
    use spa::pod::Value;
    use spa::utils::{Fraction, Id, Rectangle, SpaTypes};
    serialize(spa::pod::Object {
        type_: SpaTypes::ObjectParamFormat.as_raw(),
        id: spa::param::ParamType::EnumFormat.as_raw(),
        properties: vec![
            property(
                FormatProperties::MediaType.as_raw(),
                Value::Id(Id(MediaType::Video.as_raw())),
            ),
            property(
                FormatProperties::MediaSubtype.as_raw(),
                Value::Id(Id(MediaSubtype::Raw.as_raw())),
            ),
            property(
                FormatProperties::VideoFormat.as_raw(),
                Value::Id(Id(spa::param::video::VideoFormat::BGRx.as_raw())),
            ),
            property(
                FormatProperties::VideoSize.as_raw(),
                Value::Rectangle(Rectangle { width, height }),
            ),
            property(
                FormatProperties::VideoFramerate.as_raw(),
                Value::Fraction(Fraction { num: 0, denom: 1 }),
            ),
        ],
    })
}

/// Buffers in shared memory, one picture each.
fn buffer_parameters(width: u32, height: u32) -> Result<Vec<u8>, String> {
    use spa::pod::Value;
    let stride = width as i32 * 4;
    serialize(spa::pod::Object {
        type_: spa::utils::SpaTypes::ObjectParamBuffers.as_raw(),
        id: spa::param::ParamType::Buffers.as_raw(),
        properties: vec![
            property(spa::sys::SPA_PARAM_BUFFERS_buffers, Value::Int(4)),
            property(spa::sys::SPA_PARAM_BUFFERS_blocks, Value::Int(1)),
            property(spa::sys::SPA_PARAM_BUFFERS_size, Value::Int(stride * height as i32)),
            property(spa::sys::SPA_PARAM_BUFFERS_stride, Value::Int(stride)),
            property(
                spa::sys::SPA_PARAM_BUFFERS_dataType,
                Value::Int(1 << spa::sys::SPA_DATA_MemFd),
            ),
        ],
    })
}

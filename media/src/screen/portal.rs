//! Wayland: sharing through the desktop portal (`org.freedesktop.portal.ScreenCast`). The
//! desktop's own dialog picks a display or a window; its pictures, pointer drawn in, come
//! over PipeWire to a thread of our own and wait there for the next grab.
//!
//! The choice is made before the share starts ([`ask_desktop`], which may wait on a person)
//! and kept here under a number, so opening the capture later never waits on anyone.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ashpd::desktop::PersistMode;
use ashpd::desktop::screencast::{CursorMode, Screencast, SourceType};
use pipewire as pw;
use pw::spa;

use super::{ChannelOrder, ScreenChoice, ScreenError, ScreenKind, ScreenPicture};

/// How long the first picture may take to come once the stream is connected.
const FIRST_PICTURE: Duration = Duration::from_secs(3);

/// True on a Wayland session: `XDG_SESSION_TYPE` says so, or, where it is not set,
/// `WAYLAND_DISPLAY` is. Whether `DISPLAY` is set does not count: XWayland sets it too, and
/// through it only X11 windows can be seen.
pub(crate) fn in_use() -> bool {
    match std::env::var("XDG_SESSION_TYPE") {
        Ok(session) if !session.is_empty() => session == "wayland",
        _ => std::env::var_os("WAYLAND_DISPLAY").is_some_and(|display| !display.is_empty()),
    }
}

type Session = ashpd::desktop::Session<'static, Screencast<'static>>;

/// A share the desktop agreed to, not yet opened.
struct Chosen {
    portal: Screencast<'static>,
    session: Session,
    remote: OwnedFd,
    node: u32,
}

/// The desktop's choices not yet opened, by the number their [`ScreenChoice`] carries.
static CHOSEN: Mutex<Option<HashMap<u32, Chosen>>> = Mutex::new(None);
/// The number the next choice gets.
static NEXT_CHOICE: Mutex<u32> = Mutex::new(1);

fn chosen() -> MutexGuard<'static, Option<HashMap<u32, Chosen>>> {
    CHOSEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn failed(error: impl std::fmt::Display) -> ScreenError {
    ScreenError::Failed(error.to_string())
}

/// What the portal's answer means for the person sharing.
fn portal_error(error: ashpd::Error) -> ScreenError {
    use ashpd::desktop::ResponseError;
    match error {
        ashpd::Error::Response(ResponseError::Cancelled) => ScreenError::Cancelled,
        ashpd::Error::Response(ResponseError::Other) => {
            ScreenError::Failed("the desktop refused to share the screen".into())
        }
        ashpd::Error::PortalNotFound(_) | ashpd::Error::Zbus(_) => ScreenError::Unsupported(format!(
            "this Wayland desktop offers no screen sharing portal ({error}); install xdg-desktop-portal \
             and the portal for your desktop (for example xdg-desktop-portal-gnome, -kde or -wlr)"
        )),
        other => failed(format!("the desktop's screen sharing portal failed: {other}")),
    }
}

/// What was shared last through the desktop's dialog: its name, and the token that shares it
/// again without asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastShared {
    /// The name the share was shown under.
    pub name: String,
    token: String,
}

/// Where the last share's token is kept between runs.
fn last_shared_file() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state")))?;
    Some(state.join("videomeet").join("screen-share"))
}

/// The display or window shared last through the desktop's dialog, if the desktop gave a
/// token for it.
pub fn last_shared() -> Option<LastShared> {
    let text = std::fs::read_to_string(last_shared_file()?).ok()?;
    let (token, name) = text.split_once('\n')?;
    (!token.is_empty()).then(|| LastShared {
        name: name.trim_end().to_owned(),
        token: token.to_owned(),
    })
}

fn remember(last: Option<&LastShared>) {
    let Some(file) = last_shared_file() else { return };
    let written = match last {
        Some(last) => file
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&file, format!("{}\n{}\n", last.token, last.name))),
        None => match std::fs::remove_file(&file) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        },
    };
    if let Err(error) = written {
        tracing::warn!("could not keep the screen share's token in {}: {error}", file.display());
    }
}

/// Asks the desktop which display or window to share: its dialog shows unless `again` holds
/// a token it gave before, which shares that source without asking. Waits as long as the
/// person takes. The answer is opened with [`super::ScreenCapture::open`].
pub fn ask_desktop(again: Option<&LastShared>) -> Result<ScreenChoice, ScreenError> {
    let (chosen_share, choice, last) = async_io::block_on(negotiate(again))?;
    remember(last.as_ref());
    let mut number = NEXT_CHOICE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let id = *number;
    *number = number.wrapping_add(1).max(1);
    let choice = ScreenChoice { id, ..choice };
    let mut waiting = chosen();
    let waiting = waiting.get_or_insert_with(HashMap::new);
    // An earlier answer that was never opened is let go: only the newest is wanted.
    for (_, old) in waiting.drain() {
        close(&old.session);
    }
    waiting.insert(id, chosen_share);
    Ok(choice)
}

async fn negotiate(again: Option<&LastShared>) -> Result<(Chosen, ScreenChoice, Option<LastShared>), ScreenError> {
    let portal = Screencast::new().await.map_err(portal_error)?;
    let offered = portal.available_source_types().await.map_err(portal_error)?;
    let types = offered & (SourceType::Monitor | SourceType::Window);
    if types.is_empty() {
        return Err(ScreenError::Unsupported(
            "the desktop's screen sharing portal offers neither displays nor windows".into(),
        ));
    }
    let cursor = match portal.available_cursor_modes().await {
        Ok(modes) if modes.contains(CursorMode::Embedded) => CursorMode::Embedded,
        _ => CursorMode::Hidden,
    };
    let session = portal.create_session().await.map_err(portal_error)?;
    let started = async {
        portal
            .select_sources(
                &session,
                cursor,
                types,
                false,
                again.map(|last| last.token.as_str()),
                PersistMode::ExplicitlyRevoked,
            )
            .await?
            .response()?;
        portal.start(&session, None).await?.response()
    }
    .await;
    let streams = match started {
        Ok(streams) => streams,
        Err(error) => {
            close(&session);
            return Err(portal_error(error));
        }
    };
    let Some(stream) = streams.streams().first() else {
        close(&session);
        return Err(failed("the desktop chose nothing to share"));
    };
    let kind = match stream.source_type() {
        Some(SourceType::Window) => ScreenKind::Window,
        _ => ScreenKind::Display,
    };
    let what = match kind {
        ScreenKind::Display => "Display",
        ScreenKind::Window => "Window",
    };
    let name = match stream.size() {
        Some((width, height)) => format!("{what} ({width}x{height})"),
        None => what.to_owned(),
    };
    let last = streams.restore_token().map(|token| LastShared {
        name: name.clone(),
        token: token.to_owned(),
    });
    let node = stream.pipe_wire_node_id();
    let remote = match portal.open_pipe_wire_remote(&session).await {
        Ok(remote) => remote,
        Err(error) => {
            close(&session);
            return Err(portal_error(error));
        }
    };
    let choice = ScreenChoice { kind, id: 0, name };
    Ok((
        Chosen {
            portal,
            session,
            remote,
            node,
        },
        choice,
        last,
    ))
}

/// Ends a portal session: the desktop stops its sharing indicator.
fn close(session: &Session) {
    if let Err(error) = async_io::block_on(session.close()) {
        tracing::debug!("closing the screen sharing session: {error}");
    }
}

/// What the PipeWire thread leaves for the next grab.
#[derive(Default)]
struct Latest {
    picture: ScreenPicture,
    /// A picture came since the last grab.
    fresh: bool,
    /// Why the stream ended, once it has.
    ended: Option<String>,
}

type Shared = Arc<(Mutex<Latest>, Condvar)>;

fn lock(shared: &Shared) -> MutexGuard<'_, Latest> {
    shared.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An open share through the portal.
pub(super) struct Capture {
    shared: Shared,
    stop: pw::channel::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
    // Kept for as long as the share runs: the desktop ends it when they go.
    _portal: Screencast<'static>,
    session: Session,
}

impl Capture {
    pub(super) fn open(choice: &ScreenChoice) -> Result<Self, ScreenError> {
        let Chosen {
            portal,
            session,
            remote,
            node,
        } = chosen()
            .as_mut()
            .and_then(|waiting| waiting.remove(&choice.id))
            .ok_or_else(|| ScreenError::Gone(choice.name.clone()))?;
        let shared: Shared = Arc::default();
        let (stop, stopped) = pw::channel::channel();
        let (ready, connected) = std::sync::mpsc::sync_channel(1);
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("screen-pipewire".into())
            .spawn(move || {
                if let Err(error) = receive(remote, node, &thread_shared, stopped, &ready) {
                    let _ = ready.send(Err(error));
                }
            })
            .map_err(failed)?;
        let capture = Self {
            shared,
            stop,
            thread: Some(thread),
            _portal: portal,
            session,
        };
        connected
            .recv()
            .unwrap_or_else(|_| Err(failed("the PipeWire thread ended")))?;
        // The first picture, so that a share never starts black.
        let deadline = Instant::now() + FIRST_PICTURE;
        let mut latest = lock(&capture.shared);
        while !latest.fresh && latest.ended.is_none() {
            let now = Instant::now();
            if now >= deadline {
                return Err(failed("the desktop sent no picture of the screen"));
            }
            latest = capture
                .shared
                .1
                .wait_timeout(latest, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        if let Some(reason) = latest.ended.clone() {
            return Err(failed(reason));
        }
        drop(latest);
        Ok(capture)
    }

    /// Waits for the next picture from the desktop (it sends one when the screen changes),
    /// `until`, or `interrupt`.
    pub(super) fn wait_for_damage(&mut self, until: Instant, interrupt: &dyn Fn() -> bool) -> bool {
        let mut latest = lock(&self.shared);
        loop {
            let now = Instant::now();
            if latest.fresh || latest.ended.is_some() || now >= until || interrupt() {
                return true;
            }
            let wait = (until - now).min(super::INTERRUPT_CHECK);
            latest = self
                .shared
                .1
                .wait_timeout(latest, wait)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// The newest picture; with none new since the last grab, `picture` keeps the one it has.
    pub(super) fn grab(&mut self, choice: &ScreenChoice, picture: &mut ScreenPicture) -> Result<(), ScreenError> {
        let mut latest = lock(&self.shared);
        if let Some(reason) = &latest.ended {
            tracing::info!("screen share ended by the desktop: {reason}");
            return Err(ScreenError::Gone(choice.name.clone()));
        }
        if latest.fresh {
            latest.fresh = false;
            // The buffers change hands: the next picture is written over the one given back.
            std::mem::swap(picture, &mut latest.picture);
        }
        Ok(())
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        close(&self.session);
    }
}

/// The pixel formats taken, as the desktop's buffers hold them (no conversion on its side).
const FORMATS: [spa::param::video::VideoFormat; 4] = [
    spa::param::video::VideoFormat::BGRx,
    spa::param::video::VideoFormat::BGRA,
    spa::param::video::VideoFormat::RGBx,
    spa::param::video::VideoFormat::RGBA,
];

/// The stream's parameters: raw video in one of [`FORMATS`], any size, up to 60 pictures a
/// second, in shared memory.
fn format_parameters() -> Result<Vec<u8>, ScreenError> {
    use spa::param::format::{FormatProperties, MediaSubtype, MediaType};
    use spa::pod::{ChoiceValue, Property, PropertyFlags, Value};
    use spa::utils::{Choice, ChoiceEnum, ChoiceFlags, Fraction, Id, Rectangle, SpaTypes};
    let formats = Choice(
        ChoiceFlags::empty(),
        ChoiceEnum::Enum {
            default: Id(FORMATS[0].as_raw()),
            alternatives: FORMATS.iter().map(|format| Id(format.as_raw())).collect(),
        },
    );
    let sizes = Choice(
        ChoiceFlags::empty(),
        ChoiceEnum::Range {
            default: Rectangle {
                width: 1920,
                height: 1080,
            },
            min: Rectangle { width: 1, height: 1 },
            max: Rectangle {
                width: 8192,
                height: 8192,
            },
        },
    );
    let rates = Choice(
        ChoiceFlags::empty(),
        ChoiceEnum::Range {
            default: Fraction { num: 30, denom: 1 },
            min: Fraction { num: 0, denom: 1 },
            max: Fraction { num: 60, denom: 1 },
        },
    );
    let property = |key: FormatProperties, value: Value| Property {
        key: key.as_raw(),
        flags: PropertyFlags::empty(),
        value,
    };
    let object = spa::pod::Object {
        type_: SpaTypes::ObjectParamFormat.as_raw(),
        id: spa::param::ParamType::EnumFormat.as_raw(),
        properties: vec![
            property(FormatProperties::MediaType, Value::Id(Id(MediaType::Video.as_raw()))),
            property(
                FormatProperties::MediaSubtype,
                Value::Id(Id(MediaSubtype::Raw.as_raw())),
            ),
            property(FormatProperties::VideoFormat, Value::Choice(ChoiceValue::Id(formats))),
            property(
                FormatProperties::VideoSize,
                Value::Choice(ChoiceValue::Rectangle(sizes)),
            ),
            property(
                FormatProperties::VideoFramerate,
                Value::Choice(ChoiceValue::Fraction(rates)),
            ),
        ],
    };
    spa::pod::serialize::PodSerializer::serialize(std::io::Cursor::new(Vec::new()), &Value::Object(object))
        .map(|(bytes, _)| bytes.into_inner())
        .map_err(|error| failed(format!("the stream's parameters: {error:?}")))
}

/// The stream's negotiated picture format.
#[derive(Clone, Copy, Default)]
struct Format {
    width: u32,
    height: u32,
    order: Option<ChannelOrder>,
}

/// Connects to the portal's PipeWire and copies each picture into `shared` until `stopped`
/// says to end or the stream ends. Says on `ready` once the stream is connected.
fn receive(
    remote: OwnedFd,
    node: u32,
    shared: &Shared,
    stopped: pw::channel::Receiver<()>,
    ready: &std::sync::mpsc::SyncSender<Result<(), ScreenError>>,
) -> Result<(), ScreenError> {
    pw::init();
    let pipewire = |error: pw::Error| failed(format!("PipeWire: {error}"));
    let main_loop = pw::main_loop::MainLoopRc::new(None).map_err(pipewire)?;
    let context = pw::context::ContextRc::new(&main_loop, None).map_err(pipewire)?;
    let core = context.connect_fd_rc(remote, None).map_err(pipewire)?;
    let end = {
        let shared = shared.clone();
        let main_loop = main_loop.downgrade();
        std::rc::Rc::new(move |reason: String| {
            let mut latest = lock(&shared);
            latest.ended.get_or_insert(reason);
            shared.1.notify_all();
            if let Some(main_loop) = main_loop.upgrade() {
                main_loop.quit();
            }
        })
    };
    let _core_listener = core
        .add_listener_local()
        .error({
            let end = end.clone();
            move |id, _seq, _result, message| {
                if id == pw::core::PW_ID_CORE {
                    end(format!("PipeWire: {message}"));
                }
            }
        })
        .register();
    // The shared display or window going away (unplugged, closed) removes its node.
    let registry = core.get_registry().map_err(pipewire)?;
    let _registry_listener = registry
        .add_listener_local()
        .global_remove({
            let end = end.clone();
            move |id| {
                if id == node {
                    end("the shared display or window is gone".into());
                }
            }
        })
        .register();
    let stream = pw::stream::StreamBox::new(
        &core,
        "Video Meet screen share",
        pw::properties::properties! {
            *pw::keys::MEDIA_TYPE => "Video",
            *pw::keys::MEDIA_CATEGORY => "Capture",
            *pw::keys::MEDIA_ROLE => "Screen",
        },
    )
    .map_err(pipewire)?;
    let _stream_listener = stream
        .add_local_listener_with_user_data(Format::default())
        .state_changed({
            let end = end.clone();
            move |_, _, _, state| match state {
                pw::stream::StreamState::Error(message) => end(format!("the screen stream failed: {message}")),
                pw::stream::StreamState::Unconnected => end("the desktop ended the screen stream".into()),
                _ => {}
            }
        })
        .param_changed(|_, format, id, parameter| {
            let Some(parameter) = parameter else { return };
            if id != spa::param::ParamType::Format.as_raw() {
                return;
            }
            let mut info = spa::param::video::VideoInfoRaw::default();
            if info.parse(parameter).is_err() {
                return;
            }
            use spa::param::video::VideoFormat;
            *format = Format {
                width: info.size().width,
                height: info.size().height,
                order: match info.format() {
                    VideoFormat::BGRx | VideoFormat::BGRA => Some(ChannelOrder::Bgra),
                    VideoFormat::RGBx | VideoFormat::RGBA => Some(ChannelOrder::Rgba),
                    _ => None,
                },
            };
        })
        .process({
            let shared = shared.clone();
            move |stream, format| {
                let Some(mut buffer) = stream.dequeue_buffer() else {
                    return;
                };
                let Some(order) = format.order else { return };
                let Some(data) = buffer.datas_mut().first_mut() else {
                    return;
                };
                let (offset, size, stride) = (
                    data.chunk().offset() as usize,
                    data.chunk().size() as usize,
                    data.chunk().stride(),
                );
                let Some(bytes) = data.data() else { return };
                let row = format.width as usize * 4;
                let stride = if stride > 0 { stride as usize } else { row };
                let Some(bytes) = bytes.get(offset..offset + size) else {
                    return;
                };
                if format.height == 0 || stride < row || size < stride * (format.height as usize - 1) + row {
                    return; // an empty or cut-off buffer: nothing changed worth showing
                }
                let mut latest = lock(&shared);
                let picture = &mut latest.picture;
                picture.width = format.width;
                picture.height = format.height;
                picture.order = order;
                picture.data.clear();
                for line in bytes.chunks(stride).take(format.height as usize) {
                    picture.data.extend_from_slice(&line[..row]);
                }
                latest.fresh = true;
                shared.1.notify_all();
            }
        })
        .register()
        .map_err(pipewire)?;
    let parameters = format_parameters()?;
    let pod = spa::pod::Pod::from_bytes(&parameters).ok_or_else(|| failed("the stream's parameters"))?;
    stream
        .connect(
            spa::utils::Direction::Input,
            Some(node),
            pw::stream::StreamFlags::AUTOCONNECT | pw::stream::StreamFlags::MAP_BUFFERS,
            &mut [pod],
        )
        .map_err(pipewire)?;
    let _stop = stopped.attach(main_loop.loop_(), {
        let main_loop = main_loop.downgrade();
        move |()| {
            if let Some(main_loop) = main_loop.upgrade() {
                main_loop.quit();
            }
        }
    });
    let _ = ready.send(Ok(()));
    main_loop.run();
    let _ = stream.disconnect();
    Ok(())
}

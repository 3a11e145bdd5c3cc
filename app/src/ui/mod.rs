//! The window: an eframe application on the wgpu renderer.

mod app;
mod background;
mod grid;
mod home;
mod meeting;
mod notify;
mod qr;
mod recent;
mod settings;
mod setup;
mod style;
mod video_view;

#[cfg(test)]
mod tests;

use eframe::egui;

/// What the window opens on.
pub enum Opening {
    /// The home screen.
    Home,
    /// Straight in a meeting, as the command line describes it.
    Meeting(Box<Start>),
    /// The setup screen of the meeting a link names (a clicked link), joined once the user
    /// says so.
    Link(videomeet_net::JoinTarget),
}

/// A meeting to open the window in, chosen on the command line.
pub struct Start {
    /// Host or join.
    pub role: videomeet_net::meeting::Role,
    /// Devices and name.
    pub config: videomeet_net::meeting::MeetingConfig,
    /// What to call the meeting until the host says.
    pub title: String,
}

/// Opens the main window and runs until it is closed, on what `opening` says; later
/// launches hand their links over through `handovers`. `started` is when the program
/// started (for the log's
/// start-up time). Ctrl+C or SIGTERM closes the window as its close button does, leaving
/// the meeting on the way; a second one while closing stops the program at once.
pub fn run(
    opening: Opening,
    handovers: Option<crate::single_instance::Handovers>,
    started: std::time::Instant,
    last_crash: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    // The network side of meetings; the window never waits on it.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("meeting-net")
        .enable_all()
        .build()?;
    let settings = settings::SettingsFile::load();
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Wgpu,
        viewport: egui::ViewportBuilder::default()
            .with_title("Video Meet")
            .with_app_id("videomeet")
            .with_icon(crate::icon::pixels())
            .with_inner_size([1024.0, 680.0])
            .with_min_inner_size([640.0, 420.0]),
        ..Default::default()
    };
    let handle = runtime.handle().clone();
    let stop = {
        let _inside = runtime.enter();
        crate::stop::StopRequests::catch()?
    };
    eframe::run_native(
        "Video Meet",
        options,
        Box::new(move |creation| {
            handle.spawn(close_when_asked(creation.egui_ctx.clone(), stop));
            if let Some(render_state) = &creation.wgpu_render_state {
                video_view::VideoRenderer::install(render_state);
            }
            let mut app = app::App::new(&creation.egui_ctx, handle, settings, started);
            if let Some(handovers) = &handovers {
                let ctx = creation.egui_ctx.clone();
                handovers.wake_with(move || ctx.request_repaint());
            }
            app.handovers = handovers;
            if let Some(report) = last_crash {
                app.point_out_crash(&report);
            }
            match opening {
                Opening::Home => {}
                Opening::Meeting(start) => app.start_from_command_line(&creation.egui_ctx, *start),
                Opening::Link(target) => app.open_link(&creation.egui_ctx, target),
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))?;
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(())
}

/// Closes the window on the first stop request (which leaves the meeting, as the close
/// button does), and ends the program on a second.
async fn close_when_asked(ctx: egui::Context, mut stop: crate::stop::StopRequests) {
    let request = stop.next().await;
    tracing::info!("{request}: closing the window");
    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    ctx.request_repaint();
    stop.next().await.exit_now();
}

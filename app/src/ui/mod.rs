//! The window: an eframe application on the wgpu renderer.

mod home;
mod video_view;

use eframe::egui;

/// Opens the main window and runs until it is closed.
pub fn run() -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Wgpu,
        viewport: egui::ViewportBuilder::default()
            .with_title("Video Meet")
            .with_app_id("videomeet")
            .with_inner_size([960.0, 640.0])
            .with_min_inner_size([480.0, 360.0]),
        ..Default::default()
    };
    eframe::run_native(
        "Video Meet",
        options,
        Box::new(|creation| {
            if let Some(render_state) = &creation.wgpu_render_state {
                video_view::VideoRenderer::install(render_state);
            }
            Ok(Box::new(home::HomeApp::new(&creation.egui_ctx)))
        }),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
}

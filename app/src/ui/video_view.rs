//! Video tiles drawn on the GPU: I420 planes uploaded as three `R8Unorm` textures and
//! converted by a WGSL shader inside an egui paint callback.
//!
//! The UI thread only hands the callback a slot; the newest frame is copied out of it and
//! uploaded during `prepare`, into textures that are reused until the picture size changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use eframe::egui;
use eframe::egui_wgpu::{self, wgpu};
use videomeet_media::VideoFrame;
use videomeet_media::slot::VideoSlot;

/// Tile id of the setup screen's camera preview.
pub const PREVIEW_TILE: u64 = u64::MAX;
/// Tile id of our own picture in a meeting; other participants use their id.
pub const SELF_TILE: u64 = u64::MAX - 1;
/// Textures of a tile not drawn for this long are freed (the participant left).
const UNUSED_TILE_LIFETIME: Duration = Duration::from_secs(5);

/// A vertex entry point added to `yuv.wgsl`: its full-viewport quad (as `vs_main` draws
/// it; an entry point cannot call another) with the texture coordinates turned round left
/// to right, for a picture drawn as a mirror shows it.
const MIRRORED_VERTEX: &str = "
@vertex
fn vs_mirrored(@builtin(vertex_index) index: u32) -> VertexOut {
    let corner = vec2<f32>(f32(index & 1u), f32(index >> 1u));
    var out: VertexOut;
    out.position = vec4<f32>(corner.x * 2.0 - 1.0, 1.0 - corner.y * 2.0, 0.0, 1.0);
    out.uv = vec2<f32>(1.0 - corner.x, corner.y);
    return out;
}
";

/// GPU objects shared by every tile, kept in egui-wgpu's callback resources.
pub struct VideoRenderer {
    /// Draws a picture as it is.
    pipeline: wgpu::RenderPipeline,
    /// Draws a picture mirrored left to right.
    mirrored_pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    tiles: HashMap<u64, Tile>,
    scratch: VideoFrame,
}

/// One tile's textures and what it last uploaded.
struct Tile {
    size: (u32, u32),
    planes: [wgpu::Texture; 3],
    bind_group: wgpu::BindGroup,
    generation: u64,
    last_drawn: Instant,
}

impl VideoRenderer {
    /// Creates the pipeline and registers the renderer with egui-wgpu. Call once at start.
    pub fn install(render_state: &egui_wgpu::RenderState) {
        let device = &render_state.device;
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("yuv"),
            source: wgpu::ShaderSource::Wgsl(format!("{}{MIRRORED_VERTEX}", include_str!("yuv.wgsl")).into()),
        });
        let texture_entry = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                sample_type: wgpu::TextureSampleType::Float { filterable: true },
                view_dimension: wgpu::TextureViewDimension::D2,
                multisampled: false,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("yuv planes"),
            entries: &[
                texture_entry(0),
                texture_entry(1),
                texture_entry(2),
                wgpu::BindGroupLayoutEntry {
                    binding: 3,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("yuv"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = |vertex_entry_point| {
            device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                label: Some(vertex_entry_point),
                layout: Some(&pipeline_layout),
                vertex: wgpu::VertexState {
                    module: &shader,
                    entry_point: Some(vertex_entry_point),
                    compilation_options: Default::default(),
                    buffers: &[],
                },
                primitive: wgpu::PrimitiveState {
                    topology: wgpu::PrimitiveTopology::TriangleStrip,
                    ..Default::default()
                },
                depth_stencil: None,
                multisample: wgpu::MultisampleState::default(),
                fragment: Some(wgpu::FragmentState {
                    module: &shader,
                    entry_point: Some("fs_main"),
                    compilation_options: Default::default(),
                    targets: &[Some(render_state.target_format.into())],
                }),
                multiview_mask: None,
                cache: None,
            })
        };
        let (pipeline, mirrored_pipeline) = (pipeline("vs_main"), pipeline("vs_mirrored"));
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("yuv"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        render_state.renderer.write().callback_resources.insert(Self {
            pipeline,
            mirrored_pipeline,
            layout,
            sampler,
            tiles: HashMap::new(),
            scratch: VideoFrame::default(),
        });
    }

    /// Uploads the slot's newest frame into tile `id`, (re)creating textures on size change.
    fn upload(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, id: u64, slot: &VideoSlot) {
        let now = Instant::now();
        self.tiles
            .retain(|&tile_id, tile| tile_id == id || now.duration_since(tile.last_drawn) < UNUSED_TILE_LIFETIME);
        if let Some(tile) = self.tiles.get_mut(&id) {
            tile.last_drawn = now;
        }
        let seen = self.tiles.get(&id).map_or(0, |tile| tile.generation);
        let Some(generation) = slot.read_if_newer(seen, &mut self.scratch) else {
            return;
        };
        let size = (self.scratch.width(), self.scratch.height());
        if self.tiles.get(&id).is_none_or(|tile| tile.size != size) {
            let tile = self.create_tile(device, size);
            self.tiles.insert(id, tile);
        }
        let Some(tile) = self.tiles.get_mut(&id) else { return };
        tile.generation = generation;
        let (y, u, v) = self.scratch.planes();
        let strides = [
            self.scratch.y_stride(),
            self.scratch.uv_stride(),
            self.scratch.uv_stride(),
        ];
        for ((texture, data), stride) in tile.planes.iter().zip([y, u, v]).zip(strides) {
            let extent = texture.size();
            queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d::ZERO,
                    aspect: wgpu::TextureAspect::All,
                },
                data,
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(stride as u32),
                    rows_per_image: Some(extent.height),
                },
                extent,
            );
        }
    }

    fn create_tile(&self, device: &wgpu::Device, (width, height): (u32, u32)) -> Tile {
        let plane = |label, width, height| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size: wgpu::Extent3d {
                    width,
                    height,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::R8Unorm,
                usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            })
        };
        let planes = [
            plane("y", width, height),
            plane("u", width / 2, height / 2),
            plane("v", width / 2, height / 2),
        ];
        let views: Vec<wgpu::TextureView> = planes.iter().map(|t| t.create_view(&Default::default())).collect();
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("yuv planes"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&views[0]),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&views[1]),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(&views[2]),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: wgpu::BindingResource::Sampler(&self.sampler),
                },
            ],
        });
        Tile {
            size: (width, height),
            planes,
            bind_group,
            generation: 0,
            last_drawn: Instant::now(),
        }
    }
}

/// Paints one video slot as tile `id` into a rectangle.
struct VideoCallback {
    id: u64,
    slot: Arc<VideoSlot>,
    /// Drawn left-right mirrored, as a mirror shows us.
    mirrored: bool,
    /// Whether this tile has something to draw, known after `prepare`.
    ready: Mutex<bool>,
}

impl egui_wgpu::CallbackTrait for VideoCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if let Some(renderer) = resources.get_mut::<VideoRenderer>() {
            renderer.upload(device, queue, self.id, &self.slot);
            *self.ready.lock().unwrap_or_else(PoisonError::into_inner) = renderer.tiles.contains_key(&self.id);
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        render_pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        let ready = *self.ready.lock().unwrap_or_else(PoisonError::into_inner);
        let (Some(renderer), true) = (resources.get::<VideoRenderer>(), ready) else {
            return;
        };
        if let Some(tile) = renderer.tiles.get(&self.id) {
            render_pass.set_pipeline(if self.mirrored {
                &renderer.mirrored_pipeline
            } else {
                &renderer.pipeline
            });
            render_pass.set_bind_group(0, &tile.bind_group, &[]);
            render_pass.draw(0..4, 0..1);
        }
    }
}

/// Draws the video in `slot` as tile `id`, fitted into `rect` with its aspect ratio kept,
/// left-right `mirrored` if asked (our own picture, as a mirror shows us: only the texture
/// coordinates are turned, no pixel is copied). Returns the rectangle the picture covers
/// (`None` before the first frame).
pub fn video_ui(
    ui: &mut egui::Ui,
    id: u64,
    slot: &Arc<VideoSlot>,
    rect: egui::Rect,
    mirrored: bool,
) -> Option<egui::Rect> {
    let (width, height) = slot.frame_size()?;
    let aspect = width as f32 / height.max(1) as f32;
    let fitted = fit(rect, aspect);
    ui.painter().add(egui_wgpu::Callback::new_paint_callback(
        fitted,
        VideoCallback {
            id,
            slot: Arc::clone(slot),
            mirrored,
            ready: Mutex::new(false),
        },
    ));
    Some(fitted)
}

/// The largest rectangle of `aspect` (width / height) centred in `outer`.
pub fn fit(outer: egui::Rect, aspect: f32) -> egui::Rect {
    let (width, height) = (outer.width(), outer.height());
    let size = if width / height.max(1.0) > aspect {
        egui::vec2(height * aspect, height)
    } else {
        egui::vec2(width, width / aspect.max(1e-3))
    };
    egui::Rect::from_center_size(outer.center(), size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_keep_their_aspect_ratio() {
        let wide = egui::Rect::from_min_size(egui::pos2(0.0, 0.0), egui::vec2(400.0, 100.0));
        let fitted = fit(wide, 16.0 / 9.0);
        assert!((fitted.height() - 100.0).abs() < 0.01 && (fitted.width() - 177.78).abs() < 0.01);
        assert_eq!(fitted.center(), wide.center());
        let tall = egui::Rect::from_min_size(egui::pos2(0.0, 0.0), egui::vec2(160.0, 900.0));
        let fitted = fit(tall, 16.0 / 9.0);
        assert!((fitted.width() - 160.0).abs() < 0.01 && (fitted.height() - 90.0).abs() < 0.01);
    }
}

// Draws one I420 picture from three single-channel textures into the callback's viewport.
//
//   Y plane: full size           U, V planes: half width, half height
//   +-----------+                +-----+ +-----+
//   |           |                |  U  | |  V  |
//   |     Y     |                +-----+ +-----+
//   |           |
//   +-----------+
//
// Colour: BT.601, limited range (Y 16..235, U/V 16..240), what an H.264 stream without
// colour information means and what the test pattern and camera conversion produce.

struct VertexOut {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

// A full-viewport quad from four vertices (triangle strip), no vertex buffer.
@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    let corner = vec2<f32>(f32(index & 1u), f32(index >> 1u));
    var out: VertexOut;
    out.position = vec4<f32>(corner.x * 2.0 - 1.0, 1.0 - corner.y * 2.0, 0.0, 1.0);
    out.uv = corner;
    return out;
}

@group(0) @binding(0) var plane_y: texture_2d<f32>;
@group(0) @binding(1) var plane_u: texture_2d<f32>;
@group(0) @binding(2) var plane_v: texture_2d<f32>;
@group(0) @binding(3) var linear: sampler;

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let y = (textureSample(plane_y, linear, in.uv).r - 16.0 / 255.0) * (255.0 / 219.0);
    let u = (textureSample(plane_u, linear, in.uv).r - 128.0 / 255.0) * (255.0 / 224.0);
    let v = (textureSample(plane_v, linear, in.uv).r - 128.0 / 255.0) * (255.0 / 224.0);
    let rgb = vec3<f32>(
        y + 1.402 * v,
        y - 0.344136 * u - 0.714136 * v,
        y + 1.772 * u,
    );
    return vec4<f32>(clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);
}

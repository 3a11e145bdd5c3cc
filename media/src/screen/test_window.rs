//! A synthetic window to share: an X11 window showing a known picture (colour blocks, thin
//! strokes like text, optionally a moving stamp), so tests and benchmarks can check what the
//! other side receives.

use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::xproto::{
    AtomEnum, ConnectionExt as _, CreateGCAux, CreateWindowAux, ImageFormat, PropMode, Window, WindowClass,
};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

use super::{ChannelOrder, ScreenError, ScreenPicture};

/// The colour blocks across the top half of [`known_content`], left to right.
pub const BLOCK_COLOURS: [(u8, u8, u8); 4] = [(220, 40, 40), (40, 190, 70), (40, 80, 220), (240, 210, 40)];

/// Where the thin vertical strokes of [`known_content`] are: every fourth column of the
/// bottom-left quarter, one pixel wide, black on white.
pub const STROKE_SPACING: u32 = 4;

/// A test picture `width` x `height` (BGRA): four colour blocks over the top half; in the
/// bottom half, one-pixel black strokes every [`STROKE_SPACING`] columns on white in the left
/// quarter, and lines of letter-like marks on white in the rest.
pub fn known_content(width: u32, height: u32) -> ScreenPicture {
    let mut data = Vec::with_capacity((width * height * 4) as usize);
    for y in 0..height {
        for x in 0..width {
            let (r, g, b) = if y < height / 2 {
                BLOCK_COLOURS[(x * 4 / width.max(1)).min(3) as usize]
            } else if x < width / 4 {
                if x % STROKE_SPACING == 1 {
                    (0, 0, 0)
                } else {
                    (255, 255, 255)
                }
            } else if letter_mark(x, y - height / 2) {
                (0, 0, 0)
            } else {
                (255, 255, 255)
            };
            data.extend_from_slice(&[b, g, r, 255]);
        }
    }
    ScreenPicture {
        width,
        height,
        order: ChannelOrder::Bgra,
        data,
    }
}

/// Marks in 8x14 cells, like small letters: a stem, a bar or a bowl, chosen by position.
fn letter_mark(x: u32, y: u32) -> bool {
    let (column, row) = (x / 8, y / 14);
    let (cx, cy) = (x % 8, y % 14);
    if !(3..=11).contains(&cy) || cx == 7 || (column + row * 3) % 9 == 0 {
        return false; // line gap, letter gap, word gap
    }
    match (column * 7 + row * 5) % 4 {
        0 => cx == 1,                                             // l
        1 => cx == 1 || cy == 7,                                  // h-like
        2 => (cx == 1 || cx == 5) && cy > 5 || cy == 6 && cx < 6, // n-like
        _ => cy == 11 || cx == 3,                                 // t-like
    }
}

fn failed(error: impl std::fmt::Display) -> ScreenError {
    ScreenError::Failed(error.to_string())
}

/// A top-level X11 window whose picture is kept by the X server (as its background), so it
/// stays on screen without an event loop. Closed when dropped.
pub struct TestWindow {
    conn: RustConnection,
    window: Window,
    pixmap: u32,
    gc: u32,
    depth: u8,
    size: (u16, u16),
}

impl TestWindow {
    /// Opens a window titled `title` at (`x`, `y`) showing `picture` (BGRA).
    pub fn open(title: &str, x: i16, y: i16, picture: &ScreenPicture) -> Result<Self, ScreenError> {
        let (conn, screen) = super::x11::connect()?;
        let (root, depth, visual) = {
            let screen = conn.setup().roots.get(screen).ok_or_else(|| failed("no X screen"))?;
            (screen.root, screen.root_depth, screen.root_visual)
        };
        let size = (picture.width as u16, picture.height as u16);
        let window = conn.generate_id().map_err(failed)?;
        let pixmap = conn.generate_id().map_err(failed)?;
        let gc = conn.generate_id().map_err(failed)?;
        conn.create_pixmap(depth, pixmap, root, size.0, size.1)
            .map_err(failed)?;
        conn.create_gc(gc, pixmap, &CreateGCAux::new()).map_err(failed)?;
        conn.create_window(
            depth,
            window,
            root,
            x,
            y,
            size.0,
            size.1,
            0,
            WindowClass::INPUT_OUTPUT,
            visual,
            &CreateWindowAux::new().background_pixmap(pixmap),
        )
        .map_err(failed)?;
        conn.change_property8(
            PropMode::REPLACE,
            window,
            AtomEnum::WM_NAME,
            AtomEnum::STRING,
            title.as_bytes(),
        )
        .map_err(failed)?;
        let mut opened = Self {
            conn,
            window,
            pixmap,
            gc,
            depth,
            size,
        };
        opened.show(picture)?;
        opened.conn.map_window(window).map_err(failed)?;
        opened.sync()?;
        Ok(opened)
    }

    /// Says the window belongs to process `pid` (`_NET_WM_PID`, as toolkits set it).
    pub fn claim_for(&mut self, pid: u32) -> Result<(), ScreenError> {
        let property = self
            .conn
            .intern_atom(false, b"_NET_WM_PID")
            .map_err(failed)?
            .reply()
            .map_err(failed)?
            .atom;
        self.conn
            .change_property32(PropMode::REPLACE, self.window, property, AtomEnum::CARDINAL, &[pid])
            .map_err(failed)?;
        self.sync()
    }

    /// The X11 window id (what [`super::ScreenChoice::id`] holds for it).
    pub fn id(&self) -> u32 {
        self.window
    }

    /// Replaces the picture (same size, BGRA) and waits until the X server has it.
    pub fn show(&mut self, picture: &ScreenPicture) -> Result<(), ScreenError> {
        if (picture.width as u16, picture.height as u16) != self.size || picture.order != ChannelOrder::Bgra {
            return Err(failed("a test window keeps its size and takes BGRA pictures"));
        }
        let row_bytes = picture.width as usize * 4;
        // Requests have a size limit; send the picture in bands of rows that fit.
        let rows_per_request = ((self.conn.maximum_request_bytes() - 64) / row_bytes).max(1);
        for (band, rows) in picture.data.chunks(rows_per_request * row_bytes).enumerate() {
            self.conn
                .put_image(
                    ImageFormat::Z_PIXMAP,
                    self.pixmap,
                    self.gc,
                    self.size.0,
                    (rows.len() / row_bytes) as u16,
                    0,
                    (band * rows_per_request) as i16,
                    0,
                    self.depth,
                    rows,
                )
                .map_err(failed)?;
        }
        self.conn.clear_area(false, self.window, 0, 0, 0, 0).map_err(failed)?;
        self.sync()
    }

    /// Moves the mouse pointer to (`x`, `y`) inside the window.
    pub fn move_pointer(&self, x: i16, y: i16) -> Result<(), ScreenError> {
        self.conn
            .warp_pointer(0u32, self.window, 0, 0, 0, 0, x, y)
            .map_err(failed)?;
        self.sync()
    }

    fn sync(&self) -> Result<(), ScreenError> {
        self.conn.get_input_focus().map_err(failed)?.reply().map_err(failed)?;
        Ok(())
    }
}

impl Drop for TestWindow {
    fn drop(&mut self) {
        let _ = self.conn.destroy_window(self.window);
        let _ = self.conn.free_pixmap(self.pixmap);
        let _ = self.conn.free_gc(self.gc);
        let _ = self.sync();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_picture_has_its_blocks_strokes_and_marks() {
        let picture = known_content(640, 360);
        for (index, colour) in BLOCK_COLOURS.iter().enumerate() {
            assert_eq!(picture.rgb(index as u32 * 160 + 80, 90), *colour);
        }
        assert_eq!(picture.rgb(1, 300), (0, 0, 0));
        assert_eq!(picture.rgb(2, 300), (255, 255, 255));
        let dark = (180..360)
            .flat_map(|y| (160..640).map(move |x| (x, y)))
            .filter(|&(x, y)| picture.rgb(x, y) == (0, 0, 0))
            .count();
        let share = dark as f64 / (480.0 * 180.0);
        assert!(
            (0.05..0.3).contains(&share),
            "letter marks cover {share:.2} of the text area"
        );
    }
}

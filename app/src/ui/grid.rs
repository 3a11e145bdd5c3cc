//! Where video tiles go: an even grid that keeps every tile's aspect ratio, or one tile
//! large (pinned, or a shared screen) with the others in a strip below.

use eframe::egui::{Rect, pos2, vec2};

/// Space between tiles, in points.
pub const GAP: f32 = 8.0;
/// The aspect ratio tiles are laid out for (most cameras send 16:9).
pub const TILE_ASPECT: f32 = 16.0 / 9.0;

/// Tiles this much smaller than the largest possible still count as large enough, when the
/// layout that gives them follows the window's shape.
const NEARLY_AS_LARGE: f32 = 0.85;

/// Lays out `count` tiles of `aspect` in `area`: picks the column count that makes tiles
/// largest (or nearly: then the one whose rows and columns follow the window's shape, so two
/// people sit side by side in a landscape window), and centres the rows (and the last,
/// shorter row).
pub fn grid(area: Rect, count: usize, aspect: f32) -> Vec<Rect> {
    if count == 0 || area.width() <= 0.0 || area.height() <= 0.0 {
        return Vec::new();
    }
    let layouts: Vec<_> = (1..=count)
        .map(|columns| (columns, tile_size(area, count, columns, aspect)))
        .collect();
    let largest = layouts.iter().map(|(_, size)| size.x * size.y).fold(0.0, f32::max);
    let landscape = area.width() >= area.height();
    let (columns, size) = layouts
        .into_iter()
        .filter(|(_, size)| size.x * size.y >= largest * NEARLY_AS_LARGE)
        .max_by_key(|(columns, _)| if landscape { *columns } else { count - columns })
        .unwrap_or((1, vec2(0.0, 0.0)));
    let rows = count.div_ceil(columns);
    let total_height = rows as f32 * size.y + (rows - 1) as f32 * GAP;
    let top = area.center().y - total_height / 2.0;
    (0..count)
        .map(|index| {
            let (row, column) = (index / columns, index % columns);
            let in_row = (count - row * columns).min(columns);
            let row_width = in_row as f32 * size.x + (in_row - 1) as f32 * GAP;
            let left = area.center().x - row_width / 2.0;
            Rect::from_min_size(
                pos2(left + column as f32 * (size.x + GAP), top + row as f32 * (size.y + GAP)),
                size,
            )
        })
        .collect()
}

/// The size of each tile with `columns` columns: the largest of `aspect` that fits a cell.
fn tile_size(area: Rect, count: usize, columns: usize, aspect: f32) -> eframe::egui::Vec2 {
    let rows = count.div_ceil(columns);
    let cell_width = (area.width() - (columns - 1) as f32 * GAP) / columns as f32;
    let cell_height = (area.height() - (rows - 1) as f32 * GAP) / rows as f32;
    let width = cell_width.min(cell_height * aspect).max(0.0);
    vec2(width, width / aspect)
}

/// One large tile on top, and `others` small ones in a strip along the bottom.
pub fn spotlight(area: Rect, others: usize) -> (Rect, Vec<Rect>) {
    if others == 0 {
        return (area, Vec::new());
    }
    let strip_height = (area.height() * 0.2).clamp(60.0, 160.0);
    let main = Rect::from_min_max(area.min, pos2(area.max.x, area.max.y - strip_height - GAP));
    let strip = Rect::from_min_max(pos2(area.min.x, area.max.y - strip_height), area.max);
    // The strip is one row: tiles shrink to fit when there are many.
    let width = (strip_height * TILE_ASPECT).min((strip.width() - (others - 1) as f32 * GAP) / others as f32);
    let size = vec2(width, width / TILE_ASPECT);
    let row_width = others as f32 * width + (others - 1) as f32 * GAP;
    let left = strip.center().x - row_width / 2.0;
    let tiles = (0..others)
        .map(|index| {
            Rect::from_min_size(
                pos2(left + index as f32 * (width + GAP), strip.center().y - size.y / 2.0),
                size,
            )
        })
        .collect();
    (main, tiles)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(width: f32, height: f32) -> Rect {
        Rect::from_min_size(pos2(0.0, 0.0), vec2(width, height))
    }

    fn overlaps(tiles: &[Rect]) -> bool {
        tiles
            .iter()
            .enumerate()
            .any(|(i, a)| tiles[i + 1..].iter().any(|b| a.shrink(0.01).intersects(b.shrink(0.01))))
    }

    #[test]
    fn every_count_from_1_to_16_fits_without_overlap_and_keeps_the_aspect() {
        for (width, height) in [(1280.0, 720.0), (800.0, 900.0), (1900.0, 500.0)] {
            let area = area(width, height);
            for count in 1..=16 {
                let tiles = grid(area, count, TILE_ASPECT);
                assert_eq!(tiles.len(), count);
                assert!(!overlaps(&tiles), "{count} tiles in {width}x{height}");
                for tile in &tiles {
                    assert!(area.expand(0.01).contains_rect(*tile), "{count}: {tile:?} outside");
                    assert!((tile.width() / tile.height() - TILE_ASPECT).abs() < 0.01);
                }
            }
        }
    }

    #[test]
    fn the_grid_uses_the_space_well() {
        // One tile fills the width of a 16:9 area; four make a 2x2 grid; seven a 3+3+1 grid.
        let wide = area(1600.0, 900.0);
        assert!((grid(wide, 1, TILE_ASPECT)[0].width() - 1600.0).abs() < 0.01);
        let four = grid(wide, 4, TILE_ASPECT);
        assert_eq!(four[0].min.y, four[1].min.y);
        assert!(four[2].min.y > four[0].max.y && four[2].min.x == four[0].min.x);
        assert!(
            (four[0].height() - (900.0 - GAP) / 2.0).abs() < 0.01,
            "as tall as two rows allow"
        );
        let seven = grid(wide, 7, TILE_ASPECT);
        assert_eq!(seven[6].center().x.round(), 800.0, "the last row is centred");
        // Tall windows stack tiles rather than shrinking them side by side.
        let tall = grid(area(600.0, 1000.0), 2, TILE_ASPECT);
        assert!(tall[1].min.y > tall[0].max.y);
        // Two people in a landscape window sit side by side, even where stacking would
        // make them a little larger (1000x580: 496 points wide each instead of 508).
        let two = grid(area(1000.0, 580.0), 2, TILE_ASPECT);
        assert_eq!(two[0].min.y, two[1].min.y, "{two:?}");
        assert!((two[0].width() - 496.0).abs() < 0.01, "{two:?}");
        // Where the wider layout would shrink them a lot, they stack (a strip of a window).
        let narrow = grid(area(900.0, 900.0), 2, TILE_ASPECT);
        assert!(narrow[1].min.y > narrow[0].max.y, "{narrow:?}");
    }

    #[test]
    fn the_spotlight_keeps_the_others_in_a_strip() {
        let area = area(1280.0, 720.0);
        let (main, strip) = spotlight(area, 5);
        assert_eq!(strip.len(), 5);
        assert!(!overlaps(&strip));
        assert!(
            strip
                .iter()
                .all(|tile| tile.min.y > main.max.y && area.expand(0.01).contains_rect(*tile))
        );
        assert!(main.height() > 500.0);
        let (alone, none) = spotlight(area, 0);
        assert_eq!((alone, none.len()), (area, 0));
        // Many small tiles still fit in one row.
        let (_, many) = spotlight(area, 15);
        assert!(!overlaps(&many) && many.iter().all(|tile| area.expand(0.01).contains_rect(*tile)));
    }

    #[test]
    fn nothing_to_lay_out_gives_nothing() {
        assert!(grid(area(0.0, 0.0), 3, TILE_ASPECT).is_empty());
        assert!(grid(area(100.0, 100.0), 0, TILE_ASPECT).is_empty());
    }
}

//! Where video tiles go: a gallery of even tiles that keep their aspect ratio, in pages when
//! not everyone fits at a readable size, or one tile large with as many others as fit in a
//! strip below.

use std::ops::Range;

use eframe::egui::{Rect, pos2, vec2};

/// Space between tiles, in points.
pub const GAP: f32 = 8.0;
/// The aspect ratio tiles are laid out for (most cameras send 16:9).
pub const TILE_ASPECT: f32 = 16.0 / 9.0;

/// Tiles this much smaller than the largest possible still count as large enough, when the
/// layout that gives them follows the window's shape.
const NEARLY_AS_LARGE: f32 = 0.85;

/// The narrowest a gallery tile gets, in points (144 high): smaller, faces are hard to make
/// out and the name label covers much of the picture. A 1280x720 window still shows all 16
/// participants on one page, and the smallest layer of a 720p camera (320x180) fills a tile
/// this size on a screen scaled 125 %.
pub const MIN_TILE_WIDTH: f32 = 256.0;

/// The narrowest a tile in the strip gets, in points (90 high): a name of a dozen letters
/// still fits its label and a face is still recognisable. A strip lower than that has tiles
/// as high as the strip.
pub const MIN_THUMBNAIL_WIDTH: f32 = 160.0;

/// The height kept below a gallery that has pages, for the page controls.
pub const PAGE_BAR_HEIGHT: f32 = 32.0;

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

/// One large tile on top, and a strip along the bottom with as many of `others` as fit
/// there at [`MIN_THUMBNAIL_WIDTH`] or wider (always one): the rest are not drawn.
pub fn spotlight(area: Rect, others: usize) -> (Rect, Vec<Rect>) {
    if others == 0 {
        return (area, Vec::new());
    }
    let strip_height = (area.height() * 0.2).clamp(60.0, 160.0);
    let main = Rect::from_min_max(area.min, pos2(area.max.x, area.max.y - strip_height - GAP));
    let strip = Rect::from_min_max(pos2(area.min.x, area.max.y - strip_height), area.max);
    // One row: as many as fit at the narrowest, as large as the strip allows.
    let widest = strip_height * TILE_ASPECT;
    let room = ((strip.width() + GAP) / (MIN_THUMBNAIL_WIDTH.min(widest) + GAP)).floor() as usize;
    let shown = others.min(room.max(1));
    let width = widest
        .min((strip.width() - (shown - 1) as f32 * GAP) / shown as f32)
        .max(0.0);
    let size = vec2(width, width / TILE_ASPECT);
    let row_width = shown as f32 * width + (shown - 1) as f32 * GAP;
    let left = strip.center().x - row_width / 2.0;
    let tiles = (0..shown)
        .map(|index| {
            Rect::from_min_size(
                pos2(left + index as f32 * (width + GAP), strip.center().y - size.y / 2.0),
                size,
            )
        })
        .collect();
    (main, tiles)
}

/// Which of `candidates` (tile indices, in their usual order) a strip with `room` places
/// shows: those in `preferred` first (the most wanted first), then the rest in order. They
/// are drawn in the usual order, so that a tile keeps its place when another comes or goes.
pub fn strip_choice(candidates: &[usize], room: usize, preferred: &[usize]) -> Vec<usize> {
    let mut chosen = Vec::new();
    for index in preferred
        .iter()
        .filter(|index| candidates.contains(index))
        .chain(candidates)
    {
        if chosen.len() < room && !chosen.contains(index) {
            chosen.push(*index);
        }
    }
    candidates
        .iter()
        .copied()
        .filter(|index| chosen.contains(index))
        .collect()
}

/// A gallery of `count` tiles in pages, each as full as tiles [`MIN_TILE_WIDTH`] wide or
/// wider allow (always one tile); page controls below when there is more than one page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gallery {
    /// Where the tiles go: the whole area, less the page bar when there are pages.
    tiles: Rect,
    /// Where the page controls go; `None` when everyone fits on one page.
    pub bar: Option<Rect>,
    /// Tiles on a full page.
    per_page: usize,
    /// How many pages there are.
    pub pages: usize,
    /// Tiles in all.
    count: usize,
}

impl Gallery {
    /// The pages of `count` tiles in `area`.
    pub fn new(area: Rect, count: usize) -> Self {
        if count <= 1 || readable(area, count) {
            return Self {
                tiles: area,
                bar: None,
                per_page: count.max(1),
                pages: 1,
                count,
            };
        }
        let tiles = Rect::from_min_max(area.min, pos2(area.max.x, area.max.y - PAGE_BAR_HEIGHT));
        let per_page = (2..count).rev().find(|&n| readable(tiles, n)).unwrap_or(1);
        Self {
            tiles,
            bar: Some(Rect::from_min_max(pos2(area.min.x, tiles.max.y), area.max)),
            per_page,
            pages: count.div_ceil(per_page),
            count,
        }
    }

    /// The tiles that page `page` (from 0; past the last, the last) holds of its own: the
    /// next `per_page` in order, fewer on the last page.
    fn own(&self, page: usize) -> Range<usize> {
        let start = page.min(self.pages - 1) * self.per_page;
        start..(start + self.per_page).min(self.count)
    }

    /// Page `page` laid out, as (tile index, place): its own tiles, and `guest` (a tile of
    /// another page) in an empty place of a page that has one, else in the last place,
    /// unless that is the only one.
    pub fn layout(&self, page: usize, guest: Option<usize>) -> Vec<(usize, Rect)> {
        let mut shown: Vec<usize> = self.own(page).collect();
        if let Some(guest) = guest.filter(|guest| *guest < self.count && !shown.contains(guest)) {
            if shown.len() < self.per_page {
                shown.push(guest);
            } else if let [_, .., last] = shown.as_mut_slice() {
                *last = guest;
            }
        }
        let places = grid(self.tiles, shown.len(), TILE_ASPECT);
        shown.into_iter().zip(places).collect()
    }
}

/// Whether `count` tiles in a grid in `area` are [`MIN_TILE_WIDTH`] wide or wider.
fn readable(area: Rect, count: usize) -> bool {
    grid(area, count, TILE_ASPECT)
        .first()
        .is_some_and(|tile| tile.width() >= MIN_TILE_WIDTH)
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
    }

    #[test]
    fn the_strip_holds_as_many_as_fit_at_the_narrowest() {
        // 1280 points hold seven of 160 with the gaps between; the others are not drawn.
        let area = area(1280.0, 720.0);
        let (_, many) = spotlight(area, 15);
        assert_eq!(many.len(), 7);
        assert!(!overlaps(&many) && many.iter().all(|tile| area.expand(0.01).contains_rect(*tile)));
        assert!(many.iter().all(|tile| tile.width() >= MIN_THUMBNAIL_WIDTH), "{many:?}");
        // Fewer are as large as the strip is high (144: a fifth of 720).
        let (_, few) = spotlight(area, 3);
        assert!(few.iter().all(|tile| (tile.height() - 144.0).abs() < 0.01), "{few:?}");
        // A strip lower than a thumbnail's height still holds tiles as high as it is.
        let low = self::area(1280.0, 250.0);
        let (_, tiles) = spotlight(low, 15);
        assert!(
            (tiles[0].height() - 60.0).abs() < 0.01 && tiles.len() == 11,
            "{tiles:?}"
        );
        // Too narrow for even one: one all the same.
        assert_eq!(spotlight(self::area(100.0, 720.0), 4).1.len(), 1);
    }

    #[test]
    fn the_strip_shows_the_preferred_first_in_their_usual_order() {
        let candidates = [0, 1, 3, 4, 5, 6];
        assert_eq!(strip_choice(&candidates, 3, &[0, 6, 4, 5]), vec![0, 4, 6]);
        // Without preferences, the first ones; preferences not among the candidates (the
        // tile shown large) do not take a place.
        assert_eq!(strip_choice(&candidates, 2, &[2]), vec![0, 1]);
        assert_eq!(strip_choice(&candidates, 10, &[6]), candidates.to_vec());
    }

    #[test]
    fn a_gallery_pages_only_where_tiles_would_get_too_small() {
        // Sixteen fit a 1264x640 area (a 1280x720 window's) on one page.
        let wide = Gallery::new(area(1264.0, 640.0), 16);
        assert_eq!((wide.pages, wide.bar), (1, None));
        assert_eq!(wide.own(0), 0..16);
        assert!(
            wide.layout(0, None)
                .iter()
                .all(|(_, tile)| tile.width() >= MIN_TILE_WIDTH)
        );
        // In a 1000x590 area, nine per page (3x3 of 320x180): two pages, the bar below.
        let area = area(1000.0, 590.0);
        let paged = Gallery::new(area, 16);
        assert_eq!(paged.pages, 2);
        assert_eq!((paged.own(0), paged.own(1), paged.own(7)), (0..9, 9..16, 9..16));
        let bar = paged.bar.expect("page controls");
        assert_eq!((bar.height(), bar.max), (PAGE_BAR_HEIGHT, area.max));
        for page in 0..2 {
            let tiles: Vec<Rect> = paged.layout(page, None).into_iter().map(|(_, tile)| tile).collect();
            assert!(!overlaps(&tiles));
            assert!(
                tiles
                    .iter()
                    .all(|tile| tile.width() >= MIN_TILE_WIDTH && tile.max.y <= bar.min.y)
            );
        }
        // Ten fit there on one page no more.
        assert_eq!(Gallery::new(area, 10).pages, 2);
        assert_eq!(Gallery::new(area, 9).pages, 1);
        // A window too small for two readable tiles shows one per page, however small.
        let tiny = Gallery::new(self::area(200.0, 300.0), 3);
        assert_eq!((tiny.pages, tiny.layout(2, None).len()), (3, 1));
    }

    #[test]
    fn a_guest_from_another_page_takes_an_empty_place_or_the_last() {
        let paged = Gallery::new(area(1000.0, 590.0), 16);
        let indices =
            |page, guest| -> Vec<usize> { paged.layout(page, guest).into_iter().map(|(index, _)| index).collect() };
        assert_eq!(indices(0, Some(12)), vec![0, 1, 2, 3, 4, 5, 6, 7, 12]);
        assert_eq!(indices(1, Some(3)), vec![9, 10, 11, 12, 13, 14, 15, 3], "a free place");
        assert_eq!(indices(1, Some(12)), (9..16).collect::<Vec<_>>(), "already there");
        assert_eq!(indices(0, Some(99)), (0..9).collect::<Vec<_>>(), "no such tile");
        // The only place of a page stays its own.
        let tiny = Gallery::new(area(200.0, 300.0), 3);
        assert_eq!(tiny.layout(0, Some(2))[0].0, 0);
    }

    #[test]
    fn nothing_to_lay_out_gives_nothing() {
        assert!(grid(area(0.0, 0.0), 3, TILE_ASPECT).is_empty());
        assert!(grid(area(100.0, 100.0), 0, TILE_ASPECT).is_empty());
    }
}

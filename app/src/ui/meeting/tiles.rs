//! The video tiles: the gallery in pages, or one tile large (pinned, a shared screen, or in
//! speaker view the latest speaker) with others in a strip; each with its name, muted-mic
//! sign, initials when the camera is off, the active speaker's frame, and statistics.
//! Tiles not drawn are told to the meeting as such, so that their cameras are not sent.
//!
//! What is painted as text (the name label with its marks, the statistics, "connecting
//! video…") also gets an accessibility node with the same words, and the tile itself one
//! that names it and says when it is pinned: screen readers read them, and tests check them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui::accesskit::Role;
use eframe::egui::{self, Align2, Color32, FontId, Rect, Stroke, StrokeKind, WidgetInfo, vec2};
use videomeet_media::slot::VideoSlot;
use videomeet_net::meeting::Command;
use videomeet_net::protocol::{PeerId, ViewSize};

use super::super::grid::{Gallery, spotlight, strip_choice};
use super::super::style;
use super::super::video_view::{SELF_TILE, video_ui};
use super::quality::{self, Quality};
use super::{MeetingScreen, TileKey, ViewMode};

/// The tiles shown, each as (index among all tiles, place).
type Placed = Vec<(usize, Rect)>;

/// What one tile shows.
struct TileView {
    key: TileKey,
    /// Their name (initials come from it).
    name: String,
    /// Shown after the name: " (you)" on our own tile.
    suffix: &'static str,
    video: Option<Arc<VideoSlot>>,
    /// The picture is drawn mirrored left to right (our own, as a mirror shows us).
    mirrored: bool,
    camera_on: bool,
    mic_on: bool,
    host: bool,
    cohost: bool,
    /// Their connection broke and is being restored.
    reconnecting: bool,
    /// Their hand is up.
    hand: bool,
    /// They record the meeting.
    recording: bool,
    /// Their reaction on show.
    reaction: Option<String>,
    stats: Option<String>,
    /// How well their connection carries them, and why, once measured.
    quality: Option<(Quality, String)>,
}

impl MeetingScreen {
    /// Every tile there is to show: ours (unless hidden, `mirrored` as asked), the others'
    /// cameras, then their shared screens.
    fn tile_views(&self, mirrored: bool) -> Vec<TileView> {
        let me = TileView {
            key: TileKey::Me,
            name: self.my_name.clone(),
            suffix: " (you)",
            video: self.view.local_video.clone(),
            mirrored,
            camera_on: self.my_media.camera,
            mic_on: self.my_media.mic,
            host: self.hosting,
            cohost: self.view.cohost,
            reconnecting: false,
            hand: self.my_media.hand.is_some(),
            recording: self.view.recording.is_some(),
            reaction: self.reaction_of(self.view.you),
            stats: self.show_stats.then(|| self.own_stats()),
            quality: None,
        };
        let others = self.view.people.values().map(|person| TileView {
            key: TileKey::Peer(person.info.id),
            name: person.info.name.clone(),
            suffix: if person.info.browser { " (browser)" } else { "" },
            video: person.camera.clone(),
            mirrored: false,
            camera_on: person.info.media.camera,
            mic_on: person.info.media.mic,
            host: person.info.is_host,
            cohost: person.info.cohost,
            reconnecting: person.reconnecting,
            hand: person.info.media.hand.is_some(),
            recording: person.info.media.recording,
            reaction: self.reaction_of(Some(person.info.id)),
            quality: person
                .stats
                .as_ref()
                .map(|stats| quality::judge(stats, person.info.media.camera)),
            stats: self.show_stats.then(|| {
                person.stats.as_ref().map_or_else(
                    || "connecting…".to_owned(),
                    |s| {
                        let rtt = s.rtt_ms.map_or_else(|| "–".to_owned(), |rtt| format!("{rtt:.0} ms"));
                        // Without a picture coming in there is no size or rate to speak of.
                        let video = if person.info.media.camera && s.width > 0 {
                            let layer = person
                                .info
                                .media
                                .camera_size
                                .and_then(|[full, _]| layer_word(s.width, full))
                                .map_or_else(String::new, |word| format!(" ({word})"));
                            format!(
                                "{}×{}{layer} · {:.0} fps · decode {:.1} ms",
                                s.width, s.height, s.fps, s.decode_ms
                            )
                        } else {
                            "no video".to_owned()
                        };
                        format!(
                            "{video}\n↓ {:.0} kbps · ↑ {:.0} kbps\nRTT {rtt} · loss {:.1} % · jitter {:.1} ms",
                            s.receive_kbps, s.send_kbps, s.loss_pct, s.jitter_ms
                        )
                    },
                )
            }),
        });
        let screens = self
            .view
            .people
            .values()
            .filter(|person| person.info.media.screen && person.screen.is_some())
            .map(|person| TileView {
                key: TileKey::Screen(person.info.id),
                name: person.info.name.clone(),
                suffix: "'s screen",
                video: person.screen.clone(),
                mirrored: false,
                camera_on: true,
                mic_on: true,
                host: false,
                cohost: false,
                reconnecting: false,
                hand: false,
                recording: false,
                reaction: None,
                stats: None,
                quality: None,
            });
        std::iter::once(me)
            .filter(|_| !self.self_view_hidden)
            .chain(others)
            .chain(screens)
            .collect()
    }

    /// The reaction `id` shows now, if any.
    fn reaction_of(&self, id: Option<PeerId>) -> Option<String> {
        id.and_then(|id| self.reactions.get(&id))
            .map(|(emoji, _)| emoji.clone())
    }

    fn own_stats(&self) -> String {
        let size = self
            .view
            .local_video
            .as_ref()
            .and_then(|slot| slot.frame_size())
            .map_or_else(|| "–".to_owned(), |(w, h)| format!("{w}×{h}"));
        let sending: f64 = self
            .view
            .people
            .values()
            .filter_map(|p| p.stats.as_ref())
            .map(|s| s.send_kbps)
            .sum();
        format!("{size} · sending {sending:.0} kbps in all")
    }

    /// Lays out and draws the tiles shown, and the page controls when the gallery has
    /// pages; double-click pins or unpins a tile, and our own tile's context menu hides it.
    /// Our own picture is drawn `mirrored` if asked.
    pub(super) fn tiles(&mut self, ui: &mut egui::Ui, mirrored: bool) {
        let area = ui.available_rect_before_wrap();
        let views = self.tile_views(mirrored);
        let keys: Vec<TileKey> = views.iter().map(|view| view.key).collect();
        let (placed, gallery) = if keys.is_empty() {
            (Vec::new(), None)
        } else {
            self.arrange(area, &keys)
        };
        self.tell_view(ui.ctx(), &views, &placed);
        let active = self.active.map(|(key, _)| key);
        let mut toggled = None;
        for (index, rect) in placed {
            let view = &views[index];
            let response = ui.interact(rect, ui.scope_id().with(("tile", view.key)), egui::Sense::click());
            let pinned = self.pinned == Some(view.key);
            response.widget_info(|| WidgetInfo::labeled(Role::Group, true, tile_label(view, pinned)));
            draw_tile(ui, rect, view, active == Some(view.key), pinned);
            let response = response.on_hover_text(if self.pinned == Some(view.key) {
                "Double-click to show everyone again"
            } else {
                "Double-click to pin"
            });
            if response.double_clicked() {
                toggled = Some(view.key);
            }
            if view.key == TileKey::Me {
                response.context_menu(|ui| {
                    if ui
                        .button("Hide self view")
                        .on_hover_text("Only on your screen: the others still see you")
                        .clicked()
                    {
                        self.hide_self_view();
                    }
                    if ui
                        .button("Rename…")
                        .on_hover_text("Change your name in this meeting")
                        .clicked()
                    {
                        self.open_rename();
                    }
                });
            }
        }
        if let Some(key) = toggled {
            self.pinned = if self.pinned == Some(key) { None } else { Some(key) };
        }
        if let Some(gallery) = gallery
            && let Some(bar) = gallery.bar
        {
            self.page_controls(ui, bar, gallery.pages);
        }
        if self.view.you.is_some() && self.view.people.is_empty() {
            self.invite_card(ui, area);
        }
        ui.allocate_rect(area, egui::Sense::hover());
    }

    /// Takes our own tile away from the tiles (on this screen only: nothing is sent).
    fn hide_self_view(&mut self) {
        self.self_view_hidden = true;
        if self.pinned == Some(TileKey::Me) {
            self.pinned = None;
        }
    }

    /// Above the tiles while our own is hidden: "Self view hidden" and a button that shows
    /// it again.
    pub(super) fn self_view_hidden_bar(&mut self, ui: &mut egui::Ui) {
        if !self.self_view_hidden {
            return;
        }
        style::banner(ui, style::INFO, |ui| {
            ui.label("Self view hidden");
            if ui.button("Show").on_hover_text("Show your own picture again").clicked() {
                self.self_view_hidden = false;
            }
        });
    }

    /// While nobody else is here: "You are the only one here" with what others need to
    /// join (the passcode only when hosting: guests do not know it), at the top of `area`.
    fn invite_card(&mut self, ui: &mut egui::Ui, area: Rect) {
        let link = self.view.link.clone().unwrap_or_default();
        let code = self.meeting_code();
        let passcode = self.passcode.clone().unwrap_or_default();
        let place = Rect::from_center_size(
            egui::pos2(area.center().x, area.min.y + 16.0 + INVITE_CARD.y / 2.0),
            INVITE_CARD,
        );
        ui.scope_builder(egui::UiBuilder::new().max_rect(place), |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.heading("You are the only one here");
                ui.label("Others join with the link, or with the code in their list of meetings.");
                egui::Grid::new("invite")
                    .num_columns(2)
                    .spacing([10.0, 6.0])
                    .show(ui, |ui| {
                        for (what, value) in [("Link", &link), ("Code", &code), ("Passcode", &passcode)] {
                            if !value.is_empty() {
                                ui.label(what);
                                ui.monospace(value);
                                ui.end_row();
                            }
                        }
                    });
                self.copy_button(ui, "Copy link", "Link", &link);
            });
        });
    }

    /// Where each tile shown goes (indices in `keys`), and the gallery when it is shown. One
    /// tile is large when pinned, else a shared screen, else in speaker view the latest
    /// speaker; otherwise the gallery shows the current page.
    fn arrange(&mut self, area: Rect, keys: &[TileKey]) -> (Placed, Option<Gallery>) {
        let index_of = |key: TileKey| keys.iter().position(|shown| *shown == key);
        let large = self
            .pinned
            .and_then(index_of)
            .or_else(|| keys.iter().position(|key| matches!(key, TileKey::Screen(_))))
            .or_else(|| (self.view_mode == ViewMode::Speaker).then(|| self.speaker(keys)));
        if let Some(large) = large {
            let (main, strip) = spotlight(area, keys.len() - 1);
            let candidates: Vec<usize> = (0..keys.len()).filter(|index| *index != large).collect();
            // Our own tile first, then the latest speakers.
            let preferred: Vec<usize> = std::iter::once(TileKey::Me)
                .chain(self.speakers.iter().copied())
                .filter_map(index_of)
                .collect();
            let shown = strip_choice(&candidates, strip.len(), &preferred);
            let placed = std::iter::once((large, main))
                .chain(shown.into_iter().zip(strip))
                .collect();
            return (placed, None);
        }
        let gallery = Gallery::new(area, keys.len());
        self.page = self.page.min(gallery.pages - 1);
        let mut placed = gallery.layout(self.page, self.page_guest.and_then(index_of));
        // Another participant speaking while not on this page becomes its guest (not we: we
        // know when we speak); one whose place the guest took gets it back.
        if let Some((speaker, _)) = self.active
            && speaker != TileKey::Me
            && let Some(index) = index_of(speaker)
            && !placed.iter().any(|(shown, _)| *shown == index)
        {
            self.page_guest = Some(speaker);
            placed = gallery.layout(self.page, Some(index));
        }
        (placed, Some(gallery))
    }

    /// The tile speaker view shows large (an index in `keys`): the latest speaker other than
    /// us, else the first other participant, else our own.
    fn speaker(&self, keys: &[TileKey]) -> usize {
        self.speakers
            .iter()
            .filter(|key| **key != TileKey::Me)
            .find_map(|key| keys.iter().position(|shown| shown == key))
            .or_else(|| keys.iter().position(|key| matches!(key, TileKey::Peer(_))))
            .unwrap_or(0)
    }

    /// Previous page, "2 / 3" and next page, centred in `bar`; moving to another page lets
    /// the last one's guest go.
    fn page_controls(&mut self, ui: &mut egui::Ui, bar: Rect, pages: usize) {
        const BUTTON: egui::Vec2 = vec2(36.0, 24.0);
        const NUMBER: egui::Vec2 = vec2(72.0, 24.0);
        let centre = bar.center();
        let beside = vec2((NUMBER.x + BUTTON.x) / 2.0, 0.0);
        let previous = self.page.checked_sub(1);
        let next = Some(self.page + 1).filter(|next| *next < pages);
        let mut page = self.page;
        for (side, text, label, to) in [
            (-beside, "⏴", "Previous page", previous),
            (beside, "⏵", "Next page", next),
        ] {
            let response = ui
                .put(Rect::from_center_size(centre + side, BUTTON), |ui: &mut egui::Ui| {
                    ui.add_enabled(to.is_some(), egui::Button::new(text))
                })
                .on_hover_text(label);
            response.widget_info(|| WidgetInfo::labeled(Role::Button, to.is_some(), label));
            if response.clicked()
                && let Some(to) = to
            {
                page = to;
            }
        }
        let number = ui.put(
            Rect::from_center_size(centre, NUMBER),
            egui::Label::new(format!("{} / {pages}", self.page + 1)),
        );
        number.widget_info(|| WidgetInfo::labeled(Role::Label, true, format!("Page {} of {pages}", self.page + 1)));
        if page != self.page {
            self.page = page;
            self.page_guest = None;
        }
    }
}

impl MeetingScreen {
    /// Tells the meeting how large each camera is drawn, in pixels (`0x0` for one not drawn,
    /// which then is not sent), so that a forwarding host sends each at the size that fits:
    /// again at once when someone comes or goes or a tile is shown or hidden, and when a
    /// tile's size changes by a tenth or more, at most four times a second.
    fn tell_view(&mut self, ctx: &egui::Context, views: &[TileView], placed: &[(usize, Rect)]) {
        let scale = ctx.pixels_per_point();
        let sizes: Vec<ViewSize> = views
            .iter()
            .enumerate()
            .filter_map(|(index, view)| {
                let TileKey::Peer(id) = view.key else { return None };
                let drawn = placed
                    .iter()
                    .find(|(shown, _)| *shown == index)
                    .map_or(egui::Vec2::ZERO, |(_, rect)| rect.size() * scale);
                Some(ViewSize {
                    id,
                    width: drawn.x.round() as u32,
                    height: drawn.y.round() as u32,
                })
            })
            .collect();
        let close = |a: u32, b: u32| a.abs_diff(b) * 10 <= a.max(b);
        let (alike, recent) = match &self.view_sent {
            Some((sent, at)) => {
                let same_tiles = sent.len() == sizes.len()
                    && sent
                        .iter()
                        .zip(&sizes)
                        .all(|(a, b)| a.id == b.id && (a.width == 0) == (b.width == 0));
                let alike = same_tiles
                    && sent
                        .iter()
                        .zip(&sizes)
                        .all(|(a, b)| close(a.width, b.width) && close(a.height, b.height));
                (alike, same_tiles.then_some(at.elapsed()))
            }
            None => (false, None),
        };
        if alike {
            return;
        }
        // Someone came or went, or a tile was shown or hidden: at once. A resize: once it
        // has settled a little.
        if let Some(since) = recent.filter(|since| *since < VIEW_SETTLE) {
            ctx.request_repaint_after(VIEW_SETTLE - since);
            return;
        }
        self.send(Command::View(sizes.clone()));
        self.view_sent = Some((sizes, Instant::now()));
    }
}

/// How large the card inviting others is, while nobody else is here.
const INVITE_CARD: egui::Vec2 = vec2(420.0, 150.0);

/// Tiles that change size are told again at most this often.
const VIEW_SETTLE: Duration = Duration::from_millis(250);

/// Which layer of a camera `full` pixels wide a picture `received` pixels wide is, in
/// words; `None` for the whole picture.
fn layer_word(received: u32, full: u32) -> Option<&'static str> {
    if received == 0 || received >= full {
        return None;
    }
    let ratio = f64::from(full) / f64::from(received);
    Some(match ratio {
        r if (1.8..2.2).contains(&r) => "half size",
        r if (3.6..4.4).contains(&r) => "quarter size",
        _ => "smaller",
    })
}

/// Tile ids of shared screens start here.
const SCREEN_TILES: u64 = 1 << 32;

fn tile_id(key: TileKey) -> u64 {
    match key {
        TileKey::Me => SELF_TILE,
        TileKey::Peer(id) => u64::from(id),
        // Above every participant id, below the preview and self-view ids.
        TileKey::Screen(id) => SCREEN_TILES + u64::from(id),
    }
}

/// What the tile's own accessibility node says: whose it is, and whether it is pinned (the
/// pin itself is only an icon).
fn tile_label(view: &TileView, pinned: bool) -> String {
    let pinned = if pinned { ", pinned" } else { "" };
    format!("Video of {}{}{pinned}", view.name, view.suffix)
}

/// The words on a tile's name label: the muted sign, the name, and the host, co-host and
/// reconnecting marks.
fn caption(view: &TileView) -> String {
    let host = match (view.host, view.cohost) {
        (true, _) => " · host",
        (false, true) => " · co-host",
        (false, false) => "",
    };
    let muted = if view.mic_on { "" } else { "🔇 " };
    let hand = if view.hand { "✋ " } else { "" };
    let reconnecting = if view.reconnecting { " · reconnecting…" } else { "" };
    format!("{hand}{muted}{}{}{host}{reconnecting}", view.name, view.suffix)
}

/// An accessibility node for text painted at `rect`, saying the same words.
fn painted_text(ui: &egui::Ui, key: TileKey, what: &str, rect: Rect, text: &str) {
    ui.interact(rect, ui.scope_id().with((what, key)), egui::Sense::hover())
        .widget_info(|| WidgetInfo::labeled(Role::Label, true, text));
}

fn draw_tile(ui: &mut egui::Ui, rect: Rect, view: &TileView, active: bool, pinned: bool) {
    ui.painter().rect_filled(rect, 8.0, style::TILE);
    let shown = view
        .video
        .as_ref()
        .filter(|_| view.camera_on)
        .and_then(|slot| video_ui(ui, tile_id(view.key), slot, rect, view.mirrored));
    let painter = ui.painter_at(rect);
    if shown.is_none() {
        let radius = (rect.height() * 0.22).clamp(14.0, 80.0);
        painter.circle_filled(rect.center(), radius, style::name_colour(&view.name));
        painter.text(
            rect.center(),
            Align2::CENTER_CENTER,
            style::initials(&view.name),
            FontId::proportional(radius * 0.8),
            Color32::WHITE,
        );
        // Under the initials, where there is room for it (not in a strip's small tiles).
        let room = rect.height() >= 2.0 * radius + 2.0 * 34.0;
        if view.camera_on && view.video.is_none() && view.key != TileKey::Me && room {
            const CONNECTING: &str = "connecting video…";
            let drawn = painter.text(
                rect.center_bottom() - egui::vec2(0.0, 34.0),
                Align2::CENTER_CENTER,
                CONNECTING,
                FontId::proportional(12.0),
                Color32::from_gray(170),
            );
            painted_text(ui, view.key, "tile-connecting", drawn, CONNECTING);
        }
    }
    // Labels sit on the picture's corners (a picture of another shape leaves bars in the
    // tile), or on the tile's when there is no picture.
    let frame = shown.unwrap_or(rect);
    // Name (and host mark) on a dark label in the bottom-left corner.
    let label = caption(view);
    let font = FontId::proportional(13.0);
    let galley = painter.layout_no_wrap(label.clone(), font, Color32::WHITE);
    let label_rect = Rect::from_min_size(
        frame.left_bottom() + egui::vec2(6.0, -6.0 - galley.size().y - 6.0),
        galley.size() + egui::vec2(12.0, 6.0),
    );
    painted_text(ui, view.key, "tile-caption", label_rect, &label);
    painter.rect_filled(label_rect, 4.0, Color32::from_black_alpha(170));
    painter.galley(label_rect.min + egui::vec2(6.0, 3.0), galley, Color32::WHITE);
    if !view.mic_on {
        // A red dot behind the muted sign makes it visible at a glance.
        painter.circle_stroke(
            label_rect.min + egui::vec2(13.0, label_rect.height() / 2.0),
            8.0,
            Stroke::new(1.5, style::ERROR),
        );
    }
    if let Some(stats) = &view.stats {
        let galley = painter.layout(
            stats.clone(),
            FontId::monospace(11.0),
            Color32::WHITE,
            frame.width() - 16.0,
        );
        let stats_rect = Rect::from_min_size(frame.min + egui::vec2(6.0, 6.0), galley.size() + egui::vec2(10.0, 6.0));
        painted_text(ui, view.key, "tile-stats", stats_rect, stats);
        painter.rect_filled(stats_rect, 4.0, Color32::from_black_alpha(170));
        painter.galley(stats_rect.min + egui::vec2(5.0, 3.0), galley, Color32::WHITE);
    }
    if let Some(emoji) = &view.reaction {
        let drawn = painter.text(
            frame.right_bottom() + egui::vec2(-12.0, -10.0),
            Align2::RIGHT_BOTTOM,
            emoji,
            FontId::proportional((frame.height() * 0.18).clamp(24.0, 56.0)),
            Color32::WHITE,
        );
        painted_text(
            ui,
            view.key,
            "tile-reaction",
            drawn,
            &format!("{} reacts {emoji}", view.name),
        );
    }
    if let Some((quality, words)) = &view.quality {
        let bars = quality_bars(&painter, frame.right_top() + egui::vec2(-10.0, 8.0), *quality);
        ui.interact(
            bars,
            ui.scope_id().with(("tile-quality", view.key)),
            egui::Sense::hover(),
        )
        .on_hover_text(words)
        .widget_info(|| WidgetInfo::labeled(Role::Label, true, words));
    }
    if view.recording {
        recording_mark(ui, &painter, frame, view);
    }
    if pinned {
        painter.text(
            frame.right_top() + egui::vec2(-34.0, 10.0),
            Align2::RIGHT_TOP,
            "📌",
            FontId::proportional(16.0),
            Color32::WHITE,
        );
    }
    if active {
        ui.painter()
            .rect_stroke(rect, 8.0, Stroke::new(3.0, style::ACTIVE), StrokeKind::Inside);
    }
}

/// A red "REC" at the top of the picture: this participant records the meeting.
fn recording_mark(ui: &egui::Ui, painter: &egui::Painter, frame: Rect, view: &TileView) {
    let galley = painter.layout_no_wrap("⏺ REC".to_owned(), FontId::proportional(12.0), Color32::WHITE);
    let mark = Rect::from_min_size(
        frame.center_top() + egui::vec2(-galley.size().x / 2.0 - 6.0, 8.0),
        galley.size() + egui::vec2(12.0, 6.0),
    );
    painter.rect_filled(mark, 4.0, style::ERROR);
    painter.galley(mark.min + egui::vec2(6.0, 3.0), galley, Color32::WHITE);
    painted_text(
        ui,
        view.key,
        "tile-recording",
        mark,
        &format!("{} is recording", view.name),
    );
}

/// Three rising bars with their top right at `corner`, as many lit as `quality` says, in
/// its colour; the area they take.
fn quality_bars(painter: &egui::Painter, corner: egui::Pos2, quality: Quality) -> Rect {
    const BAR: f32 = 4.0;
    const GAP: f32 = 2.0;
    const HEIGHT: f32 = 14.0;
    let area = Rect::from_min_max(
        corner - vec2(3.0 * BAR + 2.0 * GAP + 6.0, 0.0),
        corner + vec2(0.0, HEIGHT + 6.0),
    );
    painter.rect_filled(area, 3.0, Color32::from_black_alpha(170));
    let lit = match quality {
        Quality::Good => style::ACTIVE,
        Quality::Fair => style::WARNING,
        Quality::Poor => style::ERROR,
    };
    for bar in 0..3 {
        let height = HEIGHT * (bar + 1) as f32 / 3.0;
        let left = area.min.x + 3.0 + bar as f32 * (BAR + GAP);
        let bottom = area.max.y - 3.0;
        let rect = Rect::from_min_max(egui::pos2(left, bottom - height), egui::pos2(left + BAR, bottom));
        let colour = if bar < quality.bars() {
            lit
        } else {
            Color32::from_gray(90)
        };
        painter.rect_filled(rect, 1.0, colour);
    }
    area
}

//! What the app remembers between runs: name, devices and choices, in a JSON file in the
//! platform's config folder (`VIDEOMEET_CONFIG_DIR` overrides it, for tests and portable use).

use std::path::{Path, PathBuf};

use eframe::egui;
use serde::{Deserialize, Serialize};

/// The user's choices. Unknown or missing fields take their defaults, so files written by
/// other versions still load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Display name.
    pub name: String,
    /// Device ids (see `videomeet devices`); `None` means the first one listed.
    pub camera: Option<String>,
    /// Microphone id.
    pub microphone: Option<String>,
    /// Speaker id.
    pub speaker: Option<String>,
    /// Join with the camera on.
    pub camera_on: bool,
    /// Join with the microphone on.
    pub mic_on: bool,
    /// Echo cancellation and noise suppression on a real microphone.
    pub voice_processing: bool,
    /// Our own picture is shown mirrored, as a mirror shows us (others see it as it is).
    pub mirror_self_view: bool,
    /// Desktop notifications when someone joins or writes while the window is in the background.
    pub notifications: bool,
    /// A short sound when someone joins or leaves, a message arrives or a guest knocks.
    pub play_sounds: bool,
    /// Title last used for hosting.
    pub meeting_title: String,
    /// Address or link last joined by hand.
    pub last_address: String,
    /// Ask whether a newer release exists when the app starts (off: it needs the internet).
    pub check_for_updates: bool,
    /// Keep each meeting (people, chat, files) in the history on the home screen.
    pub keep_history: bool,
    /// Light, dark, or as the system says.
    pub theme: Theme,
    /// The size of everything in the window, in percent (Ctrl+plus and Ctrl+minus change it
    /// too).
    pub ui_scale_percent: u16,
    /// A recording also puts each person's sound in a file of its own beside it.
    pub record_voices: bool,
}

/// The window's colours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// As the system's setting (dark when it says nothing).
    #[default]
    System,
    /// Dark text on light panels.
    Light,
    /// Light text on dark panels.
    Dark,
}

impl Theme {
    /// Every choice, in the order offered.
    pub const ALL: [Self; 3] = [Self::System, Self::Light, Self::Dark];

    /// Its name on the home screen.
    pub fn label(self) -> &'static str {
        match self {
            Self::System => "As the system",
            Self::Light => "Light",
            Self::Dark => "Dark",
        }
    }

    /// What egui is told.
    pub fn preference(self) -> egui::ThemePreference {
        match self {
            Self::System => egui::ThemePreference::System,
            Self::Light => egui::ThemePreference::Light,
            Self::Dark => egui::ThemePreference::Dark,
        }
    }
}

/// The sizes the window may be scaled to, in percent.
pub const UI_SCALES: std::ops::RangeInclusive<u16> = 50..=300;

/// Gives egui the theme and size `settings` choose when they change (`applied` is what it
/// was last given), and keeps a size changed with Ctrl+plus or Ctrl+minus. Called once a
/// frame.
pub fn follow_appearance(ctx: &egui::Context, settings: &mut Settings, applied: &mut Option<(Theme, u16)>) {
    let wanted = (
        settings.theme,
        settings.ui_scale_percent.clamp(*UI_SCALES.start(), *UI_SCALES.end()),
    );
    if *applied == Some(wanted) {
        let shown = (ctx.zoom_factor() * 100.0).round() as u16;
        if shown != wanted.1 && UI_SCALES.contains(&shown) {
            settings.ui_scale_percent = shown;
            *applied = Some((wanted.0, shown));
        }
        return;
    }
    ctx.set_theme(wanted.0.preference());
    ctx.set_zoom_factor(f32::from(wanted.1) / 100.0);
    *applied = Some(wanted);
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            name: login_name(),
            camera: None,
            microphone: None,
            speaker: None,
            camera_on: true,
            mic_on: true,
            voice_processing: true,
            mirror_self_view: true,
            notifications: true,
            play_sounds: true,
            meeting_title: String::new(),
            last_address: String::new(),
            check_for_updates: false,
            keep_history: true,
            theme: Theme::System,
            ui_scale_percent: 100,
            record_voices: false,
        }
    }
}

/// The settings and where they live.
pub struct SettingsFile {
    path: Option<PathBuf>,
    /// The current settings.
    pub settings: Settings,
    saved: Settings,
}

impl SettingsFile {
    /// Loads from the platform's config folder (defaults when there is none yet).
    pub fn load() -> Self {
        Self::load_from(config_path())
    }

    /// Loads from `path`; `None` keeps settings in memory only.
    pub fn load_from(path: Option<PathBuf>) -> Self {
        let settings = path.as_deref().map(read).unwrap_or_default();
        Self {
            path,
            saved: settings.clone(),
            settings,
        }
    }

    /// Writes the settings if they changed since the last write. A failure is logged: the
    /// app goes on with the settings in memory.
    pub fn save_if_changed(&mut self) {
        if self.settings == self.saved {
            return;
        }
        self.saved = self.settings.clone();
        if let Some(path) = &self.path
            && let Err(error) = write(path, &self.settings)
        {
            tracing::warn!(path = %path.display(), %error, "could not save the settings");
        }
    }
}

/// `<config folder>/settings.json`.
fn config_path() -> Option<PathBuf> {
    Some(crate::folders::config_dir()?.join("settings.json"))
}

/// Reads settings; a damaged file is kept aside as `settings.json.damaged` (nothing is
/// lost) and the defaults are used.
fn read(path: &Path) -> Settings {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Settings::default(),
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "could not read the settings");
            return Settings::default();
        }
    };
    serde_json::from_str(&text).unwrap_or_else(|error| {
        let aside = path.with_extension("json.damaged");
        tracing::warn!(path = %path.display(), %error, aside = %aside.display(), "damaged settings kept aside");
        let _ = std::fs::rename(path, aside);
        Settings::default()
    })
}

/// Writes through a temporary file and a rename, so a crash never leaves half a file.
fn write(path: &Path, settings: &Settings) -> std::io::Result<()> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let temporary = path.with_extension("json.new");
    let text = serde_json::to_string_pretty(settings).map_err(std::io::Error::other)?;
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}

/// A first guess at the user's name: the login name, capitalised.
fn login_name() -> String {
    let login = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_default();
    let mut chars = login.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let folder = std::env::temp_dir().join(format!("videomeet-settings-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        folder
    }

    #[test]
    fn choices_survive_a_restart() {
        let path = folder("restart").join("nested").join("settings.json");
        let mut file = SettingsFile::load_from(Some(path.clone()));
        assert_eq!(file.settings, Settings::default());
        file.settings.name = "Ada".into();
        file.settings.camera = Some("test-pattern".into());
        file.settings.mic_on = false;
        file.save_if_changed();
        let again = SettingsFile::load_from(Some(path));
        assert_eq!(again.settings.name, "Ada");
        assert_eq!(again.settings.camera.as_deref(), Some("test-pattern"));
        assert!(!again.settings.mic_on);
    }

    #[test]
    fn a_damaged_file_is_kept_aside_and_defaults_are_used() {
        let folder = folder("damaged");
        std::fs::create_dir_all(&folder).expect("folder");
        let path = folder.join("settings.json");
        std::fs::write(&path, "{ not json").expect("write");
        let file = SettingsFile::load_from(Some(path.clone()));
        assert_eq!(file.settings, Settings::default());
        let aside = std::fs::read_to_string(folder.join("settings.json.damaged")).expect("kept aside");
        assert_eq!(aside, "{ not json");
    }

    #[test]
    fn older_files_with_fewer_fields_load() {
        let folder = folder("older");
        std::fs::create_dir_all(&folder).expect("folder");
        let path = folder.join("settings.json");
        std::fs::write(&path, r#"{"name": "Grace", "unknown": 3}"#).expect("write");
        let file = SettingsFile::load_from(Some(path));
        assert_eq!(file.settings.name, "Grace");
        assert!(file.settings.notifications);
        assert!(file.settings.play_sounds, "sounds unless turned off");
        assert!(file.settings.mirror_self_view, "mirrored unless turned off");
        assert!(file.settings.keep_history, "a history unless turned off");
    }
}

//! Where the program keeps what lasts between runs: its settings and the host's
//! certificate (the config folder), its logs and crash reports (the data folder), and where
//! received files go (the Downloads folder). Each can be moved with an environment
//! variable, as tests do.

use std::path::PathBuf;

/// The config folder: `VIDEOMEET_CONFIG_DIR`, else the platform's.
pub fn config_dir() -> Option<PathBuf> {
    match std::env::var_os("VIDEOMEET_CONFIG_DIR") {
        Some(folder) => Some(PathBuf::from(folder)),
        None => directories::ProjectDirs::from("", "", "videomeet").map(|dirs| dirs.config_dir().to_path_buf()),
    }
}

/// The data folder: `VIDEOMEET_DATA_DIR`, else the platform's.
pub fn data_dir() -> Option<PathBuf> {
    match std::env::var_os("VIDEOMEET_DATA_DIR") {
        Some(folder) => Some(PathBuf::from(folder)),
        None => directories::ProjectDirs::from("", "", "videomeet").map(|dirs| dirs.data_dir().to_path_buf()),
    }
}

/// Where received files go unless the user picks a place: `VIDEOMEET_DOWNLOADS_DIR`, else
/// the platform's Downloads folder, else a `Downloads` folder in the home folder.
pub fn downloads_dir() -> Option<PathBuf> {
    if let Some(folder) = std::env::var_os("VIDEOMEET_DOWNLOADS_DIR") {
        return Some(PathBuf::from(folder));
    }
    let user = directories::UserDirs::new()?;
    Some(
        user.download_dir()
            .map_or_else(|| user.home_dir().join("Downloads"), std::path::Path::to_path_buf),
    )
}

/// Where recordings go unless the user picks a place: `VIDEOMEET_VIDEOS_DIR`, else the
/// platform's Videos folder, else a `Videos` folder in the home folder.
pub fn videos_dir() -> Option<PathBuf> {
    if let Some(folder) = std::env::var_os("VIDEOMEET_VIDEOS_DIR") {
        return Some(PathBuf::from(folder));
    }
    let user = directories::UserDirs::new()?;
    Some(
        user.video_dir()
            .map_or_else(|| user.home_dir().join("Videos"), std::path::Path::to_path_buf),
    )
}

/// A new file in `folder` for a recording of the meeting `title` made at `now`, such as
/// `Standup 2026-12-04 09.30.mp4`: the title made safe for file names, and numbered when
/// the name is taken.
pub fn recording_path(folder: &std::path::Path, title: &str, now: chrono::DateTime<chrono::Local>) -> PathBuf {
    let title = videomeet_media::record::file_name_part(title).unwrap_or_else(|| "Meeting".to_owned());
    let stem = format!("{title} {}", now.format("%Y-%m-%d %H.%M"));
    (1..)
        .map(|number| match number {
            1 => folder.join(format!("{stem}.mp4")),
            n => folder.join(format!("{stem} ({n}).mp4")),
        })
        .find(|path| !path.exists())
        .unwrap_or_else(|| folder.join(format!("{stem}.mp4")))
}

/// Shows `folder` in the system's file manager (never through a shell).
pub fn open_in_file_manager(folder: &std::path::Path) -> Result<(), String> {
    let opener = if cfg!(target_os = "windows") {
        "explorer"
    } else if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let mut child = std::process::Command::new(opener)
        .arg(folder)
        .spawn()
        .map_err(|error| format!("The folder {} could not be opened: {error}", folder.display()))?;
    // Waited for on a thread of its own, so that the finished opener does not linger.
    let waiter = std::thread::Builder::new()
        .name("open-folder".into())
        .spawn(move || child.wait());
    if let Err(error) = waiter {
        tracing::debug!(%error, "the folder's opener is not waited for");
    }
    Ok(())
}

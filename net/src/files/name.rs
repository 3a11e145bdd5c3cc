//! Names for files that come from someone else: one safe name, never a path, on every
//! system we run on, and a free place for it in the folder it is saved to.

use std::path::{Path, PathBuf};

use crate::text::clean_text;

/// The longest name kept, in bytes: file systems allow 255, and a ` (2)` or `.part` may be
/// added to it.
pub const MAX_NAME_BYTES: usize = 200;

/// Names Windows keeps for devices, with or without an extension (`nul.txt` too).
const RESERVED: [&str; 22] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9", "lpt1", "lpt2",
    "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// `name` made a safe file name: the last part of any path (`/` and `\` both separate),
/// without control, direction or invisible characters, without characters Windows forbids
/// (`<>:"|?*`), without leading dots (no hidden files, no `..`) and trailing dots and
/// spaces, not a Windows device name, and at most [`MAX_NAME_BYTES`] long with its
/// extension kept. Never empty: "file" when nothing is left.
pub fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let visible = clean_text(last, usize::MAX);
    let allowed: String = visible
        .chars()
        .map(|c| {
            if matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = allowed
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' '])
        .to_owned();
    let cut = cut_keeping_extension(&trimmed, MAX_NAME_BYTES);
    if cut.is_empty() {
        return "file".into();
    }
    let stem = cut.split('.').next().unwrap_or_default().trim_end();
    if RESERVED.iter().any(|reserved| stem.eq_ignore_ascii_case(reserved)) {
        format!("_{cut}")
    } else {
        cut
    }
}

/// `name` cut to at most `max_bytes`, on a character boundary, keeping a short extension.
fn cut_keeping_extension(name: &str, max_bytes: usize) -> String {
    if name.len() <= max_bytes {
        return name.to_owned();
    }
    let extension = name
        .rfind('.')
        .map(|dot| &name[dot..])
        .filter(|extension| extension.len() <= 16)
        .unwrap_or("");
    let mut stem_end = max_bytes - extension.len();
    while !name.is_char_boundary(stem_end) {
        stem_end -= 1;
    }
    let stem = name[..stem_end].trim_end_matches(['.', ' ']);
    format!("{stem}{extension}")
}

/// A path in `folder` for a file named `name` (already safe) that no file has yet: the name
/// itself, else `stem (2).ext`, `stem (3).ext`, and so on.
pub fn free_path(folder: &Path, name: &str) -> PathBuf {
    let first = folder.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    };
    (2..)
        .map(|n| folder.join(format!("{stem} ({n}){extension}")))
        .find(|path| !path.exists())
        .unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_their_last_part() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("/etc/passwd"), "passwd");
        assert_eq!(safe_file_name("..\\..\\Windows\\win.ini"), "win.ini");
        assert_eq!(safe_file_name("C:\\boot.ini"), "boot.ini");
        assert_eq!(safe_file_name(".."), "file");
        assert_eq!(safe_file_name("../"), "file");
        assert_eq!(safe_file_name(""), "file");
    }

    #[test]
    fn hidden_and_control_characters_go() {
        assert_eq!(safe_file_name("a\0b\nc\u{1b}[31m.txt"), "abc[31m.txt");
        // A right-to-left override would show "exe.txt" as "txt.exe".
        assert_eq!(safe_file_name("photo\u{202E}gpj.exe"), "photogpj.exe");
        assert_eq!(safe_file_name("a\u{200B}b.pdf"), "ab.pdf");
        assert_eq!(safe_file_name("what?<now>|\"*:.txt"), "what__now_____.txt");
    }

    #[test]
    fn dots_and_spaces_at_the_ends_go() {
        assert_eq!(safe_file_name(".bashrc"), "bashrc");
        assert_eq!(safe_file_name("notes.txt. . "), "notes.txt");
        assert_eq!(safe_file_name("  report.pdf  "), "report.pdf");
    }

    #[test]
    fn windows_device_names_are_changed() {
        assert_eq!(safe_file_name("CON"), "_CON");
        assert_eq!(safe_file_name("nul.txt"), "_nul.txt");
        assert_eq!(safe_file_name("com1.tar.gz"), "_com1.tar.gz");
        assert_eq!(safe_file_name("console.txt"), "console.txt");
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension() {
        let long = format!("{}.pdf", "é".repeat(2000));
        let safe = safe_file_name(&long);
        assert!(safe.len() <= MAX_NAME_BYTES, "{}", safe.len());
        assert!(safe.ends_with("é.pdf"), "{safe}");
        assert_eq!(safe_file_name(&"x".repeat(4096)).len(), MAX_NAME_BYTES);
    }

    #[test]
    fn a_taken_name_gets_a_number() {
        let folder = std::env::temp_dir().join(format!("videomeet-free-path-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).unwrap();
        assert_eq!(free_path(&folder, "a.txt"), folder.join("a.txt"));
        std::fs::write(folder.join("a.txt"), "1").unwrap();
        assert_eq!(free_path(&folder, "a.txt"), folder.join("a (2).txt"));
        std::fs::write(folder.join("a (2).txt"), "2").unwrap();
        assert_eq!(free_path(&folder, "a.txt"), folder.join("a (3).txt"));
        std::fs::write(folder.join("README"), "3").unwrap();
        assert_eq!(free_path(&folder, "README"), folder.join("README (2)"));
        std::fs::remove_dir_all(&folder).unwrap();
    }
}

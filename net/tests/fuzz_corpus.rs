//! Replays the committed fuzz corpus (`net/fuzz/corpus/<target>/`) through the checks the
//! fuzz targets run, so every input once found keeps passing, and checks that the targets,
//! their corpus folders and the checks stay in step. The fuzz workspace itself (`net/fuzz`,
//! nightly Rust) is not built here: CI's fuzz job builds and runs it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use videomeet_net::fuzzing::TARGETS;

fn fuzz_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The names of the entries of `folder` (with `suffix` taken off, for those that have it).
fn names_in(folder: &Path, suffix: &str) -> BTreeSet<String> {
    std::fs::read_dir(folder)
        .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
        .map(|entry| {
            entry
                .expect("a folder entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter_map(|name| name.strip_suffix(suffix).map(str::to_owned))
        .collect()
}

#[test]
fn every_corpus_input_passes_its_target_check() {
    let corpus = fuzz_folder().join("corpus");
    for (target, check) in TARGETS {
        let folder = corpus.join(target);
        let inputs: Vec<_> = std::fs::read_dir(&folder)
            .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
            .map(|entry| entry.expect("a corpus entry").path())
            .collect();
        assert!(!inputs.is_empty(), "no corpus for {target}");
        for input in inputs {
            let data = std::fs::read(&input).expect("a corpus file");
            check(&data);
        }
    }
}

/// Every check is a fuzz target of the same name, declared in `net/fuzz/Cargo.toml`, whose
/// source calls that check, and has a corpus folder; and there is nothing else.
#[test]
fn fuzz_targets_corpus_folders_and_checks_stay_in_step() {
    let checks: BTreeSet<String> = TARGETS.iter().map(|(name, _)| (*name).to_owned()).collect();
    let fuzz = fuzz_folder();
    let corpus = names_in(&fuzz.join("corpus"), "");
    let sources = names_in(&fuzz.join("fuzz_targets"), ".rs");
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).expect("net/fuzz/Cargo.toml");
    // Each `[[bin]]` table: its name and path.
    let binaries: BTreeSet<String> = manifest
        .split("[[bin]]")
        .skip(1)
        .map(|table| {
            let value = |key: &str| {
                table
                    .lines()
                    .find_map(|line| {
                        line.trim()
                            .strip_prefix(key)?
                            .trim()
                            .strip_prefix('=')?
                            .trim()
                            .strip_prefix('"')?
                            .strip_suffix('"')
                    })
                    .unwrap_or_else(|| panic!("a [[bin]] without {key}: {table}"))
                    .to_owned()
            };
            let (name, path) = (value("name"), value("path"));
            assert_eq!(path, format!("fuzz_targets/{name}.rs"), "binary {name}");
            name
        })
        .collect();
    assert_eq!(
        corpus, checks,
        "corpus folders (net/fuzz/corpus) against the checks (fuzzing::TARGETS)"
    );
    assert_eq!(sources, checks, "net/fuzz/fuzz_targets against the checks");
    assert_eq!(
        binaries, checks,
        "the binaries of net/fuzz/Cargo.toml against the checks"
    );
    for name in &checks {
        let source = std::fs::read_to_string(fuzz.join("fuzz_targets").join(format!("{name}.rs"))).expect("a target");
        assert!(
            source.contains(&format!("videomeet_net::fuzzing::{name}(")),
            "fuzz_targets/{name}.rs does not call fuzzing::{name}"
        );
    }
}

//! Replays the committed fuzz corpus (`net/fuzz/corpus/<target>/`) through the checks the
//! fuzz targets run, so every target keeps building and every input once found keeps passing.

use std::path::Path;

use videomeet_net::fuzzing::TARGETS;

#[test]
fn every_corpus_input_passes_its_target_check() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join("corpus");
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

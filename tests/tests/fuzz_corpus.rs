//! Replays every committed fuzz input (`fuzz/corpus/<target>/` and crash reproducers in
//! `fuzz/regressions/<target>/`) through the same harness the fuzzer runs, on stable, so
//! `cargo test` keeps every input that ever mattered passing.

use std::path::{Path, PathBuf};

use llmauth_core::fuzzing;

type Harness = fn(&[u8]);

const TARGETS: [(&str, Harness); 7] = [
    ("config_parse", fuzzing::config_parse),
    ("token_response", fuzzing::token_response),
    ("discovery_doc", fuzzing::discovery_doc),
    ("redirect_callback", fuzzing::redirect_callback),
    ("id_token_claims", fuzzing::id_token_claims),
    ("flow_script", fuzzing::flow_script),
    ("tool_config_patch", fuzzing::tool_config_patch),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_target_has_a_corpus() {
    for (target, _) in TARGETS {
        assert!(
            !inputs("corpus", target).is_empty(),
            "fuzz/corpus/{target}/ is empty"
        );
    }
}

#[test]
fn corpus_and_regressions_replay_cleanly() {
    let mut replayed = 0;
    for (target, harness) in TARGETS {
        for path in inputs("corpus", target)
            .into_iter()
            .chain(inputs("regressions", target))
        {
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let outcome = std::panic::catch_unwind(|| harness(&data));
            assert!(outcome.is_ok(), "{target} failed on {}", path.display());
            replayed += 1;
        }
    }
    assert!(replayed >= TARGETS.len());
}

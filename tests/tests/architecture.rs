//! `docs/architecture.md` as a reader follows it: every source file it names exists, and
//! core's modules import each other only in the order of the layers it draws.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};

const PAGE: &str = include_str!("../../docs/architecture.md");

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` path the page names: in `code` spans and in link targets.
fn named_files() -> Vec<String> {
    let in_code = PAGE.split('`').skip(1).step_by(2);
    let linked = PAGE
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next());
    in_code
        .chain(linked)
        .flat_map(|span| span.split([' ', ',', '(', ')']))
        .map(|word| word.trim_start_matches("../"))
        .filter(|word| word.ends_with(".rs"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_file_the_architecture_page_names_exists() {
    let named = named_files();
    assert!(named.len() > 40, "the page names its files: {named:?}");
    let missing: Vec<&String> = named
        .iter()
        .filter(|path| !root().join(path).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md names files that do not exist (paths are from the repository's root): {missing:?}"
    );
}

/// The layers of core as the page draws them, lowest first.
fn layers() -> Vec<String> {
    let block = PAGE
        .split("```core-layers\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the page draws core's layers");
    block
        .lines()
        .flat_map(|line| {
            let modules = line.split("  ").next().unwrap_or_default();
            modules.split(',').map(|m| m.trim().to_owned())
        })
        .filter(|m| !m.is_empty())
        .collect()
}

/// The `.rs` files under `dir`, test modules left out.
fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "tests") {
                sources(&path, found);
            }
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            found.push(path);
        }
    }
}

/// Which layer's module `path` (under `core/src/`, without `.rs`) belongs to.
fn module_of(path: &str) -> &str {
    if path == "config/defaults" || path.starts_with("config/defaults/") {
        return "config::defaults";
    }
    path.split('/').next().unwrap_or(path)
}

#[test]
fn core_imports_only_from_lower_layers() {
    let layers = layers();
    let rank = |module: &str| layers.iter().position(|m| m == module);
    let src = root().join("core/src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut upward = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap().with_extension("");
        let relative = relative.to_string_lossy().replace('\\', "/");
        let from = module_of(&relative);
        if matches!(from, "lib" | "testing" | "fuzzing") {
            continue;
        }
        let Some(from_rank) = rank(from) else {
            panic!("core/src/{relative}.rs: module `{from}` is in no layer of the page");
        };
        let text = std::fs::read_to_string(&file).unwrap();
        // Unit tests may use anything.
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (at, _) in line.match_indices("crate::") {
                let path: String = line[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let to = module_of(&path.replace("::", "/")).to_owned();
                if to == from || to.is_empty() {
                    continue;
                }
                match rank(&to) {
                    Some(to_rank) if to_rank < from_rank => {}
                    _ => upward.push(format!("core/src/{relative}.rs → crate::{path}")),
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layers of docs/architecture.md: {upward:#?}"
    );
}

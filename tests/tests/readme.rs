//! The README as a fresh machine reads it (issue 9.15, 9.16): the install command, the
//! Rust version and `PATH` it needs, and every configuration key it names — checked with
//! the real config parser.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use llmauth_core::config::{ConfigDocument, field};

const README: &str = include_str!("../../README.md");
const WORKSPACE: &str = include_str!("../../Cargo.toml");

/// The text between ``` fences whose info string is `lang`.
fn fenced(lang: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in README.lines() {
        match (&mut current, line.trim_start().strip_prefix("```")) {
            (None, Some(info)) if info.trim() == lang => current = Some(String::new()),
            (Some(_), Some(_)) => blocks.extend(current.take()),
            (Some(block), None) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// Every `inline code` span outside fenced blocks, its line breaks made spaces.
fn inline_code() -> Vec<String> {
    let mut prose = String::new();
    let mut in_fence = false;
    for line in README.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    prose
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|span| span.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The workspace's `rust-version`.
fn rust_version() -> &'static str {
    WORKSPACE
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("rust-version in Cargo.toml")
}

#[test]
fn the_install_instructions_work_on_a_fresh_machine() {
    let install = fenced("sh")
        .into_iter()
        .find(|block| block.contains("cargo install"))
        .expect("an install block");
    assert!(
        install.contains("cargo install --locked --path cli"),
        "the tested dependency versions: {install}"
    );
    assert!(
        README.contains(&format!("Rust {} or newer", rust_version())),
        "the minimum Rust version, as Cargo.toml says"
    );
    assert!(README.contains("`~/.cargo/bin`"), "where the binary lands");
}

/// A dotted key as YAML: `llm.proxy.require_local_key: false` → nested mappings.
fn as_yaml(dotted: &str, value: &str) -> String {
    let mut yaml = String::new();
    let parts: Vec<&str> = dotted.split('.').collect();
    for (depth, part) in parts.iter().enumerate() {
        yaml.push_str(&"  ".repeat(depth));
        yaml.push_str(part);
        yaml.push(':');
        if depth + 1 == parts.len() {
            yaml.push(' ');
            yaml.push_str(value);
        }
        yaml.push('\n');
    }
    yaml
}

#[test]
fn every_config_key_the_readme_names_exists() {
    let blocks = fenced("yaml");
    assert!(!blocks.is_empty(), "the README shows config.yaml");
    for block in &blocks {
        if let Err(error) = ConfigDocument::parse(block) {
            panic!("the README's config.yaml does not parse: {error}\n{block}");
        }
    }
    let leaves: Vec<&str> = field::ALL
        .iter()
        .map(|f| f.strip_prefix("llm.").unwrap())
        .collect();
    let mut named = 0;
    for span in inline_code() {
        let (key, value) = match span.split_once(": ") {
            Some((key, value)) => (key, value),
            None => (span.as_str(), "x"),
        };
        if key.starts_with("llm.") {
            named += 1;
            let known = field::ALL.contains(&key)
                || field::ALL.iter().any(|f| f.starts_with(&format!("{key}.")));
            assert!(known, "the README names `{key}`, which is no config key");
            if span.contains(": ") {
                let yaml = as_yaml(key, value);
                if let Err(error) = ConfigDocument::parse(&yaml) {
                    panic!("`{span}` does not parse as config: {error}");
                }
            }
        } else {
            // A key written without its section is easy to copy into the wrong place.
            assert!(
                !leaves.contains(&key),
                "the README writes `{span}`; the key is `llm.{key}`"
            );
        }
    }
    assert!(named > 0, "the README names config keys by their full path");
}

#[test]
fn the_tls_provider_is_named_in_one_place() {
    // rustls 0.23.48 deprecates ring's `default_provider` constructor (a build with
    // newer dependencies than the lock file warns): the provider comes from
    // `llmauth_blocking::tls::provider`.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut stack = vec![root.clone()];
    let mut offenders = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | "node_modules" | ".git" | "corpus") {
                    stack.push(path);
                }
            } else if name.ends_with(".rs")
                && std::fs::read_to_string(&path)
                    .unwrap_or_default()
                    .contains(concat!("crypto::ring::", "default_provider"))
            {
                offenders.push(path.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?}");
}

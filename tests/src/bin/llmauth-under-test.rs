//! The `llmauth` command line, built inside the tests package so integration tests get
//! its path from cargo (`CARGO_BIN_EXE_llmauth-under-test`): the same `llmauth::run` as
//! `cli/src/main.rs`, nothing else.

fn main() -> std::process::ExitCode {
    llmauth::run()
}

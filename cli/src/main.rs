//! The `llmauth` binary; everything lives in the library so tests and the demo can run the
//! same code.

fn main() -> std::process::ExitCode {
    llmauth::run()
}

//! `llmauth-token`: the token helper tools run (see `llmauth::lean`).

fn main() -> std::process::ExitCode {
    llmauth::lean::run()
}

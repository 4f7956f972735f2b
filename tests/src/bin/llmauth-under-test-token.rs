//! `llmauth-token` built inside the tests package, beside `llmauth-under-test` and named
//! after it, so it hands over to that binary: the same `llmauth::lean::run`.

fn main() -> std::process::ExitCode {
    llmauth::lean::run()
}

//! Reads the session record named on the command line, parses it and prints its access
//! token: the floor for a token helper written in Rust.

use std::io::Write as _;
use std::process::ExitCode;

#[derive(serde::Deserialize)]
struct Record {
    access: Access,
}

#[derive(serde::Deserialize)]
struct Access {
    access_token: String,
}

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        return ExitCode::from(2);
    };
    let Ok(bytes) = std::fs::read(path) else {
        return ExitCode::from(1);
    };
    let Ok(record) = serde_json::from_slice::<Record>(&bytes) else {
        return ExitCode::from(1);
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{}", record.access.access_token).is_err() {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

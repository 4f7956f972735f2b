//! Writing to stdout, where scripts and tools read what llmauth prints.

use std::io::Write as _;

use crate::failure::{Exit, Failure};

/// One line on stdout, flushed at once (a script waits for it).
pub(crate) fn print_line(line: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(|e| {
            Failure::new(
                Exit::Unexpected,
                format!("cannot write to stdout: {e}"),
                None,
            )
        })
}

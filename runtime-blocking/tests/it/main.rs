//! Integration tests of the blocking runtime against real sockets, files, processes and
//! a private Secret Service. One test binary, one module per area.
//!
//! Unix only: they check permission bits and use Unix tools; the keychain module needs
//! the Linux Secret Service.
#![cfg(unix)]
// Child processes report progress to the parent on stdout.
#![allow(
    clippy::unwrap_used,
    clippy::wildcard_enum_match_arm,
    clippy::print_stdout,
    unreachable_pub
)]

mod browser;
mod callback;
mod driver;
mod file_store;
mod http;
#[cfg(target_os = "linux")]
mod keychain;
mod locks;
mod support;
mod tools;

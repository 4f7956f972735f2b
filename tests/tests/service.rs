//! `llmauth proxy install|uninstall|status|stop` and socket activation: the service
//! definitions golden-tested for every platform, the real command line in a private home
//! (with no user manager, with a stand-in `systemctl`, and with the real systemd user
//! manager where one runs). Socket activation, `proxy status` and `proxy stop` against a
//! running proxy are in the proxy tests.
//!
//! One test binary with modules, to keep link times down.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod service {
    #[cfg(unix)]
    mod cli;
    #[cfg(unix)]
    pub(crate) mod common;
    mod golden;
    #[cfg(unix)]
    mod systemd;
}

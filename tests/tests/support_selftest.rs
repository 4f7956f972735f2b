//! Self-tests of the test support: the test IdP, the gateway stand-in, the HTTP server
//! under them, and the scripted browser — exercised directly over HTTPS with ureq.
//!
//! One test binary with modules, to keep link times down.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support_selftest {
    mod browser;
    mod code_flow;
    pub(crate) mod common;
    mod device_flow;
    mod discovery;
    mod faults;
    mod gateway;
    mod http_server;
    mod test_idp_binary;
}

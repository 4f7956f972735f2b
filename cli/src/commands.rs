//! One module per subcommand.

pub(crate) mod config;
mod drift;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod proxy;
// Setup's error handling is being reworked into classified setup errors (issue 10); until
// then its matches keep their wildcard arms.
#[allow(clippy::wildcard_enum_match_arm)]
pub(crate) mod setup;
pub(crate) mod status;
pub(crate) mod teardown;
pub(crate) mod token;

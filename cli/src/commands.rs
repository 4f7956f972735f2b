//! One module per subcommand.

pub(crate) mod config;
pub(crate) mod doctor;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod proxy;
pub(crate) mod setup;
pub(crate) mod status;
pub(crate) mod teardown;
pub(crate) mod token;

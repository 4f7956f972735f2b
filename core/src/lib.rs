//! llmauth-core: every decision llmauth makes, with no I/O.
#![forbid(unsafe_code)]

pub mod config;

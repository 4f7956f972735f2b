//! `llmauth proxy start` and `llmauth proxy key`.

use std::io::Write as _;
use std::path::PathBuf;

use llmauth_async::{Proxy, ProxyError, ProxyOptions, signals};
use llmauth_core::broker::REQUEST_TOKEN_WAIT;
use llmauth_core::broker::local_key::LocalKey;

use crate::app::{App, login_interaction};
use crate::args::{ProxyCommand, ProxyStartArgs};
use crate::failure::{Exit, Failure};

/// Most client connections served at once (tools keep a few each; benchmarks hold a
/// thousand streams).
const MAX_CONNECTIONS: usize = 4096;

/// Runs `proxy start` or `proxy key`.
pub(crate) fn run(app: &App, command: &ProxyCommand) -> Result<(), Failure> {
    match command {
        ProxyCommand::Start(args) => start(app, args),
        ProxyCommand::Key => {
            let key = load_key(app)?;
            print_line(key.expose_secret())
        }
    }
}

fn start(app: &App, args: &ProxyStartArgs) -> Result<(), Failure> {
    let config = app.config()?;
    let flow = app.flow_setup(&config, login_interaction(args.skip_browser));
    let local_key = if config.require_local_key {
        Some(load_key(app)?)
    } else {
        eprintln!(
            "warning: proxy.require_local_key is off: any program on this machine can send requests through the proxy with your identity"
        );
        None
    };
    if config.skip_verify {
        eprintln!(
            "warning: tls.skip_verify is set: the gateway's TLS certificate is NOT verified (the IdP's still is); use this for local development only"
        );
    }
    let ca_file = config.ca_file.as_ref().map(PathBuf::from);
    let options = ProxyOptions {
        gateway_url: config.gateway_url.clone(),
        port: args.port.unwrap_or(config.proxy_port),
        local_key,
        ca_file: ca_file.clone(),
        skip_verify: config.skip_verify,
        flow,
        login_wait: REQUEST_TOKEN_WAIT,
        threads: threads(),
        max_connections: MAX_CONNECTIONS,
    };
    let proxy = Proxy::bind(options).map_err(proxy_failure)?;
    let stop = signals::first_signal().map_err(|e| proxy_failure(ProxyError::Signals(e)))?;
    print_line(&format!(
        "llmauth proxy listening on http://127.0.0.1:{}",
        proxy.port()
    ))?;
    proxy.run_until(stop).map_err(proxy_failure)?;
    eprintln!("llmauth proxy stopped");
    Ok(())
}

/// Executor threads: one is plenty for a person's tools (and what the benchmarks
/// measure); `LLMAUTH_PROXY_THREADS` raises it for heavier use.
fn threads() -> usize {
    std::env::var("LLMAUTH_PROXY_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or(1)
}

fn load_key(app: &App) -> Result<LocalKey, Failure> {
    llmauth_blocking::proxy_key::load_or_create(&app.paths).map_err(|error| {
        let exit = if error.kind() == std::io::ErrorKind::InvalidData {
            Exit::Usage
        } else {
            Exit::Transient
        };
        Failure::new(exit, format!("cannot use the proxy key: {error}"), None)
    })
}

// `ProxyError` is `#[non_exhaustive]` and has no class yet, so an unknown variant needs a
// wildcard; it exits 1 like any unclassified error.
#[allow(clippy::wildcard_enum_match_arm)]
fn proxy_failure(error: ProxyError) -> Failure {
    match &error {
        ProxyError::PortInUse { .. } => Failure::new(
            Exit::Usage,
            error.to_string(),
            Some(
                "stop the program using it, or choose another port (`llmauth proxy start --port N`, or `llmauth config set --proxy-port N`)"
                    .to_owned(),
            ),
        ),
        ProxyError::Gateway(_) | ProxyError::Tls(_) => Failure::new(
            Exit::Usage,
            error.to_string(),
            Some("check `llmauth config show`".to_owned()),
        ),
        _ => Failure::new(Exit::Unexpected, error.to_string(), None),
    }
}

/// One line on stdout, flushed at once (a script waits for it).
fn print_line(line: &str) -> Result<(), Failure> {
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

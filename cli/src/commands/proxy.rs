//! `llmauth proxy start|key`, and the service commands (`install`, `uninstall`) and the
//! running proxy's (`status`, `stop`) in their own modules.

pub(crate) mod control;

use std::path::PathBuf;

use llmauth_async::activation::inherited_listeners;
use llmauth_async::{Proxy, ProxyError, ProxyOptions, signals};
use llmauth_core::broker::REQUEST_TOKEN_WAIT;
use llmauth_core::broker::connections::MAX_CONNECTIONS;
use llmauth_core::broker::workers;
use llmauth_core::config::check_proxy_start_port;
use llmauth_core::secret::LocalKey;
use llmauth_core::service::Manager;

use crate::app::{App, login_interaction};
use crate::args::{ProxyCommand, ProxyStartArgs};
use crate::failure::{Exit, Failure};
use crate::output::print_line;
use crate::service;

/// Runs a `proxy` subcommand.
pub(crate) fn run(app: &App, command: &ProxyCommand) -> Result<(), Failure> {
    match command {
        ProxyCommand::Start(args) => start(app, args),
        ProxyCommand::Key => {
            let key = load_key(app)?;
            print_line(key.expose_secret())
        }
        ProxyCommand::Install => service::install(app),
        ProxyCommand::Uninstall => service::uninstall(app),
        ProxyCommand::Status(args) => control::status(app, args.format),
        ProxyCommand::Stop => control::stop(app),
    }
}

fn start(app: &App, args: &ProxyStartArgs) -> Result<(), Failure> {
    // First, while this process has one thread: taking the sockets clears LISTEN_PID and
    // LISTEN_FDS from the environment.
    let inherited = inherited_listeners().map_err(|e| {
        Failure::new(
            Exit::Usage,
            format!("cannot use the sockets the service manager passed: {e}"),
            None,
        )
    })?;
    let config = app.config()?;
    let port = match args.port {
        None => config.proxy_port,
        Some(port) => check_proxy_start_port(port)
            .map_err(|problem| Failure::new(Exit::Usage, format!("--port: {problem}"), None))?,
    };
    let flow = app.flow_setup(&config, login_interaction(args.skip_browser));
    let local_key = if config.require_local_key {
        Some(load_key(app)?)
    } else {
        eprintln!(
            "warning: llm.proxy.require_local_key is off: any program on this machine can send requests through the proxy with your identity"
        );
        None
    };
    // The flag overrides the config for this run only.
    let skip_verify = args.tls_skip_verify.unwrap_or(config.skip_verify);
    if args
        .tls_skip_verify
        .is_some_and(|flag| flag != config.skip_verify)
    {
        eprintln!(
            "warning: --tls-skip-verify={skip_verify} overrides tls.skip_verify={} for this run only",
            config.skip_verify
        );
    }
    if skip_verify {
        eprintln!(
            "warning: tls.skip_verify: the gateway's TLS certificate is NOT verified (the IdP's still is); use this for local development only"
        );
    }
    let options = ProxyOptions {
        gateway_url: config.gateway_url.clone(),
        port,
        local_key,
        ca_file: config.ca_file.as_ref().map(PathBuf::from),
        skip_verify,
        flow,
        login_wait: REQUEST_TOKEN_WAIT,
        threads: threads()?,
        max_connections: MAX_CONNECTIONS,
        managed_by: args.managed_by.as_deref().and_then(Manager::parse),
    };
    let proxy = if inherited.is_empty() {
        Proxy::bind(options)
    } else {
        Proxy::with_listeners(options, inherited)
    }
    .map_err(proxy_failure)?;
    let stop = signals::first_signal(&proxy).map_err(|e| proxy_failure(ProxyError::Signals(e)))?;
    print_line(&format!(
        "llmauth proxy listening on http://127.0.0.1:{}",
        proxy.port()
    ))?;
    proxy.run_until(stop).map_err(proxy_failure)?;
    eprintln!("llmauth proxy stopped");
    Ok(())
}

/// Worker threads, as core decides them from `LLMAUTH_PROXY_THREADS` and the machine's
/// cores.
fn threads() -> Result<usize, Failure> {
    let setting = std::env::var("LLMAUTH_PROXY_THREADS").ok();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    workers::worker_count(setting.as_deref(), cores)
        .map_err(|problem| Failure::new(problem.class().into(), problem.to_string(), None))
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

fn proxy_failure(error: ProxyError) -> Failure {
    Failure::new(
        error.class().into(),
        error.to_string(),
        error.hint().map(str::to_owned),
    )
}

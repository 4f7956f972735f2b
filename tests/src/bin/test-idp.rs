//! `test-idp`: a TestIdp and a TestGateway in one process, for benchmarks and demos.
//!
//! ```text
//! test-idp [--token-lifetime SECS] [--ca-dir DIR] [--audience AUD] [--issuer-path PATH]
//!          [--idp-port N] [--gateway-port N] [--quirk-mode PRESET]
//! ```
//!
//! `--quirk-mode` makes the IdP behave like that provider (`IdpOptions::quirk_mode`; exact
//! redirect URIs are registered for port 8666), to try `llmauth config set --provider`
//! against it by hand.
//!
//! Prints one JSON line on stdout once both are listening:
//! `{"issuer":…,"gateway":…,"ca_file":…,"client_id":…,"jwks_uri":…}`, then serves until
//! stdin closes (or the process is killed). `--audience` is the audience the gateway
//! requires (default: the client id, what the IdP puts in `aud` when no resource is
//! requested).

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use llmauth_core::provider::Preset;
use llmauth_tests::ca::TestCa;
use llmauth_tests::gateway::{GatewayOptions, TestGateway};
use llmauth_tests::idp::{IdpOptions, TestIdp};
use serde_json::json;

struct Args {
    token_lifetime: Option<u64>,
    ca_dir: Option<PathBuf>,
    audience: Option<String>,
    issuer_path: String,
    idp_port: u16,
    gateway_port: u16,
    quirk_mode: Option<Preset>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        token_lifetime: None,
        ca_dir: None,
        audience: None,
        issuer_path: String::new(),
        idp_port: 0,
        gateway_port: 0,
        quirk_mode: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--token-lifetime" => {
                args.token_lifetime = Some(
                    value()?
                        .parse()
                        .map_err(|_| "--token-lifetime takes seconds")?,
                );
            }
            "--ca-dir" => args.ca_dir = Some(PathBuf::from(value()?)),
            "--audience" => args.audience = Some(value()?),
            "--issuer-path" => args.issuer_path = value()?,
            "--idp-port" => {
                args.idp_port = value()?.parse().map_err(|_| "--idp-port takes a port")?
            }
            "--gateway-port" => {
                args.gateway_port = value()?
                    .parse()
                    .map_err(|_| "--gateway-port takes a port")?;
            }
            "--quirk-mode" => args.quirk_mode = Some(value()?.parse::<Preset>()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: {e}\nusage: test-idp [--token-lifetime SECS] [--ca-dir DIR] [--audience AUD] \
                 [--issuer-path PATH] [--idp-port N] [--gateway-port N] [--quirk-mode PRESET]"
            );
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> std::io::Result<()> {
    let ca = Arc::new(TestCa::try_new().map_err(std::io::Error::other)?);
    let ca_dir = match args.ca_dir {
        Some(dir) => dir,
        None => {
            let dir = std::env::temp_dir().join(format!("llmauth-test-idp-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            dir
        }
    };
    let ca_file = ca.write_ca_pem(&ca_dir)?;
    let base = args.quirk_mode.map_or_else(IdpOptions::default, |preset| {
        IdpOptions::quirk_mode(preset, llmauth_core::config::defaults::CALLBACK_PORT)
    });
    let mut options = IdpOptions {
        port: args.idp_port,
        ..base
    };
    if !args.issuer_path.is_empty() {
        options.issuer_path = args.issuer_path;
    }
    if let Some(secs) = args.token_lifetime {
        options.access_token_lifetime = Duration::from_secs(secs);
    }
    let idp = TestIdp::try_start(options, Arc::clone(&ca))?;
    let mut gateway_options = GatewayOptions {
        port: args.gateway_port,
        // Benchmarks send millions of requests; keep only a few for debugging.
        max_recorded_requests: 1000,
        ..GatewayOptions::for_idp(&idp)
    };
    if let Some(audience) = args.audience {
        gateway_options.expected_audience = Some(audience);
    }
    let gateway = TestGateway::try_start(gateway_options, ca)?;
    let line = json!({
        "issuer": idp.issuer(),
        "gateway": gateway.url(),
        "ca_file": ca_file,
        "client_id": idp.client_id(),
        "jwks_uri": idp.jwks_uri(),
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    drop(out);
    // Serve until stdin closes: the parent ends us by closing the pipe (or killing us).
    let mut sink = [0u8; 1024];
    let mut stdin = std::io::stdin().lock();
    while stdin.read(&mut sink).is_ok_and(|n| n > 0) {}
    drop(gateway);
    drop(idp);
    Ok(())
}

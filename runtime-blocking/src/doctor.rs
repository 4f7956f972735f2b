//! `llmauth doctor`'s fact gathering: the requests, the keychain probe, the token flow,
//! the helpers and the proxy probe, each performed once with its own short limit, in the
//! order core's checks need them. Every verdict is `llmauth_core::doctor`'s.

mod helper_run;

use std::time::Instant;

use llmauth_core::config::Config;
use llmauth_core::doctor::{
    Answer, BadProbePath, CaFile, DiscoveryFacts, Exchange, Facts, GatewayFacts, HelperFacts,
    KeychainFacts, PROXY_PROBE, ProxyFacts, SessionFacts, TOKEN_BUDGET, TlsFacts, TokenClaims,
    TokenFacts, ToolFacts, discovery_requests, gateway_probe, invocation, wants_rfc8414,
};
use llmauth_core::flow::TokenGoal;
use llmauth_core::http::HttpRequest;
use llmauth_core::provider::IssuerMatch;
use llmauth_core::secret::AccessToken;
use llmauth_core::setup::tool::{Platform, Tool};
use llmauth_core::store::Backend;
use llmauth_core::token::Credential;

use crate::flow_setup::FlowSetup;
use crate::http_client::HttpClient;
use crate::{ca_file, clock, drive, keychain, local_http, tools};

/// Gathers everything `doctor` judges for `config`, whose flows `setup` assembles,
/// probing the gateway at `probe_path`.
///
/// # Errors
/// [`BadProbePath`] before anything is done, when `probe_path` cannot be joined onto the
/// gateway URL.
pub fn gather(config: &Config, setup: &FlowSetup, probe_path: &str) -> Result<Facts, BadProbePath> {
    let probe = |now| gateway_probe(&config.gateway_url, probe_path, now);
    probe(clock::now())?;
    let mut http = HttpClient::new(setup.io_options.ca_file.clone());
    let discovery = discover(&mut http, &config.issuer, config.provider.issuer_match);
    let keychain = keychain_facts(config, setup.backend);
    let (credential, session) = session(setup);
    let gateway = GatewayFacts {
        probe_path: probe_path.to_owned(),
        with_token: credential.is_some(),
        exchange: send(
            &mut http,
            &probe(clock::now())?,
            credential.as_ref().map(|c| &c.access_token),
        ),
    };
    let tools = tools_facts(setup);
    let proxy = ProxyFacts {
        port: config.proxy_port,
        health: local_http::probe_proxy(config.proxy_port, PROXY_PROBE),
    };
    Ok(Facts {
        now: clock::now(),
        config: Ok(config.clone()),
        discovery: Some(discovery),
        tls: Some(tls_facts(config)),
        keychain: Some(keychain),
        session: Some(session),
        gateway: Some(gateway),
        tools,
        proxy: Some(proxy),
    })
}

/// Sends `request` (with `bearer` when given) and records the answer with the times
/// around it.
fn send(http: &mut HttpClient, request: &HttpRequest, bearer: Option<&AccessToken>) -> Exchange {
    let sent_at = clock::now();
    let answer = http
        .exchange(request, bearer, sent_at)
        .map(|exchanged| Answer {
            response: exchanged.response,
            date: exchanged.date,
        });
    Exchange {
        url: request.url.clone(),
        sent_at,
        received_at: clock::now(),
        answer,
    }
}

/// The discovery documents, fresh from the IdP (the 24-hour cache is what `token` uses;
/// doctor asks the IdP as it is now).
fn discover(http: &mut HttpClient, issuer: &str, issuer_match: IssuerMatch) -> DiscoveryFacts {
    let [first, _] = discovery_requests(issuer, clock::now());
    let oidc = send(http, &first, None);
    let rfc8414 = wants_rfc8414(&oidc, issuer, issuer_match).then(|| {
        let [_, second] = discovery_requests(issuer, clock::now());
        send(http, &second, None)
    });
    DiscoveryFacts { oidc, rfc8414 }
}

/// The CA file and the environment's additions to the trust roots.
fn tls_facts(config: &Config) -> TlsFacts {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    TlsFacts {
        ca_file: config.ca_file.as_ref().map(|path| CaFile {
            path: path.clone(),
            problem: ca_file::read(path.as_ref())
                .err()
                .map(|e| e.problem.to_string()),
        }),
        ssl_cert_file: var("SSL_CERT_FILE"),
        codex_ca_certificate: var("CODEX_CA_CERTIFICATE"),
    }
}

/// The backend in use, and a probe of the keychain when the session is kept there.
fn keychain_facts(config: &Config, backend: Backend) -> KeychainFacts {
    let probe = (backend == Backend::Keyring).then(|| {
        let start = Instant::now();
        keychain::probe().map(|()| start.elapsed())
    });
    KeychainFacts {
        configured: config.secrets_backend,
        backend,
        probe,
    }
}

/// A token the way a tool's helper gets one (never signing in), and the stored session
/// after it.
fn session(setup: &FlowSetup) -> (Option<Credential>, SessionFacts) {
    let token = setup
        .start(TokenGoal::default(), false, Some(TOKEN_BUDGET))
        .and_then(|(flow, io)| {
            // Doctor explains failures itself; the flow's notices would only repeat them.
            drive(flow, &mut io.with_notice_sink(|_| {}))
        });
    let facts = SessionFacts {
        token: token
            .as_ref()
            .map(|credential| TokenFacts {
                expires_at: credential.expires_at,
                claims: TokenClaims::read(&credential.access_token),
            })
            .map_err(Clone::clone),
        stored: setup.session_status(),
    };
    (token.ok(), facts)
}

/// Every configured tool, with its helper run the way the tool runs it.
fn tools_facts(setup: &FlowSetup) -> Vec<ToolFacts> {
    let platform = tools::environment().map_or(Platform::Linux, |env| env.platform);
    tools::drift::configured(&setup.paths)
        .into_iter()
        .filter_map(|configured| {
            let tool = Tool::parse(&configured.drift.tool)?;
            let helper = invocation(tool, &configured.files, platform).map(|found| match found {
                Ok(invocation) => HelperFacts::Ran(helper_run::run(&invocation)),
                Err(why) => HelperFacts::Unwired(why),
            });
            Some(ToolFacts {
                tool,
                drift: configured.drift,
                helper,
            })
        })
        .collect()
}

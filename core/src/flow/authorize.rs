//! Interactive sign-in with the authorization code grant, PKCE S256, `state`, `nonce` and
//! the RFC 9207 `iss` check, over a loopback redirect or a pasted URL (SPEC §6); the
//! device flow ([`device`]) when asked for or when no browser can be opened.
//!
//! The phase ends with the checked tokens as records to persist. The PKCE verifier and
//! `state` live in [`Authorizing`] and are dropped once the code is exchanged; only the
//! `nonce` is kept until the ID token is checked.

mod device;

use core::time::Duration;

use device::DeviceStep;

use super::SIGN_IN_TIME_LIMIT;
use super::SignedIn;
use super::cooldown;
use super::shell::{Progress, Shell};
use crate::callback::{self, CallbackExpectations, Verdict};
use crate::error::{ExchangeFailure, FlowError, IdpUnavailable, LoginFailure, Misconfiguration};
use crate::id_token::NonceRule;
use crate::intent::{CallbackEvent, Intent, IntentResult, Notice};
use crate::oauth::{FailureClass, TokenResponse, parse_token_response};
use crate::pkce::{self, LoginSecrets};
use crate::secret::{AuthorizationCode, Entropy};
use crate::store::{RefreshRecord, SessionRecords};
use crate::time::UnixTime;
use crate::token::{self, Credential};

/// Of a call's remaining budget, the share kept for the code exchange after a late
/// redirect (at most this much, a quarter otherwise).
const EXCHANGE_RESERVE: Duration = Duration::from_secs(10);

/// What the sign-in waits for.
pub(super) enum SignInStep {
    /// The callback listener; the entropy becomes this login's secrets once it listens.
    Bound(Box<Entropy>),
    /// The browser was being opened at the authorization URL.
    BrowserOpened(Authorizing),
    /// The next request to the listener, or a pasted redirect URL.
    Redirected(Authorizing),
    /// The code exchange.
    CodeExchanged(Exchanging),
    /// The device flow.
    Device(DeviceStep),
}

impl From<DeviceStep> for SignInStep {
    fn from(step: DeviceStep) -> Self {
        Self::Device(step)
    }
}

/// An authorization-code sign-in waiting for its redirect.
pub(super) struct Authorizing {
    secrets: LoginSecrets,
    redirect_uri: String,
    url: String,
    deadline: UnixTime,
    /// The listener's last request still awaits its answer page.
    request_open: bool,
}

/// A code exchange in flight: what is left of the sign-in once the verifier was sent.
pub(super) struct Exchanging {
    nonce: String,
    request_open: bool,
}

/// The checked result of a sign-in: the records to persist, and what to report.
pub(super) struct Verified {
    pub(super) records: SessionRecords,
    pub(super) signed_in: SignedIn,
}

/// Starts a sign-in: the device flow when asked for, otherwise the authorization code
/// flow (which falls back to the device flow when no browser opens).
pub(super) fn start<S: From<SignInStep>>(
    shell: &mut Shell<S>,
    now: UnixTime,
    entropy: Entropy,
    device: bool,
) -> Progress<Verified> {
    if device {
        return device::start(shell, now);
    }
    let port = shell.settings.redirect.port();
    let step = SignInStep::Bound(Box::new(entropy));
    shell.perform(Intent::BindCallback { port }, step);
    Ok(None)
}

pub(super) fn on_result<S: From<SignInStep>>(
    shell: &mut Shell<S>,
    step: SignInStep,
    now: UnixTime,
    result: IntentResult,
) -> Progress<Verified> {
    match step {
        SignInStep::Bound(entropy) => on_bound(shell, now, &entropy, result),
        SignInStep::BrowserOpened(attempt) => on_browser(shell, now, attempt, result),
        SignInStep::Redirected(attempt) => on_redirect(shell, now, attempt, result),
        SignInStep::CodeExchanged(exchanging) => on_exchanged(shell, now, exchanging, result),
        SignInStep::Device(step) => device::on_result(shell, step, now, result),
    }
}

pub(super) fn on_wake<S: From<SignInStep>>(
    shell: &mut Shell<S>,
    step: SignInStep,
    now: UnixTime,
) -> Progress<Verified> {
    let SignInStep::Device(step) = step else {
        return Err(crate::error::Internal::UnexpectedWakeUp.into());
    };
    device::on_wake(shell, step, now)
}

fn on_bound<S: From<SignInStep>>(
    shell: &mut Shell<S>,
    now: UnixTime,
    entropy: &Entropy,
    result: IntentResult,
) -> Progress<Verified> {
    let port = match result.into_bound()? {
        Ok(port) => port,
        Err(error) if error.in_use => {
            return Err(FlowError::CallbackPortInUse { port: error.port });
        }
        Err(error) => {
            return Err(FlowError::Misconfigured(Misconfiguration::CallbackBind(
                error,
            )));
        }
    };
    shell.listener_opened();
    let secrets = LoginSecrets::derive(entropy);
    let redirect_uri = shell.settings.redirect.uri(port);
    let url = authorization_url(shell, &secrets, &redirect_uri);
    shell.write_marker(&url, None);
    let attempt = Authorizing {
        secrets,
        redirect_uri,
        url: url.clone(),
        deadline: redirect_deadline(shell, now),
        request_open: false,
    };
    if shell.ctx.interaction.open_browser {
        shell.perform(
            Intent::OpenBrowser { url },
            SignInStep::BrowserOpened(attempt),
        );
    } else {
        shell.notify(Notice::SignInUrl {
            url,
            browser_opened: false,
        });
        await_redirect(shell, attempt, true);
    }
    Ok(None)
}

/// How long to wait for the redirect: [`SIGN_IN_TIME_LIMIT`], or within a call's budget
/// (a browser-only sign-in) with time left over for the code exchange.
fn redirect_deadline<S>(shell: &Shell<S>, now: UnixTime) -> UnixTime {
    let limit = now.saturating_add(SIGN_IN_TIME_LIMIT);
    match shell.ctx.deadline {
        Some(budget) => {
            let reserve = (budget.since(now) / 4).min(EXCHANGE_RESERVE);
            limit.min(budget.saturating_sub(reserve))
        }
        None => limit,
    }
}

/// The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1), with
/// the audience as the provider asks for it (RFC 8707 §2 `resource`, Auth0's `audience`,
/// PingFederate's `aud`) and the provider's extra parameters.
fn authorization_url<S>(shell: &Shell<S>, secrets: &LoginSecrets, redirect_uri: &str) -> String {
    let Some(metadata) = &shell.metadata else {
        return String::new();
    };
    let settings = &shell.settings;
    let scope = settings.scopes.join(" ");
    let challenge = pkce::challenge(&secrets.verifier);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", &settings.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &scope)
        .append_pair("state", &secrets.state)
        .append_pair("nonce", &secrets.nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    if let Some((name, audience)) = settings.audience_parameter() {
        query.append_pair(name, audience);
    }
    for (name, value) in &settings.authorization_params {
        query.append_pair(name, value);
    }
    let separator = if metadata.authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    format!(
        "{}{separator}{}",
        metadata.authorization_endpoint,
        query.finish()
    )
}

fn on_browser<S: From<SignInStep>>(
    shell: &mut Shell<S>,
    now: UnixTime,
    attempt: Authorizing,
    result: IntentResult,
) -> Progress<Verified> {
    let url = attempt.url.clone();
    let device_possible = shell.ctx.interaction.show_device_code
        && shell
            .metadata
            .as_ref()
            .is_some_and(|m| m.device_authorization_endpoint.is_some());
    match result.into_browser()? {
        Ok(()) => shell.notify(Notice::SignInUrl {
            url,
            browser_opened: true,
        }),
        // No browser here (SSH, container): the device flow lets another device sign in.
        Err(_) if device_possible => {
            shell.close_listener();
            return device::start(shell, now);
        }
        // Nobody reads this terminal: a URL printed there helps no one.
        Err(reason) if shell.ctx.interaction.browser_only => {
            return Err(FlowError::LoginFailed(LoginFailure::NoBrowser { reason }));
        }
        Err(_) => shell.notify(Notice::SignInUrl {
            url,
            browser_opened: false,
        }),
    }
    await_redirect(shell, attempt, true);
    Ok(None)
}

fn await_redirect<S: From<SignInStep>>(shell: &mut Shell<S>, attempt: Authorizing, first: bool) {
    let accept_paste = shell.ctx.interaction.paste_back;
    if first && accept_paste {
        shell.notify(Notice::PasteBackHint);
    }
    let deadline = attempt.deadline;
    shell.perform(
        Intent::AwaitCallback {
            deadline,
            accept_paste,
        },
        SignInStep::Redirected(attempt),
    );
}

fn on_redirect<S: From<SignInStep>>(
    shell: &mut Shell<S>,
    now: UnixTime,
    mut attempt: Authorizing,
    result: IntentResult,
) -> Progress<Verified> {
    let (target, from_request) = match result.into_callback()? {
        // A browser-only sign-in nobody completed: helpers leave the browser alone for
        // a while.
        CallbackEvent::TimedOut if shell.ctx.interaction.browser_only => {
            return Err(cooldown::start(shell, now));
        }
        CallbackEvent::TimedOut => {
            let minutes = SIGN_IN_TIME_LIMIT.as_secs() / 60;
            return Err(FlowError::LoginFailed(LoginFailure::TimedOut { minutes }));
        }
        CallbackEvent::Request(target) => (target, true),
        CallbackEvent::Pasted(url) => (url, false),
    };
    attempt.request_open = from_request;
    let iss_required = shell
        .metadata
        .as_ref()
        .is_some_and(|m| m.authorization_response_iss_parameter_supported);
    let expect = CallbackExpectations {
        state: &attempt.secrets.state,
        issuer: &shell.settings.issuer,
        issuer_match: shell.settings.issuer_match,
        path: shell.settings.redirect.path(),
        iss_required,
    };
    match callback::evaluate(target.expose_secret(), &expect) {
        Verdict::Ignore {
            status,
            page,
            reason,
        } => {
            respond(shell, &mut attempt.request_open, status, page);
            shell.notify(Notice::CallbackIgnored { reason });
            await_redirect(shell, attempt, false);
            Ok(None)
        }
        Verdict::Failed { error } => {
            let page = callback::error_page("Sign-in failed", &error.to_string());
            respond(shell, &mut attempt.request_open, 400, page);
            Err(FlowError::LoginFailed(LoginFailure::Callback(error)))
        }
        Verdict::Code(code) => exchange_code(shell, now, attempt, &code),
    }
}

/// Answers the listener's open request, if the last event was one.
fn respond<S>(shell: &mut Shell<S>, request_open: &mut bool, status: u16, page: String) {
    if *request_open {
        *request_open = false;
        shell.fire(Intent::RespondCallback { status, page });
    }
}

/// RFC 6749 §4.1.3 with the PKCE verifier (RFC 7636 §4.5) and `resource` (RFC 8707).
fn exchange_code<S: From<SignInStep>>(
    shell: &mut Shell<S>,
    now: UnixTime,
    attempt: Authorizing,
    code: &AuthorizationCode,
) -> Progress<Verified> {
    let (Some(metadata), Some(limits)) = (&shell.metadata, shell.limits(now)) else {
        return Err(FlowError::IdpUnavailable(IdpUnavailable::BudgetSpent));
    };
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.expose_secret()),
        ("redirect_uri", attempt.redirect_uri.as_str()),
        ("code_verifier", attempt.secrets.verifier.expose_secret()),
    ];
    let request = shell.idp_form(&metadata.token_endpoint, &fields, limits);
    let Authorizing {
        secrets,
        request_open,
        ..
    } = attempt;
    let exchanging = Exchanging {
        nonce: secrets.nonce.clone(),
        request_open,
    };
    shell.perform(Intent::Http(request), SignInStep::CodeExchanged(exchanging));
    Ok(None)
}

fn on_exchanged<S: From<SignInStep>>(
    shell: &mut Shell<S>,
    now: UnixTime,
    mut exchanging: Exchanging,
    result: IntentResult,
) -> Progress<Verified> {
    let request_open = &mut exchanging.request_open;
    let failure = match result
        .into_http()?
        .map(|response| parse_token_response(&response, &shell.sent))
    {
        Ok(Ok(tokens)) => {
            return complete(shell, now, tokens, Some(&exchanging.nonce), request_open);
        }
        Ok(Err(failure)) => failure,
        Err(error) => {
            let page = callback::error_page(
                "Sign-in failed",
                "The IdP could not be reached. See your terminal.",
            );
            respond(shell, request_open, 502, page);
            return Err(FlowError::IdpUnavailable(IdpUnavailable::CodeExchange(
                ExchangeFailure::Unreachable(error),
            )));
        }
    };
    let page = callback::error_page("Sign-in failed", &failure.to_string());
    respond(shell, request_open, 400, page);
    Err(match failure.class() {
        FailureClass::Transient => FlowError::IdpUnavailable(IdpUnavailable::CodeExchange(
            ExchangeFailure::Answered(failure),
        )),
        FailureClass::DeadSession
        | FailureClass::Config
        | FailureClass::Pending
        | FailureClass::SlowDown
        | FailureClass::LoginEnded => FlowError::LoginFailed(LoginFailure::TokenEndpoint(failure)),
    })
}

/// Checks the ID token, answers the browser (when a request waits), and builds the new
/// session's records. `nonce` is the code flow's; the device flow has none.
fn complete<S>(
    shell: &mut Shell<S>,
    now: UnixTime,
    tokens: TokenResponse,
    nonce: Option<&str>,
    request_open: &mut bool,
) -> Progress<Verified> {
    let settings = &shell.settings;
    let rule = nonce.map_or(NonceRule::Any, NonceRule::Equal);
    // Under a tenant allow-list, a sign-in without an ID token cannot show its tenant.
    let checked = match &tokens.id_token {
        Some(id_token) => settings.check_id_token(id_token, rule, None, now).map(Some),
        None => settings
            .tenants
            .admit(None)
            .map(|()| None)
            .map_err(FlowError::TenantRefused),
    };
    let checked = match checked {
        Ok(checked) => checked,
        Err(error) => {
            let page = callback::error_page("Sign-in failed", &error.to_string());
            respond(shell, request_open, 400, page);
            return Err(error);
        }
    };
    let sub = checked
        .as_ref()
        .map(|verified| verified.sub.clone())
        .unwrap_or_default();
    respond(shell, request_open, 200, callback::success_page());
    cooldown::end(shell);
    let generation = shell.next_generation();
    let refresh_token = tokens.refresh_token.is_some();
    if !refresh_token {
        shell.notify(Notice::NoRefreshToken);
    }
    let settings = &shell.settings;
    let refresh = tokens.refresh_token.map(|refresh_token| RefreshRecord {
        refresh_token,
        scopes: tokens
            .scope
            .clone()
            .unwrap_or_else(|| settings.scopes.clone()),
        sub: sub.clone(),
        issuer: settings.issuer.clone(),
        obtained_at: now,
        generation,
        maybe_spent: false,
        nonce: nonce.map(str::to_owned),
    });
    let id_token = token::id_token_record(settings.token_kind, tokens.id_token, checked, now);
    let access = token::access_record(
        tokens.access_token,
        tokens.expires_in,
        now,
        generation,
        id_token,
    );
    let credential = Credential::issued(&access);
    Ok(Some(Verified {
        records: SessionRecords {
            refresh,
            access: Some(access),
        },
        signed_in: SignedIn {
            credential,
            sub,
            refresh_token,
        },
    }))
}

//! The device authorization grant (RFC 8628): for machines where no browser can reach
//! the loopback listener. The device code lives in [`DevicePoll`] and is dropped when
//! polling ends.

use core::time::Duration;

use serde::Deserialize;

use super::{SignInStep, Verified, complete};
use crate::discovery;
use crate::error::{ExchangeFailure, FlowError, IdpUnavailable, LoginFailure, ProtocolViolation};
use crate::flow::shell::{Progress, Shell};
use crate::intent::{Intent, IntentResult, Notice};
use crate::oauth::{FailureClass, TokenFailure, parse_error, parse_token_response};
use crate::secret::DeviceCode;
use crate::text;
use crate::time::{UnixTime, WaitReason};

/// RFC 8628 §3.2: poll every 5 s unless told otherwise.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// RFC 8628 §3.5: `slow_down` adds 5 s to the interval.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// Upper bound of a device code's life we accept, whatever the IdP says.
const MAX_DEVICE_LIFETIME: Duration = Duration::from_secs(1800);

#[derive(Deserialize)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    // Requirement 16: Google calls it `verification_url`.
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    interval: Option<u64>,
}

/// What the device flow waits for.
pub(in crate::flow) enum DeviceStep {
    /// The device authorization request.
    Authorized,
    /// The polling interval (a wait, not an intent).
    PollDue(DevicePoll),
    /// A poll of the token endpoint.
    Polled(DevicePoll),
}

/// A device-flow sign-in being polled.
pub(in crate::flow) struct DevicePoll {
    device_code: DeviceCode,
    interval: Duration,
    /// How long the code lives, for the message when nobody entered it in time.
    lifetime: Duration,
    expires_at: UnixTime,
}

/// RFC 8628 §3.1.
pub(super) fn start<S: From<SignInStep>>(
    shell: &mut Shell<S>,
    now: UnixTime,
) -> Progress<Verified> {
    let endpoint = shell
        .metadata
        .as_ref()
        .and_then(|m| m.device_authorization_endpoint.clone());
    let (Some(endpoint), Some(limits)) = (endpoint, shell.limits(now)) else {
        return Err(FlowError::LoginFailed(LoginFailure::DeviceFlowUnsupported));
    };
    // RFC 8628 §3.1: the scope and, as in the authorization request, the audience.
    let scope = shell.settings.scopes.join(" ");
    let mut fields = vec![("scope", scope.as_str())];
    fields.extend(shell.settings.audience_parameter());
    let request = shell.client_form(&endpoint, &fields, limits);
    shell.perform(
        Intent::Http(request),
        SignInStep::Device(DeviceStep::Authorized),
    );
    Ok(None)
}

pub(super) fn on_result<S: From<SignInStep>>(
    shell: &mut Shell<S>,
    step: DeviceStep,
    now: UnixTime,
    result: IntentResult,
) -> Progress<Verified> {
    match step {
        DeviceStep::Authorized => on_authorized(shell, now, result),
        DeviceStep::Polled(poll) => on_polled(shell, now, poll, result),
        DeviceStep::PollDue(_) => Err(crate::error::Internal::UnexpectedResult.into()),
    }
}

/// The polling interval passed.
pub(super) fn on_wake<S: From<SignInStep>>(
    shell: &mut Shell<S>,
    step: DeviceStep,
    now: UnixTime,
) -> Progress<Verified> {
    let DeviceStep::PollDue(poll) = step else {
        return Err(crate::error::Internal::UnexpectedWakeUp.into());
    };
    poll_token_endpoint(shell, now, poll)
}

fn on_authorized<S: From<SignInStep>>(
    shell: &mut Shell<S>,
    now: UnixTime,
    result: IntentResult,
) -> Progress<Verified> {
    let response = match result.into_http()? {
        Ok(response) => response,
        Err(error) => {
            return Err(FlowError::IdpUnavailable(
                IdpUnavailable::DeviceAuthorization(ExchangeFailure::Unreachable(error)),
            ));
        }
    };
    if !(200..300).contains(&response.status) {
        let failure = parse_error(&response, &shell.sent);
        return Err(match failure.class() {
            FailureClass::Transient => FlowError::IdpUnavailable(
                IdpUnavailable::DeviceAuthorization(ExchangeFailure::Answered(failure)),
            ),
            FailureClass::DeadSession
            | FailureClass::Config
            | FailureClass::Pending
            | FailureClass::SlowDown
            | FailureClass::LoginEnded => {
                FlowError::LoginFailed(LoginFailure::TokenEndpoint(failure))
            }
        });
    }
    let Ok(answer) = serde_json::from_slice::<DeviceAuthorization>(response.body.expose_secret())
    else {
        let failure = TokenFailure::Malformed("not a device authorization response".to_owned());
        return Err(FlowError::LoginFailed(LoginFailure::TokenEndpoint(failure)));
    };
    // A person is sent there with the code: an http page could be anyone's.
    let insecure = std::iter::once(&answer.verification_uri)
        .chain(&answer.verification_uri_complete)
        .find(|url| !discovery::is_secure_url(url));
    if let Some(url) = insecure {
        let url = text::excerpt(url, 200);
        return Err(FlowError::Protocol(
            ProtocolViolation::InsecureVerificationUri { url },
        ));
    }
    let url = answer
        .verification_uri_complete
        .clone()
        .unwrap_or_else(|| answer.verification_uri.clone());
    shell.write_marker(&url, Some(answer.user_code.clone()));
    shell.notify(Notice::DeviceCode {
        verification_uri: answer.verification_uri,
        complete_uri: answer.verification_uri_complete,
        user_code: answer.user_code,
    });
    let lifetime = answer
        .expires_in
        .map_or(MAX_DEVICE_LIFETIME, Duration::from_secs)
        .min(MAX_DEVICE_LIFETIME);
    let interval = answer
        .interval
        .map_or(DEFAULT_INTERVAL, |s| Duration::from_secs(s.max(1)));
    let poll = DevicePoll {
        device_code: DeviceCode::new(answer.device_code),
        interval,
        lifetime,
        expires_at: now.saturating_add(lifetime),
    };
    schedule_poll(shell, now, poll);
    Ok(None)
}

/// RFC 8628 §3.4.
fn poll_token_endpoint<S: From<SignInStep>>(
    shell: &mut Shell<S>,
    now: UnixTime,
    poll: DevicePoll,
) -> Progress<Verified> {
    let (Some(metadata), Some(limits)) = (&shell.metadata, shell.limits(now)) else {
        return Err(FlowError::IdpUnavailable(IdpUnavailable::BudgetSpent));
    };
    if now >= poll.expires_at {
        // The code's whole life, rounded up: by now nothing of it is left.
        let minutes = poll.lifetime.as_secs().div_ceil(60);
        return Err(FlowError::LoginFailed(LoginFailure::TimedOut { minutes }));
    }
    let fields = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", poll.device_code.expose_secret()),
    ];
    let request = shell.idp_form(&metadata.token_endpoint, &fields, limits);
    shell.perform(
        Intent::Http(request),
        SignInStep::Device(DeviceStep::Polled(poll)),
    );
    Ok(None)
}

fn on_polled<S: From<SignInStep>>(
    shell: &mut Shell<S>,
    now: UnixTime,
    mut poll: DevicePoll,
    result: IntentResult,
) -> Progress<Verified> {
    let failure = match result
        .into_http()?
        .map(|response| parse_token_response(&response, &shell.sent))
    {
        Ok(Ok(tokens)) => return complete(shell, now, tokens, None, &mut false),
        Ok(Err(failure)) => failure,
        // Keep polling through network trouble until the code expires.
        Err(_) => {
            schedule_poll(shell, now, poll);
            return Ok(None);
        }
    };
    match failure.class() {
        FailureClass::Pending | FailureClass::Transient => {}
        FailureClass::SlowDown => poll.interval += SLOW_DOWN_STEP,
        FailureClass::LoginEnded | FailureClass::DeadSession | FailureClass::Config => {
            return Err(FlowError::LoginFailed(LoginFailure::TokenEndpoint(failure)));
        }
    }
    schedule_poll(shell, now, poll);
    Ok(None)
}

fn schedule_poll<S: From<SignInStep>>(shell: &mut Shell<S>, now: UnixTime, poll: DevicePoll) {
    let next = now.saturating_add(poll.interval);
    shell.wait_until(
        next,
        WaitReason::DevicePoll,
        SignInStep::Device(DeviceStep::PollDue(poll)),
    );
}

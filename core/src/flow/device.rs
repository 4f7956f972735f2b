//! The device authorization grant (RFC 8628): for machines where no browser can reach
//! the loopback listener.

use core::time::Duration;

use serde::Deserialize;

use super::{DevicePoll, State, TokenFlow};
use crate::error::{ExchangeFailure, FlowError, IdpUnavailable, LoginFailure};
use crate::http::{HttpResponse, TransportError};
use crate::intent::{Intent, Notice};
use crate::oauth::{FailureClass, TokenFailure, parse_error, parse_token_response};
use crate::secret::DeviceCode;
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
    // Google calls it `verification_url`.
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    interval: Option<u64>,
}

impl TokenFlow {
    /// RFC 8628 §3.1.
    pub(super) fn start_device(&mut self, now: UnixTime) {
        let endpoint = self
            .metadata
            .as_ref()
            .and_then(|m| m.device_authorization_endpoint.clone());
        let (Some(endpoint), Some(limits)) = (endpoint, self.limits(now)) else {
            return self.finish(Err(FlowError::LoginFailed(
                LoginFailure::DeviceFlowUnsupported,
            )));
        };
        let scope = self.settings.scopes.join(" ");
        let request = self.idp_form(&endpoint, &[("scope", scope.as_str())], limits);
        self.perform(Intent::Http(request), State::DeviceAuthorized);
    }

    pub(super) fn on_device_authorized(
        &mut self,
        now: UnixTime,
        http: Result<HttpResponse, TransportError>,
    ) {
        let response = match http {
            Ok(response) => response,
            Err(error) => {
                return self.finish(Err(FlowError::IdpUnavailable(
                    IdpUnavailable::DeviceAuthorization(ExchangeFailure::Unreachable(error)),
                )));
            }
        };
        if !(200..300).contains(&response.status) {
            let failure = parse_error(&response);
            return self.finish(Err(match failure.class() {
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
            }));
        }
        let Ok(answer) =
            serde_json::from_slice::<DeviceAuthorization>(response.body.expose_secret())
        else {
            let failure = TokenFailure::Malformed("not a device authorization response".to_owned());
            return self.finish(Err(FlowError::LoginFailed(LoginFailure::TokenEndpoint(
                failure,
            ))));
        };
        let url = answer
            .verification_uri_complete
            .clone()
            .unwrap_or_else(|| answer.verification_uri.clone());
        self.write_marker(&url, Some(answer.user_code.clone()));
        self.notify(Notice::DeviceCode {
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
        self.device = Some(DevicePoll {
            device_code: DeviceCode::new(answer.device_code),
            interval,
            expires_at: now.saturating_add(lifetime),
        });
        self.wait_until(
            now.saturating_add(interval),
            WaitReason::DevicePoll,
            State::DevicePollDue,
        );
    }

    /// RFC 8628 §3.4.
    pub(super) fn poll_device(&mut self, now: UnixTime) {
        let (Some(metadata), Some(device), Some(limits)) =
            (&self.metadata, &self.device, self.limits(now))
        else {
            return self.finish(Err(FlowError::IdpUnavailable(IdpUnavailable::BudgetSpent)));
        };
        if now >= device.expires_at {
            let minutes = device.expires_at.since(now).as_secs() / 60;
            return self.finish(Err(FlowError::LoginFailed(LoginFailure::TimedOut {
                minutes,
            })));
        }
        let fields = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device.device_code.expose_secret()),
        ];
        let request = self.idp_form(&metadata.token_endpoint, &fields, limits);
        self.perform(Intent::Http(request), State::DevicePolled);
    }

    pub(super) fn on_device_polled(
        &mut self,
        now: UnixTime,
        http: Result<HttpResponse, TransportError>,
    ) {
        let failure = match http.map(|response| parse_token_response(&response)) {
            Ok(Ok(tokens)) => return self.complete_login(now, tokens, None),
            Ok(Err(failure)) => failure,
            // Keep polling through network trouble until the code expires.
            Err(_) => return self.schedule_poll(now),
        };
        match failure.class() {
            FailureClass::Pending | FailureClass::Transient => self.schedule_poll(now),
            FailureClass::SlowDown => {
                if let Some(device) = &mut self.device {
                    device.interval += SLOW_DOWN_STEP;
                }
                self.schedule_poll(now);
            }
            FailureClass::LoginEnded | FailureClass::DeadSession | FailureClass::Config => {
                self.finish(Err(FlowError::LoginFailed(LoginFailure::TokenEndpoint(
                    failure,
                ))));
            }
        }
    }

    fn schedule_poll(&mut self, now: UnixTime) {
        let Some(device) = &self.device else { return };
        let next = now.saturating_add(device.interval);
        self.wait_until(next, WaitReason::DevicePoll, State::DevicePollDue);
    }
}

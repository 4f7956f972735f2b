//! Interactive login with the authorization code grant, PKCE S256, `state`, `nonce` and
//! the RFC 9207 `iss` check, over a loopback redirect or a pasted URL (SPEC §6).

use super::{AfterPersist, Goal, LoginAttempt, Purpose, SIGN_IN_TIME_LIMIT, State, TokenFlow};
use crate::callback::{self, CallbackExpectations, Verdict};
use crate::error::{
    ExchangeFailure, FlowError, IdpUnavailable, Internal, LoginFailure, Misconfiguration,
};
use crate::http::{HttpResponse, TransportError};
use crate::id_token::{self, Expectations};
use crate::intent::{BindError, CallbackEvent, Intent, Notice};
use crate::oauth::{FailureClass, TokenResponse, parse_token_response};
use crate::pkce::{self, LoginSecrets};
use crate::secret::{AuthorizationCode, SecretBytes};
use crate::store::{LoginMarker, RefreshRecord, SessionRecords, Slot};
use crate::time::UnixTime;
use crate::token::Credential;

impl TokenFlow {
    pub(super) fn start_login(&mut self, now: UnixTime) {
        self.ensure_metadata(now, Purpose::Login);
    }

    pub(super) fn continue_login(&mut self, now: UnixTime) {
        if matches!(self.goal, Goal::Login { device: true }) {
            return self.start_device(now);
        }
        let port = self.settings.callback_port;
        self.perform(Intent::BindCallback { port }, State::CallbackBound);
    }

    pub(super) fn on_callback_bound(&mut self, now: UnixTime, bound: Result<u16, BindError>) {
        let port = match bound {
            Ok(port) => port,
            Err(error) if error.in_use => {
                return self.finish(Err(FlowError::CallbackPortInUse { port: error.port }));
            }
            Err(error) => {
                return self.finish(Err(FlowError::Misconfigured(
                    Misconfiguration::CallbackBind(error),
                )));
            }
        };
        self.listener_open = true;
        let Some(entropy) = self.entropy.take() else {
            return self.finish(Err(FlowError::Internal(Internal::LoginStartedTwice)));
        };
        let secrets = LoginSecrets::derive(&entropy);
        let redirect_uri = format!("http://localhost:{port}{}", callback::CALLBACK_PATH);
        let url = self.authorization_url(&secrets, &redirect_uri);
        self.write_marker(&url, None);
        if self.ctx.interaction.open_browser {
            self.perform(
                Intent::OpenBrowser { url: url.clone() },
                State::BrowserOpened,
            );
        } else {
            self.notify(Notice::SignInUrl {
                url: url.clone(),
                browser_opened: false,
            });
        }
        let deadline = now.saturating_add(SIGN_IN_TIME_LIMIT);
        self.login = Some(LoginAttempt {
            secrets,
            redirect_uri,
            url,
            deadline,
            request_open: false,
        });
        if !self.ctx.interaction.open_browser {
            self.await_callback(true);
        }
    }

    /// The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1,
    /// RFC 8707 §2).
    fn authorization_url(&self, secrets: &LoginSecrets, redirect_uri: &str) -> String {
        let Some(metadata) = &self.metadata else {
            return String::new();
        };
        let settings = &self.settings;
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
        if !settings.prompt.is_empty() {
            query.append_pair("prompt", &settings.prompt);
        }
        if !settings.audience.is_empty() {
            query.append_pair("resource", &settings.audience);
        }
        for (name, value) in &settings.auth_params {
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

    /// Announces the login to other processes waiting for the lock (SPEC §5).
    pub(super) fn write_marker(&mut self, url: &str, user_code: Option<String>) {
        let marker = LoginMarker {
            pid: self.ctx.pid,
            url: url.to_owned(),
            user_code,
        };
        let bytes = SecretBytes::new(serde_json::to_vec(&marker).unwrap_or_default());
        self.marker_written = true;
        self.fire(Intent::Write {
            slot: Slot::LoginMarker(self.key.clone()),
            bytes,
        });
    }

    pub(super) fn on_browser(&mut self, now: UnixTime, opened: Result<(), String>) {
        let Some(login) = &self.login else { return };
        let url = login.url.clone();
        let device_possible = self.ctx.interaction.show_device_code
            && self
                .metadata
                .as_ref()
                .is_some_and(|m| m.device_authorization_endpoint.is_some());
        match opened {
            Ok(()) => self.notify(Notice::SignInUrl {
                url,
                browser_opened: true,
            }),
            // No browser here (SSH, container): the device flow lets another device sign in.
            Err(_) if device_possible => {
                self.listener_open = false;
                self.fire(Intent::CloseCallback);
                self.login = None;
                return self.start_device(now);
            }
            Err(_) => self.notify(Notice::SignInUrl {
                url,
                browser_opened: false,
            }),
        }
        self.await_callback(true);
    }

    fn await_callback(&mut self, first: bool) {
        let Some(login) = &self.login else { return };
        let accept_paste = self.ctx.interaction.paste_back;
        let deadline = login.deadline;
        if first && accept_paste {
            self.notify(Notice::PasteBackHint);
        }
        self.perform(
            Intent::AwaitCallback {
                deadline,
                accept_paste,
            },
            State::CallbackEvent,
        );
    }

    pub(super) fn on_callback_event(&mut self, now: UnixTime, event: CallbackEvent) {
        let (target, from_request) = match event {
            CallbackEvent::TimedOut => {
                let minutes = SIGN_IN_TIME_LIMIT.as_secs() / 60;
                return self.finish(Err(FlowError::LoginFailed(LoginFailure::TimedOut {
                    minutes,
                })));
            }
            CallbackEvent::Request(target) => (target, true),
            CallbackEvent::Pasted(url) => (url, false),
        };
        let Some(login) = &mut self.login else { return };
        login.request_open = from_request;
        let iss_required = self
            .metadata
            .as_ref()
            .is_some_and(|m| m.authorization_response_iss_parameter_supported);
        let expect = CallbackExpectations {
            state: &login.secrets.state,
            issuer: &self.settings.issuer,
            iss_required,
        };
        match callback::evaluate(target.expose_secret(), &expect) {
            Verdict::Ignore {
                status,
                page,
                reason,
            } => {
                self.respond(status, page);
                self.notify(Notice::CallbackIgnored { reason });
                self.await_callback(false);
            }
            Verdict::Failed { error } => {
                self.respond(
                    400,
                    callback::error_page("Sign-in failed", &error.to_string()),
                );
                self.finish(Err(FlowError::LoginFailed(LoginFailure::Callback(error))));
            }
            Verdict::Code(code) => self.exchange_code(now, &code),
        }
    }

    /// Answers the listener's open request, if the last event was one.
    fn respond(&mut self, status: u16, page: String) {
        if let Some(login) = &mut self.login
            && login.request_open
        {
            login.request_open = false;
            self.fire(Intent::RespondCallback { status, page });
        }
    }

    /// RFC 6749 §4.1.3 with the PKCE verifier (RFC 7636 §4.5) and `resource` (RFC 8707).
    fn exchange_code(&mut self, now: UnixTime, code: &AuthorizationCode) {
        let (Some(metadata), Some(login), Some(limits)) =
            (&self.metadata, &self.login, self.limits(now))
        else {
            return self.finish(Err(FlowError::IdpUnavailable(IdpUnavailable::BudgetSpent)));
        };
        let fields = [
            ("grant_type", "authorization_code"),
            ("code", code.expose_secret()),
            ("redirect_uri", login.redirect_uri.as_str()),
            ("code_verifier", login.secrets.verifier.expose_secret()),
        ];
        let request = self.idp_form(&metadata.token_endpoint, &fields, limits);
        self.perform(Intent::Http(request), State::CodeExchanged);
    }

    pub(super) fn on_code_exchanged(
        &mut self,
        now: UnixTime,
        http: Result<HttpResponse, TransportError>,
    ) {
        let failure = match http.map(|response| parse_token_response(&response)) {
            Ok(Ok(tokens)) => {
                let nonce = self.login.as_ref().map(|l| l.secrets.nonce.clone());
                return self.complete_login(now, tokens, nonce.as_deref());
            }
            Ok(Err(failure)) => failure,
            Err(error) => {
                self.respond(
                    502,
                    callback::error_page(
                        "Sign-in failed",
                        "The IdP could not be reached. See your terminal.",
                    ),
                );
                return self.finish(Err(FlowError::IdpUnavailable(
                    IdpUnavailable::CodeExchange(ExchangeFailure::Unreachable(error)),
                )));
            }
        };
        self.respond(
            400,
            callback::error_page("Sign-in failed", &failure.to_string()),
        );
        let error = match failure.class() {
            FailureClass::Transient => FlowError::IdpUnavailable(IdpUnavailable::CodeExchange(
                ExchangeFailure::Answered(failure),
            )),
            FailureClass::DeadSession
            | FailureClass::Config
            | FailureClass::Pending
            | FailureClass::SlowDown
            | FailureClass::LoginEnded => {
                FlowError::LoginFailed(LoginFailure::TokenEndpoint(failure))
            }
        };
        self.finish(Err(error));
    }

    /// Checks the ID token, answers the browser, and stores the new session.
    pub(super) fn complete_login(
        &mut self,
        now: UnixTime,
        tokens: TokenResponse,
        nonce: Option<&str>,
    ) {
        let sub = match &tokens.id_token {
            Some(id_token) => {
                let expect = Expectations {
                    issuer: &self.settings.issuer,
                    client_id: &self.settings.client_id,
                    nonce,
                    sub: None,
                };
                match id_token::verify(id_token, &expect, now) {
                    Ok(sub) => sub,
                    Err(error) => {
                        self.respond(
                            400,
                            callback::error_page("Sign-in failed", &error.to_string()),
                        );
                        return self.finish(Err(FlowError::IdToken(error)));
                    }
                }
            }
            None => String::new(),
        };
        self.respond(200, callback::success_page());
        let generation = self.next_generation();
        let has_refresh_token = tokens.refresh_token.is_some();
        if !has_refresh_token {
            self.notify(Notice::NoRefreshToken);
        }
        let refresh = tokens.refresh_token.map(|refresh_token| RefreshRecord {
            refresh_token,
            scopes: tokens
                .scope
                .clone()
                .unwrap_or_else(|| self.settings.scopes.clone()),
            sub: sub.clone(),
            issuer: self.settings.issuer.clone(),
            obtained_at: now,
            generation,
            maybe_spent: false,
        });
        let access = self.access_record(tokens.access_token, tokens.expires_in, now, generation);
        let credential = Credential::from(&access);
        let after = AfterPersist::LoggedIn {
            credential,
            sub,
            refresh_token: has_refresh_token,
        };
        self.persist(
            SessionRecords {
                refresh,
                access: Some(access),
            },
            true,
            after,
        );
    }
}

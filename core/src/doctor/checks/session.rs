//! `keychain`, `session` and `token`: where the session lives, whether a token can be had
//! the way a tool's helper gets one, and what that token says about itself.

use super::{NO_CONFIG, fail, human, listed, pass, skip, warn};
use crate::config::SecretsBackend;
use crate::doctor::{Facts, Finding, TokenFacts};
use crate::error::ErrorClass;
use crate::store::Backend;

/// The keychain answers, when the session is kept there.
pub(in crate::doctor) fn keychain(facts: &Facts) -> Vec<Finding> {
    let Some(keychain) = &facts.keychain else {
        return skip("keychain", NO_CONFIG);
    };
    match (keychain.backend, &keychain.probe) {
        (Backend::File, _) => {
            let why = match keychain.configured {
                SecretsBackend::File => "secrets.backend is file",
                SecretsBackend::Auto | SecretsBackend::Keyring => {
                    "`auto` found no usable OS keychain when llmauth first ran"
                }
            };
            pass(
                "keychain",
                format!("not used: {why}, so the session is in a 0600 file"),
            )
        }
        (Backend::Keyring, Some(Ok(took))) => pass(
            "keychain",
            format!(
                "the OS keychain answers (a test item written, read and deleted in {} ms)",
                took.as_millis()
            ),
        ),
        (Backend::Keyring, Some(Err(reason))) => fail(
            "keychain",
            ErrorClass::Transient,
            format!("the OS keychain, which holds the session, is not usable: {reason}"),
            "unlock the keychain, or start one (on Linux: a Secret Service such as gnome-keyring on the session D-Bus); or keep the session in a file: `llmauth config set --secrets-backend file`, then `llmauth login`",
        ),
        (Backend::Keyring, None) => skip("keychain", "the keychain was not probed"),
    }
}

/// A token can be had without a person: from the cache, or by refreshing.
pub(in crate::doctor) fn session(facts: &Facts) -> Vec<Finding> {
    let Some(session) = &facts.session else {
        return skip("session", NO_CONFIG);
    };
    let token = match &session.token {
        Ok(token) => token,
        Err(error) => {
            return fail(
                "session",
                error.class(),
                error.to_string(),
                error
                    .hint()
                    .unwrap_or_else(|| "run `llmauth -v token` to see where it fails".to_owned()),
            );
        }
    };
    let expiry = expiry(token, facts);
    match &session.stored {
        Ok(stored) if !stored.refresh_token => warn(
            "session",
            format!(
                "signed in, but no refresh token is stored: the access token ({expiry}) is the last one"
            ),
            "let the IdP issue refresh tokens (`llmauth config set --prompt consent`, the client's refresh-token grant, the offline_access scope), then `llmauth login`",
        ),
        Ok(stored) if stored.maybe_spent => warn(
            "session",
            format!(
                "signed in; the answer to the last refresh was lost, so the next refresh may end the session; access token {expiry}"
            ),
            "nothing now; if a tool stops working, run `llmauth login`",
        ),
        Ok(_) => pass(
            "session",
            format!("signed in; refresh token stored; access token {expiry}"),
        ),
        Err(error) => warn(
            "session",
            format!(
                "a token was served (access token {expiry}), but the stored session cannot be read now: {error}"
            ),
            "check the keychain and the state directory's permissions",
        ),
    }
}

/// `valid until <time> (in <duration>)`.
fn expiry(token: &TokenFacts, facts: &Facts) -> String {
    match token.expires_at {
        Some(at) => format!(
            "valid until {} (in {})",
            at.to_rfc3339(),
            human(at.since(facts.now))
        ),
        None => "of unknown expiry".to_owned(),
    }
}

/// What the access token says about itself, when it is a JWT: `iss`, `aud` against the
/// configured audience, `exp`, the scopes — never the token or any other claim.
pub(in crate::doctor) fn token(facts: &Facts) -> Vec<Finding> {
    let (Ok(config), Some(session)) = (&facts.config, &facts.session) else {
        return skip("token", NO_CONFIG);
    };
    let Ok(token) = &session.token else {
        return skip("token", "no access token to read (see session)");
    };
    let Some(claims) = &token.claims else {
        return skip(
            "token",
            "the access token is opaque (not a JWT); only the gateway can judge it",
        );
    };
    let aud = listed(&claims.aud);
    if !config.audience.is_empty() && !claims.aud.contains(&config.audience) {
        return fail(
            "token",
            ErrorClass::Config,
            format!(
                "aud is {aud}, not the configured audience {:?}: the IdP ignored the audience llmauth asked for",
                config.audience
            ),
            format!(
                "make the IdP issue tokens for {:?} (its API or audience settings for this client), or use the audience it issues: `llmauth config set --audience <aud>`",
                config.audience
            ),
        );
    }
    let Some(exp) = claims.exp else {
        return warn(
            "token",
            format!("aud {aud}, but no exp claim: gateways refuse tokens that never expire"),
            "check the IdP's token settings for this client",
        );
    };
    if exp <= facts.now {
        return fail(
            "token",
            ErrorClass::Config,
            format!(
                "exp is {} in the past, yet the token was just handed out",
                human(facts.now.since(exp))
            ),
            "check this machine's clock and the IdP's (see clock)",
        );
    }
    let scopes = if claims.scopes.is_empty() {
        "no scope claim".to_owned()
    } else {
        format!("scopes {}", claims.scopes.join(" "))
    };
    let summary = format!(
        "aud {aud}; expires in {}; {scopes}",
        human(exp.since(facts.now))
    );
    match &claims.iss {
        Some(iss) if *iss != config.issuer => warn(
            "token",
            format!(
                "iss is {iss:?}, not the configured issuer {:?}; {summary}",
                config.issuer
            ),
            "gateways check iss: if the gateway rejects the token, this is why (the IdP issues tokens under another issuer, e.g. Entra ID's v1 tokens)",
        ),
        Some(_) => pass("token", format!("iss matches; {summary}")),
        None => warn(
            "token",
            format!("no iss claim; {summary}"),
            "gateways usually require iss: check the IdP's token settings",
        ),
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::super::run;
    use super::*;
    use crate::doctor::Status;
    use crate::doctor::tests::{T0, healthy};
    use crate::error::{FlowError, IdpUnavailable, NeedsLogin};
    use crate::store::{StoreError, StoreErrorKind};

    #[test]
    fn the_keychain_in_use_must_answer() {
        let mut facts = healthy();
        let finding = run(keychain, &facts);
        assert_eq!(finding.status, Status::Pass);
        assert!(finding.message.contains("12 ms"), "{finding:?}");
        if let Some(k) = facts.keychain.as_mut() {
            k.probe = Some(Err("no session bus".into()));
        }
        let finding = run(keychain, &facts);
        assert_eq!(finding.status, Status::Fail(ErrorClass::Transient));
        assert!(finding.message.ends_with("is not usable: no session bus"));
        assert!(
            finding
                .fix
                .unwrap()
                .contains("llmauth config set --secrets-backend file")
        );
        if let Some(k) = facts.keychain.as_mut() {
            k.backend = Backend::File;
            k.configured = SecretsBackend::Auto;
            k.probe = None;
        }
        let finding = run(keychain, &facts);
        assert_eq!(finding.status, Status::Pass);
        assert!(
            finding
                .message
                .contains("`auto` found no usable OS keychain")
        );
        if let Some(k) = facts.keychain.as_mut() {
            k.configured = SecretsBackend::File;
        }
        assert!(
            run(keychain, &facts)
                .message
                .contains("secrets.backend is file")
        );
        if let Some(k) = facts.keychain.as_mut() {
            k.backend = Backend::Keyring;
        }
        assert_eq!(run(keychain, &facts).status, Status::Skip);
    }

    #[test]
    fn a_working_session_passes_with_its_expiry() {
        let finding = run(session, &healthy());
        assert_eq!(finding.status, Status::Pass);
        assert_eq!(
            finding.message,
            format!(
                "signed in; refresh token stored; access token valid until {} (in 4m 0s)",
                T0.saturating_add(Duration::from_secs(240)).to_rfc3339()
            )
        );
    }

    #[test]
    fn a_session_that_cannot_give_a_token_fails_with_the_flows_class() {
        let cases = [
            (
                FlowError::NeedsLogin(NeedsLogin::NoSession),
                ErrorClass::AuthRequired,
                "run `llmauth login`",
            ),
            (
                FlowError::IdpUnavailable(IdpUnavailable::BudgetSpent),
                ErrorClass::Transient,
                "check your network",
            ),
            (
                FlowError::Store(StoreError {
                    kind: StoreErrorKind::KeychainUnavailable,
                    detail: "no bus".into(),
                }),
                ErrorClass::Transient,
                "keychain",
            ),
        ];
        for (error, class, fix) in cases {
            let mut facts = healthy();
            if let Some(s) = facts.session.as_mut() {
                s.token = Err(error.clone());
            }
            let finding = run(session, &facts);
            assert_eq!(finding.status, Status::Fail(class), "{error}");
            assert_eq!(finding.message, error.to_string());
            assert!(finding.fix.unwrap().contains(fix), "{error}");
            assert_eq!(run(token, &facts).status, Status::Skip);
        }
    }

    #[test]
    fn a_session_without_refresh_token_or_with_a_lost_answer_warns() {
        let mut facts = healthy();
        if let Some(Ok(stored)) = facts.session.as_mut().map(|s| &mut s.stored) {
            stored.refresh_token = false;
        }
        let finding = run(session, &facts);
        assert_eq!(finding.status, Status::Warn);
        assert!(finding.fix.unwrap().contains("--prompt consent"));
        let mut facts = healthy();
        if let Some(Ok(stored)) = facts.session.as_mut().map(|s| &mut s.stored) {
            stored.maybe_spent = true;
        }
        assert_eq!(run(session, &facts).status, Status::Warn);
        let mut facts = healthy();
        if let Some(s) = facts.session.as_mut() {
            s.stored = Err(StoreError {
                kind: StoreErrorKind::Io,
                detail: "denied".into(),
            });
            if let Ok(t) = s.token.as_mut() {
                t.expires_at = None;
            }
        }
        let finding = run(session, &facts);
        assert_eq!(finding.status, Status::Warn);
        assert!(finding.message.contains("of unknown expiry"), "{finding:?}");
    }

    fn with_claims(edit: impl FnOnce(&mut crate::doctor::TokenClaims)) -> Facts {
        let mut facts = healthy();
        if let Some(Ok(TokenFacts {
            claims: Some(claims),
            ..
        })) = facts.session.as_mut().map(|s| &mut s.token)
        {
            edit(claims);
        }
        facts
    }

    #[test]
    fn the_tokens_claims_are_shown_and_judged() {
        let finding = run(token, &healthy());
        assert_eq!(finding.status, Status::Pass);
        assert_eq!(
            finding.message,
            "iss matches; aud \"llmauth-test\"; expires in 4m 0s; scopes openid offline_access"
        );

        let mut facts = with_claims(|_| {});
        if let Ok(config) = facts.config.as_mut() {
            config.audience = "https://gw.example".into();
        }
        let finding = run(token, &facts);
        assert_eq!(finding.status, Status::Fail(ErrorClass::Config));
        assert!(
            finding.message.starts_with(
                "aud is \"llmauth-test\", not the configured audience \"https://gw.example\""
            ),
            "{finding:?}"
        );
        assert!(finding.fix.unwrap().contains("--audience"));

        let other_iss = with_claims(|c| c.iss = Some("https://sts.windows.net/t/".into()));
        let finding = run(token, &other_iss);
        assert_eq!(finding.status, Status::Warn);
        assert!(
            finding
                .message
                .starts_with("iss is \"https://sts.windows.net/t/\"")
        );
        assert_eq!(
            run(token, &with_claims(|c| c.iss = None)).status,
            Status::Warn
        );
        assert_eq!(
            run(token, &with_claims(|c| c.exp = None)).status,
            Status::Warn
        );
        let expired = with_claims(|c| c.exp = Some(T0.saturating_sub(Duration::from_secs(90))));
        let finding = run(token, &expired);
        assert_eq!(finding.status, Status::Fail(ErrorClass::Config));
        assert!(finding.message.starts_with("exp is 1m 30s in the past"));
        let scopeless = run(token, &with_claims(|c| c.scopes.clear()));
        assert!(scopeless.message.ends_with("no scope claim"));

        let mut opaque = healthy();
        if let Some(Ok(t)) = opaque.session.as_mut().map(|s| &mut s.token) {
            t.claims = None;
        }
        let finding = run(token, &opaque);
        assert_eq!(finding.status, Status::Skip);
        assert!(finding.message.contains("opaque"));
    }
}

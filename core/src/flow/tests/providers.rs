//! What the provider settings change in a flow — how the audience, offline access, the
//! redirect, the client secret and the handed-out token are requested and checked — and
//! the generic robustness every provider benefits from: the `--min-valid` promise, the
//! nonce of a refreshed ID token, revocation that is not advertised, and a discovery cache
//! that points elsewhere.

use super::*;
use crate::provider::{AudienceVia, IssuerMatch, Redirect, RedirectUrl, TokenKind};
use crate::store::{ClientKey, IdTokenRecord};

/// A flow for `goal` with `settings` in `world`, driven to the end.
fn run_with<G: Goal>(
    world: &mut World,
    settings: FlowSettings,
    backend: Backend,
    interaction: Interaction,
    goal: G,
) -> Run<G::Outcome> {
    let ctx = crate::testing::context(backend, interaction, world.now);
    let mut flow = TokenFlow::new(settings, ctx, goal, Entropy::new([7; 64]), world.now);
    let run = world.run(&mut flow, 400);
    assert!(run.misuse.is_none(), "{:?}", run.misuse);
    assert!(run.outcome.is_some(), "{}", run.transcript.join("\n"));
    assert!(!world.lock_held(), "{}", run.transcript.join("\n"));
    run
}

/// A flow for `goal` with `settings` in `world`, file store, no interaction.
fn quiet<G: Goal>(world: &mut World, settings: FlowSettings, goal: G) -> Run<G::Outcome> {
    run_with(world, settings, Backend::File, Interaction::NONE, goal)
}

/// A browser sign-in with `settings` in `world`, file store.
fn sign_in(world: &mut World, settings: FlowSettings) -> Run<SignedIn> {
    run_with(
        world,
        settings,
        Backend::File,
        INTERACTIVE,
        LoginGoal { device: false },
    )
}

/// A world for a `token` run on the file store from `session`, without interaction.
fn token_world(session: InitialSession) -> World {
    World::new(
        &setup(Backend::File, session, TOKEN, Interaction::NONE),
        &[],
    )
}

fn goal(min_valid: u64, force_refresh: bool) -> TokenGoal {
    TokenGoal {
        min_valid: Duration::from_secs(min_valid),
        force_refresh,
    }
}

fn form_names(request: &crate::http::HttpRequest) -> Vec<String> {
    request.form_field_names()
}

// ---- --min-valid is a promise ---------------------------------------------------------

/// Issue 8: `token --min-valid 1h` printed a token with seconds left. Without a refresh
/// token, a cached token that does not last as asked is not handed out: exit 3.
#[test]
fn without_a_refresh_token_a_short_cached_token_breaks_no_promise() {
    let mut world = token_world(InitialSession::AccessOnly);
    let short = quiet(&mut world, settings(), goal(3600, false));
    let error = error(&short);
    assert!(
        matches!(error, FlowError::NeedsLogin(NeedsLogin::CannotRenew { .. })),
        "{error:?}"
    );
    assert_eq!(error.class(), ErrorClass::AuthRequired);
    assert!(error.to_string().contains("3600s --min-valid"), "{error}");
    // Asking for what it has is fine.
    let enough = quiet(&mut world, settings(), goal(60, false));
    assert!(
        matches!(enough.outcome, Some(Ok(_))),
        "{:?}",
        enough.outcome
    );
}

/// A failed refresh serves the cached token only when it lasts as long as asked;
/// otherwise exit 4 saying both why the refresh failed and what was asked.
#[test]
fn a_failed_refresh_serves_no_token_shorter_than_min_valid() {
    let mut world = token_world(InitialSession::Stale);
    world.plan(Kind::Refresh, &[3]);
    let run = quiet(&mut world, settings(), goal(600, false));
    let error = error(&run);
    assert!(
        matches!(
            error,
            FlowError::IdpUnavailable(IdpUnavailable::RefreshedNotInTime { .. })
        ),
        "{error:?}"
    );
    assert_eq!(error.class(), ErrorClass::Transient);
    let text = error.to_string();
    assert!(
        text.contains("HTTP 500") && text.contains("600s --min-valid"),
        "{text}"
    );
}

/// A refresh whose new token does not last as long as asked fails (exit 4) — after the
/// rotated refresh token is safely stored.
#[test]
fn a_refreshed_token_shorter_than_min_valid_is_refused_but_its_session_kept() {
    let mut world = token_world(InitialSession::Fresh);
    let run = quiet(&mut world, settings(), goal(3600, false));
    let error = error(&run);
    assert!(
        matches!(
            error,
            FlowError::IdpUnavailable(IdpUnavailable::ShortLived { .. })
        ),
        "{error:?}"
    );
    assert_eq!(error.class(), ErrorClass::Transient);
    assert_eq!(
        world.stored_refresh_token(),
        world.issued_refresh_tokens.last().cloned(),
        "the rotated refresh token is stored"
    );
}

// ---- refresh ---------------------------------------------------------------------------

/// Requirement 12: the scopes are re-sent on refresh when the provider needs it
/// (Keycloak 26.7), and not otherwise.
#[test]
fn refreshes_resend_the_scope_when_the_provider_needs_it() {
    for resend in [false, true] {
        let mut world = token_world(InitialSession::Expired);
        let mut settings = settings();
        settings.resend_scope = resend;
        settings.scopes = vec!["openid".into(), "profile".into(), "offline_access".into()];
        let run = quiet(&mut world, settings, TOKEN_GOAL);
        let refresh = run
            .requests()
            .find(|r| r.form_field("grant_type").as_deref() == Some("refresh_token"))
            .unwrap();
        let scope = refresh.form_field("scope");
        assert_eq!(
            scope.as_deref(),
            resend.then_some("openid profile offline_access"),
            "resend_scope {resend}"
        );
    }
}

/// Requirement 11: a refreshed ID token may repeat the sign-in's nonce (Keycloak,
/// Entra) or carry none; another nonce is refused, and the rotated refresh token kept.
#[test]
fn a_refreshed_id_token_may_repeat_the_sign_in_nonce_but_no_other() {
    for (nonce, accepted) in [(None, true), (Some("login"), true), (Some("other"), false)] {
        let s = setup(Backend::File, InitialSession::None, LOGIN, INTERACTIVE);
        let mut world = World::new(&s, &[]);
        let signed_in = sign_in(&mut world, settings());
        assert!(matches!(signed_in.outcome, Some(Ok(_))));
        world.refresh_nonce = match nonce {
            Some("login") => world.login_nonce(),
            other => other.map(str::to_owned),
        };
        let refreshed = quiet(&mut world, settings(), goal(0, true));
        assert_eq!(
            matches!(refreshed.outcome, Some(Ok(_))),
            accepted,
            "{nonce:?}: {:?}",
            refreshed.outcome
        );
        assert_eq!(
            world.stored_refresh_token(),
            world.issued_refresh_tokens.last().cloned()
        );
    }
}

// ---- the token handed out --------------------------------------------------------------

/// `token_kind: id` (Google): the ID token is handed out with its own expiry, kept with
/// the session and served from the cache; a refresh without an ID token (PingFederate)
/// keeps handing out the one from before while it lasts.
#[test]
fn the_id_token_is_handed_out_when_asked() {
    let s = setup(Backend::File, InitialSession::None, LOGIN, INTERACTIVE);
    let mut world = World::new(&s, &[]);
    let mut id_settings = settings();
    id_settings.token_kind = TokenKind::Id;
    let signed_in = sign_in(&mut world, id_settings.clone());
    assert!(matches!(signed_in.outcome, Some(Ok(_))));
    let first = quiet(&mut world, id_settings.clone(), TOKEN_GOAL);
    let first_token = match &first.outcome {
        Some(Ok(credential)) => credential.access_token.expose_secret().to_owned(),
        other => panic!("{other:?}"),
    };
    assert_eq!(first_token.split('.').count(), 3, "a JWT: the ID token");
    assert!(!first_token.contains("-at-"), "not the access token");
    assert_eq!(first.count(is_http), 0, "served from the cache");

    world.id_token_on_refresh = false;
    let refreshed = quiet(&mut world, id_settings.clone(), goal(0, true));
    let Some(Ok(credential)) = &refreshed.outcome else {
        panic!("{:?}", refreshed.outcome)
    };
    assert_eq!(credential.access_token.expose_secret(), first_token);
    // The access token of the same session is still there for `--kind access`.
    let mut access_settings = id_settings;
    access_settings.token_kind = TokenKind::Access;
    let access = quiet(&mut world, access_settings, TOKEN_GOAL);
    let Some(Ok(credential)) = &access.outcome else {
        panic!("{:?}", access.outcome)
    };
    assert!(credential.access_token.expose_secret().contains("-at-"));
}

/// With `token_kind: id` and no ID token to be had, the flow says so (exit 2).
#[test]
fn no_id_token_to_hand_out_is_named() {
    let mut world = token_world(InitialSession::Expired);
    world.id_token_on_refresh = false;
    let mut settings = settings();
    settings.token_kind = TokenKind::Id;
    let run = quiet(&mut world, settings, TOKEN_GOAL);
    let error = error(&run);
    assert_eq!(error, FlowError::Misconfigured(Misconfiguration::NoIdToken));
    assert!(
        error
            .hint()
            .is_some_and(|h| h.contains("--token-kind access"))
    );
    assert_eq!(
        world.stored_refresh_token(),
        world.issued_refresh_tokens.last().cloned()
    );
}

// ---- the request shapes -----------------------------------------------------------------

/// Requirements 1, 2 and 25: the audience goes where the provider wants it — and
/// `resource` only when it is asked for.
#[test]
fn the_audience_goes_where_the_provider_wants_it() {
    let cases = [
        (AudienceVia::Resource, Some("resource"), true),
        (AudienceVia::Audience, Some("audience"), false),
        (AudienceVia::Aud, Some("aud"), false),
        (AudienceVia::Scope, None, false),
        (AudienceVia::None, None, false),
    ];
    for (via, parameter, in_token_requests) in cases {
        let s = setup(Backend::File, InitialSession::None, LOGIN, INTERACTIVE);
        let mut world = World::new(&s, &[]);
        let mut settings = settings();
        settings.audience_via = via;
        let run = sign_in(&mut world, settings);
        assert!(matches!(run.outcome, Some(Ok(_))), "{via}");
        let url = run.browser_urls().next().unwrap().to_owned();
        let query: Vec<(String, String)> = url::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        for name in ["resource", "audience", "aud"] {
            let sent = query
                .iter()
                .any(|(n, v)| n == name && v == "https://gateway.test");
            assert_eq!(sent, parameter == Some(name), "{via}: {name} in {url}");
        }
        let exchange = run
            .requests()
            .find(|r| r.form_field("grant_type").as_deref() == Some("authorization_code"))
            .unwrap();
        assert_eq!(
            exchange.form_field("resource").is_some(),
            in_token_requests,
            "{via}"
        );
        assert!(
            !form_names(exchange)
                .iter()
                .any(|n| n == "audience" || n == "aud")
        );
    }
}

/// A configured redirect URL is used exactly, and its path is the one checked.
#[test]
fn a_redirect_url_override_is_used_exactly() {
    let s = setup(Backend::File, InitialSession::None, LOGIN, INTERACTIVE);
    let mut world = World::new(&s, &[]);
    let mut settings = settings();
    settings.redirect =
        Redirect::Exact(RedirectUrl::parse("http://127.0.0.1:9123/callback").unwrap());
    let run = sign_in(&mut world, settings);
    assert!(matches!(run.outcome, Some(Ok(_))), "{:?}", run.outcome);
    assert!(run.intents.contains(&Intent::BindCallback { port: 9123 }));
    let url = run.browser_urls().next().unwrap();
    assert!(
        url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A9123%2Fcallback"),
        "{url}"
    );
}

/// Requirement 6: a client secret is read with the metadata and sent in every
/// token-endpoint request (and the revocation), never shown; none is sent when none is
/// configured; a configured but missing one is named.
#[test]
fn a_client_secret_is_sent_only_when_configured() {
    let key = ClientKey::derive(crate::testing::ISSUER, "llmauth-test");
    for backend in [Backend::File, Backend::Keyring] {
        let s = setup(backend, InitialSession::Expired, TOKEN, Interaction::NONE);
        let mut world = World::new(&s, &[]);
        world.put(
            &backend.client_secret_slot(&key),
            format!("{CANARY}-client-secret\n").as_bytes(),
        );
        let mut with_secret = settings();
        with_secret.client_secret = true;
        let run = run_with(
            &mut world,
            with_secret,
            backend,
            Interaction::NONE,
            TOKEN_GOAL,
        );
        assert!(matches!(run.outcome, Some(Ok(_))), "{:?}", run.outcome);
        let refresh = run
            .requests()
            .find(|r| r.form_field("grant_type").is_some())
            .unwrap();
        assert!(form_names(refresh).contains(&"client_secret".to_owned()));
        assert_eq!(refresh.form_field("client_secret"), None, "never readable");
        assert!(!run.visible_text().contains(CANARY), "the secret leaked");

        let logout = run_with(
            &mut world,
            FlowSettings {
                client_secret: true,
                ..settings()
            },
            backend,
            Interaction::NONE,
            LogoutGoal { revoke: true },
        );
        let revoke = logout
            .requests()
            .find(|r| r.url.ends_with("/revoke"))
            .unwrap();
        assert!(form_names(revoke).contains(&"client_secret".to_owned()));
    }
    let mut world = token_world(InitialSession::Expired);
    let run = quiet(&mut world, settings(), TOKEN_GOAL);
    assert!(
        run.requests()
            .all(|r| !form_names(r).contains(&"client_secret".to_owned()))
    );
    assert_eq!(
        run.count(|i| matches!(slot_of(i), Some(Slot::ClientSecretFile(_)))),
        0,
        "no secret is read when none is configured"
    );
    let mut missing = settings();
    missing.client_secret = true;
    let run = quiet(&mut world, missing, goal(0, true));
    let error = error(&run);
    assert_eq!(
        error,
        FlowError::Misconfigured(Misconfiguration::ClientSecretMissing)
    );
    assert_eq!(error.class(), ErrorClass::Config);
}

/// Requirement 4: Entra's `common` issuer and its `{tenantid}` document.
#[test]
fn the_issuer_rule_reaches_the_discovery_check() {
    let mut world = token_world(InitialSession::Expired);
    // The simulated document names the issuer exactly: an Entra rule still accepts it.
    let mut settings = settings();
    settings.issuer_match = IssuerMatch::EntraTenant;
    let run = quiet(&mut world, settings, TOKEN_GOAL);
    assert!(matches!(run.outcome, Some(Ok(_))), "{:?}", run.outcome);
}

// ---- revocation and the discovery cache ---------------------------------------------------

/// Requirement 17: an IdP without a revocation endpoint gets a note and a local logout;
/// both documents were asked (the RFC 8414 one might have listed it).
#[test]
fn logout_without_a_revocation_endpoint_is_a_note() {
    let s = setup(
        Backend::File,
        InitialSession::Fresh,
        LOGOUT_REVOKING,
        Interaction::NONE,
    );
    let mut world = World::new(&s, &[]);
    world.advertise_revocation = false;
    let run = world.run_task(&s, 100);
    assert_eq!(
        run.outcome,
        Some(Ok(Finished::LoggedOut(LoggedOut {
            had_session: true,
            revoked: None
        })))
    );
    assert!(
        run.notices()
            .any(|n| matches!(n, Notice::RevocationNotAdvertised)),
        "{:?}",
        run.intents
    );
    assert_eq!(run.count_kind(Kind::Discovery), 2, "OpenID, then RFC 8414");
    assert_eq!(run.count_kind(Kind::Revoke), 0);
    assert!(world.stored_refresh_token().is_none());
}

/// Issue 9.1: a planted discovery cache whose token endpoint is elsewhere is not used —
/// discovery is fetched again, and the refresh token goes to the real endpoint only.
#[test]
fn a_planted_discovery_cache_never_receives_the_refresh_token() {
    let s = setup(
        Backend::File,
        InitialSession::Expired,
        TOKEN,
        Interaction::NONE,
    );
    let mut world = World::new(&s, &[]);
    let planted = crate::discovery::ProviderMetadata {
        issuer: crate::testing::ISSUER.to_owned(),
        authorization_endpoint: "https://idp.test/auth".to_owned(),
        token_endpoint: "https://attacker.test/token".to_owned(),
        device_authorization_endpoint: None,
        revocation_endpoint: None,
        authorization_response_iss_parameter_supported: false,
    };
    let file = serde_json::json!({"fetched_at": world.now.as_millis(), "metadata": planted});
    world.put(
        &Slot::Discovery(crate::store::discovery_key(crate::testing::ISSUER)),
        file.to_string().as_bytes(),
    );
    let run = world.run_task(&s, 100);
    assert!(matches!(run.outcome, Some(Ok(_))), "{:?}", run.outcome);
    assert_eq!(run.count_kind(Kind::Discovery), 1, "fetched again");
    assert!(run.requests().all(|r| !r.url.contains("attacker")));
}

/// The ID token kept for `token_kind: id` is part of the record, never its `Debug`.
#[test]
fn a_kept_id_token_never_reaches_debug() {
    let record = AccessRecord {
        access_token: crate::secret::AccessToken::new("CANARY-at"),
        expires_at: None,
        issued_at: T0,
        lifetime: None,
        generation: 1,
        id_token: Some(IdTokenRecord {
            token: IdToken::new("CANARY-idt"),
            expires_at: T0,
            lifetime: Duration::from_secs(60),
        }),
    };
    assert!(!format!("{record:?}").contains(CANARY));
}

// ---- sessions a provider ends early ----------------------------------------------------

/// Requirements 21 and 24 of the quirks reference: when Google or Cognito refuse a refresh,
/// the hint says why such a provider ends sessions, beside "sign in again"; other providers
/// say only that.
#[test]
fn a_session_a_provider_ends_early_is_explained_with_the_sign_in_hint() {
    use crate::provider::{Preset, session_end_cause};

    for preset in Preset::ALL.iter().copied() {
        let mut world = token_world(InitialSession::Expired);
        world.plan(Kind::Refresh, &[2]); // invalid_grant
        let settings = FlowSettings {
            session_end_cause: session_end_cause(preset),
            ..settings()
        };
        let run = quiet(&mut world, settings, TOKEN_GOAL);
        let error = error(&run);
        assert!(
            matches!(
                error,
                FlowError::NeedsLogin(NeedsLogin::SessionEnded { .. })
            ),
            "{preset}: {error:?}"
        );
        let hint = error.hint().unwrap();
        match preset {
            Preset::Google => assert!(hint.contains("after 7 days"), "{hint}"),
            Preset::Cognito => assert!(hint.contains("device tracking"), "{hint}"),
            _ => assert_eq!(hint, "run `llmauth login`", "{preset}"),
        }
        assert!(hint.starts_with("run `llmauth login`"), "{hint}");
    }
}

// ---- the tenant allow-list (R4) --------------------------------------------------------

const TENANT_A: &str = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490";
const TENANT_B: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// Settings allowing only `tenants`.
fn allowing(tenants: &[&str]) -> FlowSettings {
    FlowSettings {
        tenants: Tenants::new(tenants.iter().map(|t| (*t).to_owned())),
        ..settings()
    }
}

/// A sign-in by an account of `tenant` (`None`: an ID token without `tid`) under an
/// allow-list of tenant A only: the error, with nothing stored.
fn refused_sign_in(tenant: Option<&str>) -> FlowError {
    let s = setup(Backend::File, InitialSession::None, LOGIN, INTERACTIVE);
    let mut world = World::new(&s, &[]);
    world.tenant = tenant.map(str::to_owned);
    let run = sign_in(&mut world, allowing(&[TENANT_A]));
    assert_eq!(world.stored_refresh_token(), None, "nothing stored");
    assert!(!world.has_stored_access_token(), "nothing stored");
    assert!(
        !world.contains(&Backend::File.access_slot(&settings().session_key)),
        "no access cache"
    );
    error(&run)
}

#[test]
fn a_sign_in_of_an_allowed_tenant_is_kept() {
    let s = setup(Backend::File, InitialSession::None, LOGIN, INTERACTIVE);
    let mut world = World::new(&s, &[]);
    world.tenant = Some(TENANT_B.to_ascii_uppercase());
    let run = sign_in(&mut world, allowing(&[TENANT_A, TENANT_B]));
    assert!(matches!(run.outcome, Some(Ok(_))), "{:?}", run.outcome);
    assert_eq!(
        world.stored_refresh_token(),
        world.issued_refresh_tokens.last().cloned()
    );
}

/// Another tenant's account: refused (exit 3) naming both tenants, nothing stored, and
/// the hint says to sign in with an account of an allowed tenant.
#[test]
fn a_sign_in_of_another_tenant_is_refused_and_nothing_is_stored() {
    let error = refused_sign_in(Some(TENANT_B));
    let FlowError::TenantRefused(refused) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(refused.signed_in.as_deref(), Some(TENANT_B));
    assert_eq!(error.class(), ErrorClass::AuthRequired);
    let text = error.to_string();
    assert!(text.contains(TENANT_A) && text.contains(TENANT_B), "{text}");
    assert!(
        error
            .hint()
            .is_some_and(|hint| hint.contains("an account of an allowed tenant")),
        "{:?}",
        error.hint()
    );
}

/// An ID token without `tid` cannot prove its tenant: refused under an allow-list.
#[test]
fn a_sign_in_without_a_tenant_is_refused_under_an_allow_list() {
    let error = refused_sign_in(None);
    assert!(
        matches!(&error, FlowError::TenantRefused(refused) if refused.signed_in.is_none()),
        "{error:?}"
    );
    assert!(error.to_string().contains("no tid claim"), "{error}");
}

/// A refresh whose ID token names another tenant (a session from before the allow-list
/// named its tenant) hands out and stores no new access token; the rotated refresh token
/// is kept, as after any refused ID token (it is the only one that still works).
#[test]
fn a_refresh_naming_another_tenant_keeps_no_new_token() {
    let mut world = token_world(InitialSession::Expired);
    world.tenant = Some(TENANT_B.to_owned());
    let cached = world.stored_access_token();
    let run = quiet(&mut world, allowing(&[TENANT_A]), TOKEN_GOAL);
    let error = error(&run);
    assert!(
        matches!(&error, FlowError::TenantRefused(refused) if refused.signed_in.as_deref() == Some(TENANT_B)),
        "{error:?}"
    );
    assert_eq!(error.class(), ErrorClass::AuthRequired);
    assert_eq!(world.stored_access_token(), cached, "no new access token");
    let cache_slot = Backend::File.access_slot(&settings().session_key);
    let cache = world
        .get(&cache_slot)
        .and_then(|bytes| SessionRecords::decode(bytes).ok()?.access);
    assert_eq!(
        cache.map(|access| access.access_token.expose_secret().to_owned()),
        cached,
        "none in the access cache"
    );
    assert_eq!(
        world.stored_refresh_token(),
        world.issued_refresh_tokens.last().cloned(),
        "the rotated refresh token is kept"
    );
    // The allowed tenant's refresh goes through.
    world.tenant = Some(TENANT_A.to_owned());
    let allowed = quiet(&mut world, allowing(&[TENANT_A]), TOKEN_GOAL);
    assert!(
        matches!(allowed.outcome, Some(Ok(_))),
        "{:?}",
        allowed.outcome
    );
}

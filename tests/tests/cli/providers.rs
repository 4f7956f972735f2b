//! Every provider preset end to end, through the real command line, against the test
//! IdP's quirk mode for that provider (`llmauth_tests::idp::IdpOptions::quirk_mode`):
//! login, token, refresh, twenty helpers at expiry (one refresh), logout — and the
//! `generic` preset against the same quirk mode, showing the failure the preset exists
//! for. Then the generic robustness of issue 8 against single quirks.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use llmauth_core::provider::Preset;
use llmauth_tests::ca::TestCa;
use llmauth_tests::faults::Fault;
use llmauth_tests::gateway::{GatewayOptions, TestGateway};
use llmauth_tests::idp::{
    AccessTokens, ENTRA_TENANT, ExpiresIn, GOOGLE_CLIENT_SECRET, GrantType, IdpEndpoint,
    IdpOptions, Quirks, TestIdp, audiences,
};
use llmauth_tests::sandbox::{Sandbox, wait};
use serde_json::Value;

use super::common::{
    BROWSER, LLMAUTH, NORMAL_LIFETIME, World, expect_exit, jwt_claims, printed_token,
    run_with_stdin, unix_ms,
};

/// A port nobody listens on now, for the presets that register an exact redirect URI.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

/// How one provider is set up: the quirk mode, what the guide's `config set` line gives,
/// and what its gateway checks.
struct Provider {
    preset: Preset,
    /// `--audience`, when the guide gives one.
    audience: Option<&'static str>,
    /// The gateway reads the ID token llmauth hands out (`token_kind: id`).
    hands_out_id_token: bool,
}

impl Provider {
    fn of(preset: Preset) -> Provider {
        let audience = match preset {
            Preset::Entra => Some(audiences::ENTRA),
            Preset::Okta => Some(audiences::OKTA),
            Preset::Auth0 | Preset::Ping => Some(audiences::API),
            Preset::Keycloak | Preset::Dex => Some(audiences::GATEWAY_CLIENT),
            Preset::Zitadel => Some(audiences::ZITADEL_PROJECT),
            Preset::Generic
            | Preset::Google
            | Preset::Authentik
            | Preset::Cognito
            | Preset::Gitlab => None,
        };
        Provider {
            preset,
            audience,
            hands_out_id_token: preset == Preset::Google,
        }
    }

    /// The quirk mode's IdP, a gateway checking its tokens as the guide says, and a
    /// sandbox configured with `--provider <as_preset>` (plus `extra` flags).
    fn world(&self, as_preset: Preset, extra: &[&str]) -> World {
        self.world_with(|_| {}, as_preset, extra)
    }

    /// [`Provider::world`] with the quirk mode's options changed by `tweak`.
    fn world_with(
        &self,
        tweak: impl FnOnce(&mut IdpOptions),
        as_preset: Preset,
        extra: &[&str],
    ) -> World {
        let port = free_port();
        let mut options = IdpOptions::quirk_mode(self.preset, port);
        tweak(&mut options);
        let ca = Arc::new(TestCa::new());
        let idp = TestIdp::start_with_ca(options, Arc::clone(&ca));
        let gateway = TestGateway::start(self.gateway_options(&idp), ca);
        let mut sandbox = Sandbox::new(Path::new(LLMAUTH), Some(Path::new(BROWSER)));
        let ca_file = idp
            .ca()
            .write_ca_pem(sandbox.root())
            .expect("write the CA file");
        sandbox.set_env("LLMAUTH_TEST_CA", &ca_file);
        let world = World {
            idp,
            gateway,
            sandbox,
            ca_file,
        };
        let port = port.to_string();
        let ca = world.ca_file.to_string_lossy().into_owned();
        let gateway_url = world.gateway.url();
        let mut args = vec![
            "config",
            "set",
            "--secrets-backend",
            "file",
            "--provider",
            as_preset.as_str(),
            "--gateway-url",
            &gateway_url,
            "--issuer",
            world.idp.issuer(),
            "--client-id",
            world.idp.client_id(),
            "--ca-file",
            &ca,
        ];
        // A preset that listens on a fixed port gets the one the IdP registered (never
        // the default 8666, which tests running side by side would share).
        let any_port = matches!(
            as_preset,
            Preset::Entra | Preset::Google | Preset::Keycloak | Preset::Dex | Preset::Zitadel
        );
        if !any_port && !extra.contains(&"--callback-port") {
            args.extend(["--callback-port", &port]);
        }
        // Generic can only ask for an audience that is a URI (RFC 8707 `resource`).
        let audience = self
            .audience
            .filter(|audience| as_preset != Preset::Generic || audience.contains("://"));
        if let Some(audience) = audience {
            args.extend(["--audience", audience]);
        }
        args.extend_from_slice(extra);
        let secret = (self.preset == Preset::Google).then_some(GOOGLE_CLIENT_SECRET);
        if secret.is_some() {
            args.push("--client-secret-stdin");
        }
        let finished = run_with_stdin(&world.sandbox, &args, secret);
        expect_exit(&finished, 0, "config set");
        world
    }

    fn gateway_options(&self, idp: &TestIdp) -> GatewayOptions {
        let mut options = GatewayOptions::for_idp(idp);
        options.expected_issuer = Some(idp.token_issuer());
        // Cognito's access tokens have no `aud` (R15).
        options.expected_audience = (self.preset != Preset::Cognito)
            .then(|| self.audience.unwrap_or(idp.client_id()).to_owned());
        // Google's ID token says `accounts.google.com` without the scheme.
        if self.preset == Preset::Google {
            options.expected_issuer = Some(idp.issuer().trim_start_matches("https://").to_owned());
        }
        // GitLab's access tokens are opaque: the gateway introspects them.
        if self.preset == Preset::Gitlab {
            options.introspection_url = Some(idp.introspection_endpoint());
        }
        options
    }

    /// The token the IdP issued last of the kind llmauth hands out.
    fn newest(&self, idp: &TestIdp) -> String {
        let newest = if self.hands_out_id_token {
            idp.last_id_token()
        } else {
            idp.last_access_token()
        };
        newest.expect("a token was issued")
    }
}

/// Login, token, refresh, twenty helpers at expiry and logout against `preset`'s quirk
/// mode with its own preset, asserting what reached the IdP and that the gateway accepts
/// every token handed out.
fn lifecycle(preset: Preset) {
    let provider = Provider::of(preset);
    lifecycle_in(&provider, &provider.world(preset, &[]));
}

/// [`lifecycle`] of `provider`'s preset in `world`.
fn lifecycle_in(provider: &Provider, world: &World) {
    let preset = provider.preset;
    let idp = &world.idp;

    // Sign in; status says which preset and why.
    world.login();
    let status = world.run(&["status", "--format", "json"]);
    expect_exit(&status, 0, "status");
    let status: Value = serde_json::from_str(&status.stdout).expect("status JSON");
    assert_eq!(status["provider"]["preset"], preset.as_str());
    assert_eq!(status["provider"]["reason"], "set in llm.oidc.provider");

    // A token the gateway accepts, of the kind the preset hands out.
    let token = printed_token(&world.run(&["token"]));
    assert_eq!(token, provider.newest(idp), "{preset}: the handed-out kind");
    assert_eq!(world.gateway_status(&token), 200, "{preset}: gateway");

    // A refresh: one request, a new token the gateway accepts.
    let refreshes = idp.token_requests(GrantType::RefreshToken);
    let refreshed = printed_token(&world.run(&["token", "--force-refresh"]));
    assert_eq!(idp.token_requests(GrantType::RefreshToken), refreshes + 1);
    assert_ne!(refreshed, token, "{preset}: a new token");
    assert_eq!(refreshed, provider.newest(idp));
    assert_eq!(
        world.gateway_status(&refreshed),
        200,
        "{preset}: after refresh"
    );
    if preset == Preset::Gitlab {
        // GitLab (S22): the refresh killed the old access token at once.
        assert_eq!(world.gateway_status(&token), 401, "the old token is dead");
    }

    // Twenty helpers at expiry: exactly one refresh, all print its token. (Three seconds:
    // an ID token's whole-second `exp` must not have passed when it arrives.)
    idp.set_access_token_lifetime(Duration::from_secs(3));
    printed_token(&world.run(&["token", "--force-refresh"]));
    idp.set_access_token_lifetime(NORMAL_LIFETIME);
    let expires_at = world.stored_access_expiry_ms();
    let now = unix_ms();
    if expires_at + 50 > now {
        std::thread::sleep(Duration::from_millis(expires_at + 50 - now));
    }
    let before = idp.token_requests(GrantType::RefreshToken);
    idp.push_fault(IdpEndpoint::Token, Fault::Delay(Duration::from_millis(500)));
    let finished = world.concurrent_tokens(20, &["--non-interactive"]);
    let tokens: Vec<String> = finished.iter().map(printed_token).collect();
    assert_eq!(
        idp.token_requests(GrantType::RefreshToken) - before,
        1,
        "{preset}: twenty helpers, one refresh"
    );
    let newest = provider.newest(idp);
    assert!(
        tokens.iter().all(|t| *t == newest),
        "{preset}: all print the refreshed token"
    );
    assert_eq!(idp.reuse_detections(), 0);
    assert_eq!(world.gateway_status(&newest), 200, "{preset}: after expiry");

    // Logout: revoked where the IdP advertises revocation, a note where it does not.
    let refresh_token = world.stored_refresh_token();
    let logout = world.run(&["logout", "--revoke"]);
    expect_exit(&logout, 0, "logout --revoke");
    let advertised = !matches!(preset, Preset::Entra | Preset::Dex);
    if advertised {
        assert_eq!(
            idp.revoked_tokens(),
            vec![refresh_token],
            "{preset}: revoked"
        );
    } else {
        assert!(idp.revoked_tokens().is_empty());
        assert!(
            logout.stderr.contains("advertises no revocation endpoint"),
            "{preset}: {}",
            logout.stderr
        );
    }
    let after = world.run(&["token", "--non-interactive"]);
    expect_exit(&after, 3, "token after logout");
    assert_eq!(after.stdout, "");
}

#[test]
fn entra_end_to_end() {
    lifecycle(Preset::Entra);
}

#[test]
fn okta_end_to_end() {
    lifecycle(Preset::Okta);
}

#[test]
fn google_end_to_end() {
    lifecycle(Preset::Google);
}

#[test]
fn auth0_end_to_end() {
    lifecycle(Preset::Auth0);
}

#[test]
fn keycloak_end_to_end() {
    lifecycle(Preset::Keycloak);
}

#[test]
fn ping_end_to_end() {
    lifecycle(Preset::Ping);
}

#[test]
fn dex_end_to_end() {
    lifecycle(Preset::Dex);
}

#[test]
fn authentik_end_to_end() {
    lifecycle(Preset::Authentik);
}

#[test]
fn zitadel_end_to_end() {
    lifecycle(Preset::Zitadel);
}

#[test]
fn cognito_end_to_end() {
    lifecycle(Preset::Cognito);
}

#[test]
fn gitlab_end_to_end() {
    lifecycle(Preset::Gitlab);
}

#[test]
fn generic_end_to_end() {
    lifecycle(Preset::Generic);
}

// ---- the generic preset against each quirk mode -------------------------------------------

/// `llmauth login` with `--provider generic` against `preset`'s quirk mode must fail
/// with exit 3, naming the cause and the preset's fix.
fn generic_cannot_sign_in(preset: Preset, extra: &[&str], cause: &str, fix: &str) {
    let world = Provider::of(preset).world(Preset::Generic, extra);
    generic_login_fails(&world, preset, 3, cause, fix);
}

/// The login fails with `code`, naming `cause` and `fix`.
fn generic_login_fails(world: &World, preset: Preset, code: i32, cause: &str, fix: &str) {
    let login = world.run(&["login"]);
    expect_exit(&login, code, &format!("generic login against {preset}"));
    assert!(
        login.stderr.contains(cause) && login.stderr.contains(fix),
        "{preset}: {}",
        login.stderr
    );
    let token = world.run(&["token", "--non-interactive"]);
    expect_exit(&token, 3, "no session");
}

/// `--provider generic` against `preset`'s quirk mode signs in, but the gateway refuses
/// the token it hands out.
fn generic_token_is_refused(preset: Preset, extra: &[&str]) -> String {
    let world = Provider::of(preset).world(Preset::Generic, extra);
    world.login();
    let token = printed_token(&world.run(&["token"]));
    assert_eq!(
        world.gateway_status(&token),
        401,
        "{preset}: generic's token"
    );
    token
}

/// Entra ID v2 refuses RFC 8707 `resource` (R1), and its multi-tenant endpoint names a
/// `{tenantid}` issuer (R4); llmauth names the preset that fixes each.
#[test]
fn generic_against_entra_is_refused_for_its_resource_parameter() {
    let provider = Provider::of(Preset::Entra);
    let common = provider.world(Preset::Generic, &[]);
    generic_login_fails(&common, Preset::Entra, 2, "{tenantid}", "--provider entra");
    let single_tenant = provider.world_with(
        |options| {
            options.issuer_path = format!("/{ENTRA_TENANT}/v2.0");
            options.quirks.tenant = None;
        },
        Preset::Generic,
        &[],
    );
    generic_login_fails(
        &single_tenant,
        Preset::Entra,
        3,
        "AADSTS901002",
        "--provider entra",
    );
}

/// Google refuses `offline_access` (R7) — and wants its client secret (R6).
#[test]
fn generic_against_google_is_refused_for_offline_access() {
    generic_cannot_sign_in(
        Preset::Google,
        &[],
        "invalid=[offline_access]",
        "--provider google",
    );
}

#[test]
fn generic_against_cognito_is_refused_for_offline_access() {
    generic_cannot_sign_in(Preset::Cognito, &[], "invalid_scope", "--offline-via");
}

#[test]
fn generic_against_gitlab_is_refused_for_offline_access() {
    generic_cannot_sign_in(Preset::Gitlab, &[], "offline_access", "--provider");
}

/// Auth0 reads no `resource`: without its `audience` the token is opaque (R15).
#[test]
fn generic_against_auth0_gets_an_opaque_token() {
    let token = generic_token_is_refused(Preset::Auth0, &[]);
    assert_eq!(token.split('.').count(), 1, "opaque, not a JWT");
}

/// PingFederate picks the token manager from its `aud` parameter (R25); with `resource`
/// the default manager's token names the client, not the gateway.
#[test]
fn generic_against_pingfederate_gets_a_token_for_the_wrong_audience() {
    let token = generic_token_is_refused(Preset::Ping, &[]);
    assert_ne!(jwt_claims(&token)["aud"], audiences::API);
}

/// Dex takes the audience as its cross-client scope; `resource` is ignored.
#[test]
fn generic_against_dex_gets_a_token_for_the_wrong_audience() {
    let token = generic_token_is_refused(Preset::Dex, &[]);
    assert_ne!(jwt_claims(&token)["aud"], audiences::GATEWAY_CLIENT);
}

/// ZITADEL takes the audience as a project scope (R1); generic is given the any-port
/// redirect its guide describes, and still gets a token without the project.
#[test]
fn generic_against_zitadel_gets_a_token_without_the_project() {
    let any_port = ["--callback-host", "127.0.0.1", "--callback-port", "0"];
    let token = generic_token_is_refused(Preset::Zitadel, &any_port);
    assert_ne!(jwt_claims(&token)["aud"], audiences::ZITADEL_PROJECT);
}

/// Keycloak 26.7.0 drops `openid` from a refresh that does not re-send the scope (R12):
/// with generic, the refreshed token has lost it and no ID token came back; with the
/// keycloak preset (re-sending), it keeps it.
#[test]
fn generic_against_keycloak_loses_openid_on_refresh() {
    let provider = Provider::of(Preset::Keycloak);
    let any_port = ["--callback-host", "127.0.0.1", "--callback-port", "0"];
    let scopes_after_refresh = |as_preset: Preset| {
        let world = provider.world(as_preset, &any_port);
        world.login();
        let ids = world.idp.last_id_token();
        let refreshed = printed_token(&world.run(&["token", "--force-refresh"]));
        let scope = jwt_claims(&refreshed)["scope"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let new_id_token = world.idp.last_id_token() != ids;
        (scope, new_id_token)
    };
    let (generic, generic_id_token) = scopes_after_refresh(Preset::Generic);
    assert!(!generic.split(' ').any(|s| s == "openid"), "{generic}");
    assert!(!generic_id_token, "no ID token without openid");
    let (keycloak, keycloak_id_token) = scopes_after_refresh(Preset::Keycloak);
    assert!(keycloak.split(' ').any(|s| s == "openid"), "{keycloak}");
    assert!(keycloak_id_token);
}

/// Okta's org authorization server issues access tokens for Okta's own APIs (`aud` is the
/// org URL): generic signs in and hands one out, and the gateway refuses it. The okta
/// preset refuses that configuration before any sign-in, naming the two fixes; a
/// `--token-kind access` named anyway is only warned about; with `--token-kind id` the
/// gateway accepts what is handed out.
#[test]
fn generic_against_okta_org_server_hands_out_a_token_for_okta_itself() {
    let mut provider = Provider::of(Preset::Okta);
    provider.audience = None;
    let world = provider.world_with(IdpOptions::okta_org_server, Preset::Generic, &[]);
    world.login();
    let token = printed_token(&world.run(&["token"]));
    assert_eq!(jwt_claims(&token)["aud"], world.idp.issuer(), "for Okta");
    assert_eq!(world.gateway_status(&token), 401, "generic's token");

    let refused = world.run(&["config", "set", "--provider", "okta"]);
    expect_exit(&refused, 2, "config set --provider okta");
    for part in [
        "llm.oidc.issuer",
        "Okta's org authorization server",
        &format!("--issuer {}/oauth2/default", world.idp.issuer()),
        "--token-kind id",
    ] {
        assert!(refused.stderr.contains(part), "{part}: {}", refused.stderr);
    }
    let status = world.run(&["status", "--format", "json"]);
    let status: Value = serde_json::from_str(&status.stdout).expect("status JSON");
    assert_eq!(
        status["provider"]["preset"], "generic",
        "nothing was written"
    );

    let named = world.run(&[
        "config",
        "set",
        "--provider",
        "okta",
        "--token-kind",
        "access",
    ]);
    expect_exit(&named, 0, "config set --token-kind access");
    let status = world.run(&["status"]);
    assert!(
        status.stdout.contains("warning: ")
            && status.stdout.contains("Okta's org authorization server"),
        "{}",
        status.stdout
    );
    let fixed = world.run(&["config", "set", "--token-kind", "id"]);
    expect_exit(&fixed, 0, "config set --token-kind id");
    world.login();
    let token = printed_token(&world.run(&["token"]));
    assert_eq!(Some(token.clone()), world.idp.last_id_token());
    assert_eq!(world.gateway_status(&token), 200, "the ID token");
}

/// The okta preset on Okta's org authorization server, handing out the ID token (the fix
/// it names), end to end.
#[test]
fn okta_org_server_with_the_id_token_end_to_end() {
    let provider = Provider {
        audience: None,
        hands_out_id_token: true,
        ..Provider::of(Preset::Okta)
    };
    let world = provider.world_with(
        IdpOptions::okta_org_server,
        Preset::Okta,
        &["--token-kind", "id"],
    );
    lifecycle_in(&provider, &world);
}

/// authentik puts the client id in `aud` whatever is asked (goauthentik/authentik#14545):
/// generic asks for the gateway's audience with `resource`, signs in, and hands out a
/// token the gateway refuses. The authentik preset refuses the audience before any
/// sign-in, saying the gateway must accept the client id.
#[test]
fn generic_against_authentik_gets_no_token_for_the_audience() {
    let provider = Provider {
        audience: Some(audiences::API),
        ..Provider::of(Preset::Authentik)
    };
    let world = provider.world(Preset::Generic, &[]);
    world.login();
    assert!(
        world.idp.token_forms().iter().any(|form| form
            .iter()
            .any(|(n, v)| n == "resource" && v == audiences::API)),
        "generic asked for the audience"
    );
    let token = printed_token(&world.run(&["token"]));
    assert_eq!(jwt_claims(&token)["aud"], world.idp.client_id());
    assert_eq!(world.gateway_status(&token), 401, "generic's token");

    let refused = world.run(&["config", "set", "--provider", "authentik"]);
    expect_exit(&refused, 2, "config set --provider authentik");
    for part in [
        "llm.oidc.audience",
        "goauthentik/authentik#14545",
        "--audience \"\"",
        "accept aud = llmauth's client id",
    ] {
        assert!(refused.stderr.contains(part), "{part}: {}", refused.stderr);
    }
    let fixed = world.run(&["config", "set", "--provider", "authentik", "--audience", ""]);
    expect_exit(&fixed, 0, "config set --audience \"\"");
}

/// Okta's custom authorization servers and authentik without an audience need nothing
/// on the wire that generic lacks: generic works there. (What the presets exist for is
/// above: Okta's org authorization server, and an audience authentik cannot issue.)
#[test]
fn generic_against_okta_and_authentik_works_without_an_audience() {
    for preset in [Preset::Okta, Preset::Authentik] {
        let mut provider = Provider::of(preset);
        provider.audience = None;
        let world = provider.world(Preset::Generic, &[]);
        world.login();
        let token = printed_token(&world.run(&["token"]));
        let expected_audience = if preset == Preset::Okta {
            audiences::OKTA
        } else {
            world.idp.client_id()
        };
        assert_eq!(jwt_claims(&token)["aud"], expected_audience, "{preset}");
    }
}

// ---- single quirks ------------------------------------------------------------------------

/// A world with the standard IdP bent by `quirks`, configured as generic.
fn quirky(quirks: Quirks) -> World {
    let world = World::unconfigured(IdpOptions {
        quirks,
        ..IdpOptions::default()
    });
    world.configure(&["--secrets-backend", "file"]);
    world
}

/// Entra's v1 issuer (R20) is named, with the v2 issuer to use.
#[test]
fn an_entra_v1_issuer_is_named_with_its_fix() {
    let options = IdpOptions {
        issuer_path: format!("/{ENTRA_TENANT}"),
        discovery_issuer_override: Some(format!("https://sts.windows.net/{ENTRA_TENANT}/")),
        ..IdpOptions::default()
    };
    let world = World::unconfigured(options);
    world.configure(&["--secrets-backend", "file", "--provider", "entra"]);
    let login = world.run(&["login"]);
    expect_exit(&login, 2, "login with a v1 issuer");
    assert!(
        login.stderr.contains("Entra ID v1 issuer")
            && login.stderr.contains(&format!(
                "https://login.microsoftonline.com/{ENTRA_TENANT}/v2.0"
            )),
        "{}",
        login.stderr
    );
}

/// A redirect registered as an Entra single-page application (R19) is named as the cause.
#[test]
fn an_entra_spa_registration_is_named_as_the_cause() {
    let mut options = IdpOptions::quirk_mode(Preset::Entra, 0);
    options.quirks.spa_redirect = true;
    let world = World::unconfigured(options);
    world.configure(&["--secrets-backend", "file", "--provider", "entra"]);
    let login = world.run(&["login"]);
    expect_exit(&login, 3, "login with an SPA registration");
    assert!(
        login.stderr.contains("AADSTS9002327")
            && login.stderr.contains("single-page application")
            && login.stderr.contains("Mobile and desktop applications"),
        "{}",
        login.stderr
    );
}

/// A client secret is sent only when configured: a public Entra client refuses one
/// (AADSTS700025), and llmauth says how to remove it.
#[test]
fn a_client_secret_is_sent_only_when_configured() {
    let provider = Provider::of(Preset::Entra);
    let world = provider.world(Preset::Entra, &[]);
    world.login();
    assert!(
        world
            .idp
            .token_forms()
            .iter()
            .all(|form| form.iter().all(|(name, _)| name != "client_secret")),
        "no secret configured, none sent"
    );
    let set = run_with_stdin(
        &world.sandbox,
        &["config", "set", "--client-secret-stdin"],
        Some("not-for-entra"),
    );
    expect_exit(&set, 0, "config set --client-secret-stdin");
    let refused = world.run(&["token", "--force-refresh"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("AADSTS700025") && refused.stderr.contains("remove it"),
        "{}",
        refused.stderr
    );
    assert!(
        !refused.stderr.contains("not-for-entra"),
        "the secret is never shown"
    );
    let removed = run_with_stdin(
        &world.sandbox,
        &["config", "set", "--client-secret-stdin"],
        Some(""),
    );
    expect_exit(&removed, 0, "config set --client-secret-stdin (empty)");
    printed_token(&world.run(&["token", "--force-refresh"]));
}

/// The client secret is stored like the refresh token — never in config.yaml, never
/// printed — and `status` says when the preset needs one that is missing.
#[test]
fn the_client_secret_never_reaches_the_config_file_or_any_output() {
    let world = Provider::of(Preset::Google).world(Preset::Google, &[]);
    let config = std::fs::read_to_string(world.sandbox.config_file()).expect("config.yaml");
    assert!(config.contains("client_secret: stored"), "{config}");
    assert!(!config.contains(GOOGLE_CLIENT_SECRET));
    world.login();
    for args in [
        &["config", "show"][..],
        &["config", "show", "--format", "json"],
        &["status"],
        &["status", "--format", "json"],
    ] {
        let shown = world.run(args);
        assert!(
            !shown.stdout.contains(GOOGLE_CLIENT_SECRET)
                && !shown.stderr.contains(GOOGLE_CLIENT_SECRET),
            "{args:?}"
        );
    }
    let stored: Vec<_> = world.sandbox.files_containing(GOOGLE_CLIENT_SECRET);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(
        stored[0]
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("client-secret-")),
        "{stored:?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&stored[0])
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Without it, status names what the preset needs.
    let removed = run_with_stdin(
        &world.sandbox,
        &["config", "set", "--client-secret-stdin"],
        Some(""),
    );
    expect_exit(&removed, 0, "remove the secret");
    assert!(
        world
            .sandbox
            .files_containing(GOOGLE_CLIENT_SECRET)
            .is_empty()
    );
    let status = world.run(&["status"]);
    assert!(
        status
            .stdout
            .contains("the google preset needs the client secret"),
        "{}",
        status.stdout
    );
    let refused = world.run(&["token", "--force-refresh"]);
    assert!(
        refused.stderr.contains("client_secret is missing"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("--client-secret-stdin"),
        "{}",
        refused.stderr
    );
}

/// Google's device flow says `verification_url` (R16) and wants the secret when polling.
#[test]
fn the_device_flow_accepts_verification_url() {
    let world = Provider::of(Preset::Google).world(Preset::Google, &[]);
    let mut login = super::common::Running::new(world.sandbox.spawn(&["login", "--device"]));
    let mut stderr = login.child().stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let start = std::time::Instant::now();
    let code = loop {
        if let Some(code) = world.idp.last_user_code() {
            break code;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no device code");
        std::thread::sleep(Duration::from_millis(20));
    };
    // The person approves on another device, a moment after the code was shown.
    std::thread::sleep(Duration::from_millis(300));
    assert!(world.idp.approve_device(&code));
    let finished = wait(login.into_child(), Duration::from_secs(60));
    let stderr = reader.join().unwrap_or_default();
    expect_exit(&finished, 0, &format!("login --device: {stderr}"));
    assert!(
        stderr.contains(&format!("visit {}", world.idp.url("/device"))) && stderr.contains(&code),
        "{stderr}"
    );
    assert!(
        world
            .idp
            .token_forms()
            .iter()
            .filter(|form| form
                .iter()
                .any(|(n, v)| n == "grant_type" && v.contains("device_code")))
            .all(|form| form.iter().any(|(n, _)| n == "client_secret"))
    );
    printed_token(&world.run(&["token"]));
}

/// Django OAuth Toolkit publishes its revocation endpoint only in the RFC 8414 document:
/// the two documents are merged, and `logout --revoke` revokes.
#[test]
fn revocation_listed_only_in_rfc8414_metadata_is_found() {
    let world = quirky(Quirks {
        revocation_only_in_oauth_metadata: true,
        ..Quirks::default()
    });
    world.login();
    let refresh_token = world.stored_refresh_token();
    let logout = world.run(&["logout", "--revoke"]);
    expect_exit(&logout, 0, "logout --revoke");
    assert_eq!(world.idp.revoked_tokens(), vec![refresh_token.clone()]);
    assert_eq!(world.idp.is_grant_revoked(&refresh_token), Some(true));
    assert!(logout.stderr.contains("revoked"), "{}", logout.stderr);
}

/// An ended session is ended (issue 8): a provider that revokes the whole family on
/// reuse (Django OAuth Toolkit, checked by introspection) also kills the cached access
/// token, so after `invalid_grant` llmauth hands it out no more.
#[test]
fn after_invalid_grant_the_cached_token_is_not_served() {
    let options = IdpOptions {
        quirks: Quirks {
            access_tokens: AccessTokens::Opaque,
            ..Quirks::default()
        },
        ..IdpOptions::default()
    };
    let world = World::unconfigured(options);
    let mut gateway = GatewayOptions::for_idp(&world.idp);
    gateway.introspection_url = Some(world.idp.introspection_endpoint());
    let world = World {
        gateway: TestGateway::start(gateway, Arc::clone(world.idp.ca())),
        ..world
    };
    world.configure(&["--secrets-backend", "file"]);
    world.login();
    let cached = printed_token(&world.run(&["token"]));
    assert_eq!(world.gateway_status(&cached), 200);
    // Someone replayed the refresh token elsewhere: the family is revoked.
    assert!(world.idp.revoke_grant_of(&world.stored_refresh_token()));
    assert_eq!(
        world.gateway_status(&cached),
        401,
        "the access token died too"
    );

    let refreshed = world.run(&["token", "--non-interactive", "--force-refresh"]);
    expect_exit(&refreshed, 3, "token after invalid_grant");
    assert_eq!(refreshed.stdout, "");
    let next = world.run(&["token", "--non-interactive"]);
    expect_exit(&next, 3, "and the next call");
    assert!(!next.stdout.contains(&cached));
}

/// Requirements 21 and 24: when Google or Cognito end a session, the sign-in hint says why
/// such a provider does; Keycloak's says only to sign in.
#[test]
fn a_session_google_or_cognito_ends_is_explained() {
    for (preset, why) in [
        (
            Preset::Google,
            Some(
                "Google ends the refresh tokens of an OAuth app in \"Testing\" publishing status after 7 days",
            ),
        ),
        (
            Preset::Cognito,
            Some(
                "Cognito refuses the refreshes of a remembered device that do not name the device",
            ),
        ),
        (Preset::Keycloak, None),
    ] {
        let provider = Provider::of(preset);
        let world = provider.world(preset, &[]);
        world.login();
        assert!(world.idp.revoke_grant_of(&world.stored_refresh_token()));

        let ended = world.run(&["token", "--non-interactive", "--force-refresh"]);

        expect_exit(&ended, 3, &format!("{preset}: token after invalid_grant"));
        assert!(
            ended.stderr.contains("the sign-in session has ended"),
            "{preset}: {}",
            ended.stderr
        );
        match why {
            Some(why) => assert!(
                ended
                    .stderr
                    .contains(&format!("run `llmauth login`; {why}")),
                "{preset}: {}",
                ended.stderr
            ),
            None => assert!(
                ended.stderr.trim_end().ends_with("— run `llmauth login`"),
                "{preset}: {}",
                ended.stderr
            ),
        }
    }
}

/// `expires_in` as a string, or missing (the JWT's `exp`, else five minutes), R13.
#[test]
fn expires_in_as_a_string_or_missing_is_understood() {
    for (expires_in, access_tokens) in [
        (ExpiresIn::Text, AccessTokens::Jwt),
        (ExpiresIn::Missing, AccessTokens::Jwt),
        (ExpiresIn::Missing, AccessTokens::Opaque),
    ] {
        let world = quirky(Quirks {
            expires_in,
            access_tokens,
            ..Quirks::default()
        });
        world.login();
        let json = world.run(&["token", "--format", "json"]);
        expect_exit(&json, 0, "token --format json");
        let parsed: Value = serde_json::from_str(&json.stdout).expect("JSON line");
        let token = parsed["access_token"].as_str().unwrap_or_default();
        match access_tokens {
            AccessTokens::Jwt => {
                let expires_at = super::common::rfc3339_utc_to_unix(
                    parsed["expires_at"].as_str().expect("an expiry"),
                )
                .expect("RFC 3339");
                let exp = jwt_claims(token)["exp"].as_i64().unwrap_or_default();
                assert!(
                    (expires_at - exp).abs() <= 2,
                    "{expires_in:?}: {expires_at} vs {exp}"
                );
            }
            // Neither says: the expiry is unknown (and assumed five minutes away, so the
            // cached token is served for half of that, then refreshed).
            AccessTokens::Opaque => {
                assert_eq!(parsed["expires_at"], Value::Null);
                let again = printed_token(&world.run(&["token"]));
                assert_eq!(again, token, "served from the cache");
            }
        }
    }
}

/// Issue 9.1: a discovery document planted in the cache that sends the refresh token to
/// another server is not believed: discovery is fetched again over TLS, and the refresh
/// token goes only to the real token endpoint.
#[test]
fn a_planted_discovery_cache_never_receives_the_refresh_token() {
    let world = World::new();
    world.login_expired();
    let refresh_token = world.stored_refresh_token();
    let evil = TestIdp::start_with_ca(IdpOptions::default(), Arc::clone(world.idp.ca()));
    let key = llmauth_core::store::discovery_key(world.idp.issuer());
    let planted = serde_json::json!({
        "fetched_at": unix_ms(),
        "metadata": {
            "issuer": world.idp.issuer(),
            "authorization_endpoint": world.idp.authorization_endpoint(),
            "token_endpoint": evil.token_endpoint(),
        },
    });
    let file = world
        .sandbox
        .state_dir()
        .join("discovery")
        .join(format!("{key}.json"));
    std::fs::create_dir_all(file.parent().expect("discovery dir")).expect("mkdir");
    std::fs::write(&file, planted.to_string()).expect("plant the cache");
    let discovery_before = world.idp.discovery_requests();

    let token = printed_token(&world.run(&["token", "--non-interactive"]));

    assert_eq!(
        evil.requests(IdpEndpoint::Token),
        0,
        "nothing went elsewhere"
    );
    assert!(!evil.presented_refresh_tokens().contains(&refresh_token));
    assert_eq!(world.idp.discovery_requests(), discovery_before + 1);
    assert_eq!(world.idp.presented_refresh_tokens(), vec![refresh_token]);
    assert_eq!(world.gateway_status(&token), 200);
}

/// Auto-detection end to end: a Keycloak-shaped issuer picks the keycloak preset with no
/// `--provider`, and `status` says why.
#[test]
fn status_says_which_preset_was_detected_and_why() {
    let world = World::unconfigured(IdpOptions::quirk_mode(Preset::Keycloak, 0));
    world.configure(&["--secrets-backend", "file"]);
    let status = world.run(&["status", "--format", "json"]);
    let parsed: Value = serde_json::from_str(&status.stdout).expect("status JSON");
    assert_eq!(parsed["provider"]["preset"], "keycloak");
    assert_eq!(
        parsed["provider"]["reason"],
        "the issuer's path has the shape /realms/<realm>"
    );
    let text = world.run(&["status"]);
    assert!(
        text.stdout
            .contains("provider:      keycloak (the issuer's path has the shape /realms/<realm>)"),
        "{}",
        text.stdout
    );
}

/// `config reset` removes the stored client secret with the configuration.
#[test]
fn config_reset_removes_the_client_secret() {
    let world = Provider::of(Preset::Google).world(Preset::Google, &[]);
    assert_eq!(
        world.sandbox.files_containing(GOOGLE_CLIENT_SECRET).len(),
        1
    );
    let reset = world.run(&["config", "reset", "--yes"]);
    expect_exit(&reset, 0, "config reset --yes");
    assert!(
        world
            .sandbox
            .files_containing(GOOGLE_CLIENT_SECRET)
            .is_empty()
    );
}

// ---- Entra's tenant allow-list (R4) -------------------------------------------------------

/// A tenant other than the one the quirk mode signs users in to.
const OTHER_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// Entra's `common` endpoint with `--tenants` naming the user's tenant: login and token
/// work, and status, config show and doctor show the list.
#[test]
fn entra_with_the_users_tenant_listed_signs_in() {
    let provider = Provider::of(Preset::Entra);
    let listed = format!("{OTHER_TENANT},{}", ENTRA_TENANT.to_ascii_uppercase());
    let world = provider.world(Preset::Entra, &["--tenants", &listed]);
    world.login();
    let token = printed_token(&world.run(&["token"]));
    assert_eq!(world.gateway_status(&token), 200);
    let allowed = format!("{OTHER_TENANT}, {ENTRA_TENANT}");

    let status = world.run(&["status", "--format", "json"]);
    let status: Value = serde_json::from_str(&status.stdout).expect("status JSON");
    let setting = &status["provider"]["settings"]["tenants"];
    assert_eq!(setting["value"], allowed.as_str(), "{status}");
    assert_eq!(setting["source"], "config");
    let text = world.run(&["status"]);
    assert!(
        text.stdout.contains(&format!("; tenants {allowed}\n")),
        "{}",
        text.stdout
    );
    let shown = world.run(&["config", "show"]);
    assert!(
        shown.stdout.contains("llm.oidc.tenants") && shown.stdout.contains(OTHER_TENANT),
        "{}",
        shown.stdout
    );
    let doctor = world.run(&["doctor", "--format", "json"]);
    assert!(
        doctor.stdout.contains(&format!("tenants {allowed}")),
        "{}",
        doctor.stdout
    );
}

/// With only another tenant listed, the sign-in is refused at once (exit 3, naming both
/// tenants and what to do), nothing is stored, and no token is handed out.
#[test]
fn entra_refuses_a_sign_in_of_a_tenant_not_listed() {
    let provider = Provider::of(Preset::Entra);
    let world = provider.world(Preset::Entra, &["--tenants", OTHER_TENANT]);
    let login = world.run(&["login"]);
    expect_exit(&login, 3, "login by another tenant's account");
    for part in [
        ENTRA_TENANT,
        OTHER_TENANT,
        "an account of an allowed tenant",
    ] {
        assert!(login.stderr.contains(part), "{part}: {}", login.stderr);
    }
    let issued = world
        .idp
        .last_access_token()
        .expect("the IdP issued a token");
    assert!(!world.session_file().exists(), "no session stored");
    assert!(
        world.sandbox.files_containing(&issued).is_empty(),
        "token stored"
    );
    assert!(!login.stderr.contains(&issued) && !login.stdout.contains(&issued));
    let token = world.run(&["token", "--non-interactive"]);
    expect_exit(&token, 3, "token after the refused sign-in");
    assert_eq!(token.stdout, "");
}

/// `--tenants` with an issuer that already pins whom it signs in is refused (exit 2),
/// and the file keeps no such setting.
#[test]
fn tenants_are_refused_for_an_issuer_that_is_not_multi_tenant() {
    let world = World::new();
    let refused = world.run(&["config", "set", "--tenants", ENTRA_TENANT]);
    expect_exit(&refused, 2, "config set --tenants with a generic issuer");
    assert!(
        refused.stderr.contains("llm.oidc.tenants") && refused.stderr.contains("multi-tenant"),
        "{}",
        refused.stderr
    );
    let bad = Provider::of(Preset::Entra).world(Preset::Entra, &[]);
    let not_guid = bad.run(&["config", "set", "--tenants", "contoso.onmicrosoft.com"]);
    expect_exit(&not_guid, 2, "config set --tenants with a domain");
    assert!(
        not_guid.stderr.contains("is not an Entra tenant id"),
        "{}",
        not_guid.stderr
    );
    let cleared = bad.run(&["config", "set", "--tenants", ""]);
    expect_exit(&cleared, 0, "config set --tenants \"\"");
}

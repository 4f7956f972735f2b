//! The authorization-code flow by hand: authorize, exchange with PKCE, refresh,
//! rotation, and reuse detection.

use std::sync::Arc;
use std::time::Duration;

use llmauth_tests::idp::{
    AuthorizeMode, GrantType, IdpOptions, RedirectUris, RefreshPolicy, TestIdp,
};
use llmauth_tests::jwt::{Jwks, decode_unverified};
use serde_json::Value;

use super::common::{
    authorize, authorize_url, exchange, get, idp, param, pkce, post_form, query_of, refresh,
    str_field,
};

#[test]
fn full_code_flow_with_rotation_and_reuse_detection() {
    let idp = idp();
    let agent = idp.ca().agent();
    let auth = authorize(
        &idp,
        &agent,
        &[
            ("resource", "https://gateway.example"),
            ("prompt", "consent"),
        ],
    );
    let query = idp.last_authorize_query().unwrap();
    assert_eq!(param(&query, "resource"), Some("https://gateway.example"));
    assert_eq!(param(&query, "prompt"), Some("consent"));

    let tokens = exchange(
        &idp,
        &agent,
        &auth,
        &[("resource", "https://gateway.example")],
    );
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let body = tokens.json;
    assert_eq!(str_field(&body, "token_type"), "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(str_field(&body, "scope"), "openid offline_access");
    let form = idp.last_token_form().unwrap();
    assert_eq!(param(&form, "resource"), Some("https://gateway.example"));
    assert_eq!(param(&form, "code_verifier"), Some(auth.verifier.as_str()));

    // Both JWTs verify against the published JWKS and carry the right claims.
    let jwks = Jwks::from_document(&idp.jwks());
    let access = jwks.verify(str_field(&body, "access_token")).unwrap();
    assert_eq!(access["iss"], idp.issuer());
    assert_eq!(access["sub"], "test-user");
    assert_eq!(access["aud"], "https://gateway.example");
    assert_eq!(access["client_id"], "llmauth-test");
    assert_eq!(access["scope"], "openid offline_access");
    assert_eq!(
        access["exp"].as_u64().unwrap() - access["iat"].as_u64().unwrap(),
        300
    );
    assert!(access["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let (header, _) = decode_unverified(str_field(&body, "access_token")).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    let id = jwks.verify(str_field(&body, "id_token")).unwrap();
    assert_eq!(id["aud"], "llmauth-test");
    assert_eq!(id["nonce"], auth.nonce.as_str());
    assert!(id["auth_time"].is_u64());

    // Refresh: a new refresh token each time, no nonce in the new ID token.
    let first_rt = str_field(&body, "refresh_token").to_string();
    let second = refresh(&idp, &agent, &first_rt);
    assert_eq!(second.status, 200, "{}", second.text);
    let second_rt = str_field(&second.json, "refresh_token").to_string();
    assert_ne!(second_rt, first_rt);
    let refreshed_id = jwks.verify(str_field(&second.json, "id_token")).unwrap();
    assert!(refreshed_id.get("nonce").is_none());
    assert_eq!(refreshed_id["sub"], "test-user");
    // The refresh keeps the grant's resource as audience.
    let refreshed_access = jwks
        .verify(str_field(&second.json, "access_token"))
        .unwrap();
    assert_eq!(refreshed_access["aud"], "https://gateway.example");

    let third = refresh(&idp, &agent, &second_rt);
    assert_eq!(third.status, 200);
    let third_rt = str_field(&third.json, "refresh_token").to_string();
    assert_eq!(
        idp.current_refresh_token().as_deref(),
        Some(third_rt.as_str())
    );

    // Reuse of a retired token revokes the grant; the newest token dies with it.
    let reused = refresh(&idp, &agent, &first_rt);
    assert_eq!(reused.status, 400);
    assert_eq!(str_field(&reused.json, "error"), "invalid_grant");
    assert!(!str_field(&reused.json, "error_description").is_empty());
    assert_eq!(idp.reuse_detections(), 1);
    assert_eq!(idp.is_grant_revoked(&third_rt), Some(true));
    let newest = refresh(&idp, &agent, &third_rt);
    assert_eq!(newest.status, 400);
    assert_eq!(str_field(&newest.json, "error"), "invalid_grant");

    assert_eq!(idp.token_requests(GrantType::AuthorizationCode), 1);
    assert_eq!(idp.token_requests(GrantType::RefreshToken), 4);
    assert_eq!(
        idp.presented_refresh_tokens(),
        vec![first_rt.clone(), second_rt, first_rt, third_rt]
    );
    assert_eq!(idp.revoked_grants(), 1);
}

#[test]
fn token_endpoint_rejects_bad_exchanges() {
    let idp = idp();
    let agent = idp.ca().agent();

    // Wrong verifier.
    let mut auth = authorize(&idp, &agent, &[]);
    let good_verifier = auth.verifier.clone();
    auth.verifier = pkce("another").0;
    let wrong = exchange(&idp, &agent, &auth, &[]);
    assert_eq!(wrong.status, 400);
    assert_eq!(str_field(&wrong.json, "error"), "invalid_grant");

    // Wrong redirect URI.
    auth.verifier = good_verifier;
    let original_redirect = auth.redirect_uri.clone();
    auth.redirect_uri = "http://localhost:9999/callback".into();
    assert_eq!(exchange(&idp, &agent, &auth, &[]).status, 400);
    auth.redirect_uri = original_redirect;

    // The right exchange works once; a replay fails and revokes what the code produced.
    let ok = exchange(&idp, &agent, &auth, &[]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    let rt = str_field(&ok.json, "refresh_token").to_string();
    let replay = exchange(&idp, &agent, &auth, &[]);
    assert_eq!(str_field(&replay.json, "error"), "invalid_grant");
    assert_eq!(idp.is_grant_revoked(&rt), Some(true));

    // Client authentication.
    let unknown_client = post_form(
        &agent,
        &idp.token_endpoint(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", "other"),
        ],
    );
    assert_eq!(unknown_client.status, 401);
    assert_eq!(str_field(&unknown_client.json, "error"), "invalid_client");
    let no_client = post_form(
        &agent,
        &idp.token_endpoint(),
        &[("grant_type", "refresh_token")],
    );
    assert_eq!(no_client.status, 401);

    let unknown_grant = post_form(
        &agent,
        &idp.token_endpoint(),
        &[("grant_type", "password"), ("client_id", idp.client_id())],
    );
    assert_eq!(
        str_field(&unknown_grant.json, "error"),
        "unsupported_grant_type"
    );
    let unknown_rt = refresh(&idp, &agent, "never-issued");
    assert_eq!(str_field(&unknown_rt.json, "error"), "invalid_grant");
    assert_eq!(get(&agent, &idp.token_endpoint()).status, 405);
}

#[test]
fn authorize_validates_before_redirecting() {
    let idp = TestIdp::start(IdpOptions {
        redirect_uris: RedirectUris::Exact(vec!["http://localhost:8666/callback".into()]),
        ..IdpOptions::default()
    });
    let agent = idp.ca().agent();
    let (_, challenge) = pkce("v");

    // A redirect URI that is not allowed is never redirected to.
    let bad_redirect = get(
        &agent,
        &authorize_url(&idp, "http://localhost:8667/callback", &challenge, &[]),
    );
    assert_eq!(bad_redirect.status, 400);
    assert!(bad_redirect.location.is_none());

    // Other errors go back to the client with state and iss.
    let no_pkce = get(
        &agent,
        &authorize_url(&idp, "http://localhost:8666/callback", "short", &[]),
    );
    assert_eq!(no_pkce.status, 302);
    let query = query_of(&no_pkce.location.unwrap());
    assert_eq!(param(&query, "error"), Some("invalid_request"));
    assert_eq!(param(&query, "state"), Some("state-123"));
    assert_eq!(param(&query, "iss"), Some(idp.issuer()));

    let plain_url = authorize_url(&idp, "http://localhost:8666/callback", &challenge, &[])
        .replace("code_challenge_method=S256", "code_challenge_method=plain");
    let plain = get(&agent, &plain_url);
    let query = query_of(&plain.location.unwrap());
    assert_eq!(param(&query, "error"), Some("invalid_request"));
    assert!(param(&query, "code").is_none());

    idp.set_authorize_mode(AuthorizeMode::Deny);
    let denied = get(
        &agent,
        &authorize_url(&idp, "http://localhost:8666/callback", &challenge, &[]),
    );
    let query = query_of(&denied.location.unwrap());
    assert_eq!(param(&query, "error"), Some("access_denied"));

    idp.set_authorize_mode(AuthorizeMode::WrongState);
    let forged = get(
        &agent,
        &authorize_url(&idp, "http://localhost:8666/callback", &challenge, &[]),
    );
    let query = query_of(&forged.location.unwrap());
    assert_ne!(param(&query, "state"), Some("state-123"));
    assert!(param(&query, "code").is_some());

    idp.set_authorize_mode(AuthorizeMode::WrongIss);
    let mixed_up = get(
        &agent,
        &authorize_url(&idp, "http://localhost:8666/callback", &challenge, &[]),
    );
    let query = query_of(&mixed_up.location.unwrap());
    assert_ne!(param(&query, "iss"), Some(idp.issuer()));
    assert_eq!(idp.authorize_queries().len(), 6);
}

#[test]
fn authorization_response_can_omit_iss() {
    let idp = TestIdp::start(IdpOptions {
        include_iss_in_authorization_response: false,
        ..IdpOptions::default()
    });
    let agent = idp.ca().agent();
    let (_, challenge) = pkce("v");
    let answer = get(
        &agent,
        &authorize_url(&idp, "http://127.0.0.1:1234/callback", &challenge, &[]),
    );
    let query = query_of(&answer.location.unwrap());
    assert!(param(&query, "code").is_some());
    assert!(param(&query, "iss").is_none());
}

#[test]
fn strict_provider_needs_offline_access_and_consent_for_a_refresh_token() {
    let idp = TestIdp::start(IdpOptions {
        refresh_requires_offline_consent: true,
        ..IdpOptions::default()
    });
    let agent = idp.ca().agent();
    let without_consent = authorize(&idp, &agent, &[]);
    let tokens = exchange(&idp, &agent, &without_consent, &[]).json;
    assert!(tokens.get("refresh_token").is_none());
    assert_eq!(str_field(&tokens, "scope"), "openid");

    let with_consent = authorize(&idp, &agent, &[("prompt", "consent")]);
    let tokens = exchange(&idp, &agent, &with_consent, &[]).json;
    assert!(tokens.get("refresh_token").is_some());
    assert_eq!(str_field(&tokens, "scope"), "openid offline_access");
}

#[test]
fn non_rotating_policies_keep_the_refresh_token() {
    for (policy, echoed) in [
        (RefreshPolicy::ReuseAndEcho, true),
        (RefreshPolicy::ReuseAndOmit, false),
    ] {
        let idp = TestIdp::start(IdpOptions {
            refresh_policy: policy,
            id_token_on_refresh: false,
            ..IdpOptions::default()
        });
        let agent = idp.ca().agent();
        let session = idp.create_session("openid offline_access", None);
        let rt = session.refresh_token.unwrap();
        for _ in 0..3 {
            let answer = refresh(&idp, &agent, &rt);
            assert_eq!(answer.status, 200);
            assert!(answer.json.get("id_token").is_none());
            match answer.json.get("refresh_token") {
                Some(Value::String(same)) => {
                    assert!(echoed);
                    assert_eq!(same, &rt);
                }
                _ => assert!(!echoed),
            }
        }
        assert_eq!(idp.reuse_detections(), 0);
    }
}

#[test]
fn runtime_settings_change_the_next_tokens() {
    let idp = idp();
    let agent = idp.ca().agent();
    let session = idp.create_session("openid offline_access", Some("https://gw.example"));
    assert_eq!(session.expires_in, 300);
    let claims = decode_unverified(&session.access_token).unwrap().1;
    assert_eq!(claims["aud"], "https://gw.example");

    idp.set_access_token_lifetime(Duration::from_secs(2));
    idp.set_subject("someone-else");
    let answer = refresh(&idp, &agent, session.refresh_token.as_deref().unwrap());
    assert_eq!(answer.json["expires_in"], 2);
    let claims = decode_unverified(str_field(&answer.json, "access_token"))
        .unwrap()
        .1;
    assert_eq!(claims["sub"], "someone-else");
    let id = decode_unverified(str_field(&answer.json, "id_token"))
        .unwrap()
        .1;
    assert_eq!(id["sub"], "someone-else");
    assert_eq!(
        idp.last_access_token().as_deref(),
        Some(str_field(&answer.json, "access_token"))
    );
    assert_eq!(idp.access_tokens_issued(), 2);
}

#[test]
fn revocation_kills_the_grant() {
    let idp = idp();
    let agent = idp.ca().agent();
    let rt = idp
        .create_session("openid offline_access", None)
        .refresh_token
        .unwrap();
    let revoked = post_form(
        &agent,
        &idp.revocation_endpoint(),
        &[
            ("token", rt.as_str()),
            ("token_type_hint", "refresh_token"),
            ("client_id", idp.client_id()),
        ],
    );
    assert_eq!(revoked.status, 200);
    assert_eq!(idp.revoked_tokens(), vec![rt.clone()]);
    assert_eq!(idp.is_grant_revoked(&rt), Some(true));
    assert_eq!(
        str_field(&refresh(&idp, &agent, &rt).json, "error"),
        "invalid_grant"
    );
    // Unknown tokens are fine (RFC 7009 §2.2).
    let unknown = post_form(
        &agent,
        &idp.revocation_endpoint(),
        &[("token", "nope"), ("client_id", idp.client_id())],
    );
    assert_eq!(unknown.status, 200);
}

#[test]
fn fifty_concurrent_refreshes_are_serialized_and_counted() {
    let idp = Arc::new(idp());
    let rt = idp
        .create_session("openid offline_access", None)
        .refresh_token
        .unwrap();
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let idp = Arc::clone(&idp);
            let rt = rt.clone();
            std::thread::spawn(move || {
                let agent = idp.ca().agent();
                refresh(&idp, &agent, &rt).status
            })
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        49,
        "{statuses:?}"
    );
    assert_eq!(idp.token_requests(GrantType::RefreshToken), 50);
    assert_eq!(idp.presented_refresh_tokens().len(), 50);
    // The retired token came back 49 times: the first revoked the grant, the rest found
    // it revoked.
    assert_eq!(idp.reuse_detections(), 1);
    assert_eq!(idp.revoked_grants(), 1);
}

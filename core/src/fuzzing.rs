//! Fuzz harnesses: one function per target in `fuzz/fuzz_targets/`, reachable from stable
//! tests so the committed corpus is replayed by `cargo test` (STYLE §4.9).
//!
//! Each harness asserts the invariants that must hold for any input, beyond "no panic".

use crate::callback::{self, CallbackExpectations, Verdict};
use crate::discovery;
use crate::http::HttpResponse;
use crate::id_token::{self, Expectations, NonceRule};
use crate::oauth::parse_token_response;
use crate::provider::{CALLBACK_PATH, IssuerMatch};
use crate::secret::IdToken;
use crate::setup::edit::decode;
use crate::setup::receipt::Format;
use crate::testing::{CANARY, RefreshEvent, World, WorldSetup, edits};
use crate::time::UnixTime;

pub use crate::config::fuzzing::config_parse;

/// More intents than any flow needs: a bounded flow finishes well within this.
const MAX_STEPS: usize = 20_000;

/// A token-endpoint answer: first two bytes the status, the rest the body.
pub fn token_response(data: &[u8]) {
    let Some((status, body)) = split_status(data) else {
        return;
    };
    let response = HttpResponse {
        status,
        content_type: None,
        body: crate::secret::SecretBytes::new(body.to_vec()),
    };
    match parse_token_response(&response, &crate::http::SentSecrets::default()) {
        Ok(tokens) => {
            // The Debug must not depend on the secret values at all.
            let stand_in = crate::oauth::TokenResponse {
                access_token: crate::secret::AccessToken::new("x"),
                expires_in: tokens.expires_in,
                refresh_token: tokens
                    .refresh_token
                    .as_ref()
                    .map(|_| crate::secret::RefreshToken::new("x")),
                id_token: tokens.id_token.as_ref().map(|_| IdToken::new("x")),
                scope: tokens.scope.clone(),
            };
            assert_eq!(
                format!("{tokens:?}"),
                format!("{stand_in:?}"),
                "a secret reached Debug"
            );
            assert!(crate::secret::is_printable_token(
                tokens.access_token.expose_secret()
            ));
        }
        Err(failure) => {
            let _ = (failure.class(), failure.to_string());
        }
    }
}

/// A discovery document, parsed against an issuer, then round-tripped through the cache.
pub fn discovery_doc(data: &[u8]) {
    let issuer = "https://idp.test";
    let response = HttpResponse::json(200, &String::from_utf8_lossy(data));
    if let Ok(metadata) = discovery::parse(&response, issuer, IssuerMatch::Exact) {
        assert_eq!(metadata.issuer, issuer);
        let now = UnixTime::from_secs(1_000_000);
        // Only a document whose endpoints stay on the issuer's origin is cached.
        match discovery::encode_cache(&metadata, issuer, now) {
            Some(cached) => assert_eq!(
                discovery::decode_cache(&cached, issuer, IssuerMatch::Exact, now),
                Some(metadata)
            ),
            None => assert!(!discovery::on_issuer_origin(&metadata, issuer)),
        }
    }
    if let Some(metadata) =
        discovery::decode_cache(data, issuer, IssuerMatch::Exact, UnixTime::from_secs(1))
    {
        assert!(
            discovery::on_issuer_origin(&metadata, issuer),
            "a cached document sends requests off the issuer's origin"
        );
    }
    let _ = discovery::well_known_urls(&String::from_utf8_lossy(data));
}

/// A request target (or pasted URL) arriving at the callback listener.
pub fn redirect_callback(data: &[u8]) {
    let target = String::from_utf8_lossy(data);
    let expect = CallbackExpectations {
        state: "the-state",
        issuer: "https://idp.test",
        issuer_match: IssuerMatch::Exact,
        path: CALLBACK_PATH,
        iss_required: data.len().is_multiple_of(2),
    };
    if let Verdict::Code(_) = callback::evaluate(&target, &expect) {
        assert!(
            target.contains("state=the-state"),
            "a code accepted without this login's state"
        );
    }
}

/// ID-token claims checked against fixed expectations.
pub fn id_token_claims(data: &[u8]) {
    let token = IdToken::new(String::from_utf8_lossy(data).into_owned());
    let expect = Expectations {
        issuer: "https://idp.test",
        issuer_match: IssuerMatch::Exact,
        client_id: "cid",
        on_behalf_of: None,
        nonce: NonceRule::Equal("n"),
        sub: None,
    };
    if let Ok(verified) = id_token::verify(&token, &expect, UnixTime::from_secs(1_000)) {
        assert!(
            verified.expires_at >= UnixTime::from_secs(1_000 - id_token::LEEWAY.as_secs()),
            "an expired ID token was accepted"
        );
    }
}

/// A whole flow: four bytes choose the setup, the rest answer its intents.
pub fn flow_script(data: &[u8]) {
    let mut setup_bytes = [0u8; 4];
    for (slot, byte) in setup_bytes.iter_mut().zip(data) {
        *slot = *byte;
    }
    let script = data.get(4..).unwrap_or_default();
    let setup = WorldSetup::from_bytes(setup_bytes);
    let mut world = World::new(&setup, script);
    let run = world.run_task(&setup, MAX_STEPS);
    assert!(run.misuse.is_none(), "misuse: {:?}", run.misuse);
    assert!(run.outcome.is_some(), "the flow did not finish");
    assert!(!world.lock_held(), "the lock was not released");
    assert!(!run.visible_text().contains(CANARY), "a secret leaked");
    for (code, verifier_ok) in &world.code_exchanges {
        assert!(
            world.codes_issued.contains(code) && *verifier_ok,
            "bad code exchange"
        );
    }
    let mut latest: Option<&String> = None;
    for event in &world.refresh_log {
        match event {
            RefreshEvent::Delivered(token) => latest = Some(token),
            RefreshEvent::Presented(token) => assert!(
                latest.is_none_or(|l| l == token),
                "an old refresh token was sent"
            ),
        }
    }
}

/// A tool's config file through setup and teardown: the first byte picks JSON with
/// comments, TOML or `.env`, the rest is the file. Whatever setup accepts, it writes a file
/// that parses, a second setup changes nothing, and teardown gives back the original bytes
/// ([`edits::round_trip`]) — for JSON also after Claude Code's Bedrock keys were switched
/// on or off between two setups ([`edits::switch_round_trip`]).
pub fn tool_config_patch(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(doc) = decode(rest) else { return };
    let (format, edits) = match selector % 3 {
        0 => (Format::Json, edits::claude_code_edits()),
        1 => (Format::Toml, edits::codex_edits()),
        _ => (Format::Dotenv, edits::gemini_env_edits()),
    };
    if let Err(violation) = edits::round_trip(format, doc, &edits) {
        panic!("{violation}");
    }
    if format == Format::Json {
        // Bedrock compatibility switched on, and off again: keys a run no longer writes
        // are given back.
        let with = [edits.clone(), edits::bedrock_edits()].concat();
        for (first, second) in [(&with, &edits), (&edits, &with)] {
            if let Err(violation) = edits::switch_round_trip(format, doc, first, second) {
                panic!("{violation}");
            }
        }
    }
}

fn split_status(data: &[u8]) -> Option<(u16, &[u8])> {
    let (head, body) = data.split_at_checked(2)?;
    let status = 100 + u16::from_be_bytes([head[0], head[1]]) % 500;
    Some((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harnesses_accept_typical_inputs() {
        token_response(b"\x00\x64{\"access_token\":\"a\",\"token_type\":\"Bearer\"}");
        discovery_doc(br#"{"issuer":"https://idp.test","authorization_endpoint":"https://idp.test/a","token_endpoint":"https://idp.test/t"}"#);
        redirect_callback(b"/callback?code=c&state=the-state&iss=https://idp.test");
        id_token_claims(b"a.b.c");
        flow_script(&[0, 3, 0, 1, 0, 0, 2]);
        tool_config_patch(b"\x00{\n  // mine\n  \"env\": {\"A\": 1,},\n}\n");
        tool_config_patch(b"\x01# mine\nmodel = \"o3\"\n");
        tool_config_patch(b"\x02export A=1\n# c\n");
    }
}

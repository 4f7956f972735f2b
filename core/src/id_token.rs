//! ID token claim checks (OIDC Core §3.1.3.7, §12.2).
//!
//! The ID token arrives directly from the token endpoint over TLS, so TLS server
//! authentication stands in for its signature (OIDC Core §3.1.3.7 step 6); the claims are
//! still checked, since they bind the token to this client, this login and this user.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::secret::IdToken;
use crate::time::UnixTime;

/// Allowed clock difference between us and the IdP when checking `exp`.
const LEEWAY_SECS: u64 = 120;

/// What the ID token must match.
pub struct Expectations<'a> {
    /// The configured issuer (compared exactly).
    pub issuer: &'a str,
    /// Our client id, which must be an audience.
    pub client_id: &'a str,
    /// The nonce sent in the authorization request (code flow only).
    pub nonce: Option<&'a str>,
    /// The stored `sub` (on refresh: it must not change, OIDC Core §12.2).
    pub sub: Option<&'a str>,
}

/// A failed check; names the claim, never the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the ID token failed its {claim} check: {problem}")]
pub struct IdTokenError {
    /// The claim that failed.
    pub claim: &'static str,
    /// What was wrong.
    pub problem: &'static str,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: u64,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Checks the claims and returns `sub`.
///
/// # Errors
/// The first failed check, in the order of OIDC Core §3.1.3.7.
pub fn verify(
    token: &IdToken,
    expect: &Expectations<'_>,
    now: UnixTime,
) -> Result<String, IdTokenError> {
    let err = |claim, problem| IdTokenError { claim, problem };
    let payload = token
        .expose_secret()
        .split('.')
        .nth(1)
        .ok_or(err("format", "not a JWT"))?;
    let json = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| err("format", "payload is not base64url"))?;
    let claims: Claims = serde_json::from_slice(&json)
        .map_err(|_| err("format", "payload lacks iss, sub, aud or exp"))?;
    // Step 2: iss must match the issuer exactly.
    if claims.iss != expect.issuer {
        return Err(err("iss", "it names a different issuer"));
    }
    // Step 3: aud must contain our client id; step 5: azp, when present with several audiences.
    let audiences = match &claims.aud {
        Audience::One(aud) => core::slice::from_ref(aud),
        Audience::Many(auds) => auds.as_slice(),
    };
    if !audiences.iter().any(|aud| aud == expect.client_id) {
        return Err(err("aud", "it was issued to a different client"));
    }
    if audiences.len() > 1
        && let Some(azp) = &claims.azp
        && azp != expect.client_id
    {
        return Err(err("azp", "it was issued to a different client"));
    }
    // Step 9: not expired.
    if claims.exp.saturating_add(LEEWAY_SECS) < now.as_secs() {
        return Err(err("exp", "it has expired"));
    }
    // Step 11: the nonce of this login.
    if let Some(nonce) = expect.nonce
        && !claims
            .nonce
            .as_deref()
            .is_some_and(|n| crate::pkce::constant_time_eq(n, nonce))
    {
        return Err(err("nonce", "it does not match this login"));
    }
    // §12.2: a refreshed ID token names the same user.
    if let Some(sub) = expect.sub
        && !sub.is_empty()
        && claims.sub != sub
    {
        return Err(err("sub", "it names a different user than the session"));
    }
    Ok(claims.sub)
}

#[cfg(test)]
pub(crate) fn make_for_tests(claims: &serde_json::Value) -> IdToken {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    IdToken::new(format!("{header}.{payload}.sig"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expect<'a>(nonce: Option<&'a str>, sub: Option<&'a str>) -> Expectations<'a> {
        Expectations {
            issuer: "https://idp",
            client_id: "cid",
            nonce,
            sub,
        }
    }

    #[test]
    fn accepts_a_matching_token() {
        let token = make_for_tests(
            &json!({"iss":"https://idp","sub":"u1","aud":["cid","x"],"azp":"cid","exp":2000,"nonce":"n"}),
        );
        assert_eq!(
            verify(
                &token,
                &expect(Some("n"), Some("u1")),
                UnixTime::from_secs(1000)
            )
            .unwrap(),
            "u1"
        );
    }

    #[test]
    fn names_the_failed_claim() {
        let now = UnixTime::from_secs(1000);
        let cases = [
            (
                json!({"iss":"https://other","sub":"u","aud":"cid","exp":2000}),
                "iss",
            ),
            (
                json!({"iss":"https://idp","sub":"u","aud":"other","exp":2000}),
                "aud",
            ),
            (
                json!({"iss":"https://idp","sub":"u","aud":["cid","x"],"azp":"x","exp":2000}),
                "azp",
            ),
            (
                json!({"iss":"https://idp","sub":"u","aud":"cid","exp":100}),
                "exp",
            ),
            (
                json!({"iss":"https://idp","sub":"u","aud":"cid","exp":2000,"nonce":"bad"}),
                "nonce",
            ),
            (
                json!({"iss":"https://idp","sub":"u","aud":"cid","exp":2000}),
                "nonce",
            ),
        ];
        for (claims, claim) in cases {
            let err = verify(&make_for_tests(&claims), &expect(Some("n"), None), now).unwrap_err();
            assert_eq!(err.claim, claim, "{claims}");
        }
        let token = make_for_tests(&json!({"iss":"https://idp","sub":"u2","aud":"cid","exp":2000}));
        assert_eq!(
            verify(&token, &expect(None, Some("u1")), now)
                .unwrap_err()
                .claim,
            "sub"
        );
        assert_eq!(
            verify(&IdToken::new("garbage"), &expect(None, None), now)
                .unwrap_err()
                .claim,
            "format"
        );
    }
}

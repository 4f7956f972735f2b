//! ID token claim checks (OIDC Core §3.1.3.7, §12.2).
//!
//! The ID token arrives directly from the token endpoint over TLS, so TLS server
//! authentication stands in for its signature (OIDC Core §3.1.3.7 step 6); the claims are
//! still checked, since they bind the token to this client, this login and this user.

use core::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::provider::IssuerMatch;
use crate::secret::IdToken;
use crate::time::UnixTime;

/// Allowed clock difference between us and the IdP on `exp`, `nbf` and `iat`
/// (requirement 14 of the quirks reference): laptops and IdPs drift by minutes.
pub const LEEWAY: Duration = Duration::from_secs(300);

/// Which `nonce` the ID token must carry.
#[derive(Clone, Copy, Debug)]
pub enum NonceRule<'a> {
    /// The code exchange: this login's nonce (OIDC Core §3.1.3.7 step 11).
    Equal(&'a str),
    /// A refresh: none, or the sign-in's (OIDC Core §12.2; Keycloak and Entra repeat it).
    AbsentOr(&'a str),
    /// The device flow, or a refresh of a session whose sign-in nonce is unknown.
    Any,
}

/// What the ID token must match.
pub struct Expectations<'a> {
    /// The configured issuer.
    pub issuer: &'a str,
    /// How it is compared ([`IssuerMatch`]).
    pub issuer_match: IssuerMatch,
    /// Our client id, which must be an audience.
    pub client_id: &'a str,
    /// An audience the token may be issued to on our behalf instead (`azp` = our client):
    /// the gateway, when it was requested as a scope (Dex's cross-client trust).
    pub on_behalf_of: Option<&'a str>,
    /// The nonce rule.
    pub nonce: NonceRule<'a>,
    /// The stored `sub` (on refresh: it must not change, OIDC Core §12.2).
    pub sub: Option<&'a str>,
}

/// What a checked ID token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The user.
    pub sub: String,
    /// Its `exp`: when it stops being valid (the expiry of an ID token handed out).
    pub expires_at: UnixTime,
    /// Its `tid`: Entra ID's tenant of the account, for the tenant allow-list.
    pub tenant: Option<String>,
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
    nbf: Option<u64>,
    #[serde(default)]
    iat: Option<u64>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    /// Entra ID's tenant, which a `{tenantid}` issuer is checked against (and the tenant
    /// allow-list, by the flows).
    #[serde(default)]
    tid: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Checks the claims.
///
/// # Errors
/// The first failed check, in the order of OIDC Core §3.1.3.7.
pub fn verify(
    token: &IdToken,
    expect: &Expectations<'_>,
    now: UnixTime,
) -> Result<Verified, IdTokenError> {
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
    // Step 2: iss names the issuer (exactly, or as the provider's rule allows).
    if !expect
        .issuer_match
        .id_token_matches(expect.issuer, &claims.iss, claims.tid.as_deref())
    {
        return Err(err("iss", "it names a different issuer"));
    }
    // Step 3: aud contains our client id; step 5: azp, when present with several audiences.
    let audiences = match &claims.aud {
        Audience::One(aud) => core::slice::from_ref(aud),
        Audience::Many(auds) => auds.as_slice(),
    };
    let ours = audiences.iter().any(|aud| aud == expect.client_id);
    let azp_is_ours = claims.azp.as_deref() == Some(expect.client_id);
    let on_our_behalf = azp_is_ours
        && expect
            .on_behalf_of
            .is_some_and(|audience| audiences.iter().any(|aud| aud == audience));
    if !ours && !on_our_behalf {
        return Err(err("aud", "it was issued to a different client"));
    }
    if audiences.len() > 1 && claims.azp.is_some() && !azp_is_ours {
        return Err(err("azp", "it was issued to a different client"));
    }
    // Step 9, 10 and `nbf`: the times, with minutes of leeway for clock skew.
    let leeway = LEEWAY.as_secs();
    let now_secs = now.as_secs();
    if claims.exp.saturating_add(leeway) < now_secs {
        return Err(err("exp", "it has expired"));
    }
    let future = |at: Option<u64>| at.is_some_and(|at| at > now_secs.saturating_add(leeway));
    if future(claims.nbf) {
        return Err(err(
            "nbf",
            "it is not valid yet (is this computer's clock right?)",
        ));
    }
    if future(claims.iat) {
        return Err(err(
            "iat",
            "it was issued in the future (is this computer's clock right?)",
        ));
    }
    // Step 11 and §12.2: the nonce of this login.
    let nonce_ok = match (expect.nonce, claims.nonce.as_deref()) {
        (NonceRule::Equal(wanted), Some(found)) => crate::pkce::constant_time_eq(found, wanted),
        (NonceRule::Equal(_), None) => false,
        (NonceRule::AbsentOr(_), None) | (NonceRule::Any, _) => true,
        (NonceRule::AbsentOr(original), Some(found)) => {
            crate::pkce::constant_time_eq(found, original)
        }
    };
    if !nonce_ok {
        return Err(err("nonce", "it does not match this login"));
    }
    // §12.2: a refreshed ID token names the same user.
    if let Some(sub) = expect.sub
        && !sub.is_empty()
        && claims.sub != sub
    {
        return Err(err("sub", "it names a different user than the session"));
    }
    Ok(Verified {
        sub: claims.sub,
        expires_at: UnixTime::from_secs(claims.exp),
        tenant: claims.tid,
    })
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

    fn expect<'a>(nonce: NonceRule<'a>, sub: Option<&'a str>) -> Expectations<'a> {
        Expectations {
            issuer: "https://idp",
            issuer_match: IssuerMatch::Exact,
            client_id: "cid",
            on_behalf_of: None,
            nonce,
            sub,
        }
    }

    #[test]
    fn accepts_a_matching_token() {
        let token = make_for_tests(
            &json!({"iss":"https://idp","sub":"u1","aud":["cid","x"],"azp":"cid","exp":2000,"nonce":"n"}),
        );
        let verified = verify(
            &token,
            &expect(NonceRule::Equal("n"), Some("u1")),
            UnixTime::from_secs(1000),
        )
        .unwrap();
        assert_eq!(verified.sub, "u1");
        assert_eq!(verified.expires_at, UnixTime::from_secs(2000));
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
            let err = verify(
                &make_for_tests(&claims),
                &expect(NonceRule::Equal("n"), None),
                now,
            )
            .unwrap_err();
            assert_eq!(err.claim, claim, "{claims}");
        }
        let token = make_for_tests(&json!({"iss":"https://idp","sub":"u2","aud":"cid","exp":2000}));
        assert_eq!(
            verify(&token, &expect(NonceRule::Any, Some("u1")), now)
                .unwrap_err()
                .claim,
            "sub"
        );
        assert_eq!(
            verify(&IdToken::new("garbage"), &expect(NonceRule::Any, None), now)
                .unwrap_err()
                .claim,
            "format"
        );
    }

    /// Requirement 14: minutes of leeway either way; beyond them, the claim is named.
    #[test]
    fn times_have_five_minutes_of_leeway() {
        let now = 10_000u64;
        let at = |exp: u64, nbf: u64, iat: u64| {
            make_for_tests(
                &json!({"iss":"https://idp","sub":"u","aud":"cid","exp":exp,"nbf":nbf,"iat":iat}),
            )
        };
        let check = |token: &IdToken| {
            verify(
                token,
                &expect(NonceRule::Any, None),
                UnixTime::from_secs(now),
            )
        };
        // The IdP's clock four minutes behind (expired for us) or ahead (not yet valid).
        assert!(check(&at(now - 240, now - 600, now - 600)).is_ok());
        assert!(check(&at(now + 900, now + 240, now + 240)).is_ok());
        assert_eq!(
            check(&at(now - 360, now - 900, now - 900))
                .unwrap_err()
                .claim,
            "exp"
        );
        assert_eq!(
            check(&at(now + 900, now + 360, now)).unwrap_err().claim,
            "nbf"
        );
        assert_eq!(
            check(&at(now + 900, now, now + 360)).unwrap_err().claim,
            "iat"
        );
    }

    /// Requirement 11: on refresh the nonce may be missing or repeat the sign-in's.
    #[test]
    fn a_refreshed_token_may_omit_or_repeat_the_nonce() {
        let now = UnixTime::from_secs(1000);
        let token = |nonce: Option<&str>| {
            let mut claims = json!({"iss":"https://idp","sub":"u","aud":"cid","exp":2000});
            if let Some(nonce) = nonce {
                claims["nonce"] = json!(nonce);
            }
            make_for_tests(&claims)
        };
        let refresh = expect(NonceRule::AbsentOr("n0"), Some("u"));
        assert!(verify(&token(None), &refresh, now).is_ok());
        assert!(verify(&token(Some("n0")), &refresh, now).is_ok());
        assert_eq!(
            verify(&token(Some("other")), &refresh, now)
                .unwrap_err()
                .claim,
            "nonce"
        );
        assert!(verify(&token(Some("other")), &expect(NonceRule::Any, None), now).is_ok());
    }

    #[test]
    fn issuer_rules_of_entra_and_google() {
        let now = UnixTime::from_secs(1000);
        let entra = Expectations {
            issuer: "https://login.microsoftonline.com/common/v2.0",
            issuer_match: IssuerMatch::EntraTenant,
            ..expect(NonceRule::Any, None)
        };
        let tenant = |tid: &str| {
            make_for_tests(
                &json!({"iss":"https://login.microsoftonline.com/t1/v2.0","tid":tid,"sub":"u","aud":"cid","exp":2000}),
            )
        };
        assert_eq!(
            verify(&tenant("t1"), &entra, now)
                .unwrap()
                .tenant
                .as_deref(),
            Some("t1"),
            "the tenant is reported for the allow-list"
        );
        assert_eq!(verify(&tenant("t2"), &entra, now).unwrap_err().claim, "iss");
        let google = Expectations {
            issuer: "https://accounts.google.com",
            issuer_match: IssuerMatch::GoogleBare,
            ..expect(NonceRule::Any, None)
        };
        let bare =
            make_for_tests(&json!({"iss":"accounts.google.com","sub":"u","aud":"cid","exp":2000}));
        assert!(verify(&bare, &google, now).is_ok());
    }

    /// Dex's cross-client scope: `aud` is the gateway and `azp` this client.
    #[test]
    fn a_token_issued_on_our_behalf_names_us_in_azp() {
        let now = UnixTime::from_secs(1000);
        let token = make_for_tests(
            &json!({"iss":"https://idp","sub":"u","aud":"llm-gateway","azp":"cid","exp":2000}),
        );
        assert_eq!(
            verify(&token, &expect(NonceRule::Any, None), now)
                .unwrap_err()
                .claim,
            "aud"
        );
        let dex = Expectations {
            on_behalf_of: Some("llm-gateway"),
            ..expect(NonceRule::Any, None)
        };
        assert!(verify(&token, &dex, now).is_ok());
        let stranger = make_for_tests(
            &json!({"iss":"https://idp","sub":"u","aud":"llm-gateway","azp":"other","exp":2000}),
        );
        assert_eq!(verify(&stranger, &dex, now).unwrap_err().claim, "aud");
    }
}

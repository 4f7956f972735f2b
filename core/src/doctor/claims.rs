//! The few claims of an access token that `doctor` may show: `iss`, `aud`, `exp` and the
//! scopes. Everything else in the token (the user, e-mail, groups, …) is never read, so
//! it cannot be shown.

use serde_json::Value;

use crate::oauth::clean;
use crate::secret::AccessToken;
use crate::time::UnixTime;
use crate::token::jwt_claims;

/// Longest claim value shown (a URL or an id; anything longer is cut).
const MAX_VALUE_CHARS: usize = 200;
/// Most audiences or scopes shown.
const MAX_VALUES: usize = 20;

/// The showable claims of a JWT access token, read without verifying its signature (the
/// gateway verifies it; `doctor` only explains what the gateway will see).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TokenClaims {
    /// `iss`.
    pub iss: Option<String>,
    /// `aud`, as a list (RFC 7519 §4.1.3 allows a string or an array).
    pub aud: Vec<String>,
    /// `exp`.
    pub exp: Option<UnixTime>,
    /// `scope` (RFC 8693 §4.2, space-separated) or `scp` (an array, as Entra and Okta
    /// write it).
    pub scopes: Vec<String>,
}

impl TokenClaims {
    /// The claims of `token`; `None` when it is opaque (not a JWT with a JSON payload).
    pub fn read(token: &AccessToken) -> Option<Self> {
        let claims = jwt_claims(token)?;
        if !claims.is_object() {
            return None;
        }
        let text = |value: &Value| value.as_str().map(|s| clean(s, MAX_VALUE_CHARS));
        let list = |value: Option<&Value>| -> Vec<String> {
            match value {
                Some(Value::String(one)) => one
                    .split_whitespace()
                    .map(|s| clean(s, MAX_VALUE_CHARS))
                    .collect(),
                Some(Value::Array(many)) => many.iter().filter_map(text).collect(),
                Some(_) | None => Vec::new(),
            }
            .into_iter()
            .filter(|s| !s.is_empty())
            .take(MAX_VALUES)
            .collect()
        };
        let aud = match claims.get("aud") {
            // One audience is one value, even with spaces in it.
            Some(Value::String(one)) => vec![clean(one, MAX_VALUE_CHARS)],
            other => list(other),
        };
        Some(Self {
            iss: claims.get("iss").and_then(text),
            aud,
            exp: claims
                .get("exp")
                .and_then(Value::as_u64)
                .map(UnixTime::from_secs),
            scopes: list(claims.get("scope").or_else(|| claims.get("scp"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;

    fn jwt(claims: &Value) -> AccessToken {
        let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        AccessToken::new(format!(
            "{}.{}.sig",
            part(&json!({"alg": "ES256"})),
            part(claims)
        ))
    }

    #[test]
    fn reads_only_the_showable_claims() {
        let token = jwt(&json!({
            "iss": "https://idp.example",
            "aud": ["gw", "account"],
            "exp": 1_800_000_000u64,
            "scope": "openid  models:read",
            "sub": "CANARY-user",
            "email": "CANARY@example.com",
        }));
        let claims = TokenClaims::read(&token).unwrap();
        assert_eq!(
            claims,
            TokenClaims {
                iss: Some("https://idp.example".into()),
                aud: vec!["gw".into(), "account".into()],
                exp: Some(UnixTime::from_secs(1_800_000_000)),
                scopes: vec!["openid".into(), "models:read".into()],
            }
        );
        assert!(!format!("{claims:?}").contains("CANARY"));
    }

    #[test]
    fn audience_strings_scp_arrays_and_opaque_tokens() {
        let claims =
            TokenClaims::read(&jwt(&json!({"aud": "api://my gw", "scp": ["a", "b"]}))).unwrap();
        assert_eq!(claims.aud, ["api://my gw"]);
        assert_eq!(claims.scopes, ["a", "b"]);
        assert_eq!(claims.iss, None);
        assert_eq!(TokenClaims::read(&AccessToken::new("opaque-token")), None);
        assert_eq!(
            TokenClaims::read(&AccessToken::new("a.bm90IGpzb24.c")),
            None
        );
        assert_eq!(TokenClaims::read(&jwt(&json!([1, 2]))), None);
        let control = TokenClaims::read(&jwt(&json!({"iss": "x\u{1b}[31my"}))).unwrap();
        assert_eq!(control.iss.as_deref(), Some("xy"));
    }
}

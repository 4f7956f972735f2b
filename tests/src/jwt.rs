//! Compact JWS (JWT) signing and verification with ring: ES256 and RS256.
//!
//! The test IdP signs with ES256 by default (a fresh P-256 key per IdP) and with RS256 on
//! request, because most real IdPs (Keycloak, Okta, Entra ID, panva oidc-provider's
//! defaults) sign with RS256 and the gateway stand-in must verify both. ring cannot
//! generate RSA keys, so the RS256 key is a fixed 2048-bit test key generated once with
//! `openssl genpkey` (`jwt/rsa_test_key.pk8.der`; it protects nothing).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use serde_json::{Value, json};

/// The fixed RSA test key (PKCS#8 DER).
const RSA_TEST_KEY_PKCS8: &[u8] = include_bytes!("jwt/rsa_test_key.pk8.der");

/// A JWS algorithm the test servers support.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SigningAlg {
    /// ECDSA P-256 with SHA-256.
    #[default]
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
}

impl SigningAlg {
    /// The JOSE name (`ES256`, `RS256`).
    pub fn name(self) -> &'static str {
        match self {
            SigningAlg::Es256 => "ES256",
            SigningAlg::Rs256 => "RS256",
        }
    }
}

/// Why signing or verifying failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwtError {
    /// Key generation or loading failed.
    Key(String),
    /// The signing primitive failed.
    Sign,
    /// Not three base64url parts with JSON header and payload.
    Malformed(&'static str),
    /// The header names an algorithm we do not verify (including `none`).
    UnsupportedAlg(String),
    /// No key in the set matches the header's `kid` and algorithm.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtError::Key(why) => write!(f, "signing key unusable: {why}"),
            JwtError::Sign => f.write_str("signing failed"),
            JwtError::Malformed(why) => write!(f, "malformed JWT: {why}"),
            JwtError::UnsupportedAlg(alg) => write!(f, "unsupported JWT alg {alg:?}"),
            JwtError::UnknownKey => f.write_str("no matching key in the JWKS"),
            JwtError::BadSignature => f.write_str("bad JWT signature"),
        }
    }
}

impl std::error::Error for JwtError {}

enum PrivateKey {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A private signing key with its key id.
pub struct SigningKey {
    alg: SigningAlg,
    kid: String,
    key: PrivateKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh P-256 key for ES256, or the fixed test key for RS256.
    pub fn generate(alg: SigningAlg) -> Result<SigningKey, JwtError> {
        let rng = SystemRandom::new();
        let key = match alg {
            SigningAlg::Es256 => {
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| JwtError::Key("P-256 generation failed".into()))?;
                let pair = EcdsaKeyPair::from_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    pkcs8.as_ref(),
                    &rng,
                )
                .map_err(|e| JwtError::Key(e.to_string()))?;
                PrivateKey::Ec(pair)
            }
            SigningAlg::Rs256 => PrivateKey::Rsa(
                RsaKeyPair::from_pkcs8(RSA_TEST_KEY_PKCS8)
                    .map_err(|e| JwtError::Key(e.to_string()))?,
            ),
        };
        let mut signing = SigningKey {
            alg,
            kid: String::new(),
            key,
            rng,
        };
        signing.kid = thumbprint(&signing.public_jwk());
        Ok(signing)
    }

    /// The algorithm.
    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (with `kid`, `alg` and `use` when the kid is known).
    pub fn public_jwk(&self) -> Value {
        let mut jwk = match &self.key {
            PrivateKey::Ec(pair) => {
                // Uncompressed SEC1 point: 0x04 || X (32 bytes) || Y (32 bytes).
                let coordinates = pair.public_key().as_ref().get(1..).unwrap_or_default();
                let (x, y) = coordinates.split_at(coordinates.len() / 2);
                json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)})
            }
            PrivateKey::Rsa(pair) => {
                let parts: RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
                json!({"kty": "RSA", "n": b64(&parts.n), "e": b64(&parts.e)})
            }
        };
        if !self.kid.is_empty() {
            jwk["kid"] = json!(self.kid);
            jwk["alg"] = json!(self.alg.name());
            jwk["use"] = json!("sig");
        }
        jwk
    }

    /// Signs `claims` into a compact JWS with header `{alg, kid, typ}`.
    pub fn sign(&self, typ: &str, claims: &Value) -> Result<String, JwtError> {
        let header = json!({"alg": self.alg.name(), "kid": self.kid, "typ": typ});
        let signing_input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = match &self.key {
            PrivateKey::Ec(pair) => pair
                .sign(&self.rng, signing_input.as_bytes())
                .map_err(|_| JwtError::Sign)?
                .as_ref()
                .to_vec(),
            PrivateKey::Rsa(pair) => {
                let mut out = vec![0u8; pair.public().modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &self.rng,
                    signing_input.as_bytes(),
                    &mut out,
                )
                .map_err(|_| JwtError::Sign)?;
                out
            }
        };
        Ok(format!("{signing_input}.{}", b64(&signature)))
    }
}

/// A JWK Set document (`{"keys": [...]}`) for these keys.
pub fn jwks_document(keys: &[&SigningKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>()})
}

/// A public key usable for verification.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PublicKey {
    /// Uncompressed P-256 point.
    Ec(Vec<u8>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct PublicJwk {
    kid: Option<String>,
    key: PublicKey,
}

/// Verification keys parsed from a JWK Set; unsupported keys are skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Jwks {
    keys: Vec<PublicJwk>,
}

impl Jwks {
    /// Parses a JWK Set document, keeping EC P-256 and RSA signing keys.
    pub fn from_document(document: &Value) -> Jwks {
        let keys = document
            .get("keys")
            .and_then(Value::as_array)
            .map(|keys| keys.iter().filter_map(parse_jwk).collect())
            .unwrap_or_default();
        Jwks { keys }
    }

    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a key with this id is present.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Verifies the signature and returns the claims. Claims are *not* checked here.
    pub fn verify(&self, token: &str) -> Result<Value, JwtError> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header_b64, claims_b64, signature_b64] = parts.as_slice() else {
            return Err(JwtError::Malformed("not three parts"));
        };
        let (header, claims) = decode_unverified(token)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| JwtError::Malformed("signature is not base64url"))?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        let kid = header.get("kid").and_then(Value::as_str);
        let signing_input = format!("{header_b64}.{claims_b64}");
        let wants_ec = match alg {
            "ES256" => true,
            "RS256" => false,
            other => return Err(JwtError::UnsupportedAlg(other.to_string())),
        };
        let candidates = self.keys.iter().filter(|k| {
            matches!(k.key, PublicKey::Ec(_)) == wants_ec
                && (kid.is_none() || k.kid.as_deref() == kid)
        });
        let mut tried = false;
        for candidate in candidates {
            tried = true;
            let verified = match &candidate.key {
                PublicKey::Ec(point) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                    .verify(signing_input.as_bytes(), &signature),
                PublicKey::Rsa { n, e } => RsaPublicKeyComponents { n, e }.verify(
                    &RSA_PKCS1_2048_8192_SHA256,
                    signing_input.as_bytes(),
                    &signature,
                ),
            };
            if verified.is_ok() {
                return Ok(claims);
            }
        }
        if tried {
            Err(JwtError::BadSignature)
        } else {
            Err(JwtError::UnknownKey)
        }
    }
}

/// Decodes header and claims without verifying anything (for assertions in tests).
pub fn decode_unverified(token: &str) -> Result<(Value, Value), JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("not three parts"));
    };
    Ok((decode_json(header)?, decode_json(claims)?))
}

fn decode_json(part: &str) -> Result<Value, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed("part is not base64url"))?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed("part is not JSON"))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(JwtError::Malformed("part is not a JSON object"))
    }
}

fn parse_jwk(jwk: &Value) -> Option<PublicJwk> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    if field("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let key = match field("kty")? {
        "EC" if field("crv") == Some("P-256") => {
            let x = URL_SAFE_NO_PAD.decode(field("x")?).ok()?;
            let y = URL_SAFE_NO_PAD.decode(field("y")?).ok()?;
            let mut point = vec![0x04];
            point.extend(x);
            point.extend(y);
            PublicKey::Ec(point)
        }
        "RSA" => PublicKey::Rsa {
            n: strip_leading_zeros(URL_SAFE_NO_PAD.decode(field("n")?).ok()?),
            e: strip_leading_zeros(URL_SAFE_NO_PAD.decode(field("e")?).ok()?),
        },
        _ => return None,
    };
    Some(PublicJwk {
        kid: field("kid").map(str::to_string),
        key,
    })
}

/// ring wants RSA components without leading zero bytes; some JWKS encoders keep one.
fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros.min(bytes.len().saturating_sub(1)));
    bytes
}

/// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order.
fn thumbprint(jwk: &Value) -> String {
    let s = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let canonical = match jwk.get("kty").and_then(Value::as_str) {
        Some("EC") => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            s("crv"),
            s("x"),
            s("y")
        ),
        _ => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e"), s("n")),
    };
    b64(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
}

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn both_algorithms_round_trip_and_detect_tampering() {
        for alg in [SigningAlg::Es256, SigningAlg::Rs256] {
            let key = SigningKey::generate(alg).unwrap();
            let jwks = Jwks::from_document(&jwks_document(&[&key]));
            assert_eq!(jwks.len(), 1);
            assert!(jwks.has_kid(key.kid()));
            let token = key.sign("JWT", &json!({"sub": "u", "n": 1})).unwrap();
            let claims = jwks.verify(&token).unwrap();
            assert_eq!(claims["sub"], "u");

            let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
            parts[1] = b64(br#"{"sub":"admin","n":1}"#);
            assert_eq!(jwks.verify(&parts.join(".")), Err(JwtError::BadSignature));
        }
    }

    #[test]
    fn wrong_key_and_bad_input_are_errors() {
        let a = SigningKey::generate(SigningAlg::Es256).unwrap();
        let b = SigningKey::generate(SigningAlg::Es256).unwrap();
        let token = a.sign("JWT", &json!({"sub": "u"})).unwrap();
        let only_b = Jwks::from_document(&jwks_document(&[&b]));
        assert_eq!(only_b.verify(&token), Err(JwtError::UnknownKey));
        assert!(matches!(only_b.verify("a.b"), Err(JwtError::Malformed(_))));
        assert!(matches!(
            only_b.verify("!!.??.##"),
            Err(JwtError::Malformed(_))
        ));
        let none = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(br#"{"sub":"u"}"#));
        assert_eq!(
            only_b.verify(&none),
            Err(JwtError::UnsupportedAlg("none".into()))
        );
    }
}

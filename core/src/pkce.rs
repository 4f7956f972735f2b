//! The per-login random values — PKCE verifier (RFC 7636), `state` and `nonce` — derived
//! deterministically from driver-supplied [`Entropy`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::secret::{Entropy, PkceVerifier};

/// The values one authorization request needs.
pub struct LoginSecrets {
    /// The PKCE code verifier: 43 base64url characters (256 bits, RFC 7636 §4.1).
    pub verifier: PkceVerifier,
    /// The `state` value binding the redirect to this login (CSRF protection).
    pub state: String,
    /// The `nonce` binding the ID token to this login (OIDC Core §3.1.2.1).
    pub nonce: String,
}

impl LoginSecrets {
    /// Derives the values from 64 random bytes: 32 for the verifier, 16 each for `state`
    /// and `nonce`.
    pub fn derive(entropy: &Entropy) -> Self {
        let bytes = entropy.bytes();
        Self {
            verifier: PkceVerifier::new(URL_SAFE_NO_PAD.encode(&bytes[..32])),
            state: URL_SAFE_NO_PAD.encode(&bytes[32..48]),
            nonce: URL_SAFE_NO_PAD.encode(&bytes[48..64]),
        }
    }
}

/// The S256 code challenge of a verifier (RFC 7636 §4.2).
pub fn challenge(verifier: &PkceVerifier) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose_secret().as_bytes()))
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let verifier = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            challenge(&verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn derived_values_have_the_right_shape() {
        let secrets = LoginSecrets::derive(&Entropy::new([7; 64]));
        assert_eq!(secrets.verifier.expose_secret().len(), 43);
        assert_eq!(secrets.state.len(), 22);
        assert_eq!(secrets.nonce.len(), 22);
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}

//! Redacted newtypes for every secret that passes through llmauth (SPEC §8).
//!
//! None of them implements `Display`, `Serialize` or a revealing `Debug`: the only way to
//! the value is an explicit `expose_secret()`, which is easy to find in review. Values are
//! wiped from memory when dropped.

use core::fmt;

use zeroize::Zeroize;

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident $(, $derive:ident)*) => {
        $(#[$doc])*
        #[derive($($derive),*)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// Reveals the secret.
            ///
            /// # Security
            /// The returned value must only reach its intended destination (an HTTP request,
            /// the secret store, or the stdout of `llmauth token`) — never a log or a message.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                self.0.zeroize();
            }
        }
    };
}

secret_string!(
    /// An OAuth access token: the bearer credential the gateway accepts.
    AccessToken, Clone, PartialEq, Eq
);
secret_string!(
    /// An OAuth refresh token: the long-lived credential that keeps a session alive.
    RefreshToken, Clone, PartialEq, Eq
);
secret_string!(
    /// An OpenID Connect ID token (a JWT; itself a bearer credential for some services).
    IdToken, Clone, PartialEq, Eq
);
secret_string!(
    /// An OAuth client secret (Google's desktop clients need one even with PKCE): stored
    /// like the refresh token, sent only to the token endpoint of the issuer it was
    /// stored for, never written to `config.yaml` or printed.
    ClientSecret
);
secret_string!(
    /// A one-time authorization code from the redirect.
    AuthorizationCode
);
secret_string!(
    /// The PKCE code verifier (RFC 7636). Deliberately not `Clone`: it is sent exactly once.
    PkceVerifier
);
secret_string!(
    /// An RFC 8628 device code, used to poll the token endpoint.
    DeviceCode
);
secret_string!(
    /// A URL or request target that may carry an authorization code in its query.
    SecretUrl
);
secret_string!(
    /// The proxy's per-install local key (SPEC §9): what proxy-mode tools send as their
    /// "API key". Generated, parsed and compared by the rules in
    /// [`broker::local_key`](crate::broker::local_key).
    LocalKey, Clone, PartialEq, Eq
);
secret_string!(
    /// The password of an HTTP proxy named in the environment
    /// (`http://user:password@proxy:3128`).
    ProxyPassword, PartialEq, Eq
);
secret_string!(
    /// A `Proxy-Authorization: Basic …` value: the proxy's credentials, base64-encoded
    /// but not hidden.
    ProxyAuthorization
);

/// Opaque secret bytes: serialized session records and raw HTTP bodies, which may hold
/// tokens.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// Reveals the bytes.
    ///
    /// # Security
    /// Only for writing to their destination or parsing; never for logging.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes; safe to log.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([redacted; {} bytes])", self.0.len())
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Fresh random bytes from the driver, from which core derives the PKCE verifier, `state`
/// and `nonce` deterministically (so tests and fuzzers can fix them).
pub struct Entropy([u8; 64]);

impl Entropy {
    /// Wraps 64 random bytes read by the driver from the OS.
    pub const fn new(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl fmt::Debug for Entropy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Entropy([redacted])")
    }
}

impl Drop for Entropy {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Whether printing `token` is safe for the tools that read it: printable ASCII with no
/// whitespace (Claude Code rejects anything else).
pub fn is_printable_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let token = AccessToken::new("CANARY-secret");
        assert_eq!(format!("{token:?}"), "AccessToken([redacted])");
        let bytes = SecretBytes::new(b"CANARY".to_vec());
        assert!(!format!("{bytes:?}").contains("CANARY"));
    }

    #[test]
    fn printable_tokens() {
        assert!(is_printable_token("eyJhbGciOi.abc-_~"));
        assert!(!is_printable_token(""));
        assert!(!is_printable_token("a b"));
        assert!(!is_printable_token("a\n"));
        assert!(!is_printable_token("é"));
    }
}

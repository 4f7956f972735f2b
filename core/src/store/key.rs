//! Which stored session belongs to a configuration (SPEC §4), and the discovery cache key.
//!
//! The key is derived from a configuration in one place,
//! [`Config::session_key`](crate::config::Config::session_key); flows are handed it in
//! [`FlowSettings`](crate::flow::FlowSettings).

use core::fmt;

use sha2::{Digest, Sha256};

/// Identifies one session: the first 16 hex digits of
/// `sha256(gateway_url \0 issuer \0 client_id \0 audience)`, from the config strings
/// exactly as written, so a token for one gateway is never sent to another.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionKey(String);

impl SessionKey {
    /// Derives the key of the session for these four settings.
    pub fn derive(gateway_url: &str, issuer: &str, client_id: &str, audience: &str) -> Self {
        let mut hasher = Sha256::new();
        for (i, part) in [gateway_url, issuer, client_id, audience]
            .iter()
            .enumerate()
        {
            if i > 0 {
                hasher.update([0u8]);
            }
            hasher.update(part.as_bytes());
        }
        Self(hex_prefix(&hasher.finalize(), 8))
    }

    /// The 16 hex digits, used in file names and as the keychain account.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key written out before ([`as_str`](Self::as_str)), checked: 16 lowercase hex
    /// digits, or `None`.
    pub fn from_hex(text: &str) -> Option<Self> {
        let well_formed =
            text.len() == 16 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        well_formed.then(|| Self(text.to_owned()))
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({})", self.0)
    }
}

/// Identifies a client's stored secret: the first 16 hex digits of
/// `sha256(issuer \0 client_id)`, so a secret is only ever sent to the issuer and for the
/// client it was stored for.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientKey(String);

impl ClientKey {
    /// Derives the key of the secret of `client_id` at `issuer`.
    pub fn derive(issuer: &str, client_id: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(issuer.as_bytes());
        hasher.update([0u8]);
        hasher.update(client_id.as_bytes());
        Self(hex_prefix(&hasher.finalize(), 8))
    }

    /// The 16 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The keychain account holding the secret: `client-secret:<key>`.
    pub fn keychain_account(&self) -> String {
        format!("client-secret:{}", self.0)
    }
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientKey({})", self.0)
    }
}

/// The cache key of an issuer's discovery document: 16 hex digits of `sha256(issuer)`.
pub fn discovery_key(issuer: &str) -> String {
    hex_prefix(&Sha256::digest(issuer.as_bytes()), 8)
}

/// The first `bytes` bytes of `digest`, as lowercase hex.
pub(crate) fn hex_prefix(digest: &[u8], bytes: usize) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    digest
        .iter()
        .take(bytes)
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]])
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_key_matches_an_independent_sha256() {
        // python3: hashlib.sha256(b"https://gw\0https://idp\0cid\0").hexdigest()[:16]
        let key = SessionKey::derive("https://gw", "https://idp", "cid", "");
        assert_eq!(key.as_str(), "5aa4b7c2d92cc14d");
        assert_eq!(SessionKey::from_hex(key.as_str()), Some(key));
        for bad in [
            "",
            "5aa4b7c2d92cc14",
            "5AA4B7C2D92CC14D",
            "5aa4b7c2d92cc14g",
            "../../etc/passwd",
        ] {
            assert_eq!(SessionKey::from_hex(bad), None, "{bad}");
        }
    }

    // Vectors computed independently with Python:
    // hashlib.sha256('\0'.join(parts).encode()).hexdigest()[:16]
    #[test]
    fn matches_independent_vectors() {
        let cases = [
            (
                [
                    "https://llm.example.com",
                    "https://auth.example.com",
                    "my-client-id",
                    "",
                ],
                "4c1f4a6519eade80",
            ),
            (
                [
                    "https://llm.example.com",
                    "https://auth.example.com",
                    "my-client-id",
                    "https://llm.example.com",
                ],
                "ea99fd745cf63420",
            ),
            (
                [
                    "https://gw.example.com/",
                    "http://localhost:8080/realms/x",
                    "0123",
                    "",
                ],
                "058d06c84a8e1a70",
            ),
        ];
        for ([gateway, issuer, client, audience], expected) in cases {
            let key = SessionKey::derive(gateway, issuer, client, audience);
            assert_eq!(key.as_str(), expected);
            assert_eq!(key.to_string(), expected);
        }
    }

    #[test]
    fn client_key_matches_an_independent_sha256() {
        // python3: hashlib.sha256(b"https://accounts.google.com\0cid").hexdigest()[:16]
        let key = ClientKey::derive("https://accounts.google.com", "cid");
        assert_eq!(key.as_str(), "baae7faec6e0fd17");
        assert_eq!(key.keychain_account(), "client-secret:baae7faec6e0fd17");
        assert_ne!(ClientKey::derive("ab", "c"), ClientKey::derive("a", "bc"));
    }

    #[test]
    fn separators_keep_fields_apart() {
        assert_ne!(
            SessionKey::derive("ab", "c", "d", ""),
            SessionKey::derive("a", "bc", "d", "")
        );
        // A trailing slash is a different gateway: strings are hashed exactly as written.
        assert_ne!(
            SessionKey::derive("https://gw", "https://i", "c", ""),
            SessionKey::derive("https://gw/", "https://i", "c", "")
        );
    }
}

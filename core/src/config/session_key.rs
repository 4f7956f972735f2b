//! The session key of SPEC §4: which stored session belongs to this configuration.

use std::fmt;

use sha2::{Digest, Sha256};

use super::model::Config;

/// First 16 hex characters of sha256(gateway_url \0 issuer \0 client_id \0 audience), from
/// the strings exactly as written (audience `""` when unset).
///
/// Changing any of the four selects a different session, so a token obtained for one
/// gateway is never sent to another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionKey(String);

impl SessionKey {
    /// The key for these four strings.
    pub fn new(gateway_url: &str, issuer: &str, client_id: &str, audience: &str) -> Self {
        let mut hasher = Sha256::new();
        for (index, part) in [gateway_url, issuer, client_id, audience]
            .iter()
            .enumerate()
        {
            if index > 0 {
                hasher.update([0u8]);
            }
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        let mut hex = String::with_capacity(16);
        for byte in digest.iter().take(8) {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        Self(hex)
    }

    /// The 16 lowercase hex characters (used in file names and keychain accounts).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Config {
    /// The key of the session this configuration uses (SPEC §4).
    pub fn session_key(&self) -> SessionKey {
        SessionKey::new(
            &self.gateway_url,
            &self.issuer,
            &self.client_id,
            &self.audience,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let key = SessionKey::new(gateway, issuer, client, audience);
            assert_eq!(key.as_str(), expected);
            assert_eq!(key.to_string(), expected);
        }
    }

    #[test]
    fn separators_keep_fields_apart() {
        assert_ne!(
            SessionKey::new("ab", "c", "d", ""),
            SessionKey::new("a", "bc", "d", "")
        );
        // A trailing slash is a different gateway: strings are hashed exactly as written.
        assert_ne!(
            SessionKey::new("https://gw", "https://i", "c", ""),
            SessionKey::new("https://gw/", "https://i", "c", "")
        );
    }
}

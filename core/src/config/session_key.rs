//! The session key of SPEC §4: which stored session belongs to this configuration.

use super::model::Config;
pub use crate::store::SessionKey;

impl Config {
    /// The key of the session this configuration uses (SPEC §4).
    pub fn session_key(&self) -> SessionKey {
        SessionKey::derive(
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
            let key = SessionKey::derive(gateway, issuer, client, audience);
            assert_eq!(key.as_str(), expected);
            assert_eq!(key.to_string(), expected);
        }
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

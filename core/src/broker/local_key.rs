//! The rules of the per-install local key (SPEC §9), what proxy-mode tools send as their
//! "API key" so that other local processes and web pages cannot use the proxy: 32 random
//! bytes, base64url without padding (43 characters), compared in constant time. The
//! redacted type itself is [`LocalKey`], with the other secrets.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;

use crate::secret::LocalKey;

/// The content of `proxy.key` is not a usable key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the proxy key file does not hold a key (expected 43 base64url characters)")]
pub struct InvalidLocalKey;

impl LocalKey {
    /// Encodes 32 bytes from the OS random source.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self::new(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Parses the content of `proxy.key` (surrounding whitespace ignored).
    ///
    /// # Errors
    /// [`InvalidLocalKey`] unless it is 32 bytes in base64url.
    pub fn parse(text: &[u8]) -> Result<Self, InvalidLocalKey> {
        let text = core::str::from_utf8(text)
            .map_err(|_| InvalidLocalKey)?
            .trim();
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidLocalKey)?;
        if bytes.len() != 32 {
            return Err(InvalidLocalKey);
        }
        Ok(Self::new(text))
    }

    /// Whether `presented` is this key. Constant time in the content, so timing does not
    /// reveal how much of a guess was right.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let expected = self.expose_secret().as_bytes();
        presented.len() == expected.len() && bool::from(presented.ct_eq(expected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_matching() {
        let key = LocalKey::from_random([7u8; 32]);
        assert_eq!(key.expose_secret().len(), 43);
        let parsed = LocalKey::parse(format!("{}\n", key.expose_secret()).as_bytes()).unwrap();
        assert_eq!(parsed, key);
        assert!(key.matches(key.expose_secret().as_bytes()));
        assert!(!key.matches(b"nope"));
        let mut wrong = key.expose_secret().as_bytes().to_vec();
        wrong[42] ^= 1;
        assert!(!key.matches(&wrong));
        assert_eq!(format!("{key:?}"), "LocalKey([redacted])");
    }

    #[test]
    fn rejects_what_is_not_a_key() {
        assert_eq!(LocalKey::parse(b""), Err(InvalidLocalKey));
        assert_eq!(LocalKey::parse(b"short"), Err(InvalidLocalKey));
        assert_eq!(LocalKey::parse(&[0xff, 0xfe]), Err(InvalidLocalKey));
        let padded = format!("{}=", LocalKey::from_random([1; 32]).expose_secret());
        assert_eq!(LocalKey::parse(padded.as_bytes()), Err(InvalidLocalKey));
    }
}

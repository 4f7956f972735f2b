//! Reading PEM certificate bundles (`tls.ca_file`, `SSL_CERT_FILE`): the one reader
//! behind config validation, the IdP client and the proxy's gateway client, so a file
//! `config set` accepts is a file both transports can use.
//!
//! Core has no files: the runtime reads the bytes and hands them in. The PEM syntax
//! itself is rustls-pki-types' decoder (the one rustls uses); this module adds what
//! makes a bundle usable as trust roots — at least one certificate, each a DER
//! structure — and one-line messages that say where the problem is.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::{self, PemObject as _, SectionKind};

/// Why a PEM bundle cannot serve as trust roots. Messages are lowercase, without a
/// trailing period, and never quote the file's content.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PemError {
    /// No `CERTIFICATE` block at all (often a DER file given as PEM).
    #[error(
        "holds no PEM certificate (a -----BEGIN CERTIFICATE----- block); a DER file must be converted to PEM"
    )]
    NoCertificate,
    /// A block cannot be decoded.
    #[error("{} {problem}", Position(*.after))]
    Malformed {
        /// How many certificates were read before the broken block.
        after: usize,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A `CERTIFICATE` block does not hold a DER certificate.
    #[error("certificate {number} is not a DER certificate")]
    NotDer {
        /// Its number, from 1.
        number: usize,
    },
}

/// The certificates of a PEM bundle, in order. Other blocks (keys, parameters, CRLs)
/// are skipped, but must still be well-formed PEM.
///
/// # Errors
/// [`PemError`] for the first problem found, or when there is no certificate.
pub fn certificates(bundle: &[u8]) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let mut certificates = Vec::new();
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(bundle) {
        let (kind, der) = section.map_err(|error| PemError::Malformed {
            after: certificates.len(),
            problem: describe(&error),
        })?;
        if kind != SectionKind::Certificate {
            continue;
        }
        // A DER certificate is a SEQUENCE (X.690 §8.9; tag 0x30).
        if der.first() != Some(&0x30) {
            return Err(PemError::NotDer {
                number: certificates.len() + 1,
            });
        }
        certificates.push(CertificateDer::from(der));
    }
    if certificates.is_empty() {
        return Err(PemError::NoCertificate);
    }
    Ok(certificates)
}

// The enum is non-exhaustive, and its `Io` variant exists only with pki-types' `std`
// feature, so it cannot be named here.
#[allow(clippy::wildcard_enum_match_arm)]
fn describe(error: &pem::Error) -> &'static str {
    match error {
        pem::Error::MissingSectionEnd { .. } => "has no -----END line",
        pem::Error::IllegalSectionStart { .. } => "has a malformed -----BEGIN line",
        pem::Error::Base64Decode(_) => "is not valid base64",
        pem::Error::SectionTooLarge => "is too large",
        // Not produced when reading from a byte slice (I/O, no items of a type).
        _ => "cannot be read",
    }
}

/// "the first PEM block" / "the PEM block after certificate 2".
struct Position(usize);

impl core::fmt::Display for Position {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            0 => f.write_str("the first PEM block"),
            n => write!(f, "the PEM block after certificate {n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    /// The start of a DER certificate (a SEQUENCE: 0x30 0x82 …), enough for the checks
    /// here.
    const CERT_BODY: &str = "MIIBdzCCAR2gAwIBAgIUJ2QpQ4Y8n0V3eQ==";

    fn pem(body: &str) -> String {
        format!("{BEGIN}\n{body}\n{END}\n")
    }

    fn message(bundle: &str) -> String {
        certificates(bundle.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn reads_certificates_and_skips_other_blocks() {
        let one = pem(CERT_BODY);
        let read = certificates(one.as_bytes()).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].as_ref()[..2], [0x30, 0x82]);
        let two = format!(
            "subject=CN x\r\n{}-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n-----BEGIN UNKNOWN NOTE-----\nnot even base64!\n-----END UNKNOWN NOTE-----\n{}",
            one.replace('\n', "\r\n"),
            pem(CERT_BODY)
        );
        assert_eq!(certificates(two.as_bytes()).unwrap().len(), 2);
    }

    #[test]
    fn says_what_is_wrong_and_where() {
        let table = [
            ("", PemError::NoCertificate.to_string()),
            (
                "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
                PemError::NoCertificate.to_string(),
            ),
            (
                &pem("not base64!"),
                "the first PEM block is not valid base64".to_owned(),
            ),
            (
                &pem("aGVsbG8="),
                "certificate 1 is not a DER certificate".to_owned(),
            ),
            (
                &format!("{}{BEGIN}\n{CERT_BODY}\n", pem(CERT_BODY)),
                "the PEM block after certificate 1 has no -----END line".to_owned(),
            ),
            (
                &format!(
                    "{}-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n",
                    pem(CERT_BODY)
                ),
                "the PEM block after certificate 1 is not valid base64".to_owned(),
            ),
            (
                "-----BEGIN CERTIFICATE----\nMIIB\n-----END CERTIFICATE-----\n",
                "the first PEM block has a malformed -----BEGIN line".to_owned(),
            ),
        ];
        for (bundle, expected) in table {
            assert_eq!(message(bundle), expected, "{bundle:?}");
        }
        assert!(message("").contains("no PEM certificate"));
        let der = [0x30, 0x82, 0x01, 0xff];
        assert!(
            certificates(&der)
                .unwrap_err()
                .to_string()
                .contains("DER file must be converted")
        );
    }
}

//! Checking the contents of `tls.ca_file`, which the runtime reads (core does no I/O).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// Counts the PEM `CERTIFICATE` blocks in the contents of a CA file: there must be at least
/// one, and each must hold base64 that decodes to a DER structure.
///
/// Other PEM blocks (keys, parameters) are ignored. The runtime reports a failure as
/// `FieldError::new(field::TLS_CA_FILE, problem)`, merged with the other field errors.
///
/// # Errors
///
/// What is wrong with the contents, lowercase, without trailing period.
pub fn check_ca_pem(contents: &[u8]) -> Result<usize, String> {
    let text = String::from_utf8_lossy(contents);
    let mut count = 0usize;
    let mut body: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        match (&mut body, line) {
            (None, BEGIN) => body = Some(String::new()),
            (None, _) => {}
            (Some(_), BEGIN) => {
                return Err(format!("certificate {} has no {END} line", count + 1));
            }
            (Some(collected), END) => {
                let decoded = STANDARD
                    .decode(collected.as_bytes())
                    .map_err(|_| format!("certificate {} is not valid base64", count + 1))?;
                // A DER certificate is a SEQUENCE.
                if decoded.first() != Some(&0x30) {
                    return Err(format!(
                        "certificate {} is not a DER certificate",
                        count + 1
                    ));
                }
                count += 1;
                body = None;
            }
            (Some(collected), data) => collected.push_str(data),
        }
    }
    if body.is_some() {
        return Err(format!("certificate {} has no {END} line", count + 1));
    }
    if count == 0 {
        return Err(format!(
            "holds no PEM certificate (a {BEGIN} block); a DER file must be converted to PEM"
        ));
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start of a DER certificate (a SEQUENCE: 0x30 0x82 …), enough for the checks here.
    const CERT_BODY: &str = "MIIBdzCCAR2gAwIBAgIUJ2QpQ4Y8n0V3eQ==";

    fn pem(body: &str) -> String {
        format!("{BEGIN}\n{body}\n{END}\n")
    }

    #[test]
    fn counts_certificates_and_ignores_other_blocks() {
        let one = pem(CERT_BODY);
        assert_eq!(check_ca_pem(one.as_bytes()), Ok(1));
        let two = format!(
            "subject=CN x\r\n{}-----BEGIN PRIVATE KEY-----\nnotbase64!\n-----END PRIVATE KEY-----\n{}",
            one.replace('\n', "\r\n"),
            pem(CERT_BODY)
        );
        assert_eq!(check_ca_pem(two.as_bytes()), Ok(2));
    }

    #[test]
    fn rejects_empty_broken_and_unterminated_files() {
        assert!(check_ca_pem(b"").is_err_and(|e| e.contains("no PEM certificate")));
        assert!(check_ca_pem(&[0x30, 0x82, 0x01, 0xff]).is_err_and(|e| e.contains("DER")));
        assert_eq!(
            check_ca_pem(pem("not base64!").as_bytes()),
            Err("certificate 1 is not valid base64".to_owned())
        );
        assert_eq!(
            check_ca_pem(pem("aGVsbG8=").as_bytes()),
            Err("certificate 1 is not a DER certificate".to_owned())
        );
        let open = format!("{}{BEGIN}\n{CERT_BODY}\n", pem(CERT_BODY));
        assert_eq!(
            check_ca_pem(open.as_bytes()),
            Err(format!("certificate 2 has no {END} line"))
        );
    }
}

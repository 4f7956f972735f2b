//! Reading a CA bundle (`tls.ca_file`, `SSL_CERT_FILE`) for either transport: the file is
//! read here and parsed by core's one PEM reader ([`llmauth_core::pem`]).

use std::path::{Path, PathBuf};

use llmauth_core::pem::{self, PemError};
use rustls_pki_types::CertificateDer;

/// A CA file that cannot be used as trust roots.
#[derive(Debug, thiserror::Error)]
#[error("cannot use the CA file {}: {problem}", path.display())]
pub struct CaFileError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub problem: CaFileProblem,
}

/// Why a CA file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaFileProblem {
    /// It cannot be read.
    #[error(transparent)]
    Read(std::io::Error),
    /// Its content is not a usable PEM bundle.
    #[error(transparent)]
    Pem(PemError),
}

/// The certificates in the PEM file at `path`.
///
/// # Errors
/// [`CaFileError`] when the file cannot be read or holds no usable certificate.
pub fn read(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let fail = |problem| CaFileError {
        path: path.to_owned(),
        problem,
    };
    let bundle = std::fs::read(path).map_err(|e| fail(CaFileProblem::Read(e)))?;
    pem::certificates(&bundle).map_err(|e| fail(CaFileProblem::Pem(e)))
}

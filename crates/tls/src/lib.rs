//! floe's certificate authority: containers reach floe over https at SNOWFLAKE_HOST (port 443), the way
//! Snowflake's connectors connect by default, so floe presents a certificate for that name signed by a
//! CA of its own, which the containers trust (its PEM is mounted into them, and named by the CA-bundle
//! variables; see ARCHITECTURE.md).
//!
//! The CA is created once per data dir (`<data-dir>/tls/ca.pem`, `ca.key` mode 0600) and kept: images
//! built to trust it keep working across restarts. Server certificates are minted at start, in memory.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use tokio_rustls::TlsAcceptor;
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing the CA files.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Generating or loading a key or certificate.
    #[error("certificate: {0}")]
    Cert(#[from] rcgen::Error),
    /// Building the TLS configuration.
    #[error("tls: {0}")]
    Tls(#[from] rustls::Error),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;

/// The CA's subject (the same on every load: trust is by subject and key).
const CA_NAME: &str = "floe local CA";

/// floe's certificate authority.
pub struct Authority {
    ca_pem: String,
    issuer: rcgen::Certificate,
    key: KeyPair,
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_NAME);
    dn.push(DnType::OrganizationName, "floe");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

/// Writes `text` to `path` through a temporary file and a rename, with `mode`.
fn write_atomic(path: &Path, text: &str, mode: u32) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new().create(true).truncate(true).write(true).mode(mode).open(&tmp).map_err(io(&tmp))?;
    f.write_all(text.as_bytes()).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))
}

impl Authority {
    /// Loads the CA kept in `dir`, or creates it there.
    pub fn load_or_create(dir: &Path) -> Result<Authority> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let cert_path = dir.join("ca.pem");
        let key_path = dir.join("ca.key");
        let (key, ca_pem) = match (fs::read_to_string(&key_path), fs::read_to_string(&cert_path)) {
            (Ok(key_pem), Ok(ca_pem)) => (KeyPair::from_pem(&key_pem)?, ca_pem),
            _ => {
                let key = KeyPair::generate()?;
                let ca_pem = ca_params().self_signed(&key)?.pem();
                write_atomic(&key_path, &key.serialize_pem(), 0o600)?;
                write_atomic(&cert_path, &ca_pem, 0o644)?;
                (key, ca_pem)
            }
        };
        // The issuer object that signs server certificates: same subject and key as the kept PEM.
        let issuer = ca_params().self_signed(&key)?;
        Ok(Authority { ca_pem, issuer, key })
    }

    /// The CA certificate, PEM (what clients add to their trusted roots).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A TLS server configuration presenting a certificate for `names` (DNS names or IP addresses),
    /// signed by this CA.
    pub fn server_config(&self, names: &[String]) -> Result<Arc<rustls::ServerConfig>> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(names.to_vec())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, names.first().cloned().unwrap_or_else(|| "floe".into()));
        params.distinguished_name = dn;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        let cert = params.signed_by(&key, &self.issuer, &self.key)?;
        let chain = vec![cert.der().clone(), self.issuer.der().clone()];
        let private = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, private)?;
        Ok(Arc::new(config))
    }

    /// An acceptor for `names` (see `server_config`).
    pub fn acceptor(&self, names: &[String]) -> Result<tokio_rustls::TlsAcceptor> {
        Ok(tokio_rustls::TlsAcceptor::from(self.server_config(names)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_kept_and_signs_server_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let first = Authority::load_or_create(dir.path()).unwrap();
        let again = Authority::load_or_create(dir.path()).unwrap();
        assert_eq!(first.ca_pem(), again.ca_pem(), "the CA survives a restart");
        assert!(first.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        let mode = std::fs::metadata(dir.path().join("ca.key")).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
        again.server_config(&["snowflake.floe.internal".into(), "172.17.0.1".into()]).unwrap();
    }
}

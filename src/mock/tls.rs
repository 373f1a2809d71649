//! The mock camera's HTTPS (and RTSPS) identity: a self-signed certificate generated at start.

use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, ErrorKind, Result};

/// A generated server identity.
#[derive(Clone)]
pub struct TlsIdentity {
    /// rustls server configuration using the certificate.
    pub config: Arc<rustls::ServerConfig>,
    /// SHA-256 of the certificate (DER), as `AB:CD:...` (the form `openssl x509 -fingerprint
    /// -sha256` prints).
    pub fingerprint_sha256: String,
    /// The certificate in PEM, for clients that want to trust it explicitly.
    pub certificate_pem: String,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("fingerprint_sha256", &self.fingerprint_sha256)
            .finish_non_exhaustive()
    }
}

/// Formats a SHA-256 digest of `der` as colon-separated upper-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Generates a self-signed certificate for `names` (host names or IP addresses).
pub fn self_signed(names: &[String]) -> Result<TlsIdentity> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        Error::new(ErrorKind::Io, format!("mock TLS setup: {what}: {e}"))
    };
    let cert = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|e| fail("certificate generation", &e))?;
    let der = cert.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail("protocol versions", &e))?
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .map_err(|e| fail("server certificate", &e))?;
    Ok(TlsIdentity {
        config: Arc::new(config),
        fingerprint_sha256: fingerprint(&der),
        certificate_pem: cert.cert.pem(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn generates_distinct_identities() {
        let a = super::self_signed(&["127.0.0.1".into(), "localhost".into()]).unwrap();
        let b = super::self_signed(&["127.0.0.1".into()]).unwrap();
        assert_eq!(a.fingerprint_sha256.len(), 32 * 3 - 1);
        assert_ne!(a.fingerprint_sha256, b.fingerprint_sha256);
        assert!(a.certificate_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }
}

//! HTTPS trust for cameras: normal verification (the default), a pinned SHA-256 certificate
//! fingerprint (trust on first use), or a loudly named escape hatch that accepts anything.
//!
//! Whatever the policy, the fingerprint of the certificate the camera presented is recorded so
//! that a VMS can show it to the user and pin it.

use std::fmt;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest as _, Sha256};

use crate::{Error, ErrorKind, Result};

/// How the camera's HTTPS certificate is trusted.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// Verify against the platform's trusted roots and the host name (the default).
    #[default]
    Verify,
    /// Accept exactly the certificate with this SHA-256 fingerprint (of its DER bytes), even
    /// self-signed. Use [`crate::onvif::client::OnvifClient::tls_fingerprint_seen`] to learn it.
    PinnedSha256([u8; 32]),
    /// Accept any certificate. The connection is then open to interception; only for a lab.
    DangerAcceptAnyCertificate,
}

impl fmt::Debug for TlsPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsPolicy::Verify => f.write_str("Verify"),
            TlsPolicy::PinnedSha256(fp) => write!(f, "PinnedSha256({})", fingerprint_hex(fp)),
            TlsPolicy::DangerAcceptAnyCertificate => f.write_str("DangerAcceptAnyCertificate"),
        }
    }
}

/// Formats a fingerprint as colon-separated upper-case hex (`AB:CD:...`).
pub fn fingerprint_hex(fp: &[u8; 32]) -> String {
    fp.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses a fingerprint written as hex, with or without `:` or spaces.
pub fn parse_fingerprint(s: &str) -> Result<[u8; 32]> {
    let hex: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let stray = s
        .chars()
        .any(|c| !(c.is_ascii_hexdigit() || c == ':' || c.is_whitespace()));
    let mut out = [0u8; 32];
    if stray || hex.len() != 64 {
        return Err(Error::invalid_input(
            "a SHA-256 fingerprint is 64 hex digits (colons allowed)",
        ));
    }
    for (i, byte) in out.iter_mut().enumerate() {
        let pair = hex.get(i * 2..i * 2 + 2).unwrap_or("00");
        *byte = u8::from_str_radix(pair, 16)
            .map_err(|_| Error::invalid_input("fingerprint is not hex"))?;
    }
    Ok(out)
}

/// SHA-256 of a certificate's DER bytes.
pub fn sha256_fingerprint(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// The certificate verifier behind [`TlsPolicy`].
#[derive(Debug)]
pub(crate) struct CameraVerifier {
    policy: TlsPolicy,
    provider: Arc<CryptoProvider>,
    platform: Option<Arc<dyn ServerCertVerifier>>,
    seen: Arc<Mutex<Option<[u8; 32]>>>,
}

impl ServerCertVerifier for CameraVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp = sha256_fingerprint(end_entity.as_ref());
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(fp);
        }
        match &self.policy {
            TlsPolicy::Verify => match &self.platform {
                Some(p) => {
                    p.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                }
                None => Err(rustls::Error::General("no certificate verifier".into())),
            },
            TlsPolicy::PinnedSha256(pin) => {
                if crate::auth::constant_time_eq(pin, &fp) {
                    Ok(ServerCertVerified::assertion())
                } else {
                    tracing::warn!(seen = %fingerprint_hex(&fp), "camera certificate does not match the pinned fingerprint");
                    Err(rustls::Error::InvalidCertificate(
                        rustls::CertificateError::ApplicationVerificationFailure,
                    ))
                }
            }
            TlsPolicy::DangerAcceptAnyCertificate => {
                tracing::warn!(seen = %fingerprint_hex(&fp), "accepting any camera certificate (DangerAcceptAnyCertificate)");
                Ok(ServerCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A rustls client configuration (ring provider) for `policy`, and the slot where the seen
/// certificate fingerprint lands.
pub(crate) fn client_config(
    policy: &TlsPolicy,
    seen: Arc<Mutex<Option<[u8; 32]>>>,
) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let platform: Option<Arc<dyn ServerCertVerifier>> = match policy {
        TlsPolicy::Verify => Some(Arc::new(
            rustls_platform_verifier::Verifier::new(provider.clone()).map_err(|e| {
                Error::new(ErrorKind::TlsCertificate, "cannot load the trusted roots")
                    .with_source(e)
            })?,
        )),
        _ => None,
    };
    let verifier = Arc::new(CameraVerifier {
        policy: policy.clone(),
        provider: provider.clone(),
        platform,
        seen,
    });
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::TlsCertificate, "TLS setup failed").with_source(e))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_round_trip() {
        let fp = sha256_fingerprint(b"not really a certificate");
        let hex = fingerprint_hex(&fp);
        assert_eq!(hex.len(), 95);
        assert_eq!(parse_fingerprint(&hex).unwrap(), fp);
        assert_eq!(parse_fingerprint(&hex.replace(':', "")).unwrap(), fp);
        assert!(parse_fingerprint("AB:CD").is_err());
        assert!(parse_fingerprint(&hex.replace('A', "Z")).is_err());
    }

    #[test]
    fn pinned_verifier_accepts_only_the_pin() {
        let cert = CertificateDer::from(b"fake der".to_vec());
        let fp = sha256_fingerprint(cert.as_ref());
        let seen = Arc::new(Mutex::new(None));
        let mk = |policy| CameraVerifier {
            policy,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            platform: None,
            seen: seen.clone(),
        };
        let name = ServerName::try_from("camera.local").unwrap();
        let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_700_000_000));
        assert!(
            mk(TlsPolicy::PinnedSha256(fp))
                .verify_server_cert(&cert, &[], &name, &[], now)
                .is_ok()
        );
        let mut other = fp;
        other[0] ^= 1;
        assert!(
            mk(TlsPolicy::PinnedSha256(other))
                .verify_server_cert(&cert, &[], &name, &[], now)
                .is_err()
        );
        assert_eq!(
            *seen.lock().unwrap(),
            Some(fp),
            "the fingerprint seen is exposed"
        );
        assert!(
            mk(TlsPolicy::DangerAcceptAnyCertificate)
                .verify_server_cert(&cert, &[], &name, &[], now)
                .is_ok()
        );
    }
}

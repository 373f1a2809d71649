//! What every device command shares: the `DEVICE` argument, credentials, TLS and timeouts, and
//! the JSON/human output helpers.

use std::time::Duration;

use camlink::auth::Credentials;
use camlink::onvif::client::{OnvifClient, OnvifOptions};
use camlink::onvif::media::Profile;
use camlink::onvif::tls::{TlsPolicy, parse_fingerprint};
use camlink::{Error, ErrorKind, Result};

/// Longest per-request timeout accepted on the command line.
pub const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest `--duration` accepted by the commands that run for a while (events, PTZ moves).
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// How to reach one camera: shared by `info`, `profiles`, `snapshot`, `ptz` and `events`.
#[derive(clap::Args, Debug, Clone)]
pub struct DeviceArgs {
    /// The camera: `host`, `host:port` or a device service URL (`http://host:port/onvif/device_service`).
    /// User-info in the URL (`http://user:pass@host/`) is accepted, but prefer --user and
    /// the password environment variable.
    #[arg(value_name = "DEVICE")]
    pub device: String,
    /// User name.
    #[arg(long, short = 'u')]
    pub user: Option<String>,
    /// Environment variable that holds the password (the password is never read from the
    /// command line, where other users of the machine could see it).
    #[arg(long, value_name = "VAR", default_value = "CAMLINK_PASSWORD")]
    pub password_env: String,
    /// Per-request timeout in seconds.
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    pub timeout: f64,
    /// HTTPS: accept only the certificate with this SHA-256 fingerprint (`AB:CD:...`), even
    /// self-signed (see `camlink ports` for the fingerprint).
    #[arg(long, value_name = "SHA256", conflicts_with = "insecure")]
    pub pin: Option<String>,
    /// HTTPS: accept any certificate (lab use only: the connection can be intercepted).
    #[arg(long)]
    pub insecure: bool,
    /// Port forwarding: the port to put in stream URIs (the camera reports its own RTSP port,
    /// 554, which may not be the one forwarded to it).
    #[arg(long, value_name = "P")]
    pub rtsp_port: Option<u16>,
}

/// A duration in seconds from the command line, checked: finite, positive, at most `max`.
pub fn seconds(value: f64, what: &str, max: Duration) -> Result<Duration> {
    if !value.is_finite() || value <= 0.0 {
        return Err(Error::invalid_input(format!(
            "{what} must be a positive number of seconds"
        )));
    }
    if value > max.as_secs_f64() {
        return Err(Error::invalid_input(format!(
            "{what} is at most {} seconds",
            max.as_secs()
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

/// The address without user-info, and the credentials found in it.
///
/// Errors never contain the address as given (it may hold a password).
pub fn split_credentials(device: &str) -> Result<(String, Option<Credentials>)> {
    let d = device.trim();
    if !d.contains('@') {
        return Ok((d.to_string(), None));
    }
    let full = if d.contains("://") {
        d.to_string()
    } else {
        format!("http://{d}")
    };
    let url = url::Url::parse(&full).map_err(|e| {
        Error::invalid_input(format!(
            "bad camera address {}: {e}",
            camlink::redact::redact_url_str(&full)
        ))
    })?;
    let creds = Credentials::from_url(&url);
    let stripped = Credentials::strip_url(&url);
    let mut s = stripped.to_string();
    if !d.contains("://") {
        // Keep the user's form (`host:port`), so that the port-443 rule of `device_url` applies.
        s = s
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
    }
    Ok((s, creds))
}

impl DeviceArgs {
    /// The credentials: user from `--user` (or the URL), password from the environment
    /// variable (or the URL).
    pub fn credentials(&self) -> Result<(String, Option<Credentials>)> {
        let (address, from_url) = split_credentials(&self.device)?;
        let env_password = std::env::var(&self.password_env).ok();
        let user = self
            .user
            .clone()
            .or_else(|| from_url.as_ref().map(|c| c.username().to_string()));
        let Some(user) = user else {
            return Ok((address, None));
        };
        let password = match (env_password, &from_url) {
            (Some(p), _) => p,
            (None, Some(c)) => c.password().to_string(),
            (None, None) => {
                tracing::warn!(
                    "no password: the environment variable {} is not set",
                    self.password_env
                );
                String::new()
            }
        };
        Ok((address, Some(Credentials::new(user, password))))
    }

    /// The client options (credentials, timeout, TLS policy).
    pub fn options(&self) -> Result<(String, OnvifOptions)> {
        let (address, credentials) = self.credentials()?;
        let tls = match (&self.pin, self.insecure) {
            (Some(fp), _) => TlsPolicy::PinnedSha256(parse_fingerprint(fp)?),
            (None, true) => TlsPolicy::DangerAcceptAnyCertificate,
            (None, false) => TlsPolicy::Verify,
        };
        let options = OnvifOptions {
            credentials,
            timeout: seconds(self.timeout, "--timeout", MAX_REQUEST_TIMEOUT)?,
            tls,
            rtsp_port: self.rtsp_port,
            ..OnvifOptions::default()
        };
        Ok((address, options))
    }

    /// Connects: reads the camera clock and learns its services.
    pub async fn connect(&self) -> Result<OnvifClient> {
        let (address, options) = self.options()?;
        OnvifClient::connect(&address, options).await
    }
}

/// The profile named by `--profile`, or the first one (the first with PTZ when `want_ptz`).
pub async fn pick_profile(
    camera: &OnvifClient,
    token: Option<&str>,
    want_ptz: bool,
) -> Result<Profile> {
    let profiles = camera.profiles().await?;
    let found = match token {
        Some(t) => profiles.iter().find(|p| p.token == t).cloned(),
        None if want_ptz => profiles
            .iter()
            .find(|p| p.ptz.is_some())
            .or_else(|| profiles.first())
            .cloned(),
        None => profiles.first().cloned(),
    };
    found.ok_or_else(|| match token {
        Some(t) => {
            let known: Vec<&str> = profiles.iter().map(|p| p.token.as_str()).collect();
            Error::invalid_input(format!(
                "the camera has no profile {t:?} (it has: {})",
                known.join(", ")
            ))
        }
        None => Error::new(
            ErrorKind::Unsupported,
            "the camera reports no media profile",
        ),
    })
}

/// Prints one JSON value on its own line of stdout.
pub fn print_json(v: &serde_json::Value) {
    println!("{v}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_split_off_and_never_shown() {
        let (a, c) =
            split_credentials("http://admin:s%40cret@127.0.0.1:8080/onvif/device_service").unwrap();
        assert_eq!(a, "http://127.0.0.1:8080/onvif/device_service");
        let c = c.unwrap();
        assert_eq!((c.username(), c.password()), ("admin", "s@cret"));
        let (a, c) = split_credentials("admin:pw@10.0.0.5:8000").unwrap();
        assert_eq!(a, "10.0.0.5:8000");
        assert_eq!(c.unwrap().password(), "pw");
        let (a, c) = split_credentials("10.0.0.5").unwrap();
        assert_eq!((a.as_str(), c), ("10.0.0.5", None));
        let e = split_credentials("http://admin:topsecret@[zz/").unwrap_err();
        assert!(!e.to_string().contains("topsecret"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn a_password_in_a_bad_address_is_never_shown(host in ".{0,24}") {
            let device = format!("http://admin:Zq9-secret-Zq9@{host}");
            match split_credentials(&device) {
                Ok((address, _)) => proptest::prop_assert!(!address.contains("Zq9-secret-Zq9")),
                Err(e) => proptest::prop_assert!(!e.to_string().contains("Zq9-secret-Zq9")),
            }
        }
    }

    #[test]
    fn durations_are_checked() {
        assert!(seconds(f64::NAN, "--timeout", MAX_REQUEST_TIMEOUT).is_err());
        assert!(seconds(-1.0, "--timeout", MAX_REQUEST_TIMEOUT).is_err());
        assert!(seconds(1e12, "--timeout", MAX_REQUEST_TIMEOUT).is_err());
        assert_eq!(
            seconds(1.5, "--timeout", MAX_REQUEST_TIMEOUT).unwrap(),
            Duration::from_millis(1500)
        );
    }
}

//! TLS to PostgreSQL, as libpq reads it from the URL: `sslmode` (`disable`, `prefer` — the
//! default —, `require`, `verify-ca`, `verify-full`) and `sslrootcert` (a PEM file, or `system`
//! for the system's roots). tokio-postgres itself knows only `disable`/`prefer`/`require` and no
//! `sslrootcert`, so both are taken out of the URL here and turned into a native-tls connector
//! (OpenSSL on Linux, already linked for the HTTP client).

use ginkgo_store::{StoreError, StoreResult};
use postgres_native_tls::MakeTlsConnector;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The TLS settings of a URL, and the URL without them.
#[derive(Debug)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub root_cert: Option<String>,
    pub url: String,
}

/// Takes `sslmode` and `sslrootcert` out of `url`'s query.
pub fn split_url(url: &str) -> StoreResult<TlsSettings> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut mode = SslMode::Prefer;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => {
                mode = match value {
                    "disable" => SslMode::Disable,
                    "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(StoreError::Config(format!(
                            "sslmode={other} is not supported (disable, prefer, require, verify-ca or verify-full)"
                        )));
                    }
                }
            }
            "sslrootcert" => root_cert = Some(percent_decode(value)),
            "sslcert" | "sslkey" | "sslpassword" => {
                return Err(StoreError::Config(format!(
                    "{key} (client certificates) is not supported; use a password or trust auth"
                )));
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(TlsSettings {
        mode,
        root_cert,
        url,
    })
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(hex) = std::str::from_utf8(&bytes[i + 1..i + 3])
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl TlsSettings {
    /// What tokio-postgres is told: verification is the connector's business.
    pub fn postgres_mode(&self) -> tokio_postgres::config::SslMode {
        match self.mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        }
    }

    /// The connector, as libpq would verify: `prefer`/`require` encrypt without checking the
    /// certificate (unless `sslrootcert` names a file: then, like libpq, the chain is checked
    /// as for `verify-ca`); `verify-ca` checks the chain; `verify-full` the chain and the host
    /// name.
    pub fn connector(&self) -> StoreResult<MakeTlsConnector> {
        let mut builder = native_tls::TlsConnector::builder();
        let verify_chain = matches!(self.mode, SslMode::VerifyCa | SslMode::VerifyFull)
            || (self.root_cert.as_deref().is_some_and(|r| r != "system")
                && self.mode == SslMode::Require);
        match self.root_cert.as_deref() {
            Some("system") | None => {}
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    StoreError::Config(format!("cannot read sslrootcert {path}: {e}"))
                })?;
                let cert = native_tls::Certificate::from_pem(&pem).map_err(|e| {
                    StoreError::Config(format!("sslrootcert {path} is not a PEM certificate: {e}"))
                })?;
                builder.add_root_certificate(cert);
                if verify_chain {
                    builder.disable_built_in_roots(true);
                }
            }
        }
        if !verify_chain {
            builder.danger_accept_invalid_certs(true);
        }
        if self.mode != SslMode::VerifyFull {
            builder.danger_accept_invalid_hostnames(true);
        }
        let connector = builder
            .build()
            .map_err(|e| StoreError::Config(format!("cannot set up TLS: {e}")))?;
        Ok(MakeTlsConnector::new(connector))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_settings_leave_the_url_and_unknown_modes_are_refused() {
        let s = split_url(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Froot.pem&options=-cx",
        )
        .expect("parses");
        assert_eq!(s.mode, SslMode::VerifyFull);
        assert_eq!(s.root_cert.as_deref(), Some("/etc/root.pem"));
        assert_eq!(s.url, "postgres://u@h/db?options=-cx");
        let s = split_url("postgres://u@h/db").expect("parses");
        assert_eq!(
            (s.mode, s.url.as_str()),
            (SslMode::Prefer, "postgres://u@h/db")
        );
        let s = split_url("postgres://u@h/db?sslmode=disable").expect("parses");
        assert_eq!(
            (s.mode, s.url.as_str()),
            (SslMode::Disable, "postgres://u@h/db")
        );
        assert!(split_url("postgres://u@h/db?sslmode=allow-all").is_err());
        assert!(split_url("postgres://u@h/db?sslcert=/c.pem").is_err());
    }
}

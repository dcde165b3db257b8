//! Where TiDB is and how to log in: the types the agent fills from `spec.from`, the
//! `BACKUP_MANAGER_PASSWORD` variable and the mounted client TLS Secret, and the operator
//! fills the same way when it finishes a GC life time restore for a dead agent.

use std::fmt;
use std::path::Path;

/// A password. `Debug` and `Display` print `[REDACTED]`; only [`Password::expose`] gives the
/// value, for the driver.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(value: impl Into<String>) -> Self {
        Password(value.into())
    }

    /// The value itself: for the MySQL driver and for blanking it out of text, nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replaces every occurrence of the password in `text` (driver messages could echo it).
    pub fn scrub(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_owned()
        } else {
            text.replace(self.0.as_str(), "[REDACTED]")
        }
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl From<String> for Password {
    fn from(value: String) -> Self {
        Password(value)
    }
}

impl From<&str> for Password {
    fn from(value: &str) -> Self {
        Password(value.to_owned())
    }
}

/// Client TLS material in PEM, as a TiDB client Secret holds it (`ca.crt`, `tls.crt`,
/// `tls.key`). `Debug` shows sizes only and hides the key.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsMaterial {
    /// CA bundle that signed TiDB's certificate; `None` trusts the built-in web roots.
    pub ca: Option<Vec<u8>>,
    /// Client certificate chain (mutual TLS); needs `key`.
    pub cert: Option<Vec<u8>>,
    /// Client private key; needs `cert`.
    pub key: Option<Vec<u8>>,
    /// Do not verify TiDB's certificate at all (`skipInternalClientCA` on the TidbCluster).
    pub skip_ca_verify: bool,
}

impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let size = |v: &Option<Vec<u8>>| v.as_ref().map(|b| format!("{} bytes", b.len()));
        f.debug_struct("TlsMaterial")
            .field("ca", &size(&self.ca))
            .field("cert", &size(&self.cert))
            .field("key", &self.key.as_ref().map(|_| "[REDACTED]"))
            .field("skip_ca_verify", &self.skip_ca_verify)
            .finish()
    }
}

impl TlsMaterial {
    /// Reads `ca.crt`, `tls.crt` and `tls.key` from a mounted Secret directory; a missing
    /// file is `None`, any other read error is returned.
    pub fn from_dir(dir: &Path, skip_ca_verify: bool) -> std::io::Result<Self> {
        let read = |name: &str| match std::fs::read(dir.join(name)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(std::io::Error::new(
                e.kind(),
                format!("reading {}: {e}", dir.join(name).display()),
            )),
        };
        Ok(TlsMaterial {
            ca: read("ca.crt")?,
            cert: read("tls.crt")?,
            key: read("tls.key")?,
            skip_ca_verify,
        })
    }
}

/// A TiDB server and the account to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TidbEndpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Password,
    /// `Some` connects with TLS (server name = `host`).
    pub tls: Option<TlsMaterial>,
}

impl TidbEndpoint {
    /// `host:port`, as messages name the server.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let ep = TidbEndpoint {
            host: "basic-tidb".into(),
            port: 4000,
            user: "root".into(),
            password: Password::new("hunter2-secret"),
            tls: Some(TlsMaterial {
                ca: Some(b"CA".to_vec()),
                cert: Some(b"CERT".to_vec()),
                key: Some(b"PRIVATE-KEY-BYTES".to_vec()),
                skip_ca_verify: false,
            }),
        };
        let shown = format!("{ep:?} {}", ep.password);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("PRIVATE-KEY"), "{shown}");
        assert!(shown.contains("2 bytes"), "{shown}");
        assert_eq!(ep.address(), "basic-tidb:4000");
        assert_eq!(
            ep.password.scrub("login hunter2-secret failed"),
            "login [REDACTED] failed"
        );
        assert_eq!(Password::default().scrub("x"), "x");
    }

    #[test]
    fn tls_material_reads_a_secret_directory() {
        let dir = std::env::temp_dir().join(format!("tibr-tidb-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.crt"), b"ca").unwrap();
        std::fs::write(dir.join("tls.key"), b"key").unwrap();
        let m = TlsMaterial::from_dir(&dir, true).unwrap();
        assert_eq!(m.ca.as_deref(), Some(&b"ca"[..]));
        assert_eq!(m.cert, None);
        assert_eq!(m.key.as_deref(), Some(&b"key"[..]));
        assert!(m.skip_ca_verify);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

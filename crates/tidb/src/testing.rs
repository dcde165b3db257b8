//! A project-owned MariaDB standing in for TiDB in tests (feature `test-support`; never in
//! production builds). TiDB cannot be installed here; for the statements tibr sends
//! (`SELECT`/`UPDATE` on `mysql.tidb`, the handshake, TLS) MariaDB speaks the same protocol.
//!
//! [`MariaDb::shared`] initialises one instance per test binary in a temporary directory on a
//! free 127.0.0.1 port: `mysql.tidb` with `tikv_gc_life_time = 10m0s`, a user [`USER`] with a
//! password and `SELECT, UPDATE` on that table (TiDB's documented privileges), and a user
//! [`X509_USER`] that must present a client certificate. TLS is on (optional for clients) with
//! a generated CA. Tests that touch the single `mysql.tidb` row take [`MariaDb::lease`], which
//! serialises them and resets the row.
//!
//! The server runs under a small `sh` that waits on a pipe from this process: when the test
//! binary exits, however it exits, the pipe closes and the shell stops MariaDB and removes the
//! directory. `mariadbd`, `mariadb-install-db` and `mariadb` must be installed
//! (`./scripts/test` installs `mariadb-server`); without them the tests fail, never skip.

use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rand::distr::{Alphanumeric, SampleString};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

use crate::{Password, TidbEndpoint, TlsMaterial};

/// The account with a password and TiDB's documented privileges on `mysql.tidb`.
pub const USER: &str = "tibr";
/// Like [`USER`] (same password), but MariaDB requires it to present a client certificate.
pub const X509_USER: &str = "tibr_x509";
/// The value `tikv_gc_life_time` starts with, and is reset to by [`MariaDb::lease`].
pub const INITIAL_GC_LIFE_TIME: &str = "10m0s";

/// PEM material of the instance's TLS set-up.
#[derive(Clone)]
pub struct TestTls {
    pub ca_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

/// A running MariaDB; stopped when dropped (or when the process exits, for the shared one).
pub struct MariaDb {
    pub port: u16,
    pub dir: PathBuf,
    pub socket: PathBuf,
    password: String,
    pub tls: TestTls,
    lock: tokio::sync::Mutex<()>,
    keeper: Mutex<Option<(Child, ChildStdin)>>,
}

impl std::fmt::Debug for MariaDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MariaDb")
            .field("port", &self.port)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Exclusive use of the shared instance's `mysql.tidb` row.
pub struct Lease<'a> {
    db: &'a MariaDb,
    _guard: tokio::sync::MutexGuard<'a, ()>,
}

impl std::ops::Deref for Lease<'_> {
    type Target = MariaDb;
    fn deref(&self) -> &MariaDb {
        self.db
    }
}

impl MariaDb {
    /// The instance of this test binary, started on first use. Panics with instructions when
    /// MariaDB is not installed or does not start.
    pub fn shared() -> &'static MariaDb {
        static SHARED: OnceLock<MariaDb> = OnceLock::new();
        SHARED.get_or_init(|| MariaDb::start().unwrap_or_else(|e| panic!("{e}")))
    }

    /// A private instance (about two seconds to initialise).
    pub fn start() -> Result<MariaDb, String> {
        let binaries = Binaries::find()?;
        let root = tempfile::Builder::new()
            .prefix("tibr-mariadb-")
            .tempdir()
            .map_err(|e| format!("temporary directory for MariaDB: {e}"))?
            .keep();
        let data = root.join("data");
        run(
            Command::new(&binaries.install_db)
                .arg("--no-defaults")
                .arg(format!("--user={}", user_name()))
                .arg(format!("--datadir={}", data.display()))
                .arg("--auth-root-authentication-method=normal")
                .arg("--skip-test-db"),
            "mariadb-install-db",
        )?;
        let tls = write_tls(&root)?;
        let socket = root.join("sock");
        let mut last = String::new();
        // A free port can be taken between probing and binding: try a few.
        for _ in 0..3 {
            let port = free_port()?;
            match start_server(&binaries, &root, &data, &socket, port) {
                Ok((child, stdin)) => {
                    let db = MariaDb {
                        port,
                        dir: root.clone(),
                        socket: socket.clone(),
                        password: Alphanumeric.sample_string(&mut rand::rng(), 24),
                        tls: tls.clone(),
                        lock: tokio::sync::Mutex::new(()),
                        keeper: Mutex::new(Some((child, stdin))),
                    };
                    db.set_up()?;
                    return Ok(db);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Serialises tests that read or write `tikv_gc_life_time`, and resets it to
    /// [`INITIAL_GC_LIFE_TIME`].
    pub async fn lease(&self) -> Lease<'_> {
        let guard = self.lock.lock().await;
        self.set_gc_life_time(INITIAL_GC_LIFE_TIME);
        Lease {
            db: self,
            _guard: guard,
        }
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// [`USER`] over plain TCP.
    pub fn endpoint(&self) -> TidbEndpoint {
        TidbEndpoint {
            host: "127.0.0.1".into(),
            port: self.port,
            user: USER.into(),
            password: Password::new(self.password.clone()),
            tls: None,
        }
    }

    /// [`X509_USER`] over TLS, verifying the server with the instance's CA.
    pub fn tls_endpoint(&self) -> TidbEndpoint {
        TidbEndpoint {
            user: X509_USER.into(),
            tls: Some(TlsMaterial {
                ca: Some(self.tls.ca_pem.clone().into_bytes()),
                cert: Some(self.tls.client_cert_pem.clone().into_bytes()),
                key: Some(self.tls.client_key_pem.clone().into_bytes()),
                skip_ca_verify: false,
            }),
            ..self.endpoint()
        }
    }

    /// Runs SQL as root over the socket and returns the output (tab-separated, no headers).
    pub fn sql(&self, sql: &str) -> Result<String, String> {
        let binaries = Binaries::find()?;
        let mut child = Command::new(&binaries.client)
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .args(["-uroot", "--batch", "--skip-column-names"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("running {}: {e}", binaries.client.display()))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(sql.as_bytes())
                .map_err(|e| format!("sending SQL to mariadb: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("mariadb client: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mariadb client failed on {sql:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// The row's value, read as root.
    pub fn gc_life_time(&self) -> String {
        self.sql("SELECT variable_value FROM mysql.tidb WHERE variable_name = 'tikv_gc_life_time'")
            .expect("read tikv_gc_life_time")
    }

    /// Sets the row's value as root (what a DBA would do by hand).
    pub fn set_gc_life_time(&self, value: &str) {
        self.sql(&format!(
            "UPDATE mysql.tidb SET variable_value = '{}' WHERE variable_name = 'tikv_gc_life_time'",
            value.replace('\'', "''")
        ))
        .expect("set tikv_gc_life_time");
    }

    fn set_up(&self) -> Result<(), String> {
        let pw = &self.password;
        self.sql(&format!(
            "CREATE TABLE mysql.tidb (
                 VARIABLE_NAME VARCHAR(64) NOT NULL PRIMARY KEY,
                 VARIABLE_VALUE VARCHAR(1024) DEFAULT NULL,
                 COMMENT VARCHAR(1024) DEFAULT NULL);
             INSERT INTO mysql.tidb VALUES
                 ('tikv_gc_life_time', '{INITIAL_GC_LIFE_TIME}', 'stand-in for TiDB: how long TiKV keeps old versions'),
                 ('tikv_gc_enable', 'true', 'stand-in for TiDB');
             CREATE USER '{USER}'@'%' IDENTIFIED BY '{pw}';
             GRANT SELECT, UPDATE ON mysql.tidb TO '{USER}'@'%';
             CREATE USER '{X509_USER}'@'%' IDENTIFIED BY '{pw}' REQUIRE X509;
             GRANT SELECT, UPDATE ON mysql.tidb TO '{X509_USER}'@'%';"
        ))
        .map(|_| ())
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        // Closing the pipe makes the shell stop MariaDB and remove the directory.
        if let Ok(mut keeper) = self.keeper.lock()
            && let Some((mut child, stdin)) = keeper.take()
        {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

struct Binaries {
    server: PathBuf,
    install_db: PathBuf,
    client: PathBuf,
}

impl Binaries {
    fn find() -> Result<Binaries, String> {
        let find = |name: &str| {
            let path = std::env::var("PATH").unwrap_or_default();
            path.split(':')
                .chain(["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin"])
                .filter(|d| !d.is_empty())
                .map(|d| Path::new(d).join(name))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    format!(
                        "{name} is not installed: these tests need a local MariaDB standing in \
                         for TiDB. Run ./scripts/test (it installs mariadb-server), or \
                         `apt-get install mariadb-server`."
                    )
                })
        };
        Ok(Binaries {
            server: find("mariadbd")?,
            install_db: find("mariadb-install-db")?,
            client: find("mariadb")?,
        })
    }
}

/// MariaDB refuses to run as root unless told to; any other user runs as itself.
fn user_name() -> String {
    match std::fs::metadata("/proc/self").map(|m| m.uid()) {
        Ok(0) | Err(_) => "root".to_owned(),
        Ok(_) => std::env::var("USER").unwrap_or_else(|_| "root".to_owned()),
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("finding a free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

/// Starts `mariadbd` under a shell that stops it (and removes `root`) when its stdin closes,
/// then waits until it answers on the socket and on TCP.
fn start_server(
    binaries: &Binaries,
    root: &Path,
    data: &Path,
    socket: &Path,
    port: u16,
) -> Result<(Child, ChildStdin), String> {
    const SUPERVISOR: &str = r#""$@" & pid=$!; cat >/dev/null; kill "$pid" 2>/dev/null; wait "$pid"; rm -rf "$TIBR_MARIADB_ROOT""#;
    let log = root.join("error.log");
    let mut child = Command::new("sh")
        .args(["-c", SUPERVISOR, "sh"])
        .arg(&binaries.server)
        .arg("--no-defaults")
        .arg(format!("--user={}", user_name()))
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--port={port}"))
        .arg("--bind-address=127.0.0.1")
        .arg("--skip-name-resolve")
        .arg(format!("--pid-file={}", root.join("pid").display()))
        .arg(format!("--log-error={}", log.display()))
        .arg("--innodb-buffer-pool-size=16M")
        .arg("--performance-schema=OFF")
        .arg(format!("--ssl-ca={}", root.join("ca.pem").display()))
        .arg(format!(
            "--ssl-cert={}",
            root.join("server-cert.pem").display()
        ))
        .arg(format!(
            "--ssl-key={}",
            root.join("server-key.pem").display()
        ))
        .env("TIBR_MARIADB_ROOT", root)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting mariadbd: {e}"))?;
    let stdin = child
        .stdin
        .take()
        .ok_or("no pipe to the MariaDB supervisor")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if socket.exists() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((child, stdin));
        }
        let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("mariadbd exited ({status}):\n{}", log_text()));
        }
        if Instant::now() > deadline {
            drop(stdin);
            let _ = child.wait();
            return Err(format!("mariadbd did not start in 60 s:\n{}", log_text()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files in `root`.
fn write_tls(root: &Path) -> Result<TestTls, String> {
    let err = |e: rcgen::Error| format!("generating test certificates: {e}");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "tibr-test-tidb-ca");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(err)?).map_err(err)?;

    let mut server = CertificateParams::new(vec!["localhost".to_owned()]).map_err(err)?;
    server
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::from([127, 0, 0, 1])));
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate().map_err(err)?;
    let server_cert = server.signed_by(&server_key, &ca).map_err(err)?;

    let mut client = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    client
        .distinguished_name
        .push(DnType::CommonName, X509_USER);
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate().map_err(err)?;
    let client_cert = client.signed_by(&client_key, &ca).map_err(err)?;

    let tls = TestTls {
        ca_pem: ca.pem(),
        client_cert_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
    };
    for (name, content) in [
        ("ca.pem", tls.ca_pem.clone()),
        ("server-cert.pem", server_cert.pem()),
        ("server-key.pem", server_key.serialize_pem()),
    ] {
        std::fs::write(root.join(name), content).map_err(|e| format!("writing {name}: {e}"))?;
    }
    Ok(tls)
}

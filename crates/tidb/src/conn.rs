//! Connecting with a deadline, and the two statements on `mysql.tidb`.

use std::time::{Duration, Instant, SystemTime};

use mysql_async::prelude::Queryable;
use mysql_async::{ClientIdentity, OptsBuilder, SslOpts};

use crate::endpoint::{Password, TidbEndpoint};
use crate::{Error, GC_LIFE_TIME_VARIABLE, Result};

/// How [`connect_with`] waits for TiDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Give up once this much time has passed since the first attempt.
    pub deadline: Duration,
    /// Pause between attempts (TiDB Operator: 5 s).
    pub retry_interval: Duration,
    /// Longest wait for one attempt: a server that accepts TCP and never answers must not eat
    /// the whole deadline in one go.
    pub attempt_timeout: Duration,
    /// Longest wait for one statement once connected.
    pub query_timeout: Duration,
}

impl ConnectOptions {
    /// TiDB Operator's cadence (an attempt every 5 s) within `deadline`.
    pub fn with_deadline(deadline: Duration) -> Self {
        ConnectOptions {
            deadline,
            retry_interval: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
            query_timeout: Duration::from_secs(30),
        }
    }
}

/// An open connection to TiDB. `Debug` shows the address only.
pub struct Conn {
    inner: mysql_async::Conn,
    address: String,
    password: Password,
    query_timeout: Duration,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// `host:port` of the server.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The version the server announced, e.g. `8.0.11-TiDB-v8.5.0`.
    pub fn server_version(&self) -> String {
        let (major, minor, patch) = self.inner.server_version();
        format!("{major}.{minor}.{patch}")
    }

    /// Closes the connection politely (errors are not interesting at that point).
    pub async fn close(self) {
        let _ = tokio::time::timeout(self.query_timeout, self.inner.disconnect()).await;
    }

    fn query_error(&self, what: &'static str, e: &mysql_async::Error) -> Error {
        Error::Query {
            address: self.address.clone(),
            what,
            detail: self.password.scrub(&e.to_string()),
        }
    }

    fn timeout_error(&self, what: &'static str) -> Error {
        Error::Query {
            address: self.address.clone(),
            what,
            detail: format!("no answer within {}", seconds(self.query_timeout)),
        }
    }
}

/// One attempt that did not connect, as [`connect_reporting`] tells its caller, so that a
/// long wait can be shown to someone while it lasts. Nothing in it is secret: the error has
/// the password blanked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedAttempt {
    /// `host:port`.
    pub address: String,
    pub user: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// What went wrong.
    pub error: String,
    /// When the first attempt started: the deadline counts from there.
    pub first_attempt_at: SystemTime,
    /// How long, from the first attempt, attempts go on ([`ConnectOptions::deadline`]).
    pub deadline: Duration,
    /// The pause before the next attempt; `None` when there is none (the deadline is near,
    /// or the server refused in a way waiting cannot fix).
    pub retry_in: Option<Duration>,
}

impl FailedAttempt {
    /// When attempts stop, on the wall clock.
    pub fn gives_up_at(&self) -> SystemTime {
        self.first_attempt_at + self.deadline
    }
}

/// Connects, retrying every 5 s until `timeout` has passed.
pub async fn connect(endpoint: &TidbEndpoint, timeout: Duration) -> Result<Conn> {
    connect_with(endpoint, &ConnectOptions::with_deadline(timeout)).await
}

/// Connects with explicit timings.
pub async fn connect_with(endpoint: &TidbEndpoint, options: &ConnectOptions) -> Result<Conn> {
    connect_reporting(endpoint, options, |_| {}).await
}

/// Connects like [`connect_with`], calling `report` after every failed attempt (before the
/// pause that follows it).
pub async fn connect_reporting(
    endpoint: &TidbEndpoint,
    options: &ConnectOptions,
    mut report: impl FnMut(&FailedAttempt) + Send,
) -> Result<Conn> {
    let address = endpoint.address();
    let opts = opts(endpoint)?;
    let started = Instant::now();
    let first_attempt_at = SystemTime::now();
    let mut attempts = 0u32;
    let failed = |attempt: u32, error: &str, retry_in: Option<Duration>| FailedAttempt {
        address: address.clone(),
        user: endpoint.user.clone(),
        attempt,
        error: error.to_owned(),
        first_attempt_at,
        deadline: options.deadline,
        retry_in,
    };
    loop {
        attempts += 1;
        let remaining = options.deadline.saturating_sub(started.elapsed());
        let budget = options
            .attempt_timeout
            .min(remaining)
            .max(Duration::from_millis(100));
        let detail = match tokio::time::timeout(budget, mysql_async::Conn::new(opts.clone())).await
        {
            Ok(Ok(inner)) => {
                tracing::debug!(address = %address, attempts, "connected to TiDB");
                return Ok(Conn {
                    inner,
                    address,
                    password: endpoint.password.clone(),
                    query_timeout: options.query_timeout,
                });
            }
            Ok(Err(e)) => {
                let detail = endpoint.password.scrub(&e.to_string());
                if let Some(fatal) = fatal(&e, endpoint, &address, &detail) {
                    report(&failed(attempts, &detail, None));
                    return Err(fatal);
                }
                detail
            }
            Err(_) => format!("no answer within {}", seconds(budget)),
        };
        let waited = started.elapsed();
        if waited + options.retry_interval >= options.deadline {
            report(&failed(attempts, &detail, None));
            return Err(Error::Connect {
                address,
                user: endpoint.user.clone(),
                attempts,
                waited: seconds(waited),
                detail,
            });
        }
        tracing::warn!(
            address = %address,
            attempt = attempts,
            error = %detail,
            retry_in = %seconds(options.retry_interval),
            "TiDB is not reachable yet"
        );
        report(&failed(attempts, &detail, Some(options.retry_interval)));
        tokio::time::sleep(options.retry_interval).await;
    }
}

/// Reads `tikv_gc_life_time` from `mysql.tidb`, e.g. `10m0s`.
pub async fn gc_life_time(conn: &mut Conn) -> Result<String> {
    const WHAT: &str = "reading tikv_gc_life_time";
    let query = conn.inner.exec_first::<Option<String>, _, _>(
        "SELECT variable_value FROM mysql.tidb WHERE variable_name = ?",
        (GC_LIFE_TIME_VARIABLE,),
    );
    match tokio::time::timeout(conn.query_timeout, query).await {
        Ok(Ok(Some(Some(value)))) => Ok(value),
        Ok(Ok(_)) => Err(Error::MissingVariable {
            address: conn.address.clone(),
            name: GC_LIFE_TIME_VARIABLE.to_owned(),
        }),
        Ok(Err(e)) => Err(conn.query_error(WHAT, &e)),
        Err(_) => Err(conn.timeout_error(WHAT)),
    }
}

/// Sets `tikv_gc_life_time` in `mysql.tidb` to `value` (a Go duration). Fails when the row
/// does not exist, rather than pretending a value was set.
pub async fn set_gc_life_time(conn: &mut Conn, value: &str) -> Result<()> {
    const WHAT: &str = "setting tikv_gc_life_time";
    let update = conn.inner.exec_drop(
        "UPDATE mysql.tidb SET variable_value = ? WHERE variable_name = ?",
        (value, GC_LIFE_TIME_VARIABLE),
    );
    match tokio::time::timeout(conn.query_timeout, update).await {
        // CLIENT_FOUND_ROWS is on, so an unchanged value still counts its row.
        Ok(Ok(())) if conn.inner.affected_rows() == 0 => Err(Error::MissingVariable {
            address: conn.address.clone(),
            name: GC_LIFE_TIME_VARIABLE.to_owned(),
        }),
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(conn.query_error(WHAT, &e)),
        Err(_) => Err(conn.timeout_error(WHAT)),
    }
}

fn opts(endpoint: &TidbEndpoint) -> Result<mysql_async::Opts> {
    let builder = OptsBuilder::default()
        .ip_or_hostname(endpoint.host.clone())
        .tcp_port(endpoint.port)
        .user(Some(endpoint.user.clone()))
        .pass(Some(endpoint.password.expose().to_owned()))
        // The driver would otherwise switch to a local socket it discovers, bypassing TLS.
        .prefer_socket(false)
        // Count matched, not changed, rows: setting the value it already has is a success.
        .client_found_rows(true);
    let Some(tls) = &endpoint.tls else {
        return Ok(builder.into());
    };
    let address = endpoint.address();
    let mut ssl = SslOpts::default();
    if let Some(ca) = &tls.ca {
        // Only the cluster's CA vouches for TiDB, as in TiDB Operator.
        ssl = ssl
            .with_root_certs(vec![ca.clone().into()])
            .with_disable_built_in_roots(true);
    }
    match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            ssl = ssl.with_client_identity(Some(ClientIdentity::new(
                cert.clone().into(),
                key.clone().into(),
            )));
        }
        (None, None) => {}
        _ => {
            return Err(Error::Tls {
                address,
                detail: "the client Secret has only one of tls.crt and tls.key".into(),
            });
        }
    }
    if tls.skip_ca_verify {
        ssl = ssl
            .with_danger_accept_invalid_certs(true)
            .with_danger_skip_domain_validation(true);
    }
    Ok(builder.ssl_opts(ssl).into())
}

/// Errors that waiting cannot fix: the server answered and said no, or TLS cannot work.
fn fatal(e: &mysql_async::Error, ep: &TidbEndpoint, address: &str, detail: &str) -> Option<Error> {
    use mysql_async::{DriverError, Error as E, IoError};
    // Access denied (1045), to the database (1044), or with a plugin the account lacks (1698).
    const REFUSALS: [u16; 3] = [1045, 1044, 1698];
    let tls = || Error::Tls {
        address: address.to_owned(),
        detail: detail.to_owned(),
    };
    match e {
        E::Server(s) if REFUSALS.contains(&s.code) => Some(Error::Refused {
            address: address.to_owned(),
            user: ep.user.clone(),
            detail: detail.to_owned(),
        }),
        E::Driver(DriverError::NoClientSslFlagFromServer) => Some(tls()),
        E::Io(IoError::Tls(_)) => Some(tls()),
        // rustls reports certificate problems as InvalidData through the TLS stream.
        E::Io(IoError::Io(io)) if io.kind() == std::io::ErrorKind::InvalidData => Some(tls()),
        _ => None,
    }
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 10.0 {
        format!("{s:.0}s")
    } else {
        format!("{s:.1}s")
    }
}

//! TiDB over the MySQL protocol, for the one thing tibr needs from it: TiKV's GC life time
//! (`tikv_gc_life_time` in `mysql.tidb`), which a backup holds high enough for BR to read a
//! consistent snapshot and puts back afterwards.
//!
//! - [`TidbEndpoint`]: host, port, user, a [`Password`] that never prints, optional
//!   [`TlsMaterial`] (the client Secret's `ca.crt`, `tls.crt`, `tls.key`).
//! - [`connect`] / [`connect_with`]: connect, retrying until a deadline (TiDB Operator retries
//!   every 5 s for 30 min; ours is bounded by the caller). Refusals that retrying cannot fix
//!   (wrong password, unusable TLS material, a server without TLS) end the wait at once.
//!   [`connect_reporting`] also hands each [`FailedAttempt`] to the caller, who can show the
//!   wait (the agent puts it on the Backup) instead of leaving it to log lines.
//! - [`gc_life_time`] / [`set_gc_life_time`]: the parameterised `SELECT` and `UPDATE` on
//!   `mysql.tidb` that TiDB Operator issues, so the same database privileges suffice.
//!
//! The password never appears in an error, a log line or `Debug` output: it lives in
//! [`Password`], errors are built from driver text with the password blanked, and the driver's
//! options (whose `Debug` would print it) are never logged.
//!
//! With feature `test-support`, [`testing`] starts a project-owned MariaDB with a `mysql.tidb`
//! table, which speaks the same protocol for these statements.

mod conn;
mod endpoint;
#[cfg(feature = "test-support")]
pub mod testing;

pub use conn::{
    Conn, ConnectOptions, FailedAttempt, connect, connect_reporting, connect_with, gc_life_time,
    set_gc_life_time,
};
pub use endpoint::{Password, TidbEndpoint, TlsMaterial};

/// The `mysql.tidb` row holding TiKV's GC life time, a Go duration such as `10m0s`.
pub const GC_LIFE_TIME_VARIABLE: &str = "tikv_gc_life_time";

/// Why talking to TiDB failed. Every message names the address; none carries the password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No connection before the deadline (TiDB down, unreachable, or not answering).
    #[error(
        "cannot connect to TiDB at {address} as {user:?} after {attempts} attempt(s) in {waited}: {detail}"
    )]
    Connect {
        address: String,
        user: String,
        attempts: u32,
        /// How long we tried, e.g. `30s`.
        waited: String,
        detail: String,
    },
    /// TiDB answered and refused: wrong user or password, or missing privileges. Not retried.
    #[error("TiDB at {address} refused user {user:?}: {detail}")]
    Refused {
        address: String,
        user: String,
        detail: String,
    },
    /// The TLS material cannot be used, or the TLS handshake failed. Not retried.
    #[error("TLS to TiDB at {address} failed: {detail}")]
    Tls { address: String, detail: String },
    /// A statement failed or did not answer in time.
    #[error("{what} on TiDB at {address} failed: {detail}")]
    Query {
        address: String,
        what: &'static str,
        detail: String,
    },
    /// `mysql.tidb` has no such row (or it is NULL).
    #[error("TiDB at {address} has no {name:?} row in mysql.tidb")]
    MissingVariable { address: String, name: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

//! Reaching TiDB to put `tikv_gc_life_time` back (design §3.2).
//!
//! [`GcRestorer`] is the boundary: the operator reads the current value and writes the
//! original through it, and tests replace it with a double. [`MysqlGcRestorer`] is the
//! production implementation over the MySQL protocol. It will give way to the shared
//! `tibr_tidb` crate (the agent's TiDB client, which also speaks TLS) once that lands: the
//! swap is this file only.

use std::{fmt, time::Duration};

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use tibr_core::backup::gc_restore::TidbConnection;

/// The row of `mysql.tidb` that holds TiKV's GC life time.
pub const GC_LIFE_TIME_VARIABLE: &str = "tikv_gc_life_time";

/// A login to TiDB: where, as whom, and the password read from the Secret just now.
#[derive(Clone)]
pub struct TidbLogin {
    pub connection: TidbConnection,
    pub password: String,
}

impl fmt::Debug for TidbLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password.
        f.debug_struct("TidbLogin")
            .field("host", &self.connection.host)
            .field("port", &self.connection.port)
            .field("user", &self.connection.user)
            .finish_non_exhaustive()
    }
}

/// Reads and writes `tikv_gc_life_time`. Errors are sentences without credentials.
#[async_trait]
pub trait GcRestorer: Send + Sync + 'static {
    async fn read(&self, login: &TidbLogin) -> Result<String, String>;
    async fn write(&self, login: &TidbLogin, value: &str) -> Result<(), String>;
}

/// [`GcRestorer`] over the MySQL protocol, without TLS.
#[derive(Debug, Clone)]
pub struct MysqlGcRestorer {
    pub timeout: Duration,
}

impl Default for MysqlGcRestorer {
    fn default() -> Self {
        MysqlGcRestorer {
            timeout: Duration::from_secs(20),
        }
    }
}

impl MysqlGcRestorer {
    async fn connect(&self, login: &TidbLogin) -> Result<mysql_async::Conn, String> {
        let c = &login.connection;
        if c.tls_secret.is_some() {
            return Err(format!(
                "TiDB at {}:{} requires TLS, which the operator's TiDB client does not speak yet",
                c.host, c.port
            ));
        }
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname(c.host.clone())
            .tcp_port(c.port)
            .user(Some(c.user.clone()))
            .pass(Some(login.password.clone()))
            .prefer_socket(false);
        match tokio::time::timeout(self.timeout, mysql_async::Conn::new(opts)).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(format!(
                "connecting to TiDB at {}:{} as {}: {e}",
                c.host, c.port, c.user
            )),
            Err(_) => Err(format!(
                "connecting to TiDB at {}:{} timed out",
                c.host, c.port
            )),
        }
    }
}

#[async_trait]
impl GcRestorer for MysqlGcRestorer {
    async fn read(&self, login: &TidbLogin) -> Result<String, String> {
        let mut conn = self.connect(login).await?;
        let value: Option<String> = conn
            .exec_first(
                "SELECT variable_value FROM mysql.tidb WHERE variable_name = ?",
                (GC_LIFE_TIME_VARIABLE,),
            )
            .await
            .map_err(|e| format!("reading {GC_LIFE_TIME_VARIABLE}: {e}"))?;
        let _ = conn.disconnect().await;
        value.ok_or_else(|| format!("mysql.tidb has no {GC_LIFE_TIME_VARIABLE} row"))
    }

    async fn write(&self, login: &TidbLogin, value: &str) -> Result<(), String> {
        let mut conn = self.connect(login).await?;
        conn.exec_drop(
            "UPDATE mysql.tidb SET variable_value = ? WHERE variable_name = ?",
            (value, GC_LIFE_TIME_VARIABLE),
        )
        .await
        .map_err(|e| format!("setting {GC_LIFE_TIME_VARIABLE} to {value}: {e}"))?;
        let _ = conn.disconnect().await;
        Ok(())
    }
}

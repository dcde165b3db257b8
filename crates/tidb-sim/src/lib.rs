//! A simulated TiDB: an in-process server on 127.0.0.1 that speaks the MySQL protocol
//! well enough for `mysql_async` and the `mariadb`/`mysql` command-line client, and
//! answers the statements a backup needs: reading and changing `tikv_gc_life_time` in
//! `mysql.tidb` (or through `tidb_gc_life_time`), `@@tidb_version`, `version()` and what
//! clients ask on connect. Anything else is error 1105, as TiDB answers what it does
//! not support.
//!
//! It exists because no TiDB can be installed on our machines, and MariaDB (the other
//! stand-in) lacks TiDB's system variables. It keeps a log of every statement so tests
//! can check what a client did.
//!
//! The protocol subset is written here rather than taken from `opensrv-mysql` 0.7 or
//! `msql-srv` 0.11: both pull a second, older `mysql_common` (with `chrono` and `nom`)
//! next to the one `mysql_async` uses, `msql-srv` is blocking, and what a handful of
//! statements need (handshake, text and binary result sets) is small.
//!
//! - `packet`: framing and the packets a server writes.
//! - `lexer` and `sql`: recognising statements.
//! - `database`: the `mysql.tidb` rows, system variables and statement results.
//! - `session`: handshake, authentication and commands of one connection.
//! - `tidb_cluster`: how the simulated TiDB appears in a cluster (`TidbCluster demo1`).
//! - [`pd`]: the one simulated PD a sandbox's data planes share (TSO, min resolved ts, GC
//!   safepoints and scheduler pauses with TTLs, and their history), served over HTTP for
//!   the BR stand-in and read by tests.

mod database;
mod lexer;
mod packet;
pub mod pd;
mod session;
mod sql;
pub mod tidb_cluster;

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

use anyhow::Context;
use rand::distr::{Alphanumeric, SampleString};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use database::Database;
pub use database::{LoggedStatement, format_go_duration, parse_go_duration};
pub use session::native_password_token;

/// The one account the server accepts.
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never appears in logs.
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct TidbConfig {
    pub credentials: Credentials,
    /// The TiDB release reported by `version()` and `@@tidb_version`, e.g. `v8.5.0`.
    pub version: String,
    /// 0 picks a free port.
    pub port: u16,
}

/// The TiDB release the sandbox's cluster `demo1` runs.
pub const TIDB_VERSION: &str = "v8.5.0";

impl TidbConfig {
    /// User `root` with a generated password, TiDB v8.5.0, any free port.
    pub fn generated() -> Self {
        TidbConfig {
            credentials: Credentials {
                user: "root".to_string(),
                password: Alphanumeric.sample_string(&mut rand::rng(), 24),
            },
            version: TIDB_VERSION.to_string(),
            port: 0,
        }
    }
}

pub struct TidbServer {
    pub addr: SocketAddr,
    credentials: Arc<Credentials>,
    db: Arc<Database>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for TidbServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TidbServer")
            .field("addr", &self.addr)
            .field("user", &self.credentials.user)
            .finish_non_exhaustive()
    }
}

impl TidbServer {
    pub async fn start(config: TidbConfig) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", config.port))
            .await
            .context("binding the TiDB port")?;
        let addr = listener.local_addr()?;
        let db = Arc::new(Database::new(&config.version));
        let credentials = Arc::new(config.credentials);
        let (shutdown, mut stop) = watch::channel(false);
        let ids = Arc::new(AtomicU32::new(1));
        let task = {
            let (db, credentials) = (db.clone(), credentials.clone());
            tokio::spawn(async move {
                loop {
                    let socket = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok((socket, _)) => socket,
                            Err(e) => {
                                tracing::warn!("tidb accept failed: {e}");
                                continue;
                            }
                        },
                        _ = stop.changed() => return,
                    };
                    let id = ids.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(session::Connection::serve(
                        socket,
                        db.clone(),
                        credentials.clone(),
                        id,
                    ));
                }
            })
        };
        Ok(TidbServer {
            addr,
            credentials,
            db,
            shutdown,
            task,
        })
    }

    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn user(&self) -> &str {
        &self.credentials.user
    }

    /// The password of [`TidbServer::user`]; callers must not log it.
    pub fn password(&self) -> &str {
        &self.credentials.password
    }

    /// `8.0.11-TiDB-v8.5.0`: the MySQL version the server announces.
    pub fn server_version(&self) -> String {
        self.db.server_version()
    }

    /// A `mysql.tidb` value (`tikv_gc_life_time`, `tikv_gc_safe_point`, ...).
    pub fn variable(&self, name: &str) -> Option<String> {
        self.db.variable(name)
    }

    /// The current `tikv_gc_life_time`.
    pub fn gc_life_time(&self) -> String {
        self.db.variable("tikv_gc_life_time").unwrap_or_default()
    }

    /// Sets a `mysql.tidb` value directly, as a test arranging a situation would.
    pub fn set_variable(&self, name: &str, value: &str) {
        self.db.set_variable(name, value);
    }

    /// Every statement executed or refused so far, oldest first.
    pub fn statements(&self) -> Vec<LoggedStatement> {
        self.db.statements()
    }

    /// Stops accepting connections; open connections end when their clients leave.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

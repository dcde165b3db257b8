//! The simulated TiDB against third-party clients: `mysql_async` (the agent's client)
//! with text and prepared statements, and the real `mariadb` command-line client running
//! the seed document's statements. `scripts/test` installs `mariadb-client`; without the
//! binary the CLI test fails rather than skips.

use std::process::Stdio;

use mysql_async::{Opts, OptsBuilder, Row, prelude::Queryable};
use tibr_tidb_sim::{TidbConfig, TidbServer};

async fn server() -> TidbServer {
    TidbServer::start(TidbConfig::generated())
        .await
        .expect("tidb starts")
}

fn opts(s: &TidbServer, password: &str) -> Opts {
    OptsBuilder::default()
        .ip_or_hostname(s.host())
        .tcp_port(s.port())
        .user(Some(s.user()))
        .pass(Some(password))
        .into()
}

#[tokio::test]
async fn mysql_async_reads_and_updates_the_gc_life_time() {
    let s = server().await;
    let mut conn = mysql_async::Conn::new(opts(&s, s.password()))
        .await
        .expect("connects with the right password");
    assert_eq!(conn.server_version(), (8, 0, 11));

    // Prepared statements, as the agent uses them.
    let before: Option<String> = conn
        .exec_first(
            "SELECT variable_value FROM mysql.tidb WHERE variable_name = ?",
            ("tikv_gc_life_time",),
        )
        .await
        .unwrap();
    assert_eq!(before.as_deref(), Some("10m0s"));
    conn.exec_drop(
        "UPDATE mysql.tidb SET variable_value = ? WHERE variable_name = ?",
        ("72h", "tikv_gc_life_time"),
    )
    .await
    .unwrap();
    assert_eq!(conn.affected_rows(), 1);
    assert_eq!(s.gc_life_time(), "72h");

    // Text queries: a literal, TiDB's version variables, the seed's statement.
    let value: Option<String> = conn
        .query_first(
            "select VARIABLE_VALUE from `mysql`.`tidb` where VARIABLE_NAME = 'tikv_gc_life_time'",
        )
        .await
        .unwrap();
    assert_eq!(value.as_deref(), Some("72h"));
    let version: Option<String> = conn.query_first("SELECT @@tidb_version").await.unwrap();
    assert!(version.unwrap().starts_with("Release Version: v8.5.0\n"));
    let version: Option<String> = conn.query_first("SELECT version()").await.unwrap();
    assert_eq!(version.as_deref(), Some("8.0.11-TiDB-v8.5.0"));
    let one: Option<i64> = conn.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    conn.query_drop("SET NAMES utf8mb4").await.unwrap();
    let rows: Vec<Row> = conn
        .query(r#"select VARIABLE_NAME, VARIABLE_VALUE from mysql.tidb where VARIABLE_NAME like "tikv_gc_life_time""#)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let (name, value): (String, String) = mysql_async::from_row(rows[0].clone());
    assert_eq!(
        (name.as_str(), value.as_str()),
        ("tikv_gc_life_time", "72h")
    );
    assert_eq!(rows[0].columns_ref()[0].name_str(), "VARIABLE_NAME");

    // TiDB >= 5 spelling of the same setting.
    conn.exec_drop("SET GLOBAL tidb_gc_life_time = ?", ("10m",))
        .await
        .unwrap();
    let v: Option<String> = conn
        .query_first("SELECT @@global.tidb_gc_life_time")
        .await
        .unwrap();
    assert_eq!(v.as_deref(), Some("10m0s"));

    // Anything else is error 1105 with a message saying why.
    let err = conn.query_drop("DELETE FROM mysql.tidb").await.unwrap_err();
    match err {
        mysql_async::Error::Server(e) => {
            assert_eq!(e.code, 1105);
            assert!(e.message.contains("does not support"), "{}", e.message);
        }
        other => panic!("expected a server error, got {other:?}"),
    }
    // The connection is still usable after an error.
    let one: Option<i64> = conn.query_first("select 1").await.unwrap();
    assert_eq!(one, Some(1));
    conn.disconnect().await.unwrap();

    let log = s.statements();
    let update = log
        .iter()
        .find(|l| l.sql.starts_with("UPDATE"))
        .expect("the update is logged");
    assert_eq!(
        update.params,
        vec![
            Some("72h".to_string()),
            Some("tikv_gc_life_time".to_string())
        ]
    );
    assert!(log.iter().any(|l| l.error == Some(1105)));
    s.stop().await;
}

#[tokio::test]
async fn wrong_passwords_are_refused_with_1045() {
    let s = server().await;
    let err = mysql_async::Conn::new(opts(&s, "not-the-password"))
        .await
        .unwrap_err();
    match err {
        mysql_async::Error::Server(e) => {
            assert_eq!(e.code, 1045);
            assert_eq!(e.state, "28000");
            assert!(
                e.message
                    .starts_with("Access denied for user 'root'@'127.0.0.1'")
            );
        }
        other => panic!("expected access denied, got {other:?}"),
    }
    let pool = mysql_async::Pool::new(opts(&s, s.password()));
    let mut conn = pool.get_conn().await.unwrap();
    let v: Option<String> = conn
        .query_first("SELECT @@version_comment LIMIT 1")
        .await
        .unwrap();
    assert!(v.unwrap().starts_with("TiDB Server"));
    drop(conn);
    pool.disconnect().await.unwrap();
    s.stop().await;
}

/// Runs the `mariadb` client with the password in its environment (never on the command
/// line, where other processes could read it).
async fn mariadb(s: &TidbServer, password: &str, sql: &str) -> (bool, String, String) {
    let binary = which("mariadb")
        .expect("the mariadb client must be installed (scripts/test installs mariadb-client)");
    let out = tokio::process::Command::new(binary)
        .args([
            "--protocol=TCP",
            "-h",
            &s.host(),
            "-P",
            &s.port().to_string(),
        ])
        .args(["-u", s.user(), "--table", "-e", sql])
        .env("MYSQL_PWD", password)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("mariadb runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

#[tokio::test]
async fn the_mariadb_client_runs_the_seed_statements() {
    let s = server().await;
    let select = r#"select VARIABLE_NAME, VARIABLE_VALUE from mysql.tidb where VARIABLE_NAME like "tikv_gc_life_time";"#;
    let (ok, out, err) = mariadb(&s, s.password(), select).await;
    assert!(ok, "mariadb failed: {err}");
    assert!(
        out.contains("| VARIABLE_NAME     | VARIABLE_VALUE |"),
        "{out}"
    );
    assert!(
        out.contains("| tikv_gc_life_time | 10m0s          |"),
        "{out}"
    );

    s.set_variable("tikv_gc_life_time", "72h");
    let update =
        "update mysql.tidb set VARIABLE_VALUE = '10m' where VARIABLE_NAME = 'tikv_gc_life_time';";
    let (ok, _, err) = mariadb(&s, s.password(), update).await;
    assert!(ok, "mariadb failed: {err}");
    assert_eq!(s.gc_life_time(), "10m");

    let (ok, out, err) = mariadb(&s, s.password(), "select @@tidb_version").await;
    assert!(ok, "{err}");
    assert!(out.contains("Release Version: v8.5.0"), "{out}");

    let (ok, _, err) = mariadb(&s, "wrong", "select 1").await;
    assert!(!ok);
    assert!(
        err.contains(
            "ERROR 1045 (28000): Access denied for user 'root'@'127.0.0.1' (using password: YES)"
        ),
        "{err}"
    );

    let (ok, _, err) = mariadb(&s, s.password(), "create table t (a int)").await;
    assert!(!ok);
    assert!(err.contains("ERROR 1105 (HY000)"), "{err}");
    s.stop().await;
}

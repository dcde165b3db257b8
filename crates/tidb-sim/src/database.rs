//! The simulated TiDB's data: the `mysql.tidb` table (GC settings), the system
//! variables clients read on connect, the statement log, and how each statement kind
//! is answered.
//!
//! Differences from TiDB: `mysql.tidb` is the only table; values written through
//! `UPDATE` are stored as given (TiDB does the same), while `SET GLOBAL
//! tidb_gc_life_time` is checked as a Go duration, clamped to TiDB's 10m minimum and
//! stored in TiDB's normalised form (`72h0m0s`), as TiDB ≥ 5 does. Nothing else
//! happens when the GC settings change: there is no TiKV to collect garbage.

use std::{collections::HashMap, sync::Mutex};

use super::{
    packet::{Column, SqlError, Value},
    sql::{Expr, Filter, Statement, TidbColumn, like},
};

/// One statement the server executed (or refused), for tests and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedStatement {
    pub sql: String,
    /// Bound values of a prepared statement, as text (`None` for NULL).
    pub params: Vec<Option<String>>,
    /// The MySQL error code when the statement failed.
    pub error: Option<u16>,
}

/// A `mysql.tidb` row.
#[derive(Debug, Clone)]
struct Row {
    name: String,
    value: String,
    comment: String,
}

pub struct Database {
    pub version: String,
    rows: Mutex<Vec<Row>>,
    log: Mutex<Vec<LoggedStatement>>,
}

/// What a connection remembers between statements.
#[derive(Debug, Default)]
pub struct Session {
    pub connection_id: u32,
    pub user: String,
    pub client_host: String,
    pub database: Option<String>,
    /// Report matched rather than changed rows (`CLIENT_FOUND_ROWS`).
    pub found_rows: bool,
    vars: HashMap<String, Value>,
}

impl Session {
    pub fn new(connection_id: u32, user: &str, client_host: &str, found_rows: bool) -> Self {
        Session {
            connection_id,
            user: user.to_string(),
            client_host: client_host.to_string(),
            found_rows,
            ..Session::default()
        }
    }
}

/// A statement's result.
#[derive(Debug)]
pub enum Outcome {
    Rows {
        columns: Vec<Column>,
        rows: Vec<Vec<Value>>,
    },
    Done {
        affected: u64,
        info: String,
    },
}

fn done() -> Outcome {
    Outcome::Done {
        affected: 0,
        info: String::new(),
    }
}

/// The least GC life time TiDB accepts, in seconds.
const MIN_GC_LIFE_TIME: u64 = 600;

impl Database {
    pub fn new(version: &str) -> Self {
        let now = jiff::Timestamp::now();
        let go_time = |ago: i64| {
            (now - jiff::SignedDuration::from_secs(ago))
                .strftime("%Y%m%d-%H:%M:%S.%3f +0000")
                .to_string()
        };
        let rows = [
            ("bootstrapped", "True", "Bootstrap flag. Do not delete."),
            ("tidb_server_version", "218", "Bootstrap version. Do not delete."),
            ("system_tz", "UTC", "TiDB Global System Timezone."),
            ("new_collation_enabled", "True", "If the new collations are enabled. Do not edit it."),
            ("tikv_gc_enable", "true", "Current GC enable status"),
            ("tikv_gc_run_interval", "10m0s", "GC run interval, at least 10m, in Go format."),
            ("tikv_gc_life_time", "10m0s", "All versions within life time will not be collected by GC, at least 10m, in Go format."),
            ("tikv_gc_last_run_time", &go_time(600), "The time when last GC starts. (DO NOT EDIT)"),
            ("tikv_gc_safe_point", &go_time(1200), "All versions after safe point can be accessed. (DO NOT EDIT)"),
            ("tikv_gc_auto_concurrency", "true", "Let TiDB pick the concurrency automatically. If set false, tikv_gc_concurrency will be used"),
            ("tikv_gc_mode", "distributed", "Mode of GC, \"central\" or \"distributed\""),
            ("tikv_gc_scan_lock_mode", "legacy", "Mode of scanning locks, \"physical\" or \"legacy\""),
        ]
        .into_iter()
        .map(|(name, value, comment)| Row {
            name: name.to_string(),
            value: value.to_string(),
            comment: comment.to_string(),
        })
        .collect();
        Database {
            version: version.to_string(),
            rows: Mutex::new(rows),
            log: Mutex::new(Vec::new()),
        }
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, Vec<Row>> {
        // Single assignments keep the rows consistent even after a panic elsewhere.
        self.rows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `VARIABLE_VALUE` of a `mysql.tidb` row.
    pub fn variable(&self, name: &str) -> Option<String> {
        self.rows()
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.value.clone())
    }

    /// Sets (or adds) a `mysql.tidb` row, as an operator with direct access would.
    pub fn set_variable(&self, name: &str, value: &str) {
        let mut rows = self.rows();
        match rows.iter_mut().find(|r| r.name == name) {
            Some(r) => r.value = value.to_string(),
            None => rows.push(Row {
                name: name.to_string(),
                value: value.to_string(),
                comment: String::new(),
            }),
        }
    }

    pub fn record(&self, entry: LoggedStatement) {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(entry);
    }

    pub fn statements(&self) -> Vec<LoggedStatement> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `SELECT version()`: what TiDB reports as the MySQL server version.
    pub fn server_version(&self) -> String {
        format!("8.0.11-TiDB-{}", self.version)
    }

    fn tidb_version(&self) -> String {
        format!(
            "Release Version: {}\nEdition: Community\nGit Commit Hash: simulated by tibr-sandbox\n\
             Git Branch: HEAD\nUTC Build Time: -\nGoVersion: -\nRace Enabled: false\n\
             Check Table Before Drop: false\nStore: tikv",
            self.version
        )
    }

    /// A system variable's value as TiDB reports it; `None` for one TiDB does not know.
    fn system_variable(&self, session: &Session, name: &str, global: bool) -> Option<Value> {
        if !global && let Some(v) = session.vars.get(name) {
            return Some(v.clone());
        }
        let text = |s: &str| Some(Value::Text(s.to_string()));
        match name {
            "version" => Some(Value::Text(self.server_version())),
            "version_comment" => {
                text("TiDB Server (Apache License 2.0) Community Edition, MySQL 8.0 compatible")
            }
            "tidb_version" => Some(Value::Text(self.tidb_version())),
            "max_allowed_packet" => Some(Value::Int(super::packet::MAX_ALLOWED_PACKET as i64)),
            "wait_timeout" | "interactive_timeout" => Some(Value::Int(28800)),
            "net_write_timeout" => Some(Value::Int(60)),
            "net_read_timeout" => Some(Value::Int(30)),
            "socket" => text(""),
            "autocommit" => Some(Value::Int(1)),
            "sql_mode" => text(
                "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,\
                 ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION",
            ),
            "character_set_client"
            | "character_set_connection"
            | "character_set_results"
            | "character_set_server"
            | "character_set_database" => text("utf8mb4"),
            "collation_connection" | "collation_server" | "collation_database" => {
                text("utf8mb4_bin")
            }
            "transaction_isolation" | "tx_isolation" => text("REPEATABLE-READ"),
            "time_zone" => text("SYSTEM"),
            "system_time_zone" => text("UTC"),
            "lower_case_table_names" => Some(Value::Int(2)),
            "sql_select_limit" => text("18446744073709551615"),
            "hostname" => text("demo1-tidb-0"),
            "tidb_gc_life_time" => self.variable("tikv_gc_life_time").map(Value::Text),
            "tidb_gc_run_interval" => self.variable("tikv_gc_run_interval").map(Value::Text),
            "tidb_gc_enable" => Some(Value::Text(
                if self.variable("tikv_gc_enable").as_deref() == Some("true") {
                    "ON"
                } else {
                    "OFF"
                }
                .to_string(),
            )),
            "tidb_snapshot" => text(""),
            _ => None,
        }
    }

    fn eval(&self, session: &Session, e: &Expr, params: &[Value]) -> Result<Value, SqlError> {
        Ok(match e {
            Expr::Lit(v) => v.clone(),
            Expr::Param(i) => params.get(*i).cloned().unwrap_or(Value::Null),
            Expr::SysVar { name, global } => self
                .system_variable(session, name, *global)
                .ok_or_else(|| unknown_variable(name))?,
            Expr::Func(f) => match f.as_str() {
                "version" => Value::Text(self.server_version()),
                "tidb_version" => Value::Text(self.tidb_version()),
                "database" | "schema" => session.database.clone().map_or(Value::Null, Value::Text),
                "user" | "session_user" | "system_user" => {
                    Value::Text(format!("{}@{}", session.user, session.client_host))
                }
                "current_user" => Value::Text(format!("{}@%", session.user)),
                "connection_id" => Value::Int(i64::from(session.connection_id)),
                other => {
                    return Err(SqlError::unsupported(format!(
                        "function {other}() is not supported by the simulated TiDB"
                    )));
                }
            },
        })
    }

    /// The result columns of a statement, known before it runs (prepared statements).
    pub fn columns(&self, session: &Session, statement: &Statement) -> Vec<Column> {
        match statement {
            Statement::SelectExprs(items) => items
                .iter()
                .map(|(e, label)| {
                    let integer = matches!(
                        self.eval(session, e, &[]),
                        Ok(Value::Int(_)) if !matches!(e, Expr::Param(_))
                    );
                    Column::computed(label, integer)
                })
                .collect(),
            Statement::SelectTidb { columns, .. } => columns
                .iter()
                .map(|(c, label)| Column {
                    name: label.clone(),
                    org_name: c.real_name().to_string(),
                    table: "tidb".to_string(),
                    schema: "mysql".to_string(),
                    integer: false,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn matches(&self, row: &Row, filter: &Filter, wanted: &Value) -> bool {
        let field = match filter.column {
            TidbColumn::Name => &row.name,
            TidbColumn::Value => &row.value,
            TidbColumn::Comment => &row.comment,
        };
        match wanted.as_text() {
            None => false,
            Some(w) if filter.like => like(field, &w),
            Some(w) => *field == w,
        }
    }

    pub fn execute(
        &self,
        session: &mut Session,
        statement: &Statement,
        params: &[Value],
    ) -> Result<Outcome, SqlError> {
        match statement {
            Statement::Noop => Ok(done()),
            Statement::SelectExprs(items) => {
                let mut row = Vec::new();
                for (e, _) in items {
                    row.push(self.eval(session, e, params)?);
                }
                let columns = items
                    .iter()
                    .zip(&row)
                    .map(|((_, label), v)| Column::computed(label, matches!(v, Value::Int(_))))
                    .collect();
                Ok(Outcome::Rows {
                    columns,
                    rows: vec![row],
                })
            }
            Statement::SelectTidb {
                columns,
                filter,
                limit,
            } => {
                let wanted = match filter {
                    Some(f) => Some(self.eval(session, &f.value, params)?),
                    None => None,
                };
                let rows = self.rows();
                let selected = rows
                    .iter()
                    .filter(|r| match (filter, &wanted) {
                        (Some(f), Some(w)) => self.matches(r, f, w),
                        _ => true,
                    })
                    .take(limit.map_or(usize::MAX, |l| l as usize))
                    .map(|r| {
                        columns
                            .iter()
                            .map(|(c, _)| {
                                Value::Text(match c {
                                    TidbColumn::Name => r.name.clone(),
                                    TidbColumn::Value => r.value.clone(),
                                    TidbColumn::Comment => r.comment.clone(),
                                })
                            })
                            .collect()
                    })
                    .collect();
                drop(rows);
                Ok(Outcome::Rows {
                    columns: self.columns(session, statement),
                    rows: selected,
                })
            }
            Statement::UpdateTidb { value, filter } => {
                let new = self.eval(session, value, params)?;
                let wanted = self.eval(session, &filter.value, params)?;
                let Some(new) = new.as_text() else {
                    return Err(SqlError {
                        code: 1048,
                        state: "23000",
                        message: "Column 'VARIABLE_VALUE' cannot be null".into(),
                    });
                };
                let mut rows = self.rows();
                let (mut matched, mut changed) = (0u64, 0u64);
                for r in rows.iter_mut().filter(|r| self.matches(r, filter, &wanted)) {
                    matched += 1;
                    if r.value != new {
                        r.value = new.clone();
                        changed += 1;
                    }
                }
                Ok(Outcome::Done {
                    affected: if session.found_rows { matched } else { changed },
                    info: format!("Rows matched: {matched}  Changed: {changed}  Warnings: 0"),
                })
            }
            Statement::Set(assignments) => {
                for a in assignments {
                    let value = self.eval(session, &a.value, params)?;
                    self.assign(session, &a.name, a.global, value)?;
                }
                Ok(done())
            }
        }
    }

    fn assign(
        &self,
        session: &mut Session,
        name: &str,
        global: bool,
        value: Value,
    ) -> Result<(), SqlError> {
        if self.system_variable(session, name, true).is_none() {
            return Err(unknown_variable(name));
        }
        match name {
            "tidb_gc_life_time" | "tidb_gc_run_interval" => {
                if !global {
                    return Err(SqlError {
                        code: 1229,
                        state: "HY000",
                        message: format!(
                            "Variable '{name}' is a GLOBAL variable and should be set with SET GLOBAL"
                        ),
                    });
                }
                let text = value.as_text().unwrap_or_default();
                let secs = parse_go_duration(&text).ok_or_else(|| SqlError {
                    code: 1231,
                    state: "42000",
                    message: format!("Variable '{name}' can't be set to the value of '{text}'"),
                })?;
                let row = name.replacen("tidb_", "tikv_", 1);
                self.set_variable(&row, &format_go_duration(secs.max(MIN_GC_LIFE_TIME)));
            }
            "tidb_gc_enable" => {
                let on = matches!(
                    value
                        .as_text()
                        .unwrap_or_default()
                        .to_ascii_lowercase()
                        .as_str(),
                    "on" | "1" | "true"
                );
                self.set_variable("tikv_gc_enable", if on { "true" } else { "false" });
            }
            // Session settings are remembered so the session reads them back.
            _ => {
                session.vars.insert(name.to_string(), value);
            }
        }
        Ok(())
    }
}

fn unknown_variable(name: &str) -> SqlError {
    SqlError {
        code: 1193,
        state: "HY000",
        message: format!("Unknown system variable '{name}'"),
    }
}

/// A Go duration (`72h`, `1h30m`, `10m0s`, `1.5h`) in whole seconds, rounded down.
pub fn parse_go_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    if s == "0" {
        return Some(0);
    }
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&n| n > 0)?;
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += n * factor;
        rest = &rest[unit_len..];
    }
    Some(total as u64)
}

/// Whole seconds in Go's `Duration.String()` form: `72h0m0s`, `10m0s`, `5s`.
pub fn format_go_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parse;

    fn run(
        db: &Database,
        s: &mut Session,
        sql: &str,
        params: &[Value],
    ) -> Result<Outcome, SqlError> {
        let parsed = parse(sql, s.database.as_deref()).expect("parses");
        db.execute(s, &parsed.statement, params)
    }

    #[test]
    fn gc_life_time_reads_updates_and_reports_affected_rows() {
        let db = Database::new("v8.5.0");
        let mut s = Session::new(1, "root", "127.0.0.1", false);
        assert_eq!(db.variable("tikv_gc_life_time").unwrap(), "10m0s");
        let q = "UPDATE mysql.tidb SET variable_value = ? WHERE variable_name = ?";
        let p = [
            Value::Text("72h".into()),
            Value::Text("tikv_gc_life_time".into()),
        ];
        match run(&db, &mut s, q, &p).unwrap() {
            Outcome::Done { affected, info } => {
                assert_eq!(affected, 1);
                assert_eq!(info, "Rows matched: 1  Changed: 1  Warnings: 0");
            }
            other => panic!("{other:?}"),
        }
        // Unchanged rows do not count unless the client asked for found rows.
        match run(&db, &mut s, q, &p).unwrap() {
            Outcome::Done { affected, .. } => assert_eq!(affected, 0),
            other => panic!("{other:?}"),
        }
        assert_eq!(db.variable("tikv_gc_life_time").unwrap(), "72h");
    }

    #[test]
    fn set_global_normalises_and_clamps() {
        let db = Database::new("v8.5.0");
        let mut s = Session::new(1, "root", "127.0.0.1", false);
        run(&db, &mut s, "SET GLOBAL tidb_gc_life_time = '72h'", &[]).unwrap();
        assert_eq!(db.variable("tikv_gc_life_time").unwrap(), "72h0m0s");
        run(&db, &mut s, "SET GLOBAL tidb_gc_life_time = '1m'", &[]).unwrap();
        assert_eq!(db.variable("tikv_gc_life_time").unwrap(), "10m0s");
        let e = run(&db, &mut s, "SET tidb_gc_life_time = '1h'", &[]).unwrap_err();
        assert_eq!(e.code, 1229);
        let e = run(&db, &mut s, "SET GLOBAL tidb_gc_life_time = 'soon'", &[]).unwrap_err();
        assert_eq!(e.code, 1231);
        let e = run(&db, &mut s, "SET GLOBAL no_such_thing = 1", &[]).unwrap_err();
        assert_eq!(e.code, 1193);
    }

    #[test]
    fn session_variables_read_back() {
        let db = Database::new("v8.5.0");
        let mut s = Session::new(1, "root", "127.0.0.1", false);
        run(&db, &mut s, "SET @@session.wait_timeout = 5", &[]).unwrap();
        match run(
            &db,
            &mut s,
            "SELECT @@wait_timeout, @@global.wait_timeout",
            &[],
        )
        .unwrap()
        {
            Outcome::Rows { rows, .. } => {
                assert_eq!(rows[0], vec![Value::Int(5), Value::Int(28800)]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("72h"), Some(259200));
        assert_eq!(parse_go_duration("1h30m"), Some(5400));
        assert_eq!(parse_go_duration("1.5h"), Some(5400));
        assert_eq!(parse_go_duration("10m0s"), Some(600));
        assert_eq!(parse_go_duration("3d"), None);
        assert_eq!(parse_go_duration("h"), None);
        assert_eq!(format_go_duration(259200), "72h0m0s");
        assert_eq!(format_go_duration(600), "10m0s");
        assert_eq!(format_go_duration(5), "5s");
    }
}

//! One client connection: the v10 handshake with `mysql_native_password` (switching a
//! client that asks for another plugin), then commands until `COM_QUIT`: queries,
//! prepared statements (`COM_STMT_PREPARE`/`EXECUTE`/`CLOSE`/`RESET`), `COM_INIT_DB`,
//! `COM_PING` and `COM_RESET_CONNECTION`.
//!
//! Differences from TiDB: no TLS (the capability is not offered, so clients that do not
//! require it proceed in plain text), no compression, no `caching_sha2_password`, one
//! user; `COM_CHANGE_USER`, `COM_STMT_SEND_LONG_DATA` and `COM_STMT_FETCH` are refused.

use std::{collections::HashMap, io, sync::Arc};

use rand::distr::{Alphanumeric, SampleString};
use sha1::{Digest, Sha1};
use tokio::net::TcpStream;

use super::{
    Credentials,
    database::{Database, LoggedStatement, Outcome, Session},
    packet::{
        Column, Reader, SqlError, Value, Wire, binary_row, decode_binary_value, eof_packet,
        ok_packet, put_lenenc_int, put_u16, put_u32, text_row,
    },
    sql::{self, Parsed},
};

const CLIENT_LONG_PASSWORD: u32 = 0x1;
const CLIENT_FOUND_ROWS: u32 = 0x2;
const CLIENT_LONG_FLAG: u32 = 0x4;
const CLIENT_CONNECT_WITH_DB: u32 = 0x8;
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_INTERACTIVE: u32 = 0x400;
const CLIENT_SSL: u32 = 0x800;
const CLIENT_TRANSACTIONS: u32 = 0x2000;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
const CLIENT_MULTI_RESULTS: u32 = 0x2_0000;
const CLIENT_PS_MULTI_RESULTS: u32 = 0x4_0000;
const CLIENT_PLUGIN_AUTH: u32 = 0x8_0000;
const CLIENT_CONNECT_ATTRS: u32 = 0x10_0000;
const CLIENT_PLUGIN_AUTH_LENENC: u32 = 0x20_0000;

const SERVER_CAPABILITIES: u32 = CLIENT_LONG_PASSWORD
    | CLIENT_FOUND_ROWS
    | CLIENT_LONG_FLAG
    | CLIENT_CONNECT_WITH_DB
    | CLIENT_PROTOCOL_41
    | CLIENT_INTERACTIVE
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_MULTI_RESULTS
    | CLIENT_PS_MULTI_RESULTS
    | CLIENT_PLUGIN_AUTH
    | CLIENT_CONNECT_ATTRS
    | CLIENT_PLUGIN_AUTH_LENENC;

const NATIVE_PASSWORD: &str = "mysql_native_password";

/// Databases a client may name; TiDB refuses unknown ones with error 1049.
const DATABASES: [&str; 4] = ["mysql", "test", "information_schema", "performance_schema"];

/// `SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password)))`, what the client sends.
pub fn native_password_token(password: &str, scramble: &[u8]) -> Vec<u8> {
    let h1 = Sha1::digest(password.as_bytes());
    let h2 = Sha1::digest(h1);
    let mut salted = Sha1::new();
    salted.update(scramble);
    salted.update(h2);
    let h3 = salted.finalize();
    h1.iter().zip(h3.iter()).map(|(a, b)| a ^ b).collect()
}

fn access_denied(user: &str, host: &str, with_password: bool) -> SqlError {
    SqlError {
        code: 1045,
        state: "28000",
        message: format!(
            "Access denied for user '{user}'@'{host}' (using password: {})",
            if with_password { "YES" } else { "NO" }
        ),
    }
}

struct Prepared {
    sql: String,
    parsed: Parsed,
    /// Parameter types from the last execute that sent them.
    types: Vec<(u8, bool)>,
}

pub struct Connection {
    wire: Wire,
    db: Arc<Database>,
    session: Session,
    statements: HashMap<u32, Prepared>,
    next_statement: u32,
}

/// The handshake: greeting, client response, plugin switch if needed, verdict.
async fn handshake(
    wire: &mut Wire,
    credentials: &Credentials,
    connection_id: u32,
    server_version: &str,
    client_host: &str,
) -> io::Result<Option<(Session, Option<String>)>> {
    let scramble = Alphanumeric
        .sample_string(&mut rand::rng(), 20)
        .into_bytes();
    let mut hello = vec![10];
    hello.extend_from_slice(server_version.as_bytes());
    hello.push(0);
    put_u32(&mut hello, connection_id);
    hello.extend_from_slice(&scramble[..8]);
    hello.push(0);
    put_u16(&mut hello, SERVER_CAPABILITIES as u16);
    hello.push(super::packet::CHARSET_UTF8MB4_BIN as u8);
    put_u16(&mut hello, super::packet::STATUS_AUTOCOMMIT);
    put_u16(&mut hello, (SERVER_CAPABILITIES >> 16) as u16);
    hello.push(21);
    hello.extend_from_slice(&[0; 10]);
    hello.extend_from_slice(&scramble[8..]);
    hello.push(0);
    hello.extend_from_slice(NATIVE_PASSWORD.as_bytes());
    hello.push(0);
    wire.write(&hello).await?;
    wire.flush().await?;

    let Some(response) = wire.read().await? else {
        return Ok(None);
    };
    let mut r = Reader::new(&response);
    let caps = r.u32()?;
    if caps & CLIENT_SSL != 0 && r.remaining() <= 28 {
        let e = SqlError::unsupported("TLS is not supported by the simulated TiDB");
        wire.write(&e.packet()).await?;
        wire.flush().await?;
        return Ok(None);
    }
    r.u32()?;
    r.u8()?;
    r.bytes(23)?;
    let user = String::from_utf8_lossy(r.null_terminated()?).into_owned();
    let mut token = if caps & CLIENT_PLUGIN_AUTH_LENENC != 0 {
        r.lenenc_bytes()?.to_vec()
    } else if caps & CLIENT_SECURE_CONNECTION != 0 {
        let n = r.u8()? as usize;
        r.bytes(n)?.to_vec()
    } else {
        r.null_terminated()?.to_vec()
    };
    let database = if caps & CLIENT_CONNECT_WITH_DB != 0 && r.remaining() > 0 {
        Some(String::from_utf8_lossy(r.null_terminated()?).into_owned()).filter(|d| !d.is_empty())
    } else {
        None
    };
    let plugin = if caps & CLIENT_PLUGIN_AUTH != 0 && r.remaining() > 0 {
        String::from_utf8_lossy(r.null_terminated()?).into_owned()
    } else {
        NATIVE_PASSWORD.to_string()
    };
    if plugin != NATIVE_PASSWORD {
        // AuthSwitchRequest: the client answers with a native-password token.
        let mut switch = vec![0xfe];
        switch.extend_from_slice(NATIVE_PASSWORD.as_bytes());
        switch.push(0);
        switch.extend_from_slice(&scramble);
        switch.push(0);
        wire.write(&switch).await?;
        wire.flush().await?;
        let Some(answer) = wire.read().await? else {
            return Ok(None);
        };
        token = answer;
    }
    let expected = if credentials.password.is_empty() {
        Vec::new()
    } else {
        native_password_token(&credentials.password, &scramble)
    };
    if user != credentials.user || token != expected {
        let e = access_denied(&user, client_host, !token.is_empty());
        wire.write(&e.packet()).await?;
        wire.flush().await?;
        return Ok(None);
    }
    let session = Session::new(
        connection_id,
        &user,
        client_host,
        caps & CLIENT_FOUND_ROWS != 0,
    );
    Ok(Some((session, database)))
}

impl Connection {
    /// Runs one connection to its end; I/O errors end it silently, as a client hanging
    /// up is nothing to report.
    pub async fn serve(
        stream: TcpStream,
        db: Arc<Database>,
        credentials: Arc<Credentials>,
        connection_id: u32,
    ) {
        let client_host = stream
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|_| "127.0.0.1".to_string());
        let mut wire = Wire::new(stream);
        let version = db.server_version();
        let Ok(Some((session, database))) = handshake(
            &mut wire,
            &credentials,
            connection_id,
            &version,
            &client_host,
        )
        .await
        else {
            return;
        };
        let mut conn = Connection {
            wire,
            db,
            session,
            statements: HashMap::new(),
            next_statement: 1,
        };
        let verdict = match database {
            Some(d) => conn.use_database(&d),
            None => Ok(()),
        };
        let first = match verdict {
            Ok(()) => ok_packet(0, ""),
            Err(e) => e.packet(),
        };
        if conn.wire.write(&first).await.is_err() || conn.wire.flush().await.is_err() {
            return;
        }
        let _ = conn.commands().await;
    }

    fn use_database(&mut self, name: &str) -> Result<(), SqlError> {
        if DATABASES.iter().any(|d| d.eq_ignore_ascii_case(name)) {
            self.session.database = Some(name.to_ascii_lowercase());
            Ok(())
        } else {
            Err(SqlError {
                code: 1049,
                state: "42000",
                message: format!("Unknown database '{name}'"),
            })
        }
    }

    async fn commands(&mut self) -> io::Result<()> {
        while let Some(packet) = self.wire.read().await? {
            let Some((&command, body)) = packet.split_first() else {
                continue;
            };
            match command {
                0x01 => return Ok(()),
                0x02 => {
                    let name = String::from_utf8_lossy(body).into_owned();
                    let reply = match self.use_database(&name) {
                        Ok(()) => ok_packet(0, ""),
                        Err(e) => e.packet(),
                    };
                    self.wire.write(&reply).await?;
                }
                0x03 => {
                    let sql = String::from_utf8_lossy(body).into_owned();
                    self.query(sql).await?;
                }
                0x0e | 0x1a => self.wire.write(&ok_packet(0, "")).await?,
                0x16 => {
                    let sql = String::from_utf8_lossy(body).into_owned();
                    self.prepare(sql).await?;
                }
                0x17 => self.execute(body).await?,
                // COM_STMT_CLOSE has no response.
                0x19 => {
                    if let Ok(id) = Reader::new(body).u32() {
                        self.statements.remove(&id);
                    }
                    continue;
                }
                0x1f => {
                    let Session {
                        connection_id,
                        user,
                        client_host,
                        found_rows,
                        ..
                    } = &self.session;
                    self.session = Session::new(*connection_id, user, client_host, *found_rows);
                    self.statements.clear();
                    self.wire.write(&ok_packet(0, "")).await?;
                }
                other => {
                    let e = SqlError {
                        code: 1047,
                        state: "08S01",
                        message: format!("Unknown command (0x{other:02x}) for the simulated TiDB"),
                    };
                    self.wire.write(&e.packet()).await?;
                }
            }
            self.wire.flush().await?;
        }
        Ok(())
    }

    fn parse(&self, sql: &str) -> Result<Parsed, SqlError> {
        sql::parse(sql, self.session.database.as_deref()).map_err(|why| {
            if why == "Query was empty" {
                return SqlError {
                    code: 1065,
                    state: "42000",
                    message: why,
                };
            }
            let shown: String = sql.trim().chars().take(200).collect();
            SqlError::unsupported(format!(
                "the simulated TiDB does not support this statement ({why}): {shown}"
            ))
        })
    }

    async fn query(&mut self, sql: String) -> io::Result<()> {
        let result = self.parse(&sql).and_then(|parsed| {
            if parsed.params > 0 {
                return Err(SqlError {
                    code: 1064,
                    state: "42000",
                    message:
                        "You have an error in your SQL syntax: '?' outside a prepared statement"
                            .into(),
                });
            }
            if let sql::Statement::Noop = parsed.statement
                && let Some(db) = use_target(&sql)
            {
                self.use_database(&db)?;
            }
            self.db.execute(&mut self.session, &parsed.statement, &[])
        });
        self.db.record(LoggedStatement {
            sql,
            params: Vec::new(),
            error: result.as_ref().err().map(|e| e.code),
        });
        self.respond(result, false).await
    }

    async fn respond(&mut self, result: Result<Outcome, SqlError>, binary: bool) -> io::Result<()> {
        match result {
            Err(e) => self.wire.write(&e.packet()).await,
            Ok(Outcome::Done { affected, info }) => {
                self.wire.write(&ok_packet(affected, &info)).await
            }
            Ok(Outcome::Rows { columns, rows }) => {
                self.column_block(&columns).await?;
                for row in rows {
                    let payload = if binary {
                        binary_row(&row)
                    } else {
                        text_row(&row)
                    };
                    self.wire.write(&payload).await?;
                }
                self.wire.write(&eof_packet()).await
            }
        }
    }

    /// Column count, definitions and the EOF that ends them.
    async fn column_block(&mut self, columns: &[Column]) -> io::Result<()> {
        let mut count = Vec::new();
        put_lenenc_int(&mut count, columns.len() as u64);
        self.wire.write(&count).await?;
        for c in columns {
            self.wire.write(&c.definition()).await?;
        }
        self.wire.write(&eof_packet()).await
    }

    async fn prepare(&mut self, sql: String) -> io::Result<()> {
        let parsed = match self.parse(&sql) {
            Ok(p) => p,
            Err(e) => {
                self.db.record(LoggedStatement {
                    sql,
                    params: Vec::new(),
                    error: Some(e.code),
                });
                return self.wire.write(&e.packet()).await;
            }
        };
        let id = self.next_statement;
        self.next_statement = self.next_statement.wrapping_add(1).max(1);
        let columns = self.db.columns(&self.session, &parsed.statement);
        let mut ok = vec![0x00];
        put_u32(&mut ok, id);
        put_u16(&mut ok, columns.len() as u16);
        put_u16(&mut ok, parsed.params as u16);
        ok.push(0);
        put_u16(&mut ok, 0);
        self.wire.write(&ok).await?;
        if parsed.params > 0 {
            for _ in 0..parsed.params {
                self.wire
                    .write(&Column::computed("?", false).definition())
                    .await?;
            }
            self.wire.write(&eof_packet()).await?;
        }
        if !columns.is_empty() {
            for c in &columns {
                self.wire.write(&c.definition()).await?;
            }
            self.wire.write(&eof_packet()).await?;
        }
        self.statements.insert(
            id,
            Prepared {
                sql,
                parsed,
                types: Vec::new(),
            },
        );
        Ok(())
    }

    async fn execute(&mut self, body: &[u8]) -> io::Result<()> {
        let mut r = Reader::new(body);
        let id = r.u32()?;
        let Some(prepared) = self.statements.get_mut(&id) else {
            let e = SqlError {
                code: 1243,
                state: "HY000",
                message: format!(
                    "Unknown prepared statement handler ({id}) given to mysqld_stmt_execute"
                ),
            };
            return self.wire.write(&e.packet()).await;
        };
        r.u8()?;
        r.u32()?;
        let n = prepared.parsed.params;
        let params = if n > 0 {
            let bitmap = r.bytes(n.div_ceil(8))?.to_vec();
            if r.u8()? == 1 {
                prepared.types = (0..n)
                    .map(|_| Ok((r.u8()?, r.u8()? & 0x80 != 0)))
                    .collect::<io::Result<_>>()?;
            }
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                if bitmap[i / 8] & (1 << (i % 8)) != 0 {
                    values.push(Value::Null);
                    continue;
                }
                let (kind, unsigned) = prepared.types.get(i).copied().unwrap_or((0xfd, false));
                values.push(decode_binary_value(&mut r, kind, unsigned)?);
            }
            values
        } else {
            Vec::new()
        };
        let sql = prepared.sql.clone();
        let statement = prepared.parsed.statement.clone();
        let result = self.db.execute(&mut self.session, &statement, &params);
        self.db.record(LoggedStatement {
            sql,
            params: params.iter().map(Value::as_text).collect(),
            error: result.as_ref().err().map(|e| e.code),
        });
        self.respond(result, true).await
    }
}

/// The database named by a `USE` statement.
fn use_target(sql: &str) -> Option<String> {
    let trimmed = sql.trim().trim_end_matches(';').trim();
    let (kw, rest) = trimmed.split_once(char::is_whitespace)?;
    kw.eq_ignore_ascii_case("use")
        .then(|| rest.trim().trim_matches('`').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_password_tokens_verify() {
        // The token the server expects is what a client computes from the same inputs.
        let scramble = b"abcdefghijklmnopqrst";
        let t = native_password_token("secret", scramble);
        assert_eq!(t.len(), 20);
        assert_ne!(t, native_password_token("other", scramble));
        assert_ne!(t, native_password_token("secret", b"tsrqponmlkjihgfedcba"));
    }

    #[test]
    fn use_statements_name_their_database() {
        assert_eq!(use_target("USE `mysql`;"), Some("mysql".into()));
        assert_eq!(use_target("select 1"), None);
    }
}

//! MySQL wire framing and the packets a server sends: packets of up to 16 MiB - 1 with a
//! sequence number, length-encoded integers and strings, OK/ERR/EOF, column definitions
//! and rows in the text and binary protocols.
//!
//! Only the classic (pre-`CLIENT_DEPRECATE_EOF`) result set framing is produced: the
//! server does not offer that capability, so every client falls back to EOF packets.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufStream};
use tokio::net::TcpStream;

/// The largest payload one packet carries; longer payloads continue in further packets.
const MAX_PAYLOAD: usize = 0xff_ffff;
/// Commands larger than this are refused rather than buffered (TiDB's default
/// `max_allowed_packet` is 64 MiB).
pub const MAX_ALLOWED_PACKET: usize = 64 << 20;

/// `SERVER_STATUS_AUTOCOMMIT`: every response reports autocommit mode.
pub const STATUS_AUTOCOMMIT: u16 = 0x0002;

/// Column types used in definitions and binary rows.
pub const TYPE_LONGLONG: u8 = 0x08;
pub const TYPE_VAR_STRING: u8 = 0xfd;

/// `utf8mb4_bin` (TiDB's default collation) and `binary`.
pub const CHARSET_UTF8MB4_BIN: u16 = 46;
pub const CHARSET_BINARY: u16 = 63;

/// A connection's packet stream with its sequence counter.
pub struct Wire {
    stream: BufStream<TcpStream>,
    seq: u8,
}

impl Wire {
    pub fn new(stream: TcpStream) -> Self {
        Wire {
            stream: BufStream::new(stream),
            seq: 0,
        }
    }

    /// Reads one logical packet (joining continuation packets); `None` at a clean EOF.
    /// Replies continue the sequence of the packet read, as the protocol requires.
    pub async fn read(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut payload = Vec::new();
        loop {
            let mut header = [0u8; 4];
            match self.stream.read_exact(&mut header).await {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && payload.is_empty() => {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
            let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
            self.seq = header[3].wrapping_add(1);
            if payload.len() + len > MAX_ALLOWED_PACKET {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "packet larger than max_allowed_packet",
                ));
            }
            let start = payload.len();
            payload.resize(start + len, 0);
            self.stream.read_exact(&mut payload[start..]).await?;
            if len < MAX_PAYLOAD {
                return Ok(Some(payload));
            }
        }
    }

    /// Queues one logical packet (split as the protocol requires).
    pub async fn write(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut chunks = payload.chunks(MAX_PAYLOAD).peekable();
        if payload.is_empty() {
            return self.write_chunk(&[]).await;
        }
        while let Some(chunk) = chunks.next() {
            self.write_chunk(chunk).await?;
            // A payload that is an exact multiple of the maximum ends with an empty packet.
            if chunks.peek().is_none() && chunk.len() == MAX_PAYLOAD {
                self.write_chunk(&[]).await?;
            }
        }
        Ok(())
    }

    async fn write_chunk(&mut self, chunk: &[u8]) -> io::Result<()> {
        let len = (chunk.len() as u32).to_le_bytes();
        self.stream
            .write_all(&[len[0], len[1], len[2], self.seq])
            .await?;
        self.stream.write_all(chunk).await?;
        self.seq = self.seq.wrapping_add(1);
        Ok(())
    }

    pub async fn flush(&mut self) -> io::Result<()> {
        self.stream.flush().await
    }
}

pub fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub fn put_lenenc_int(out: &mut Vec<u8>, v: u64) {
    match v {
        0..=250 => out.push(v as u8),
        251..=0xffff => {
            out.push(0xfc);
            out.extend_from_slice(&(v as u16).to_le_bytes());
        }
        0x1_0000..=0xff_ffff => {
            out.push(0xfd);
            out.extend_from_slice(&(v as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xfe);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

pub fn put_lenenc_str(out: &mut Vec<u8>, s: &[u8]) {
    put_lenenc_int(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// A cursor over a received payload; every read fails cleanly on truncated input.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

fn truncated() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "malformed packet")
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn bytes(&mut self, n: usize) -> io::Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(truncated)?;
        let slice = self.data.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(slice)
    }

    pub fn u8(&mut self) -> io::Result<u8> {
        Ok(self.bytes(1)?[0])
    }

    pub fn u16(&mut self) -> io::Result<u16> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> io::Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self) -> io::Result<u64> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub fn lenenc_int(&mut self) -> io::Result<u64> {
        Ok(match self.u8()? {
            0xfc => u64::from(self.u16()?),
            0xfd => {
                let b = self.bytes(3)?;
                u64::from(u32::from_le_bytes([b[0], b[1], b[2], 0]))
            }
            0xfe => self.u64()?,
            n => u64::from(n),
        })
    }

    pub fn lenenc_bytes(&mut self) -> io::Result<&'a [u8]> {
        let n = self.lenenc_int()?;
        self.bytes(usize::try_from(n).map_err(|_| truncated())?)
    }

    /// A NUL-terminated string (or the rest of the packet when there is no NUL).
    pub fn null_terminated(&mut self) -> io::Result<&'a [u8]> {
        let rest = &self.data[self.pos..];
        match rest.iter().position(|&b| b == 0) {
            Some(i) => {
                self.pos += i + 1;
                Ok(&rest[..i])
            }
            None => {
                self.pos = self.data.len();
                Ok(rest)
            }
        }
    }
}

/// OK packet; `info` is the human-readable message clients print (`Rows matched: ...`).
pub fn ok_packet(affected: u64, info: &str) -> Vec<u8> {
    let mut out = vec![0x00];
    put_lenenc_int(&mut out, affected);
    put_lenenc_int(&mut out, 0);
    put_u16(&mut out, STATUS_AUTOCOMMIT);
    put_u16(&mut out, 0);
    // Length-encoded, as TiDB and MariaDB write it and as clients parse it (the
    // protocol documentation's `string<EOF>` is not what servers send).
    if !info.is_empty() {
        put_lenenc_str(&mut out, info.as_bytes());
    }
    out
}

pub fn eof_packet() -> Vec<u8> {
    let mut out = vec![0xfe];
    put_u16(&mut out, 0);
    put_u16(&mut out, STATUS_AUTOCOMMIT);
    out
}

/// A MySQL error: code, SQLSTATE and message, as clients print
/// `ERROR <code> (<state>): <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    pub code: u16,
    pub state: &'static str,
    pub message: String,
}

impl SqlError {
    /// ER_UNKNOWN_ERROR (1105), TiDB's catch-all for what it does not support.
    pub fn unsupported(message: impl Into<String>) -> Self {
        SqlError {
            code: 1105,
            state: "HY000",
            message: message.into(),
        }
    }

    pub fn packet(&self) -> Vec<u8> {
        let mut out = vec![0xff];
        put_u16(&mut out, self.code);
        out.push(b'#');
        out.extend_from_slice(self.state.as_bytes());
        out.extend_from_slice(self.message.as_bytes());
        out
    }
}

/// A value in a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl Value {
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Int(i) => Some(i.to_string()),
            Value::Text(s) => Some(s.clone()),
        }
    }
}

/// A result column; `name` is the label the client shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub org_name: String,
    pub table: String,
    pub schema: String,
    pub integer: bool,
}

impl Column {
    /// A computed column (`SELECT 1`, `SELECT @@x`): no table.
    pub fn computed(name: &str, integer: bool) -> Self {
        Column {
            name: name.to_string(),
            org_name: String::new(),
            table: String::new(),
            schema: String::new(),
            integer,
        }
    }

    /// ColumnDefinition41.
    pub fn definition(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_lenenc_str(&mut out, b"def");
        put_lenenc_str(&mut out, self.schema.as_bytes());
        put_lenenc_str(&mut out, self.table.as_bytes());
        put_lenenc_str(&mut out, self.table.as_bytes());
        put_lenenc_str(&mut out, self.name.as_bytes());
        put_lenenc_str(&mut out, self.org_name.as_bytes());
        out.push(0x0c);
        if self.integer {
            put_u16(&mut out, CHARSET_BINARY);
            put_u32(&mut out, 21);
            out.push(TYPE_LONGLONG);
            // NOT_NULL | BINARY
            put_u16(&mut out, 0x0081);
        } else {
            put_u16(&mut out, CHARSET_UTF8MB4_BIN);
            put_u32(&mut out, 4096);
            out.push(TYPE_VAR_STRING);
            put_u16(&mut out, 0);
        }
        out.push(0);
        out.extend_from_slice(&[0, 0]);
        out
    }
}

/// A row in the text protocol: each value a length-encoded string, NULL as 0xfb.
pub fn text_row(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        match v.as_text() {
            None => out.push(0xfb),
            Some(s) => put_lenenc_str(&mut out, s.as_bytes()),
        }
    }
    out
}

/// A row in the binary protocol: a NULL bitmap (offset 2), then the values by type.
pub fn binary_row(values: &[Value]) -> Vec<u8> {
    let mut out = vec![0x00];
    let mut bitmap = vec![0u8; (values.len() + 7 + 2) / 8];
    for (i, v) in values.iter().enumerate() {
        if *v == Value::Null {
            bitmap[(i + 2) / 8] |= 1 << ((i + 2) % 8);
        }
    }
    out.extend_from_slice(&bitmap);
    for v in values {
        match v {
            Value::Null => {}
            Value::Int(i) => out.extend_from_slice(&i.to_le_bytes()),
            Value::Text(s) => put_lenenc_str(&mut out, s.as_bytes()),
        }
    }
    out
}

/// One parameter of `COM_STMT_EXECUTE` in the binary protocol, as a value.
pub fn decode_binary_value(r: &mut Reader<'_>, kind: u8, unsigned: bool) -> io::Result<Value> {
    let int = |v: i64, u: u64| {
        if unsigned && u > i64::MAX as u64 {
            Value::Text(u.to_string())
        } else if unsigned {
            Value::Int(u as i64)
        } else {
            Value::Int(v)
        }
    };
    Ok(match kind {
        0x06 => Value::Null,
        0x01 => {
            let b = r.u8()?;
            int(i64::from(b as i8), u64::from(b))
        }
        0x02 | 0x0d => {
            let v = r.u16()?;
            int(i64::from(v as i16), u64::from(v))
        }
        0x03 | 0x09 => {
            let v = r.u32()?;
            int(i64::from(v as i32), u64::from(v))
        }
        0x08 => {
            let v = r.u64()?;
            int(v as i64, v)
        }
        0x04 => Value::Text(f32::from_le_bytes(r.u32()?.to_le_bytes()).to_string()),
        0x05 => Value::Text(f64::from_le_bytes(r.u64()?.to_le_bytes()).to_string()),
        0x07 | 0x0a | 0x0c => {
            let len = r.u8()? as usize;
            let mut d = Reader::new(r.bytes(len)?);
            let (y, mo, da) = if len >= 4 {
                (d.u16()?, d.u8()?, d.u8()?)
            } else {
                (0, 0, 0)
            };
            let (h, mi, s) = if len >= 7 {
                (d.u8()?, d.u8()?, d.u8()?)
            } else {
                (0, 0, 0)
            };
            let micros = if len >= 11 { d.u32()? } else { 0 };
            let mut text = format!("{y:04}-{mo:02}-{da:02}");
            if kind != 0x0a {
                text.push_str(&format!(" {h:02}:{mi:02}:{s:02}"));
                if micros > 0 {
                    text.push_str(&format!(".{micros:06}"));
                }
            }
            Value::Text(text)
        }
        0x0b => {
            let len = r.u8()? as usize;
            let mut d = Reader::new(r.bytes(len)?);
            if len == 0 {
                Value::Text("00:00:00".into())
            } else {
                let negative = d.u8()? == 1;
                let days = d.u32()?;
                let (h, m, s) = (d.u8()?, d.u8()?, d.u8()?);
                let sign = if negative { "-" } else { "" };
                Value::Text(format!(
                    "{sign}{:02}:{m:02}:{s:02}",
                    u64::from(days) * 24 + u64::from(h)
                ))
            }
        }
        // Strings, blobs, decimals, JSON, bits: length-encoded bytes.
        _ => Value::Text(String::from_utf8_lossy(r.lenenc_bytes()?).into_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_encoded_integers_round_trip() {
        for v in [
            0u64,
            250,
            251,
            0xffff,
            0x1_0000,
            0xff_ffff,
            0x100_0000,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_lenenc_int(&mut out, v);
            assert_eq!(Reader::new(&out).lenenc_int().unwrap(), v);
        }
    }

    #[test]
    fn truncated_input_is_an_error() {
        let mut r = Reader::new(&[0xfc, 0x01]);
        assert!(r.lenenc_int().is_err());
        assert!(Reader::new(&[]).u8().is_err());
    }

    #[test]
    fn binary_rows_mark_nulls_from_bit_two() {
        let row = binary_row(&[Value::Null, Value::Int(1), Value::Text("x".into())]);
        assert_eq!(row[0], 0);
        assert_eq!(row[1], 0b100);
        assert_eq!(&row[2..10], &1i64.to_le_bytes());
        assert_eq!(&row[10..], &[1, b'x']);
    }

    #[test]
    fn errors_carry_code_and_state() {
        let p = SqlError::unsupported("nope").packet();
        assert_eq!(p[0], 0xff);
        assert_eq!(u16::from_le_bytes([p[1], p[2]]), 1105);
        assert_eq!(&p[3..9], b"#HY000");
    }

    #[test]
    fn params_decode_by_type() {
        let mut r = Reader::new(&[3, b'7', b'2', b'h']);
        assert_eq!(
            decode_binary_value(&mut r, 0xfd, false).unwrap(),
            Value::Text("72h".into())
        );
        let bytes = (-5i64).to_le_bytes();
        assert_eq!(
            decode_binary_value(&mut Reader::new(&bytes), 0x08, false).unwrap(),
            Value::Int(-5)
        );
        let date = [7, 0xea, 0x07, 11, 21, 7, 3, 0];
        assert_eq!(
            decode_binary_value(&mut Reader::new(&date), 0x0c, false).unwrap(),
            Value::Text("2026-11-21 07:03:00".into())
        );
        assert!(decode_binary_value(&mut Reader::new(&[5, b'a']), 0xfd, false).is_err());
    }
}

//! Splitting SQL into tokens: identifiers and keywords, backtick-quoted identifiers,
//! strings in either quote style (with backslash escapes and doubled quotes), numbers,
//! `?` placeholders, `@@system` and `@user` variables and punctuation, with their byte
//! ranges; comments (`-- `, `#`, `/* */`) are dropped.

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// An unquoted identifier or keyword.
    Word(String),
    /// A backtick-quoted identifier.
    Quoted(String),
    Str(String),
    Num(String),
    Param,
    /// `@@name`, `@@session.name`, ...: the text after `@@`.
    SysVar(String),
    UserVar(String),
    Punct(char),
}

/// Splits `sql` into tokens with their byte ranges, dropping comments.
pub fn tokenize(sql: &str) -> Result<Vec<(Tok, usize, usize)>, String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' || (c == b'-' && b.get(i + 1) == Some(&b'-')) {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            match sql[i + 2..].find("*/") {
                Some(end) => i += end + 4,
                None => return Err("unterminated comment".into()),
            }
            continue;
        }
        let tok = if c == b'\'' || c == b'"' {
            let (s, next) = quoted(sql, i, c)?;
            i = next;
            Tok::Str(s)
        } else if c == b'`' {
            let (s, next) = quoted(sql, i, c)?;
            i = next;
            Tok::Quoted(s)
        } else if c == b'?' {
            i += 1;
            Tok::Param
        } else if c == b'@' {
            let sys = b.get(i + 1) == Some(&b'@');
            i += if sys { 2 } else { 1 };
            let name_start = i;
            while i < b.len() && (ident(b[i]) || b[i] == b'.') {
                i += 1;
            }
            let name = sql[name_start..i].to_string();
            if sys {
                Tok::SysVar(name)
            } else {
                Tok::UserVar(name)
            }
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            Tok::Num(sql[start..i].to_string())
        } else if ident(c) {
            while i < b.len() && ident(b[i]) {
                i += 1;
            }
            Tok::Word(sql[start..i].to_string())
        } else {
            i += 1;
            Tok::Punct(c as char)
        };
        out.push((tok, start, i));
    }
    Ok(out)
}

/// A quoted string or identifier starting at `start`; doubled quotes and (for strings)
/// backslash escapes are unescaped. Returns the text and the index after the close.
fn quoted(sql: &str, start: usize, q: u8) -> Result<(String, usize), String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = start + 1;
    while i < b.len() {
        let c = b[i];
        if c == q {
            if b.get(i + 1) == Some(&q) {
                out.push(q);
                i += 2;
                continue;
            }
            return Ok((String::from_utf8_lossy(&out).into_owned(), i + 1));
        }
        if c == b'\\' && q != b'`' && i + 1 < b.len() {
            out.push(match b[i + 1] {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                b'0' => 0,
                other => other,
            });
            i += 2;
            continue;
        }
        out.push(c);
        i += 1;
    }
    Err("unterminated quoted string".into())
}

//! The protobuf wire format: varints and tagged fields, nothing about meaning.

/// A field's payload as the wire carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    Fixed32(u32),
}

impl Wire<'_> {
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Wire::Varint(_) => "varint",
            Wire::Fixed64(_) => "64-bit",
            Wire::Len(_) => "length-delimited",
            Wire::Fixed32(_) => "32-bit",
        }
    }
}

/// Iterates over the `(field number, payload)` pairs of one message.
#[derive(Debug, Clone)]
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Fields { rest: bytes }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Wire<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let item = read_field(&mut self.rest);
        if item.is_err() {
            // A broken tag or length leaves no way to find the next field.
            self.rest = &[];
        }
        Some(item)
    }
}

fn read_field<'a>(rest: &mut &'a [u8]) -> Result<(u32, Wire<'a>), String> {
    let tag = varint(rest)?;
    let number = u32::try_from(tag >> 3)
        .ok()
        .filter(|n| *n != 0 && *n < (1 << 29))
        .ok_or_else(|| format!("invalid field number {}", tag >> 3))?;
    let wire = match tag & 7 {
        0 => Wire::Varint(varint(rest)?),
        1 => Wire::Fixed64(u64::from_le_bytes(
            take(rest, 8, number)?.try_into().unwrap_or_default(),
        )),
        2 => {
            let len = varint(rest)?;
            let len = usize::try_from(len)
                .map_err(|_| format!("field {number}: length {len} is too large"))?;
            Wire::Len(take(rest, len, number)?)
        }
        5 => Wire::Fixed32(u32::from_le_bytes(
            take(rest, 4, number)?.try_into().unwrap_or_default(),
        )),
        other => {
            return Err(format!(
                "field {number}: unsupported wire type {other} (groups are not used by Kubernetes)"
            ));
        }
    };
    Ok((number, wire))
}

fn take<'a>(rest: &mut &'a [u8], n: usize, number: u32) -> Result<&'a [u8], String> {
    if rest.len() < n {
        return Err(format!(
            "field {number}: needs {n} bytes but the message has {} left",
            rest.len()
        ));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

pub(crate) fn varint(rest: &mut &[u8]) -> Result<u64, String> {
    let mut value = 0u64;
    for i in 0..10 {
        let Some((&byte, tail)) = rest.split_first() else {
            return Err("truncated varint".to_string());
        };
        *rest = tail;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint longer than 10 bytes".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_wire_type() {
        // 1: varint 300, 2: "hi", 3: fixed64 1, 4: fixed32 2
        let bytes = [
            0x08, 0xac, 0x02, 0x12, 2, b'h', b'i', 0x19, 1, 0, 0, 0, 0, 0, 0, 0, 0x25, 2, 0, 0, 0,
        ];
        let got: Vec<_> = Fields::new(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            got,
            vec![
                (1, Wire::Varint(300)),
                (2, Wire::Len(b"hi")),
                (3, Wire::Fixed64(1)),
                (4, Wire::Fixed32(2))
            ]
        );
    }

    #[test]
    fn reports_truncation() {
        let err = Fields::new(&[0x12, 5, b'a']).next().unwrap().unwrap_err();
        assert!(err.contains("needs 5 bytes"), "{err}");
        assert!(Fields::new(&[0x08, 0x80]).next().unwrap().is_err());
        assert!(
            Fields::new(&[0x0b])
                .next()
                .unwrap()
                .unwrap_err()
                .contains("wire type 3")
        );
    }

    #[test]
    fn negative_int32_is_a_ten_byte_varint() {
        let mut bytes: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(varint(&mut bytes).unwrap() as i64, -1);
    }
}

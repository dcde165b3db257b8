//! The shape of the message tables: for each protobuf field, its number, its JSON name,
//! what it holds, and how Go's `encoding/json` would print the Go field it fills.

/// One protobuf message, with its fields in Go declaration order so that the decoded
/// JSON keeps the key order a Go client would send.
#[derive(Debug)]
pub(crate) struct Message {
    /// Full protobuf name, as error messages show it.
    pub(crate) name: &'static str,
    pub(crate) fields: &'static [Field],
}

#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) number: u32,
    /// Empty for an inlined (embedded, untagged) Go struct.
    pub(crate) json: &'static str,
    pub(crate) ty: Ty,
    pub(crate) shape: Shape,
    pub(crate) emit: Emit,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Ty {
    Str,
    /// `[]byte`, printed as base64.
    Bytes,
    Bool,
    I32,
    I64,
    Msg(&'static Message),
    /// `metav1.Time`: `{seconds, nanos}`, printed as RFC 3339 in seconds.
    Time,
    /// `metav1.MicroTime`: printed as RFC 3339 with microseconds.
    MicroTime,
    /// `resource.Quantity`: `{string}`, printed as that string.
    Quantity,
    /// `intstr.IntOrString`: `{type, intVal, strVal}`, printed as a number or a string.
    IntOrString,
    /// `metav1.FieldsV1`: `{Raw}`, holding JSON printed as itself.
    FieldsV1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    One,
    /// `repeated`; scalars may come packed or not.
    List,
    /// `map<string, ty>`, carried as repeated `{key = 1, value = 2}` entries.
    Map,
}

/// What Go would print for the field, which is what a JSON client would have sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Emit {
    /// A Go pointer with `omitempty`: printed whenever it was sent, zero values included.
    Ptr,
    /// A Go pointer without `omitempty`: as `Ptr`, but `null` when not sent.
    PtrNull,
    /// `omitempty`: zero scalars and empty lists or maps are left out (structs never are).
    OmitEmpty,
    /// No `omitempty`: printed even when absent, as the zero value (`null` for lists).
    Always,
    /// An embedded struct whose fields are printed in the parent object.
    Inline,
}

pub(crate) const fn ptr(number: u32, json: &'static str, ty: Ty) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::One,
        emit: Emit::Ptr,
    }
}

pub(crate) const fn ptr_null(number: u32, json: &'static str, ty: Ty) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::One,
        emit: Emit::PtrNull,
    }
}

pub(crate) const fn omit(number: u32, json: &'static str, ty: Ty) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::One,
        emit: Emit::OmitEmpty,
    }
}

pub(crate) const fn req(number: u32, json: &'static str, ty: Ty) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::One,
        emit: Emit::Always,
    }
}

pub(crate) const fn inline(number: u32, ty: Ty) -> Field {
    Field {
        number,
        json: "",
        ty,
        shape: Shape::One,
        emit: Emit::Inline,
    }
}

pub(crate) const fn list(number: u32, json: &'static str, ty: Ty) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::List,
        emit: Emit::OmitEmpty,
    }
}

pub(crate) const fn list_req(number: u32, json: &'static str, ty: Ty) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::List,
        emit: Emit::Always,
    }
}

pub(crate) const fn map(number: u32, json: &'static str, ty: Ty) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::Map,
        emit: Emit::OmitEmpty,
    }
}

pub(crate) const fn map_req(number: u32, json: &'static str, ty: Ty) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::Map,
        emit: Emit::Always,
    }
}

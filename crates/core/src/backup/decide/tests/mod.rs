//! decide() tables.

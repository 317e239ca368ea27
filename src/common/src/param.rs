//! A value a client binds to a prepared statement's `?` (COM_STMT_EXECUTE, or SQL `EXECUTE …
//! USING @var`), as it crosses from the protocol to the statement that runs with it.

/// One bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// NULL
    Null,
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A floating-point number.
    Double(f64),
    /// Text or bytes (strings, decimals, and dates and times in MySQL's text form).
    Text(Vec<u8>),
}

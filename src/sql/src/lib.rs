//! SQL text to Strata statements.
//!
//! Wraps sqlparser rather than forking it: the leading words of each statement decide whether
//! Strata parses it itself (StarRocks DDL clauses, INSERT with labels and properties, ADMIN, SHOW,
//! DESC FILES, ...) using sqlparser's token-level primitives, or hands it to sqlparser whole
//! (queries). Pure: no catalog and no planning here.

pub mod ast;
mod error;
mod files;
mod functions;
mod hints;
pub mod limits;
mod mask;
pub mod params;
mod parser;

pub use ast::*;
pub use error::ParseError;
pub use files::{FILES_SCHEMA, FilesCall, add_files_property, files_paths, take_files_calls};
pub use functions::starrocks_functions;
pub use mask::mask_credentials;
pub use parser::{HintedVars, parse_columns, parse_script, parse_sql};
pub use sqlparser;

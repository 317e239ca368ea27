//! Per-connection state: user, current database, session variables, last warnings.

use std::collections::BTreeMap;

/// The version string the server reports, in the shape StarRocks uses (clients parse the
/// leading `5.1.0`).
pub const SERVER_VERSION: &str = "5.1.0";

/// Session variables with MySQL/StarRocks defaults.
///
/// Names are stored lower-case; lookups are case-insensitive like MySQL's.
#[derive(Debug, Clone)]
pub struct SessionVars {
    vars: BTreeMap<String, String>,
}

/// Default session variables: the ones drivers probe on connect and the ones loads read.
const DEFAULTS: &[(&str, &str)] = &[
    ("auto_increment_increment", "1"),
    ("autocommit", "1"),
    ("character_set_client", "utf8mb4"),
    ("character_set_connection", "utf8mb4"),
    ("character_set_database", "utf8mb4"),
    ("character_set_results", "utf8mb4"),
    ("character_set_server", "utf8mb4"),
    ("collation_connection", "utf8mb4_general_ci"),
    ("collation_database", "utf8mb4_general_ci"),
    ("collation_server", "utf8mb4_general_ci"),
    ("enable_insert_strict", "true"),
    ("exec_mem_limit", "2147483648"),
    // MySQL's; nothing to check here (no foreign keys, no unique secondary indexes), but dumps
    // save and restore them (`SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS`).
    ("foreign_key_checks", "1"),
    ("init_connect", ""),
    ("insert_max_filter_ratio", "0"),
    ("insert_timeout", "14400"),
    ("interactive_timeout", "3600"),
    ("language", "/starrocks/share/english/"),
    ("license", "Apache License 2.0"),
    ("lower_case_table_names", "0"),
    ("max_allowed_packet", "67108864"),
    ("net_buffer_length", "16384"),
    ("net_write_timeout", "60"),
    ("performance_schema", "0"),
    ("query_cache_size", "1048576"),
    ("query_cache_type", "0"),
    ("query_mem_limit", "0"),
    ("query_timeout", "300"),
    ("sql_mode", "ONLY_FULL_GROUP_BY"),
    ("sql_notes", "1"),
    ("sql_select_limit", "18446744073709551615"),
    ("system_time_zone", "UTC"),
    ("time_zone", "Asia/Shanghai"),
    ("transaction_isolation", "REPEATABLE-READ"),
    ("transaction_read_only", "0"),
    ("tx_isolation", "REPEATABLE-READ"),
    ("tx_read_only", "0"),
    ("unique_checks", "1"),
    ("version", SERVER_VERSION),
    ("version_comment", "Strata (StarRocks-compatible)"),
    ("wait_timeout", "28800"),
];

impl Default for SessionVars {
    fn default() -> Self {
        let mut vars: BTreeMap<String, String> = DEFAULTS
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        vars.insert("hostname".to_string(), host_name().to_string());
        Self { vars }
    }
}

/// The machine's host name (`@@hostname`, which the `mysql` client's `status` and GUIs show).
fn host_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "localhost".to_string())
    })
}

impl SessionVars {
    /// The value of `name`, if the variable exists.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Sets `name` to `value` (creating it: MySQL clients set variables we do not know).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.vars.insert(name.to_ascii_lowercase(), value.into());
    }

    /// All variables, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A boolean variable: `true`/`1`/`on` are true.
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        self.get(name)
            .map(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "on"))
    }
}

/// A warning shown by `SHOW WARNINGS` after the statement that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// `Warning`, `Note` or `Error`.
    pub level: String,
    /// MySQL code.
    pub code: u16,
    /// The text.
    pub message: String,
}

/// The state a connection carries between statements.
#[derive(Debug, Clone)]
pub struct Session {
    /// Connection id shown by `SELECT CONNECTION_ID()`.
    pub conn_id: u32,
    /// Authenticated user name.
    pub user: String,
    /// The host pattern of the account the user logged in as (`current_user()` is
    /// `'user'@'host'`).
    pub host: String,
    /// The client's address.
    pub client_host: String,
    /// Active roles (`SET ROLE`); the user's default roles at login.
    pub roles: Vec<String>,
    /// Current database, if any.
    pub database: Option<String>,
    /// Session variables.
    pub vars: SessionVars,
    /// Warnings of the last statement.
    pub warnings: Vec<Warning>,
    /// Inside `BEGIN` / `START TRANSACTION`, until `COMMIT` or `ROLLBACK`.
    pub in_transaction: bool,
    /// User variables (`SET @a = …`), by lower-case name without `@`, as SQL literals.
    pub user_vars: BTreeMap<String, String>,
    /// SQL `PREPARE`d statements, by lower-case name: their text, `?` and all.
    pub prepared: BTreeMap<String, String>,
}

impl Session {
    /// A fresh session for `user` on connection `conn_id`.
    pub fn new(conn_id: u32, user: impl Into<String>) -> Self {
        Self {
            conn_id,
            user: user.into(),
            host: "%".to_string(),
            client_host: String::new(),
            roles: Vec::new(),
            database: None,
            vars: SessionVars::default(),
            warnings: Vec::new(),
            in_transaction: false,
            user_vars: BTreeMap::new(),
            prepared: BTreeMap::new(),
        }
    }
}

//! Configuration: defaults < TOML file < `STRATA_*` environment < command line.

use std::path::PathBuf;

use clap::Parser;
use serde::Deserialize;

/// Command line of `strata`.
#[derive(Debug, Parser)]
#[command(
    name = "strata",
    version,
    about = "Strata: a StarRocks-compatible analytical database"
)]
pub struct Args {
    /// TOML config file (keys: data_dir, mysql_addr, http_addr, log, mem_limit,
    /// allow_local_paths, secrets_key_file, tls_cert, tls_key, require_secure_transport).
    #[arg(long, env = "STRATA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory [default: ./strata-data].
    #[arg(long, env = "STRATA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// MySQL protocol address [default: 127.0.0.1:9030].
    #[arg(long, env = "STRATA_MYSQL_ADDR")]
    pub mysql_addr: Option<String>,
    /// HTTP address for /api/health and /metrics [default: 127.0.0.1:8030].
    #[arg(long, env = "STRATA_HTTP_ADDR")]
    pub http_addr: Option<String>,
    /// Log filter, e.g. `info` or `strata=debug` [default: info].
    #[arg(long, env = "STRATA_LOG")]
    pub log: Option<String>,
    /// Bytes all running statements may hold at once (default: 80% of the machine's memory).
    #[arg(long, env = "STRATA_MEM_LIMIT")]
    pub mem_limit: Option<u64>,
    /// A directory whose files FILES(), Broker Load and pipes may read as `file://` paths
    /// (repeatable, or comma-separated); without one, `file://` paths are refused.
    #[arg(
        long = "allow-local-path",
        env = "STRATA_ALLOW_LOCAL_PATHS",
        value_delimiter = ','
    )]
    pub allow_local_path: Vec<PathBuf>,
    /// The password root gets when it has none yet (at the first start); afterwards change it
    /// with `ALTER USER root IDENTIFIED BY '...'`.
    #[arg(long, env = "STRATA_ROOT_PASSWORD", hide_env_values = true)]
    pub root_password: Option<String>,
    /// The key file that seals the credentials Broker Load jobs and pipes keep (created 0600 if
    /// missing) [default: DATA_DIR/secrets.key]; keep it apart from the data directory's
    /// backups.
    #[arg(long, env = "STRATA_SECRETS_KEY_FILE")]
    pub secrets_key_file: Option<PathBuf>,
    /// PEM certificate chain for TLS on the MySQL port (with --tls-key).
    #[arg(long, env = "STRATA_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS on the MySQL port (with --tls-cert).
    #[arg(long, env = "STRATA_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Refuse MySQL connections that do not use TLS (needs --tls-cert and --tls-key).
    #[arg(long, env = "STRATA_REQUIRE_SECURE_TRANSPORT")]
    pub require_secure_transport: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    mysql_addr: Option<String>,
    http_addr: Option<String>,
    log: Option<String>,
    mem_limit: Option<u64>,
    allow_local_paths: Option<Vec<PathBuf>>,
    secrets_key_file: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    require_secure_transport: Option<bool>,
}

/// Effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory.
    pub data_dir: PathBuf,
    /// MySQL protocol address.
    pub mysql_addr: String,
    /// HTTP address.
    pub http_addr: String,
    /// Log filter.
    pub log: String,
    /// Bytes all running statements may hold at once; `None`: 80% of the machine's memory.
    pub mem_limit: Option<u64>,
    /// Directories `file://` paths may read from (none: `file://` is refused).
    pub allow_local_paths: Vec<PathBuf>,
    /// root's password, set when root has none.
    pub root_password: Option<String>,
    /// The key sealing stored credentials; `None`: `<data dir>/secrets.key`.
    pub secrets_key_file: Option<PathBuf>,
    /// TLS certificate and key (PEM) for the MySQL port.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Refuse plain MySQL connections.
    pub require_secure_transport: bool,
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML or unknown keys.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// Path.
        path: String,
        /// Cause.
        source: toml::de::Error,
    },
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("strata-data"),
            mysql_addr: "127.0.0.1:9030".into(),
            http_addr: "127.0.0.1:8030".into(),
            log: "info".into(),
            mem_limit: None,
            allow_local_paths: Vec::new(),
            root_password: None,
            secrets_key_file: None,
            tls: None,
            require_secure_transport: false,
        }
    }
}

impl Config {
    /// Merges defaults, the config file, environment and arguments (clap already folded the
    /// environment into `args`).
    pub fn from_args(args: Args) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Read {
                    path: p.display().to_string(),
                    source: e,
                })?;
                toml::from_str::<FileConfig>(&text).map_err(|e| ConfigError::Parse {
                    path: p.display().to_string(),
                    source: e,
                })?
            }
            None => FileConfig::default(),
        };
        let d = Config::default();
        Ok(Config {
            data_dir: args.data_dir.or(file.data_dir).unwrap_or(d.data_dir),
            mysql_addr: args.mysql_addr.or(file.mysql_addr).unwrap_or(d.mysql_addr),
            http_addr: args.http_addr.or(file.http_addr).unwrap_or(d.http_addr),
            log: args.log.or(file.log).unwrap_or(d.log),
            mem_limit: args.mem_limit.or(file.mem_limit),
            allow_local_paths: if args.allow_local_path.is_empty() {
                file.allow_local_paths.unwrap_or_default()
            } else {
                args.allow_local_path
            },
            root_password: args.root_password,
            secrets_key_file: args.secrets_key_file.or(file.secrets_key_file),
            tls: args
                .tls_cert
                .or(file.tls_cert)
                .zip(args.tls_key.or(file.tls_key)),
            require_secure_transport: args.require_secure_transport
                || file.require_secure_transport.unwrap_or(false),
        })
    }
}

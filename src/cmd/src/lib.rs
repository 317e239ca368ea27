//! The `strata` binary's wiring: configuration, the MySQL and HTTP listeners, shutdown.

mod config;
mod http;

use std::net::SocketAddr;
use std::sync::Arc;

use strata_frontend::Frontend;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{Args, Config, ConfigError};

/// A running server.
pub struct Server {
    /// Address the MySQL protocol listens on.
    pub mysql_addr: SocketAddr,
    /// Address the HTTP API listens on.
    pub http_addr: SocketAddr,
    /// The frontend (tests inspect the catalog and inject faults through it).
    pub frontend: Arc<Frontend>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The data directory could not be opened.
    #[error("cannot open the data directory: {0}")]
    Open(#[from] strata_frontend::FrontendError),
    /// TLS was asked for and cannot be set up.
    #[error("{0}")]
    Tls(String),
    /// `STRATA_FAULTS` names fault points this build cannot arm, or is malformed.
    #[error("{0}")]
    Faults(String),
}

impl Server {
    /// Opens the data directory and starts listening.
    pub async fn start(config: &Config) -> Result<Self, StartError> {
        let tls = strata_protocol_mysql::TlsOptions {
            config: match &config.tls {
                Some((cert, key)) => {
                    Some(strata_protocol_mysql::server_config(cert, key).map_err(StartError::Tls)?)
                }
                None => None,
            },
            require_secure_transport: config.require_secure_transport,
        };
        if tls.require_secure_transport && tls.config.is_none() {
            return Err(StartError::Tls(
                "--require-secure-transport needs --tls-cert and --tls-key".into(),
            ));
        }
        let options = strata_frontend::Options {
            mem_limit: config
                .mem_limit
                .map(|b| usize::try_from(b).unwrap_or(usize::MAX)),
            allow_local_paths: config.allow_local_paths.clone(),
            root_password: config.root_password.clone(),
            secrets_key_file: config.secrets_key_file.clone(),
            faults: match std::env::var("STRATA_FAULTS") {
                Ok(spec) => strata_common::fault::Faults::from_spec(&spec)
                    .map_err(|e| StartError::Faults(format!("STRATA_FAULTS: {e}")))?,
                Err(_) => Default::default(),
            },
        };
        let frontend = Frontend::open_with(&config.data_dir, options).await?;
        let bind = |addr: String| async move {
            TcpListener::bind(&addr)
                .await
                .map_err(|e| StartError::Bind { addr, source: e })
        };
        let mysql = bind(config.mysql_addr.clone()).await?;
        let http = bind(config.http_addr.clone()).await?;
        let mysql_addr = mysql.local_addr().map_err(|e| StartError::Bind {
            addr: config.mysql_addr.clone(),
            source: e,
        })?;
        let http_addr = http.local_addr().map_err(|e| StartError::Bind {
            addr: config.http_addr.clone(),
            source: e,
        })?;
        let (tx, rx) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(strata_protocol_mysql::serve(
                mysql,
                frontend.clone(),
                tls,
                rx.clone(),
            )),
            tokio::spawn(http::serve(http, frontend.clone(), rx)),
        ];
        tracing::info!(%mysql_addr, %http_addr, data_dir = %config.data_dir.display(), "Strata is ready");
        Ok(Self {
            mysql_addr,
            http_addr,
            frontend,
            shutdown: tx,
            tasks,
        })
    }

    /// Stops accepting connections, waits for the listeners to end, cancels running
    /// statements (waiting up to 30 s for them to finish cancelling) and releases the data
    /// directory.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.frontend
            .release_data_dir(std::time::Duration::from_secs(30))
            .await;
    }
}

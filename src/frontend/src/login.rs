//! Logging in: the account a user and client host match, the password check, locking an
//! account after repeated failures, and the roles a session starts with.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use strata_catalog::Catalog;
use strata_common::Session;
use strata_protocol_mysql::{Credential, LoginError};

use crate::secrets::Sealer;
use crate::{Frontend, Result};

/// Consecutive failed logins per account (name, host pattern). Kept in memory: a restart
/// forgets them, as it ends any lock.
#[derive(Default)]
pub(crate) struct Logins {
    failures: Mutex<HashMap<(String, String), Failures>>,
}

#[derive(Default)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
}

fn config_u64(fe: &Frontend, key: &str, default: u64) -> u64 {
    crate::admin::config_value(fe, key)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(default)
}

/// How many failures in a row lock an account (0: never), and for how long.
fn lock_policy(fe: &Frontend) -> (u32, Duration) {
    let attempts =
        u32::try_from(config_u64(fe, "max_failed_login_attempts", 10)).unwrap_or(u32::MAX);
    let lock_for = Duration::from_secs(config_u64(fe, "failed_login_lock_second", 600));
    (attempts, lock_for)
}

/// Connections the server takes at once (`qe_max_connection`, StarRocks' FE config).
pub(crate) fn max_connections(fe: &Frontend) -> usize {
    usize::try_from(config_u64(fe, "qe_max_connection", 4096)).unwrap_or(usize::MAX)
}

fn credential_of(auth: &str) -> Option<Credential> {
    if auth.is_empty() {
        return Some(Credential::Empty);
    }
    let mut out = [0u8; 20];
    if auth.len() != 40 {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(auth.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(Credential::DoubleSha1(out))
}

/// Logs `session.user` in from `session.client_host`; `verify` checks the client's proof of
/// the password against a stored credential. Errors are the text of MySQL's error 1045.
pub(crate) fn login(
    fe: &Frontend,
    session: &mut Session,
    verify: &(dyn Fn(&Credential) -> bool + Send + Sync),
) -> std::result::Result<(), LoginError> {
    let user = session.user.clone();
    let client = session.client_host.clone();
    // An empty proof is what a client sends without a password.
    let using = if verify(&Credential::Empty) {
        "NO"
    } else {
        "YES"
    };
    let denied = || {
        LoginError::Denied(format!(
            "Access denied for user '{user}'@'{client}' (using password: {using})"
        ))
    };
    let account = match fe.catalog.find_account(&user, &client) {
        Ok(Some(a)) => a,
        Ok(None) => return Err(denied()),
        Err(e) => {
            tracing::error!(error = %e, "cannot read accounts");
            return Err(denied());
        }
    };
    let key = (account.name.clone(), account.host.clone());
    let (attempts, lock_for) = lock_policy(fe);
    let now = Instant::now();
    {
        let failures = fe.logins.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = failures.get(&key).and_then(|f| f.locked_until)
            && until > now
        {
            return Err(LoginError::Denied(format!(
                "Access denied for user '{user}'@'{client}'. Account is blocked for {} second(s) \
                 ({} second(s) remaining) due to {attempts} consecutive failed logins",
                lock_for.as_secs(),
                (until - now).as_secs().max(1)
            )));
        }
    }
    let hash = fe.sealer.open_password(&account.auth).unwrap_or_else(|e| {
        tracing::error!(user = %account.name, error = %e, "cannot open a stored password");
        "unusable".to_string()
    });
    let ok = credential_of(&hash).is_some_and(|c| verify(&c));
    let mut failures = fe.logins.failures.lock().unwrap_or_else(|p| p.into_inner());
    if !ok {
        let f = failures.entry(key).or_default();
        f.count += 1;
        if attempts > 0 && f.count >= attempts {
            f.count = 0;
            f.locked_until = Some(now + lock_for);
            tracing::warn!(user = %account.name, host = %account.host, seconds = lock_for.as_secs(),
                "account locked after {attempts} consecutive failed logins");
        }
        return Err(denied());
    }
    failures.remove(&key);
    drop(failures);
    let max = account
        .max_connections
        .unwrap_or_else(|| config_u64(fe, "max_user_connections", 1024));
    if !fe.processes.log_in(
        session.conn_id,
        &account.name,
        usize::try_from(max).unwrap_or(usize::MAX),
    ) {
        return Err(LoginError::TooManyUserConnections(format!(
            "User {} already has more than 'max_user_connections' active connections",
            account.name
        )));
    }
    session.host = account.host.clone();
    session.roles = fe
        .catalog
        .default_roles(&account.name, &account.host)
        .unwrap_or_default();
    Ok(())
}

/// Gives root `password` when it has none (a data directory's first start with
/// `--root-password`); a password set already stays.
pub(crate) fn set_initial_root_password(
    catalog: &Catalog,
    sealer: &Sealer,
    password: &str,
) -> Result<()> {
    let root = catalog
        .users()?
        .into_iter()
        .find(|u| u.name == "root" && u.host == "%");
    match root {
        Some(r) if r.auth.is_empty() => {
            let auth = crate::account_stmt::stored_auth(
                sealer,
                &strata_sql::AuthSpec::Password(password.to_string()),
            )?;
            catalog.set_password("root", "%", &auth)?;
            tracing::info!("root's password set from --root-password");
        }
        _ => tracing::info!(
            "--root-password ignored: root has a password already (ALTER USER root changes it)"
        ),
    }
    Ok(())
}

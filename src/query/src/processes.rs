//! The server's connections and what each is running: SHOW PROCESSLIST,
//! `information_schema.processlist`, and `KILL`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// One connection as the process list shows it.
#[derive(Debug, Clone)]
pub struct ProcessRow {
    /// Connection id.
    pub id: u32,
    /// User.
    pub user: String,
    /// Client address.
    pub host: String,
    /// Current database.
    pub db: Option<String>,
    /// `Query` while a statement runs, else `Sleep`.
    pub command: &'static str,
    /// Seconds in the current command.
    pub time: u64,
    /// `OK`, or `Running` while a statement runs.
    pub state: &'static str,
    /// The running statement's text.
    pub info: Option<String>,
}

#[derive(Debug)]
struct Process {
    user: String,
    host: String,
    db: Option<String>,
    since: Instant,
    /// The running statement and its cancellation.
    running: Option<(String, CancellationToken)>,
    /// Ends the connection (KILL CONNECTION).
    close: Arc<Notify>,
}

impl Process {
    fn new(host: &str) -> Self {
        Self {
            user: String::new(),
            host: host.to_string(),
            db: None,
            since: Instant::now(),
            running: None,
            close: Arc::new(Notify::new()),
        }
    }
}

/// Every open connection.
#[derive(Debug, Clone, Default)]
pub struct Processes {
    inner: Arc<Mutex<BTreeMap<u32, Process>>>,
}

/// What a KILL found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Killed {
    /// No connection has this id.
    Unknown,
    /// The connection belongs to another user.
    NotYours,
    /// Done.
    Done,
}

impl Processes {
    /// Registers a connection; the returned signal fires when it is to be closed.
    pub fn connected(&self, id: u32, host: &str) -> Arc<Notify> {
        let p = Process::new(host);
        let close = p.close.clone();
        self.lock().insert(id, p);
        close
    }

    /// Registers a new connection unless `max` are open already (MySQL's max_connections).
    pub fn connect_within(&self, id: u32, host: &str, max: usize) -> Option<Arc<Notify>> {
        let mut g = self.lock();
        if g.len() >= max {
            return None;
        }
        let p = Process::new(host);
        let close = p.close.clone();
        g.insert(id, p);
        Some(close)
    }

    /// Marks connection `id` logged in as `user` unless `user` has `max` other connections
    /// open (max_user_connections).
    pub fn log_in(&self, id: u32, user: &str, max: usize) -> bool {
        let mut g = self.lock();
        let others = g
            .iter()
            .filter(|(i, p)| **i != id && p.user == user)
            .count();
        if others >= max {
            return false;
        }
        if let Some(p) = g.get_mut(&id) {
            p.user = user.to_string();
        }
        true
    }

    /// Forgets a connection, cancelling what it still runs.
    pub fn disconnected(&self, id: u32) {
        if let Some(p) = self.lock().remove(&id)
            && let Some((_, cancel)) = p.running
        {
            cancel.cancel();
        }
    }

    /// Marks a statement running on connection `id`; its token is cancelled by `KILL QUERY`.
    pub fn start(&self, id: u32, user: &str, db: Option<&str>, sql: &str) -> CancellationToken {
        let token = CancellationToken::new();
        let mut g = self.lock();
        let p = g.entry(id).or_insert_with(|| Process::new(""));
        p.user = user.to_string();
        p.db = db.map(str::to_string);
        p.since = Instant::now();
        p.running = Some((sql.to_string(), token.clone()));
        token
    }

    /// The cancellation of the statement running on connection `id` (a fresh token when none
    /// is registered: statements run by tests straight through `Frontend::run`).
    pub fn token(&self, id: u32) -> CancellationToken {
        self.lock()
            .get(&id)
            .and_then(|p| p.running.as_ref().map(|(_, t)| t.clone()))
            .unwrap_or_default()
    }

    /// Cancels every running statement (the server is shutting down).
    pub fn cancel_all(&self) {
        for p in self.lock().values() {
            if let Some((_, t)) = &p.running {
                t.cancel();
            }
        }
    }

    /// How many connections are open.
    pub fn connections(&self) -> usize {
        self.lock().len()
    }

    /// How many statements are running.
    pub fn running(&self) -> usize {
        self.lock().values().filter(|p| p.running.is_some()).count()
    }

    /// Cancels the statement connection `id` runs, if any (its client went away).
    pub fn cancel(&self, id: u32) {
        if let Some((_, t)) = self.lock().get(&id).and_then(|p| p.running.as_ref()) {
            t.cancel();
        }
    }

    /// Marks connection `id` idle again.
    pub fn finish(&self, id: u32, db: Option<&str>) {
        if let Some(p) = self.lock().get_mut(&id) {
            p.running = None;
            p.db = db.map(str::to_string);
            p.since = Instant::now();
        }
    }

    /// `KILL [CONNECTION | QUERY] id` by `user`; `any`: may stop anyone's (OPERATE on SYSTEM).
    pub fn kill(&self, id: u32, user: &str, any: bool, query_only: bool) -> Killed {
        let g = self.lock();
        let Some(p) = g.get(&id) else {
            return Killed::Unknown;
        };
        if !any && p.user != user {
            return Killed::NotYours;
        }
        if let Some((_, cancel)) = &p.running {
            cancel.cancel();
        }
        if !query_only {
            p.close.notify_one();
        }
        Killed::Done
    }

    /// The connections `user` may see (`all`: everyone's, with OPERATE on SYSTEM), by id.
    pub fn rows(&self, user: &str, all: bool) -> Vec<ProcessRow> {
        self.lock()
            .iter()
            .filter(|(_, p)| all || p.user == user)
            .map(|(id, p)| ProcessRow {
                id: *id,
                user: p.user.clone(),
                host: p.host.clone(),
                db: p.db.clone(),
                command: if p.running.is_some() {
                    "Query"
                } else {
                    "Sleep"
                },
                time: p.since.elapsed().as_secs(),
                state: if p.running.is_some() { "Running" } else { "OK" },
                info: p.running.as_ref().map(|(sql, _)| sql.clone()),
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u32, Process>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_cancels_the_running_statement_of_that_connection_only() {
        let p = Processes::default();
        let close = p.connected(7, "127.0.0.1:5000");
        p.connected(8, "127.0.0.1:5001");
        let t7 = p.start(7, "root", Some("d"), "SELECT sleep(10)");
        let t8 = p.start(8, "bob", None, "SELECT 2");
        assert_eq!(p.kill(9, "root", true, true), Killed::Unknown);
        assert_eq!(p.kill(7, "bob", false, true), Killed::NotYours);
        assert_eq!(p.kill(7, "root", true, true), Killed::Done);
        assert!(t7.is_cancelled() && !t8.is_cancelled());
        let rows = p.rows("bob", false);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].info.as_deref(), Some("SELECT 2"));
        p.finish(7, Some("d"));
        assert_eq!(p.rows("root", true)[0].command, "Sleep");
        assert_eq!(p.kill(7, "root", true, false), Killed::Done);
        // The close signal was given: a waiter sees it at once.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(close.notified());
        p.disconnected(8);
        assert!(t8.is_cancelled());
        assert_eq!(p.rows("root", true).len(), 1);
    }
}

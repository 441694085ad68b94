//! What the agent must not forget across restarts, per order: the secret access token it
//! sealed to the user, the host ports the access details name, how often it restarted the
//! order's container and which exit it already reported.
//!
//! One JSON file per order, `<state_dir>/order-<id>.json`, mode 0600 in a 0700 directory,
//! replaced atomically (written to a temporary file, synced, renamed, the directory synced), and
//! written **before** the chain hears of it: the token before the order is accepted, a restart
//! before the container starts again. A restarted agent therefore starts a Running order's
//! container with the same token and ports the user was given.

use kaisar_primitives::OrderId;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// One order's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRecord {
    /// The order.
    pub order_id: OrderId,
    /// The secret access token (in the container's environment and the sealed access details).
    pub token: String,
    /// `(container port, host port)` the access details name (empty until the first start).
    #[serde(default)]
    pub host_ports: Vec<(u16, u16)>,
    /// How many times the agent started the container again after it exited on its own.
    #[serde(default)]
    pub restarts: u32,
    /// The engine id of the container whose exit was reported on-chain last (so that a restarted
    /// agent does not report it again).
    #[serde(default)]
    pub reported_exit: Option<String>,
}

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file operation failed.
    #[error("state {path}: {message}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// A record is not valid JSON of an [`OrderRecord`] (or names another order).
    #[error("state {path} is corrupt: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The agent's state directory.
#[derive(Clone, Debug)]
pub struct StateDir {
    dir: PathBuf,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> StateError + '_ {
    move |e| StateError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

impl StateDir {
    /// Open (create if needed) the directory and make it private (0700).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StateError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io_err(&dir))?;
        Ok(Self { dir })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn file(&self, order_id: OrderId) -> PathBuf {
        self.dir.join(format!("order-{order_id}.json"))
    }

    /// The record of `order_id`, if any.
    pub fn load(&self, order_id: OrderId) -> Result<Option<OrderRecord>, StateError> {
        let path = self.file(order_id);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path)(e)),
        };
        let record: OrderRecord = serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if record.order_id != order_id {
            return Err(StateError::Corrupt {
                path,
                message: format!("names order {}", record.order_id),
            });
        }
        Ok(Some(record))
    }

    /// Write `record` atomically (0600).
    pub fn save(&self, record: &OrderRecord) -> Result<(), StateError> {
        let path = self.file(record.order_id);
        let tmp = self
            .dir
            .join(format!(".order-{}.json.tmp", record.order_id));
        let text = serde_json::to_vec_pretty(record).map_err(|e| StateError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io_err(&tmp))?;
            // `mode` applies to new files only: a leftover temporary file is made private too.
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io_err(&tmp))?;
            f.write_all(&text).map_err(io_err(&tmp))?;
            f.sync_all().map_err(io_err(&tmp))?;
        }
        std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&self.dir))?;
        Ok(())
    }

    /// The record of `order_id`, created with a fresh token (and saved) if there is none.
    pub fn load_or_create(&self, order_id: OrderId) -> Result<OrderRecord, StateError> {
        if let Some(r) = self.load(order_id)? {
            return Ok(r);
        }
        let record = OrderRecord {
            order_id,
            token: crate::containers::generate_token(),
            host_ports: vec![],
            restarts: 0,
            reported_exit: None,
        };
        self.save(&record)?;
        Ok(record)
    }

    /// Forget `order_id` (its order is over). Removing a missing record is fine.
    pub fn remove(&self, order_id: OrderId) -> Result<(), StateError> {
        let path = self.file(order_id);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// The orders that have a record.
    pub fn orders(&self) -> Result<Vec<OrderId>, StateError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let entry = entry.map_err(io_err(&self.dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(id) = name
                .strip_prefix("order-")
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse().ok())
            {
                out.push(id);
            }
        }
        out.sort_unstable();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_created_once_kept_private_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path().join("state")).unwrap();
        let mode = std::fs::metadata(state.path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700);
        assert_eq!(state.load(7).unwrap(), None);
        let first = state.load_or_create(7).unwrap();
        assert_eq!(first.token.len(), 64);
        assert_eq!(state.load_or_create(7).unwrap(), first);
        let file = state.path().join("order-7.json");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let mut updated = first.clone();
        updated.host_ports = vec![(8080, 20001)];
        updated.restarts = 2;
        updated.reported_exit = Some("abc".into());
        state.save(&updated).unwrap();
        let reopened = StateDir::open(dir.path().join("state")).unwrap();
        assert_eq!(reopened.load(7).unwrap(), Some(updated));
        assert_eq!(reopened.orders().unwrap(), vec![7]);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(reopened.path()).unwrap().count(), 1);

        reopened.remove(7).unwrap();
        reopened.remove(7).unwrap();
        assert_eq!(reopened.load(7).unwrap(), None);
        assert!(reopened.orders().unwrap().is_empty());
    }

    #[test]
    fn a_corrupt_or_misnamed_record_is_an_error_not_a_fresh_token() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("order-3.json"), "{not json").unwrap();
        assert!(matches!(state.load(3), Err(StateError::Corrupt { .. })));
        assert!(state.load_or_create(3).is_err());
        let other = OrderRecord {
            order_id: 4,
            token: "t".into(),
            host_ports: vec![],
            restarts: 0,
            reported_exit: None,
        };
        std::fs::write(
            dir.path().join("order-5.json"),
            serde_json::to_string(&other).unwrap(),
        )
        .unwrap();
        assert!(matches!(state.load(5), Err(StateError::Corrupt { .. })));
    }
}

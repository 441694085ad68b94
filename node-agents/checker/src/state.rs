//! What the daemon remembers across restarts: every assignment it works on, with the nonce,
//! salt and attestation it committed to, in one JSON file written atomically (temp file, fsync,
//! rename; mode 0600).
//!
//! The rule: anything a transaction commits to is in this file **before** the transaction is
//! submitted. A nonce is drawn once per assignment and written before `commit_nonce`; the
//! attestation and salt are written before `seal`. A restarted daemon therefore re-submits the
//! same commitment or seal (the chain answers `AlreadyCommitted`/`AlreadySealed` if the first
//! one landed) and can always reveal what it sealed.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use kaisar_chain_client::{
    kaisar::runtime_types::pallet_popw_attestations::types as rt, BlockNumber,
};
use serde::{Deserialize, Serialize};

/// The name of the state file in the state directory.
pub const STATE_FILE: &str = "checker-state.json";
/// The version of the state file's layout.
pub const STATE_VERSION: u32 = 1;

/// A regular check (once per epoch per worker) or a re-check (a contest or a user's dispute).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `commit_nonce` / `seal` / `reveal` / `finalize`.
    Regular,
    /// `commit_recheck_nonce` / `seal_recheck` / `reveal_recheck` / `finalize_recheck`.
    Recheck,
}

/// One assigned slot in one check: what the daemon's state is keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    /// Regular check or re-check.
    pub kind: Kind,
    /// The epoch (for a re-check: the epoch whose windows it uses).
    pub epoch: u32,
    /// The checked worker.
    pub worker: u64,
    /// The slot index in the epoch's slot set.
    pub slot: u32,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Regular => "check",
            Kind::Recheck => "recheck",
        };
        write!(f, "{kind} e{} w{} s{}", self.epoch, self.worker, self.slot)
    }
}

/// Where an assignment is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "phase")]
pub enum Phase {
    /// The nonce is drawn and stored; `commit_nonce` not confirmed yet.
    Committing,
    /// The nonce commitment is on chain; waiting for the challenge randomness, then the
    /// challenge runs.
    Committed,
    /// The attestation and salt are stored; `seal` not confirmed yet.
    Sealing,
    /// The seal is on chain; the reveal waits until every slot sealed or the seal deadline.
    Sealed,
    /// Revealed; after the reveal deadline the check is finalized if it is still open.
    Revealed,
    /// Nothing more to do (finalized by someone, or dropped: see `note`).
    Done,
}

/// A 32-byte value, stored as `0x` hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bytes32(pub [u8; 32]);

impl Serialize for Bytes32 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(self.0)))
    }
}

impl<'de> Deserialize<'de> for Bytes32 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let raw = hex::decode(s.trim_start_matches("0x")).map_err(serde::de::Error::custom)?;
        let arr: [u8; 32] = raw
            .try_into()
            .map_err(|_| serde::de::Error::custom("expected 32 bytes"))?;
        Ok(Bytes32(arr))
    }
}

/// The verdict of an attestation (the chain's `CheckVerdict`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    /// Every opened row verified, throughput within the window.
    Pass,
    /// A bad row, path or snapshot, or faster than the window (misclaimed model).
    Wrong,
    /// Correct but slower than the window's floor.
    TooSlow,
    /// No commit or no openings in time (any transport error or timeout).
    Unreachable,
}

impl VerdictKind {
    /// Its label in metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            VerdictKind::Pass => "pass",
            VerdictKind::Wrong => "wrong",
            VerdictKind::TooSlow => "too_slow",
            VerdictKind::Unreachable => "unreachable",
        }
    }
}

/// An attestation as stored (the chain's `Attestation`, field for field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationRecord {
    /// The challenge id.
    pub challenge_id: Bytes32,
    /// The nonce (opens the slot's commitment).
    pub nonce: Bytes32,
    /// The challenged GPU's UUID hash.
    pub gpu_uuid_hash: Bytes32,
    /// Work shape: `m`.
    pub m: u32,
    /// Work shape: `n`.
    pub n: u32,
    /// Work shape: `k`.
    pub k: u32,
    /// Work shape: chunks.
    pub chunks: u32,
    /// The challenge's commit timeout, ms.
    pub commit_timeout_ms: u32,
    /// The challenge's open timeout, ms.
    pub open_timeout_ms: u32,
    /// The worker's Merkle root (zero without a commit).
    pub merkle_root: Bytes32,
    /// Measured work time, ms.
    pub work_time_ms: u32,
    /// Measured throughput, GOPS.
    pub throughput_gops: u64,
    /// Throughput / calibrated, ppm.
    pub ratio_ppm: u32,
    /// The verdict.
    pub verdict: VerdictKind,
    /// BLAKE2b-256 of the signed openings (zero if none).
    pub openings_digest: Bytes32,
    /// BLAKE2b-256 of SCALE(before) ++ SCALE(after) snapshots (zero if none).
    pub snapshots_digest: Bytes32,
}

impl AttestationRecord {
    /// The chain's type (what `seal` hashes and `reveal` carries).
    pub fn to_chain(&self) -> rt::Attestation {
        rt::Attestation {
            challenge_id: self.challenge_id.0,
            terms: rt::ChallengeTerms {
                nonce: self.nonce.0,
                gpu_uuid_hash: self.gpu_uuid_hash.0,
                params: rt::ChallengeParams {
                    m: self.m,
                    n: self.n,
                    k: self.k,
                    chunks: self.chunks,
                },
                commit_timeout_ms: self.commit_timeout_ms,
                open_timeout_ms: self.open_timeout_ms,
            },
            merkle_root: self.merkle_root.0,
            work_time_ms: self.work_time_ms,
            throughput_gops: self.throughput_gops,
            ratio_ppm: self.ratio_ppm,
            verdict: match self.verdict {
                VerdictKind::Pass => rt::CheckVerdict::Pass,
                VerdictKind::Wrong => rt::CheckVerdict::Wrong,
                VerdictKind::TooSlow => rt::CheckVerdict::TooSlow,
                VerdictKind::Unreachable => rt::CheckVerdict::Unreachable,
            },
            openings_digest: self.openings_digest.0,
            snapshots_digest: self.snapshots_digest.0,
        }
    }

    /// `blake2_256(SCALE(attestation) ++ salt)`: the seal.
    pub fn seal(&self, salt: &[u8; 32]) -> [u8; 32] {
        use kaisar_chain_client::subxt::ext::codec::Encode;
        let mut bytes = self.to_chain().encode();
        bytes.extend_from_slice(salt);
        sp_crypto_hashing::blake2_256(&bytes)
    }
}

/// One assignment's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Which check and slot.
    pub key: Key,
    /// The slot's license.
    pub license: u32,
    /// Where it is.
    #[serde(flatten)]
    pub phase: Phase,
    /// The nonce, drawn once, before the commitment is submitted.
    pub nonce: Bytes32,
    /// The attestation, before the seal is submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<AttestationRecord>,
    /// The salt of the seal, with the attestation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<Bytes32>,
    /// Why it ended (for `Done`): "finalized", "window closed: ...", ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The block at which it was created.
    pub created_at: BlockNumber,
}

impl Entry {
    /// A new assignment with its freshly drawn nonce.
    pub fn new(key: Key, license: u32, nonce: [u8; 32], created_at: BlockNumber) -> Self {
        Entry {
            key,
            license,
            phase: Phase::Committing,
            nonce: Bytes32(nonce),
            attestation: None,
            salt: None,
            note: None,
            created_at,
        }
    }

    /// `blake2_256("kaisar-popw/nonce/v1" ++ nonce)`.
    pub fn commitment(&self) -> [u8; 32] {
        kaisar_popw::Nonce(self.nonce.0).commitment().0
    }
}

/// Everything the daemon persists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Layout version ([`STATE_VERSION`]).
    pub version: u32,
    /// The chain's genesis hash (a state file of another chain is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genesis: Option<Bytes32>,
    /// The operator account, hex (a state file of another operator is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Bytes32>,
    /// The assignments, in key order.
    pub entries: Vec<Entry>,
    /// The epochs whose assignments (regular, re-check) were listed already.
    #[serde(default)]
    pub discovered: BTreeSet<(Kind, u32)>,
}

/// Errors of the state file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("state file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a state file of this version.
    #[error("state file {path} is unreadable: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file belongs to another chain or operator.
    #[error("state file {path} belongs to another {what}; use another state_dir")]
    Foreign {
        /// The file.
        path: PathBuf,
        /// "chain" or "operator".
        what: &'static str,
    },
}

/// The state file of a state directory.
#[derive(Debug)]
pub struct StateStore {
    dir: PathBuf,
    /// The in-memory state (written by [`StateStore::save`]).
    pub entries: BTreeMap<Key, Entry>,
    /// The listed epochs.
    pub discovered: BTreeSet<(Kind, u32)>,
    genesis: Option<Bytes32>,
    operator: Option<Bytes32>,
}

impl StateStore {
    /// Open (or create) the state of `dir` for `operator` on the chain with `genesis`. The
    /// directory is created with mode 0700 if missing.
    pub fn open(dir: &Path, genesis: [u8; 32], operator: [u8; 32]) -> Result<Self, StateError> {
        let io = |source| StateError::Io {
            path: dir.to_path_buf(),
            source,
        };
        if !dir.exists() {
            fs::create_dir_all(dir).map_err(io)?;
            set_mode(dir, 0o700).map_err(io)?;
        }
        let path = dir.join(STATE_FILE);
        let state = match fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice::<State>(&bytes).map_err(|e| StateError::Corrupt {
                    path: path.clone(),
                    reason: e.to_string(),
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State {
                version: STATE_VERSION,
                ..Default::default()
            },
            Err(source) => return Err(StateError::Io { path, source }),
        };
        if state.version != STATE_VERSION {
            return Err(StateError::Corrupt {
                path,
                reason: format!("version {} (expected {STATE_VERSION})", state.version),
            });
        }
        if state.genesis.is_some_and(|g| g.0 != genesis) {
            return Err(StateError::Foreign {
                path,
                what: "chain",
            });
        }
        if state.operator.is_some_and(|o| o.0 != operator) {
            return Err(StateError::Foreign {
                path,
                what: "operator",
            });
        }
        Ok(StateStore {
            dir: dir.to_path_buf(),
            entries: state.entries.into_iter().map(|e| (e.key, e)).collect(),
            discovered: state.discovered,
            genesis: Some(Bytes32(genesis)),
            operator: Some(Bytes32(operator)),
        })
    }

    /// The state file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// Write the state atomically: a temp file (0600) in the same directory, fsync, rename,
    /// fsync of the directory.
    pub fn save(&self) -> Result<(), StateError> {
        let path = self.path();
        let tmp = self.dir.join(format!("{STATE_FILE}.tmp"));
        let io = |source| StateError::Io {
            path: path.clone(),
            source,
        };
        let state = State {
            version: STATE_VERSION,
            genesis: self.genesis,
            operator: self.operator,
            entries: self.entries.values().cloned().collect(),
            discovered: self.discovered.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&state).expect("the state serializes");
        {
            let mut opts = fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp).map_err(io)?;
            // An existing temp file keeps its mode: force 0600.
            set_mode(&tmp, 0o600).map_err(io)?;
            f.write_all(&bytes).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        fs::rename(&tmp, &path).map_err(io)?;
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Remove the entries and listed epochs older than `keep_from` (an epoch).
    pub fn gc(&mut self, keep_from: u32) -> usize {
        let before = self.entries.len();
        self.entries.retain(|k, _| k.epoch >= keep_from);
        self.discovered.retain(|(_, e)| *e >= keep_from);
        before - self.entries.len()
    }
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(slot: u32) -> Key {
        Key {
            kind: Kind::Regular,
            epoch: 7,
            worker: 3,
            slot,
        }
    }

    #[test]
    fn state_round_trips_through_an_atomic_0600_file() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("state");
        let mut store = StateStore::open(&sub, [1; 32], [2; 32]).unwrap();
        let mut e = Entry::new(key(0), 5, [9; 32], 140);
        e.phase = Phase::Sealing;
        e.salt = Some(Bytes32([4; 32]));
        store.entries.insert(e.key, e.clone());
        store.discovered.insert((Kind::Regular, 7));
        store.save().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(store.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = fs::metadata(&sub).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        assert!(!sub.join(format!("{STATE_FILE}.tmp")).exists());
        let again = StateStore::open(&sub, [1; 32], [2; 32]).unwrap();
        assert_eq!(again.entries.get(&key(0)), Some(&e));
        assert!(again.discovered.contains(&(Kind::Regular, 7)));
    }

    #[test]
    fn a_state_file_of_another_chain_or_operator_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path(), [1; 32], [2; 32]).unwrap();
        store.save().unwrap();
        assert!(matches!(
            StateStore::open(dir.path(), [9; 32], [2; 32]),
            Err(StateError::Foreign { what: "chain", .. })
        ));
        assert!(matches!(
            StateStore::open(dir.path(), [1; 32], [9; 32]),
            Err(StateError::Foreign {
                what: "operator",
                ..
            })
        ));
    }

    #[test]
    fn a_corrupt_state_file_is_an_error_not_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(STATE_FILE), b"{not json").unwrap();
        assert!(matches!(
            StateStore::open(dir.path(), [1; 32], [2; 32]),
            Err(StateError::Corrupt { .. })
        ));
    }

    #[test]
    fn gc_drops_old_epochs_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = StateStore::open(dir.path(), [1; 32], [2; 32]).unwrap();
        for epoch in 5..9 {
            let k = Key { epoch, ..key(0) };
            store.entries.insert(k, Entry::new(k, 1, [0; 32], 0));
            store.discovered.insert((Kind::Recheck, epoch));
        }
        assert_eq!(store.gc(7), 2);
        assert_eq!(
            store.entries.keys().map(|k| k.epoch).collect::<Vec<_>>(),
            vec![7, 8]
        );
        assert_eq!(store.discovered.len(), 2);
    }
}

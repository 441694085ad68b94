//! Where the CLI keeps the user's access keys: one x25519 secret per order, in a file of its
//! own.
//!
//! ## Why files, and how they are named
//!
//! Every order gets a **fresh random** key pair ([`AccessKeyPair::generate`]); its secret never
//! leaves the user's machine and is unrelated to the account's signing key. So a leaked access
//! key exposes one order's access details and nothing else, and the files of finished orders
//! can simply be deleted. (The alternative, deriving the key from the signer's seed, would need
//! no file but would tie every order's access details to the account key.) The price is that
//! the file must not be lost before the order is accepted and read.
//!
//! The directory is `$KAISAR_KEY_DIR`, or `~/.kaisar/keys`; it is created with mode 0700 and
//! every key file with mode 0600. A key is written **before** the order is submitted, as
//! `pending-<public key hex>.key`, so a crash between submitting and recording the order id
//! loses nothing; once the chain has assigned the order id the file is renamed `<order>.key`.
//!
//! Order ids restart at 0 on every new development chain, so `<order>.key` can be a leftover of
//! an earlier chain. Keys are therefore always matched by **public key**: [`KeyStore::find`]
//! tries `<order>.key` and, if its public key is not the order's, looks through every `*.key`
//! file of the directory. A leftover `<order>.key` is renamed `<order>-<fingerprint>.key`
//! rather than overwritten.
//!
//! File format (text):
//!
//! ```text
//! # Kaisar order access key (x25519). Keep this file private.
//! order=12
//! public=<64 hex digits>
//! secret=<64 hex digits>
//! ```

use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use anyhow::{anyhow, bail, Context, Result};
use zeroize::Zeroizing;

use crate::access::{fingerprint, AccessKeyPair};

/// The environment variable that overrides the key directory.
pub const KEY_DIR_ENV: &str = "KAISAR_KEY_DIR";

/// A directory of access key files.
#[derive(Clone, Debug)]
pub struct KeyStore {
    dir: PathBuf,
}

/// A key read from a file, with where it came from.
#[derive(Debug)]
pub struct StoredKey {
    /// The key pair.
    pub keys: AccessKeyPair,
    /// The order id recorded in the file, if any (none while pending).
    pub order: Option<u64>,
    /// The file.
    pub path: PathBuf,
}

impl KeyStore {
    /// The key store in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        KeyStore { dir: dir.into() }
    }

    /// `$KAISAR_KEY_DIR`, or `~/.kaisar/keys`.
    pub fn default_dir() -> Result<PathBuf> {
        if let Some(dir) = std::env::var_os(KEY_DIR_ENV).filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .ok_or_else(|| anyhow!("HOME is not set: pass --key-dir or set {KEY_DIR_ENV}"))?;
        Ok(PathBuf::from(home).join(".kaisar").join("keys"))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn ensure_dir(&self) -> Result<()> {
        if !self.dir.exists() {
            fs::create_dir_all(&self.dir)
                .with_context(|| format!("creating key directory {}", self.dir.display()))?;
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
                .with_context(|| format!("chmod 700 {}", self.dir.display()))?;
        }
        Ok(())
    }

    /// The file name of the order's key: `<order>.key`.
    pub fn order_path(&self, order: u64) -> PathBuf {
        self.dir.join(format!("{order}.key"))
    }

    fn pending_path(&self, public: &[u8; 32]) -> PathBuf {
        self.dir
            .join(format!("pending-{}.key", hex::encode(public)))
    }

    fn write_new(path: &Path, keys: &AccessKeyPair, order: Option<u64>) -> Result<()> {
        let mut text = Zeroizing::new(String::from(
            "# Kaisar order access key (x25519). Keep this file private.\n",
        ));
        if let Some(order) = order {
            text.push_str(&format!("order={order}\n"));
        }
        text.push_str(&format!("public={}\n", hex::encode(keys.public_key())));
        text.push_str(&format!("secret={}\n", hex::encode(*keys.secret_bytes())));
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("creating key file {}", path.display()))?;
        file.write_all(text.as_bytes())
            .and_then(|_| file.sync_all())
            .with_context(|| format!("writing key file {}", path.display()))?;
        Ok(())
    }

    /// Save a new order's key before the order is submitted (as `pending-<public>.key`).
    pub fn save_pending(&self, keys: &AccessKeyPair) -> Result<PathBuf> {
        self.ensure_dir()?;
        let path = self.pending_path(&keys.public_key());
        Self::write_new(&path, keys, None)?;
        Ok(path)
    }

    /// The chain assigned `order` to the order whose key is `keys`: store it as `<order>.key`
    /// (moving a leftover `<order>.key` of another key aside) and remove the pending file.
    pub fn assign(&self, keys: &AccessKeyPair, order: u64) -> Result<PathBuf> {
        self.ensure_dir()?;
        let path = self.order_path(order);
        if path.exists() {
            match Self::read(&path) {
                Ok(old) if old.keys.public_key() == keys.public_key() => {
                    let _ = fs::remove_file(self.pending_path(&keys.public_key()));
                    return Ok(path);
                }
                Ok(old) => {
                    let aside = self.dir.join(format!(
                        "{order}-{}.key",
                        fingerprint(&old.keys.public_key())
                    ));
                    fs::rename(&path, &aside).with_context(|| {
                        format!("moving {} aside to {}", path.display(), aside.display())
                    })?;
                }
                Err(_) => {
                    let aside = self.dir.join(format!("{order}.key.unreadable"));
                    fs::rename(&path, &aside)
                        .with_context(|| format!("moving {} aside", path.display()))?;
                }
            }
        }
        Self::write_new(&path, keys, Some(order))?;
        let _ = fs::remove_file(self.pending_path(&keys.public_key()));
        Ok(path)
    }

    /// Read one key file.
    pub fn read(path: &Path) -> Result<StoredKey> {
        let text = Zeroizing::new(
            fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        );
        let mut order = None;
        let mut public = None;
        let mut secret: Option<Zeroizing<[u8; 32]>> = None;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| anyhow!("{}: bad line", path.display()))?;
            match k.trim() {
                "order" => order = Some(v.trim().parse::<u64>()?),
                "public" => public = Some(decode32(v.trim())?),
                "secret" => {
                    let mut s = Zeroizing::new([0u8; 32]);
                    hex::decode_to_slice(v.trim(), s.as_mut())
                        .map_err(|_| anyhow!("{}: bad secret", path.display()))?;
                    secret = Some(s);
                }
                _ => {}
            }
        }
        let secret = secret.ok_or_else(|| anyhow!("{}: no secret", path.display()))?;
        let keys = AccessKeyPair::from_secret(*secret);
        if let Some(public) = public {
            if public != keys.public_key() {
                bail!(
                    "{}: the public key does not match the secret",
                    path.display()
                );
            }
        }
        Ok(StoredKey {
            keys,
            order,
            path: path.to_path_buf(),
        })
    }

    /// The key of `order`, whose on-chain public key is `public`: `<order>.key` if it matches,
    /// else any `*.key` file of the directory with that public key. `None` if there is none.
    pub fn find(&self, order: u64, public: &[u8; 32]) -> Result<Option<StoredKey>> {
        let path = self.order_path(order);
        if let Ok(key) = Self::read(&path) {
            if key.keys.public_key() == *public {
                return Ok(Some(key));
            }
        }
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("listing {}", self.dir.display())),
        };
        for entry in entries {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("key") {
                continue;
            }
            if let Ok(key) = Self::read(&path) {
                if key.keys.public_key() == *public {
                    return Ok(Some(key));
                }
            }
        }
        Ok(None)
    }
}

fn decode32(hex_str: &str) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_str.trim_start_matches("0x"), &mut out)
        .map_err(|_| anyhow!("expected 32 bytes of hex"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn pending_key_becomes_the_order_key_with_private_permissions() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::new(tmp.path().join("keys"));
        let keys = AccessKeyPair::generate();
        let pending = store.save_pending(&keys).unwrap();
        assert_eq!(mode(&pending), 0o600);
        assert_eq!(mode(store.dir()), 0o700);

        let path = store.assign(&keys, 7).unwrap();
        assert_eq!(path, store.order_path(7));
        assert!(!pending.exists(), "pending file removed");
        assert_eq!(mode(&path), 0o600);
        let found = store.find(7, &keys.public_key()).unwrap().unwrap();
        assert_eq!(found.order, Some(7));
        assert_eq!(found.keys.public_key(), keys.public_key());
    }

    #[test]
    fn leftover_key_of_another_chain_is_moved_aside_not_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::new(tmp.path());
        let old = AccessKeyPair::generate();
        let new = AccessKeyPair::generate();
        store.save_pending(&old).unwrap();
        store.assign(&old, 0).unwrap();
        store.save_pending(&new).unwrap();
        store.assign(&new, 0).unwrap();
        assert_eq!(
            store.find(0, &new.public_key()).unwrap().unwrap().path,
            store.order_path(0)
        );
        // The old key is still found, by its public key.
        let old_found = store.find(0, &old.public_key()).unwrap().unwrap();
        assert_eq!(old_found.keys.public_key(), old.public_key());
        assert_ne!(old_found.path, store.order_path(0));
    }

    #[test]
    fn pending_key_is_found_by_public_key() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::new(tmp.path());
        let keys = AccessKeyPair::generate();
        store.save_pending(&keys).unwrap();
        let found = store.find(3, &keys.public_key()).unwrap().unwrap();
        assert_eq!(found.order, None);
        assert!(store
            .find(3, &AccessKeyPair::generate().public_key())
            .unwrap()
            .is_none());
    }

    #[test]
    fn missing_directory_finds_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::new(tmp.path().join("absent"));
        assert!(store.find(0, &[1u8; 32]).unwrap().is_none());
    }

    #[test]
    fn mismatched_public_key_in_a_file_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("1.key");
        let keys = AccessKeyPair::generate();
        fs::write(
            &path,
            format!(
                "public={}\nsecret={}\n",
                hex::encode([5u8; 32]),
                hex::encode(*keys.secret_bytes())
            ),
        )
        .unwrap();
        assert!(KeyStore::read(&path).is_err());
    }
}

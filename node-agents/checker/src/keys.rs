//! The operator key: one sr25519 key that signs the transactions (the account the licenses are
//! delegated to) and the PoPW messages (the chain recomputes each challenge id with the
//! operator's account, so the challenge must be signed by the same key).
//!
//! Accepted secrets: a `0x` hex seed of 32 bytes (optionally with derivation junctions, e.g.
//! `0x…//checker`) or a development URI (`//Alice`, `//Bob//checker`, derived from the public
//! development phrase). Mnemonic phrases are refused (store the seed instead). From a key file
//! (which must not be readable by group or others: mode 0600 or stricter) or the environment
//! variable [`SEED_ENV`].

use std::{path::Path, str::FromStr};

use kaisar_chain_client::{
    subxt_signer::{sr25519::Keypair as TxKeypair, DeriveJunction, ExposeSecret, SecretUri},
    AccountId32,
};
use schnorrkel::{
    derive::{ChainCode, Derivation},
    ExpansionMode, MiniSecretKey,
};

/// The environment variable holding the operator's secret (instead of a key file).
pub const SEED_ENV: &str = "KAISAR_CHECKER_SEED";

/// The mini secret key of the public development phrase (`bottom drive obey ...`): the root of
/// `//Alice` and the other development accounts. Checked against subxt's own derivation.
const DEV_ROOT_SEED: [u8; 32] = [
    0xfa, 0xc7, 0x95, 0x9d, 0xbf, 0xe7, 0x2f, 0x05, 0x2e, 0x5a, 0x0c, 0x3c, 0x8d, 0x65, 0x30, 0xf2,
    0x02, 0xb0, 0x2f, 0xd8, 0xf9, 0xf5, 0xca, 0x35, 0x80, 0xec, 0x8d, 0xeb, 0x77, 0x97, 0x47, 0x9e,
];

/// Why a key was refused. Never contains the secret.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file cannot be read.
    #[error("key file {path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        error: String,
    },
    /// The key file is readable by group or others.
    #[error(
        "key file {path} has mode {mode:o}: it must not be readable by group or others (chmod 600)"
    )]
    Permissions {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// Not a secret this daemon accepts.
    #[error("bad operator secret: {0}")]
    Bad(String),
    /// No key file configured and no [`SEED_ENV`].
    #[error("no operator key: set `key_file` in the config or {SEED_ENV}")]
    Missing,
}

/// The operator's key, for transactions and for PoPW messages.
pub struct OperatorKey {
    /// Signs transactions.
    pub tx: TxKeypair,
    /// The same key pair, for `kaisar-popw` messages.
    keypair: schnorrkel::Keypair,
}

impl std::fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorKey")
            .field("account", &self.account().to_string())
            .finish_non_exhaustive()
    }
}

impl OperatorKey {
    /// The key of a secret URI (see the module docs).
    pub fn from_secret(secret: &str) -> Result<Self, KeyError> {
        let secret = secret.trim();
        let uri = SecretUri::from_str(secret).map_err(|e| KeyError::Bad(e.to_string()))?;
        let phrase = uri.phrase.expose_secret();
        let root = if let Some(hex_seed) = phrase.strip_prefix("0x") {
            let raw = hex::decode(hex_seed).map_err(|_| KeyError::Bad("seed is not hex".into()))?;
            let seed: [u8; 32] = raw
                .try_into()
                .map_err(|_| KeyError::Bad("a seed is 32 bytes (64 hex digits)".into()))?;
            seed
        } else if phrase == kaisar_chain_client::subxt_signer::DEV_PHRASE {
            if uri.password.is_some() {
                return Err(KeyError::Bad(
                    "passwords are not supported on development URIs".into(),
                ));
            }
            DEV_ROOT_SEED
        } else {
            return Err(KeyError::Bad(
                "mnemonic phrases are not supported: give the 0x hex seed".into(),
            ));
        };
        let mut secret_key = MiniSecretKey::from_bytes(&root)
            .map_err(|_| KeyError::Bad("invalid seed".into()))?
            .expand(ExpansionMode::Ed25519);
        for j in &uri.junctions {
            secret_key = match j {
                DeriveJunction::Soft(cc) => secret_key.derived_key_simple(ChainCode(*cc), []).0,
                DeriveJunction::Hard(cc) => secret_key
                    .hard_derive_mini_secret_key(Some(ChainCode(*cc)), b"")
                    .0
                    .expand(ExpansionMode::Ed25519),
            };
        }
        let keypair = secret_key.to_keypair();
        let tx = TxKeypair::from_uri(&uri).map_err(|e| KeyError::Bad(e.to_string()))?;
        if tx.public_key().0 != keypair.public.to_bytes() {
            return Err(KeyError::Bad(
                "the transaction key and the PoPW key differ (unsupported derivation)".into(),
            ));
        }
        Ok(OperatorKey { tx, keypair })
    }

    /// The key in a key file: refused if group or others may read it.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| KeyError::Io {
            path: shown.clone(),
            error: e.to_string(),
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions { path: shown, mode });
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::Io {
            path: shown,
            error: e.to_string(),
        })?;
        Self::from_secret(&text)
    }

    /// The key file if given, else [`SEED_ENV`].
    pub fn load(key_file: Option<&Path>) -> Result<Self, KeyError> {
        match key_file {
            Some(path) => Self::from_file(path),
            None => match std::env::var(SEED_ENV) {
                Ok(secret) => Self::from_secret(&secret),
                Err(_) => Err(KeyError::Missing),
            },
        }
    }

    /// The operator account.
    pub fn account(&self) -> AccountId32 {
        self.tx.public_key().to_account_id()
    }

    /// The signer of PoPW messages.
    pub fn popw_signer(&self) -> kaisar_popw::Signer {
        kaisar_popw::Signer::from_keypair(self.keypair.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kaisar_chain_client::signer;

    #[test]
    fn dev_uris_and_hex_seeds_give_one_key_for_transactions_and_popw() {
        for uri in ["//Alice", "//Bob//checker", "//Charlie/soft"] {
            let k = OperatorKey::from_secret(uri).unwrap();
            let expected = signer::account_of(&signer::signer_from_uri(uri).unwrap());
            assert_eq!(k.account(), expected, "{uri}");
            assert_eq!(k.popw_signer().public().0, expected.0, "{uri}");
        }
        let seed = format!("0x{}", hex::encode([7u8; 32]));
        let k = OperatorKey::from_secret(&format!("{seed}\n")).unwrap();
        assert_eq!(
            k.popw_signer().public(),
            kaisar_popw::Signer::from_seed(&[7; 32]).public()
        );
        assert_eq!(k.account().0, k.popw_signer().public().0);
    }

    #[test]
    fn mnemonics_and_short_seeds_are_refused() {
        assert!(OperatorKey::from_secret(
            "legal winner thank year wave sausage worth useful legal winner thank yellow"
        )
        .is_err());
        assert!(OperatorKey::from_secret("0x1234").is_err());
    }

    #[test]
    fn a_key_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "//Alice").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            OperatorKey::from_file(&path),
            Err(KeyError::Permissions { mode: 0o644, .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(OperatorKey::from_file(&path).is_ok());
    }
}

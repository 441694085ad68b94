//! Signing keys: development accounts by name, or any secret URI.

use std::str::FromStr;

use subxt::utils::AccountId32;
use subxt_signer::{sr25519::Keypair, SecretUri};

use crate::error::{ChainError, Result};

/// An sr25519 signing key. It signs transactions for the account of its public key.
pub type Signer = Keypair;

/// The well-known development accounts (derived from the dev phrase), as accepted by
/// [`dev_signer`].
pub const DEV_ACCOUNTS: [&str; 8] = [
    "Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie", "One", "Two",
];

/// The signer of a development account by name: `alice`, `Alice` or `//Alice` (also Bob,
/// Charlie, Dave, Eve, Ferdie, One, Two). Dev accounts are endowed in the development genesis.
pub fn dev_signer(name: &str) -> Result<Signer> {
    let bare = name.trim_start_matches("//");
    let canonical = DEV_ACCOUNTS
        .iter()
        .find(|n| n.eq_ignore_ascii_case(bare))
        .ok_or_else(|| ChainError::BadSigner {
            input: name.to_string(),
            reason: format!("not a dev account (one of {})", DEV_ACCOUNTS.join(", ")),
        })?;
    signer_from_uri(&format!("//{canonical}"))
}

/// The signer of a secret URI: a mnemonic phrase or `0x`-prefixed hex seed, optionally followed
/// by derivation junctions (`//hard`, `/soft`) and `///password`. A URI that starts with a
/// junction derives from the development phrase, e.g. `//Bob//agent`.
pub fn signer_from_uri(uri: &str) -> Result<Signer> {
    // Never echo anything that may contain a secret; derivation-only URIs are safe to show.
    let shown = if uri.starts_with('/') {
        uri.to_string()
    } else {
        "<secret>".to_string()
    };
    let parsed = SecretUri::from_str(uri).map_err(|e| ChainError::BadSigner {
        input: shown.clone(),
        reason: e.to_string(),
    })?;
    Keypair::from_uri(&parsed).map_err(|e| ChainError::BadSigner {
        input: shown,
        reason: e.to_string(),
    })
}

/// A signer from what a user typed: a dev account name (`alice`, `Bob`) or a secret URI.
pub fn parse_signer(input: &str) -> Result<Signer> {
    let bare = input.trim_start_matches("//");
    if DEV_ACCOUNTS.iter().any(|n| n.eq_ignore_ascii_case(bare)) {
        dev_signer(input)
    } else {
        signer_from_uri(input)
    }
}

/// The account a signer signs for.
pub fn account_of(signer: &Signer) -> AccountId32 {
    signer.public_key().to_account_id()
}

/// Parse an account: SS58 (any network prefix) or `0x` + 64 hex digits.
pub fn parse_account(input: &str) -> Result<AccountId32> {
    let bad = |reason: String| ChainError::BadSigner {
        input: input.to_string(),
        reason,
    };
    if let Some(hex) = input.strip_prefix("0x") {
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| bad("not hex".into()))?;
        let raw: [u8; 32] = bytes
            .try_into()
            .map_err(|_| bad("an account is 32 bytes".into()))?;
        return Ok(AccountId32(raw));
    }
    AccountId32::from_str(input).map_err(|e| bad(format!("not an SS58 address: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_names_resolve_case_insensitively() {
        let a = account_of(&dev_signer("alice").unwrap());
        assert_eq!(a, account_of(&dev_signer("//Alice").unwrap()));
        assert_eq!(a, account_of(&parse_signer("ALICE").unwrap()));
        // Alice's well-known public key.
        assert_eq!(
            a.to_string(),
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
        );
    }

    #[test]
    fn derived_uri_differs_from_parent() {
        let bob = account_of(&dev_signer("bob").unwrap());
        let agent = account_of(&parse_signer("//Bob//agent").unwrap());
        assert_ne!(bob, agent);
    }

    #[test]
    fn unknown_dev_name_is_refused() {
        assert!(dev_signer("mallory").is_err());
    }

    #[test]
    fn accounts_parse_from_ss58_and_hex() {
        let alice = account_of(&dev_signer("alice").unwrap());
        assert_eq!(parse_account(&alice.to_string()).unwrap(), alice);
        let hex = format!(
            "0x{}",
            alice
                .0
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        assert_eq!(parse_account(&hex).unwrap(), alice);
        assert!(parse_account("0x1234").is_err());
        assert!(parse_account("not-an-address").is_err());
    }
}

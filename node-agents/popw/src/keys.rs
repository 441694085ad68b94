//! sr25519 signing, compatible with Substrate accounts.
//!
//! Messages are signed with schnorrkel under the signing context `b"substrate"`, exactly as
//! `sp_core::sr25519::Pair::sign` does, so a signature verifies against the same 32-byte public
//! key that is the account's `AccountId32` (the worker's on-chain agent account, the checker's
//! account). A key built with [`Signer::from_seed`] is the same key as
//! `sp_core::sr25519::Pair::from_seed` (mini secret expanded in Ed25519 mode).

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use schnorrkel::{signing_context, ExpansionMode, Keypair, MiniSecretKey, PublicKey, Signature};

/// The signing context Substrate uses for sr25519.
pub const SIGNING_CONTEXT: &[u8] = b"substrate";

/// An sr25519 public key, i.e. the bytes of an `AccountId32`.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
)]
pub struct AccountKey(pub [u8; 32]);

impl core::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "AccountKey(0x")?;
        for b in &self.0[..6] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "..)")
    }
}

/// A signing key.
pub struct Signer {
    keypair: Keypair,
}

impl core::fmt::Debug for Signer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Signer")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// The key with this 32-byte seed (same as `sp_core::sr25519::Pair::from_seed`).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        // A 32-byte slice always makes a valid mini secret key.
        let mini = MiniSecretKey::from_bytes(seed).expect("32 bytes is a valid mini secret key");
        Self {
            keypair: mini.expand_to_keypair(ExpansionMode::Ed25519),
        }
    }

    /// Wrap an existing schnorrkel key pair.
    pub fn from_keypair(keypair: Keypair) -> Self {
        Self { keypair }
    }

    /// The public key (account id bytes).
    pub fn public(&self) -> AccountKey {
        AccountKey(self.keypair.public.to_bytes())
    }

    /// Sign `message` under the Substrate signing context.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.keypair
            .sign(signing_context(SIGNING_CONTEXT).bytes(message))
            .to_bytes()
    }
}

/// Whether `signature` is `public`'s signature of `message` under the Substrate context.
pub fn verify(public: &AccountKey, message: &[u8], signature: &[u8; 64]) -> bool {
    let (Ok(pk), Ok(sig)) = (
        PublicKey::from_bytes(&public.0),
        Signature::from_bytes(signature),
    ) else {
        return false;
    };
    pk.verify_simple(SIGNING_CONTEXT, message, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_for_the_signer_and_the_message() {
        let a = Signer::from_seed(&[1; 32]);
        let b = Signer::from_seed(&[2; 32]);
        let sig = a.sign(b"hello");
        assert!(verify(&a.public(), b"hello", &sig));
        assert!(!verify(&b.public(), b"hello", &sig));
        assert!(!verify(&a.public(), b"hellO", &sig));
        let mut bad = sig;
        bad[3] ^= 1;
        assert!(!verify(&a.public(), b"hello", &bad));
        assert!(!verify(&AccountKey([0xff; 32]), b"hello", &sig));
    }
}

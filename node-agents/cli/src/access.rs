//! The sealed box that carries an order's access details from the provider to the user.
//!
//! When a user places an order they put an x25519 public key in it (`OrderSpec::user_public_key`).
//! The worker's agent *seals* the container's access details (host, ports, credentials) to that
//! key with [`seal`] and publishes the result with `Orders::accept_order`; only the holder of the
//! matching secret key can [`open`] it. Anyone can seal to a public key; the box does not say who
//! sealed it (the chain does: only the order's agent can accept it).
//!
//! A box starts with a format version byte; [`open`] reads both versions, [`seal`] writes
//! version 2.
//!
//! ## Version 2 (written since the dApp): libsodium's sealed box
//!
//! ```text
//! sealed = 0x02 || crypto_box_seal(plaintext, recipient_pk)
//!        = 0x02 || epk || XSalsa20-Poly1305(crypto_box key of (esk, recipient_pk),
//!                                            nonce = BLAKE2b-192(epk || recipient_pk), plaintext)
//! ```
//!
//! The standard construction (the `crypto_box` crate's `seal` here, `libsodium-wrappers`'
//! `crypto_box_seal_open` in the dApp), so that any libsodium binding opens it. Low-order keys
//! are refused on both sides ([`AccessError::WeakKey`]), as libsodium does.
//!
//! ## Version 1 (boxes sealed before; still opened)
//!
//! An anonymous sealed box in the style of libsodium's `crypto_box_seal`, with XChaCha20-Poly1305
//! instead of XSalsa20-Poly1305:
//!
//! ```text
//! esk, epk  = fresh x25519 key pair (per message)
//! shared    = X25519(esk, recipient_pk)            -- refused if all-zero (low-order point)
//! key       = BLAKE2b-256("kaisar/access/v1/key"   || shared || epk || recipient_pk)
//! nonce     = BLAKE2b-192("kaisar/access/v1/nonce" || epk || recipient_pk)
//! sealed    = 0x01 || epk || XChaCha20-Poly1305(key, nonce, aad = 0x01, plaintext)
//! ```
//!
//! Both versions add [`OVERHEAD`] = 1 + 32 + 16 = 49 bytes; with the runtime's
//! `MaxAccessBlobLen` of 1024 bytes the access details can be up to 975 bytes.

use blake2::{
    digest::{consts::U24, Digest},
    Blake2b, Blake2b512,
};
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// The format version [`seal`] writes (libsodium's `crypto_box_seal`).
pub const VERSION: u8 = 2;
/// The first format version (XChaCha20-Poly1305 with BLAKE2b-derived key and nonce), still
/// opened.
pub const VERSION_V1: u8 = 1;
/// Bytes a sealed box adds to its plaintext: version, ephemeral public key, Poly1305 tag.
pub const OVERHEAD: usize = 1 + 32 + 16;

const KEY_DOMAIN: &[u8] = b"kaisar/access/v1/key";
const NONCE_DOMAIN: &[u8] = b"kaisar/access/v1/nonce";

/// Why a box could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessError {
    /// The box is shorter than [`OVERHEAD`].
    TooShort,
    /// The box has a version this code does not know.
    UnknownVersion(u8),
    /// A public key is a low-order point (the shared secret would be all zeros).
    WeakKey,
    /// Authentication failed: the box was sealed to another key, or was altered.
    Forged,
}

impl std::fmt::Display for AccessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccessError::TooShort => write!(f, "sealed box too short ({OVERHEAD} bytes at least)"),
            AccessError::UnknownVersion(v) => write!(f, "unknown sealed box version {v}"),
            AccessError::WeakKey => write!(f, "public key is a low-order point"),
            AccessError::Forged => write!(
                f,
                "cannot open: sealed to another key, or altered in transit"
            ),
        }
    }
}

impl std::error::Error for AccessError {}

/// A user's x25519 key pair for the access details of one order. The secret is wiped from
/// memory when the pair is dropped.
#[derive(Clone)]
pub struct AccessKeyPair {
    secret: StaticSecret,
    public: PublicKey,
}

impl std::fmt::Debug for AccessKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKeyPair")
            .field("public", &hex::encode(self.public.as_bytes()))
            .finish_non_exhaustive()
    }
}

impl AccessKeyPair {
    /// A fresh key pair from the operating system's random number generator.
    pub fn generate() -> Self {
        Self::from_secret(StaticSecret::random().to_bytes())
    }

    /// The key pair of a 32-byte secret (clamped as X25519 does).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        let secret = StaticSecret::from(secret);
        let public = PublicKey::from(&secret);
        AccessKeyPair { secret, public }
    }

    /// The public key, as it goes into `OrderSpec::user_public_key`.
    pub fn public_key(&self) -> [u8; 32] {
        self.public.to_bytes()
    }

    /// The secret key bytes (for storing them; keep them private).
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// Open a box sealed to this key pair; see [`open`].
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, AccessError> {
        open(self, sealed)
    }
}

fn derive(
    shared: &[u8; 32],
    epk: &[u8; 32],
    recipient: &[u8; 32],
) -> (Zeroizing<[u8; 32]>, XNonce) {
    let mut key_hasher = Blake2b::<blake2::digest::consts::U32>::new();
    key_hasher.update(KEY_DOMAIN);
    key_hasher.update(shared);
    key_hasher.update(epk);
    key_hasher.update(recipient);
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&key_hasher.finalize());

    let mut nonce_hasher = Blake2b::<U24>::new();
    nonce_hasher.update(NONCE_DOMAIN);
    nonce_hasher.update(epk);
    nonce_hasher.update(recipient);
    let nonce: XNonce = nonce_hasher.finalize();
    (key, nonce)
}

/// Seal `plaintext` to `recipient` (an x25519 public key, e.g. an order's `user_public_key`)
/// in the current format ([`VERSION`]: libsodium's sealed box). The result is [`OVERHEAD`]
/// bytes longer than the plaintext and differs on every call.
pub fn seal(recipient: &[u8; 32], plaintext: &[u8]) -> Result<Vec<u8>, AccessError> {
    seal_with_rng(&mut crypto_box::aead::OsRng, recipient, plaintext)
}

/// [`seal`] with the ephemeral key drawn from `rng` (fixed in the known-answer test).
fn seal_with_rng(
    rng: &mut impl crypto_box::aead::rand_core::CryptoRngCore,
    recipient: &[u8; 32],
    plaintext: &[u8],
) -> Result<Vec<u8>, AccessError> {
    // A low-order key gives an all-zero shared secret whatever the ephemeral key (clamped
    // scalars are multiples of the cofactor), so any scalar tells.
    if !StaticSecret::from([1u8; 32])
        .diffie_hellman(&PublicKey::from(*recipient))
        .was_contributory()
    {
        return Err(AccessError::WeakKey);
    }
    let sealed = crypto_box::PublicKey::from(*recipient)
        .seal(rng, plaintext)
        // Only fails for plaintexts beyond XSalsa20-Poly1305's limits (256 GiB).
        .map_err(|_| AccessError::Forged)?;
    let mut out = Vec::with_capacity(1 + sealed.len());
    out.push(VERSION);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Version 1's seal with a given ephemeral secret (no longer written; the tests pin it).
#[cfg(test)]
fn seal_v1_with(
    ephemeral: StaticSecret,
    recipient: &[u8; 32],
    plaintext: &[u8],
) -> Result<Vec<u8>, AccessError> {
    let recipient_pk = PublicKey::from(*recipient);
    let epk = PublicKey::from(&ephemeral);
    let shared = ephemeral.diffie_hellman(&recipient_pk);
    if !shared.was_contributory() {
        return Err(AccessError::WeakKey);
    }
    let (key, nonce) = derive(shared.as_bytes(), epk.as_bytes(), recipient);
    let cipher = XChaCha20Poly1305::new_from_slice(key.as_ref()).expect("32-byte key; qed");
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &[VERSION_V1],
            },
        )
        .expect("plaintext within XChaCha20-Poly1305 limits; qed");
    let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
    out.push(VERSION_V1);
    out.extend_from_slice(epk.as_bytes());
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Open a box sealed to `keys`' public key, of either version. Fails if it was sealed to
/// another key, altered, truncated or of an unknown version.
pub fn open(keys: &AccessKeyPair, sealed: &[u8]) -> Result<Vec<u8>, AccessError> {
    if sealed.len() < OVERHEAD {
        return Err(AccessError::TooShort);
    }
    let version = sealed[0];
    if version != VERSION && version != VERSION_V1 {
        return Err(AccessError::UnknownVersion(version));
    }
    let mut epk = [0u8; 32];
    epk.copy_from_slice(&sealed[1..33]);
    let shared = keys.secret.diffie_hellman(&PublicKey::from(epk));
    if !shared.was_contributory() {
        return Err(AccessError::WeakKey);
    }
    if version == VERSION {
        return crypto_box::SecretKey::from(keys.secret.to_bytes())
            .unseal(&sealed[1..])
            .map_err(|_| AccessError::Forged);
    }
    let (key, nonce) = derive(shared.as_bytes(), &epk, keys.public.as_bytes());
    let cipher = XChaCha20Poly1305::new_from_slice(key.as_ref()).expect("32-byte key; qed");
    cipher
        .decrypt(
            &nonce,
            Payload {
                msg: &sealed[33..],
                aad: &[VERSION_V1],
            },
        )
        .map_err(|_| AccessError::Forged)
}

/// A short fingerprint of a public key for display: the first 8 bytes of its BLAKE2b-512, hex.
pub fn fingerprint(public: &[u8; 32]) -> String {
    hex::encode(&Blake2b512::digest(public)[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    const DETAILS: &[u8] = b"ssh -p 2222 root@203.0.113.7\npassword: correct horse battery";

    #[test]
    fn round_trip_recovers_the_plaintext() {
        let user = AccessKeyPair::generate();
        let sealed = seal(&user.public_key(), DETAILS).unwrap();
        assert_eq!(sealed.len(), DETAILS.len() + OVERHEAD);
        assert_eq!(open(&user, &sealed).unwrap(), DETAILS);
        assert_eq!(user.open(&sealed).unwrap(), DETAILS);
    }

    #[test]
    fn empty_plaintext_round_trips() {
        let user = AccessKeyPair::generate();
        let sealed = seal(&user.public_key(), b"").unwrap();
        assert_eq!(sealed.len(), OVERHEAD);
        assert_eq!(open(&user, &sealed).unwrap(), b"");
    }

    #[test]
    fn sealing_twice_gives_different_boxes() {
        let user = AccessKeyPair::generate();
        let a = seal(&user.public_key(), DETAILS).unwrap();
        let b = seal(&user.public_key(), DETAILS).unwrap();
        assert_ne!(a, b);
        assert_eq!(open(&user, &a).unwrap(), open(&user, &b).unwrap());
    }

    #[test]
    fn wrong_key_cannot_open() {
        let user = AccessKeyPair::generate();
        let other = AccessKeyPair::generate();
        let sealed = seal(&user.public_key(), DETAILS).unwrap();
        assert_eq!(open(&other, &sealed), Err(AccessError::Forged));
    }

    #[test]
    fn any_tampered_byte_is_detected() {
        let user = AccessKeyPair::generate();
        let sealed = seal(&user.public_key(), DETAILS).unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x40;
            let result = open(&user, &bad);
            assert!(result.is_err(), "flipping byte {i} went unnoticed");
            if i == 0 {
                assert_eq!(result, Err(AccessError::UnknownVersion(VERSION ^ 0x40)));
            }
        }
    }

    #[test]
    fn truncated_or_extended_boxes_are_refused() {
        let user = AccessKeyPair::generate();
        let sealed = seal(&user.public_key(), DETAILS).unwrap();
        assert_eq!(
            open(&user, &sealed[..OVERHEAD - 1]),
            Err(AccessError::TooShort)
        );
        assert_eq!(open(&user, &[]), Err(AccessError::TooShort));
        assert_eq!(
            open(&user, &sealed[..sealed.len() - 1]),
            Err(AccessError::Forged)
        );
        let mut longer = sealed.clone();
        longer.push(0);
        assert_eq!(open(&user, &longer), Err(AccessError::Forged));
    }

    #[test]
    fn low_order_recipient_key_is_refused() {
        // The all-zero point (and the identity, 1) have low order: the shared secret would be
        // all zeros whatever the ephemeral key, so anyone could open the box.
        assert_eq!(seal(&[0u8; 32], DETAILS), Err(AccessError::WeakKey));
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(seal(&one, DETAILS), Err(AccessError::WeakKey));
    }

    #[test]
    fn low_order_ephemeral_key_is_refused() {
        let user = AccessKeyPair::generate();
        let mut sealed = seal(&user.public_key(), DETAILS).unwrap();
        sealed[1..33].fill(0);
        assert_eq!(open(&user, &sealed), Err(AccessError::WeakKey));
    }

    #[test]
    fn key_pair_survives_a_round_trip_through_its_secret_bytes() {
        let user = AccessKeyPair::generate();
        let again = AccessKeyPair::from_secret(*user.secret_bytes());
        assert_eq!(again.public_key(), user.public_key());
        let sealed = seal(&user.public_key(), DETAILS).unwrap();
        assert_eq!(open(&again, &sealed).unwrap(), DETAILS);
    }

    /// An RNG that hands out one fixed 32-byte block: the ephemeral key of a known answer.
    struct Fixed([u8; 32]);
    impl rand_core::RngCore for Fixed {
        fn next_u32(&mut self) -> u32 {
            unimplemented!("only fill_bytes is used")
        }
        fn next_u64(&mut self) -> u64 {
            unimplemented!("only fill_bytes is used")
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            dest.copy_from_slice(&self.0[..dest.len()]);
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }
    impl rand_core::CryptoRng for Fixed {}

    #[test]
    fn known_answer_is_stable() {
        // Fixed keys pin the construction: a change to it changes these bytes (and breaks the
        // dApp and boxes already on chain). The dApp's tests open the same vectors.
        let user = AccessKeyPair::from_secret([7u8; 32]);
        let sealed = seal_with_rng(&mut Fixed([9u8; 32]), &user.public_key(), b"hi").unwrap();
        assert_eq!(hex::encode(&sealed), KNOWN_BOX_V2);
        assert_eq!(open(&user, &sealed).unwrap(), b"hi");
        assert_eq!(fingerprint(&user.public_key()).len(), 16);
    }

    #[test]
    fn version_1_boxes_still_open() {
        let user = AccessKeyPair::from_secret([7u8; 32]);
        let sealed =
            seal_v1_with(StaticSecret::from([9u8; 32]), &user.public_key(), b"hi").unwrap();
        assert_eq!(hex::encode(&sealed), KNOWN_BOX);
        assert_eq!(
            open(&user, &hex::decode(KNOWN_BOX).unwrap()).unwrap(),
            b"hi"
        );
        // Random version-1 boxes too, and a tampered one is caught.
        let sealed = seal_v1_with(StaticSecret::random(), &user.public_key(), DETAILS).unwrap();
        assert_eq!(open(&user, &sealed).unwrap(), DETAILS);
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(open(&user, &bad), Err(AccessError::Forged));
        // The version byte is authenticated: a version-1 box relabelled 2 does not open.
        let mut relabelled = sealed;
        relabelled[0] = VERSION;
        assert_eq!(open(&user, &relabelled), Err(AccessError::Forged));
    }

    /// Version 2: libsodium's `crypto_box_seal` with the ephemeral secret [9; 32] to the key
    /// of the secret [7; 32], behind the version byte. Checked against libsodium itself
    /// (PyNaCl's `SealedBox` opens it to "hi") when it was written; the dApp's unit tests open
    /// it with `libsodium-wrappers`.
    const KNOWN_BOX_V2: &str = "0257db4b359f23ae5e146e4e2512056704722506348c150c14753d0c933d04d4\
                                216d83b30ac372d90f0d593819d99b7fa04bf8";

    /// Version 1; also produced by `tools/access_kat.py`, an independent implementation in
    /// Python (`cryptography`'s X25519 and ChaCha20-Poly1305 with a hand-written HChaCha20).
    const KNOWN_BOX: &str = "0157db4b359f23ae5e146e4e2512056704722506348c150c14753d0c933d04d4\
                             2160b04ab7f3222385ce91a41cbb4759de1396";
}

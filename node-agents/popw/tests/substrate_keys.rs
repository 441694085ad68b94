//! Messages are signed so that they verify against Substrate sr25519 accounts.

use kaisar_popw::keys::{self, AccountKey};
use kaisar_popw::Signer;
use sp_core::crypto::{AccountId32, Pair as _};
use sp_core::sr25519;

#[test]
fn signer_from_seed_is_the_substrate_account_of_that_seed() {
    let seed = [0x5a; 32];
    let ours = Signer::from_seed(&seed);
    let theirs = sr25519::Pair::from_seed(&seed);
    assert_eq!(ours.public().0, theirs.public().0);
    let account: AccountId32 = theirs.public().into();
    assert_eq!(AsRef::<[u8; 32]>::as_ref(&account), &ours.public().0);
}

#[test]
fn our_signatures_verify_with_sp_core_and_theirs_with_ours() {
    let seed = [0x17; 32];
    let ours = Signer::from_seed(&seed);
    let theirs = sr25519::Pair::from_seed(&seed);
    let msg = b"kaisar-popw interop";

    let sig = ours.sign(msg);
    assert!(sr25519::Pair::verify(
        &sr25519::Signature::from_raw(sig),
        msg,
        &theirs.public()
    ));
    assert!(!sr25519::Pair::verify(
        &sr25519::Signature::from_raw(sig),
        b"other",
        &theirs.public()
    ));

    let sig2 = theirs.sign(msg);
    assert!(keys::verify(&AccountKey(theirs.public().0), msg, &sig2.0));
    assert!(!keys::verify(
        &AccountKey(sr25519::Pair::from_seed(&[1; 32]).public().0),
        msg,
        &sig2.0
    ));
}

#[test]
fn dev_account_alice_signs_protocol_messages() {
    // The well-known //Alice key, as a chain's dev account.
    let alice = sr25519::Pair::from_string("//Alice", None).unwrap();
    let sig = alice.sign(b"challenge");
    assert!(keys::verify(
        &AccountKey(alice.public().0),
        b"challenge",
        &sig.0
    ));
}

//! The allocation rule, referral-code and allow-list checks, the traits this pallet implements
//! for others (slots, referrals, the NFT lock) and the invariants.

use super::*;
use alloc::vec::Vec;
use codec::{Decode, Encode};
use frame_support::{
    pallet_prelude::*,
    traits::{Locker, Randomness},
};
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::{CheckerSlot, CheckerSlots, CheckingEpoch, CheckingEpochs, Referrals};
use sp_core::H256;
use sp_runtime::traits::{AccountIdConversion, Zero};

/// The licenses allocated to a commitment of `units` at `position` on a tier's line of
/// `committed` licenses of which `supply` are for sale, with random `offset` in
/// `0..committed` (see the crate docs): everything if the tier is not oversubscribed, else
/// `floor((position + units + offset) * supply / committed) - floor((position + offset) *
/// supply / committed)`. Over all commitments of a tier this sums to exactly `supply`.
pub fn allocation(position: u32, units: u32, committed: u32, supply: u32, offset: u32) -> u32 {
    if committed <= supply {
        return units;
    }
    let (p, u, c, s, r) = (
        position as u128,
        units as u128,
        committed as u128,
        supply as u128,
        offset as u128,
    );
    let hi = (p + u + r) * s / c;
    let lo = (p + r) * s / c;
    // `hi - lo <= ceil(u * s / c) <= u`.
    (hi - lo) as u32
}

/// The lowercase form of a valid referral code: 3..=MaxCodeLen bytes of ASCII letters,
/// digits, `-` and `_`.
pub(crate) fn normalize_code<T: Config>(code: &[u8]) -> Option<ReferralCode<T>> {
    if code.len() < 3 || code.len() > T::MaxCodeLen::get() as usize {
        return None;
    }
    if !code
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    {
        return None;
    }
    BoundedVec::try_from(code.to_ascii_lowercase()).ok()
}

/// The allow-list leaf of `who`: `blake2_256(SCALE(who))`.
pub fn allow_list_leaf<AccountId: Encode>(who: &AccountId) -> H256 {
    H256(sp_io::hashing::blake2_256(&who.encode()))
}

/// Hash of two sibling nodes: `blake2_256(min ++ max)` (sorted pairs, so a proof needs no
/// left/right flags).
pub fn allow_list_node(a: H256, b: H256) -> H256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo.as_bytes());
    buf[32..].copy_from_slice(hi.as_bytes());
    H256(sp_io::hashing::blake2_256(&buf))
}

/// Whether `proof` leads from `who`'s leaf to `root`.
pub(crate) fn verify_allow_list<AccountId: Encode>(
    who: &AccountId,
    proof: &[H256],
    root: H256,
) -> bool {
    proof.iter().fold(allow_list_leaf(who), |acc, sibling| {
        allow_list_node(acc, *sibling)
    }) == root
}

/// The Merkle root of `leaves` (sorted-pair tree; an odd node is carried up unchanged), and
/// the proof for leaf `index`. For tests, benchmarks and tools that build allow-lists.
pub fn allow_list_root_and_proof(leaves: &[H256], index: usize) -> (H256, Vec<H256>) {
    let mut level: Vec<H256> = leaves.to_vec();
    let mut idx = index;
    let mut proof = Vec::new();
    while level.len() > 1 {
        let sibling = idx ^ 1;
        if sibling < level.len() {
            proof.push(level[sibling]);
        }
        level = level
            .chunks(2)
            .map(|pair| {
                if pair.len() == 2 {
                    allow_list_node(pair[0], pair[1])
                } else {
                    pair[0]
                }
            })
            .collect();
        idx /= 2;
    }
    (level.first().copied().unwrap_or_default(), proof)
}

/// Randomness from the parent block hash. **Insecure**: the block author influences it (it
/// may withhold a block to re-draw). For development chains and tests only; on peaq the
/// runtime uses relay-chain randomness instead.
pub struct ParentHashRandomness<T>(core::marker::PhantomData<T>);
impl<T: frame_system::Config> Randomness<T::Hash, BlockNumberFor<T>> for ParentHashRandomness<T> {
    fn random(subject: &[u8]) -> (T::Hash, BlockNumberFor<T>) {
        let parent = frame_system::Pallet::<T>::parent_hash();
        let mut input = parent.encode();
        input.extend_from_slice(subject);
        let h = sp_io::hashing::blake2_256(&input);
        let hash = T::Hash::decode(&mut &h[..]).unwrap_or_default();
        (hash, frame_system::Pallet::<T>::block_number())
    }
}

impl<T: Config> Pallet<T> {
    /// The pallet's account: owns the licenses collection.
    pub fn account_id() -> T::AccountId {
        T::PalletId::get().into_account_truncating()
    }

    /// The checking epoch of block `n`.
    pub fn epoch_of(n: BlockNumberFor<T>) -> CheckingEpoch {
        use sp_runtime::SaturatedConversion;
        (n / T::EpochLength::get()).saturated_into()
    }

    /// The slot at `index` of the current epoch, with its commission.
    pub fn slot_at(index: u32) -> Option<CheckerSlot<T::AccountId>> {
        let s = Slots::<T>::get(index)?;
        let commission = if s.operator == s.owner {
            Zero::zero()
        } else {
            Operators::<T>::get(&s.operator)
                .map(|o| o.commission_at(CurrentEpoch::<T>::get()))
                .unwrap_or_default()
        };
        Some(CheckerSlot {
            license: s.license,
            owner: s.owner,
            operator: s.operator,
            commission,
        })
    }

    /// The invariants: holds equal unclaimed commitments, round totals match, every slot's
    /// license exists and is owned by the slot's owner, counts and indices match.
    #[cfg(any(feature = "try-runtime", test))]
    pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
        use alloc::collections::btree_map::BTreeMap;
        use frame_support::traits::fungible::InspectHold;
        use sp_runtime::traits::Saturating;

        // Money: per buyer, the hold equals its unclaimed commitments; per round, the totals.
        let mut per_buyer: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
        let mut per_round: BTreeMap<RoundId, (BalanceOf<T>, u32)> = BTreeMap::new();
        for (round, who, c) in Commitments::<T>::iter() {
            let r = Rounds::<T>::get(round).ok_or("commitment of an unknown round")?;
            let mut price: BalanceOf<T> = Zero::zero();
            for tc in c.tiers.iter() {
                let sale = r
                    .tiers
                    .get(tc.tier as usize)
                    .ok_or("commitment to an unknown tier")?;
                price = price.saturating_add(sale.price.saturating_mul(tc.units.into()));
            }
            ensure!(price == c.held, "a commitment's hold is not its price");
            per_buyer
                .entry(who)
                .or_insert_with(Zero::zero)
                .saturating_accrue(c.held);
            let e = per_round.entry(round).or_insert((Zero::zero(), 0));
            e.0.saturating_accrue(c.held);
            e.1 += 1;
        }
        for (who, held) in per_buyer {
            ensure!(
                T::Currency::balance_on_hold(&HoldReason::SaleCommitment.into(), &who) == held,
                "held funds differ from unclaimed commitments"
            );
        }
        for (id, r) in Rounds::<T>::iter() {
            let (held, n) = per_round.get(&id).copied().unwrap_or((Zero::zero(), 0));
            ensure!(r.held == held, "round.held differs from its commitments");
            ensure!(
                r.unclaimed == n,
                "round.unclaimed differs from its commitments"
            );
            for s in r.tiers.iter() {
                ensure!(
                    s.committed <= s.supply || s.offset < s.committed,
                    "offset out of range"
                );
            }
        }

        // Slots.
        let count = SlotCount::<T>::get();
        ensure!(
            Slots::<T>::iter().count() as u32 == count,
            "SlotCount differs from Slots"
        );
        ensure!(
            SlotOf::<T>::iter().count() as u32 == count,
            "SlotOf differs from Slots"
        );
        for (i, s) in Slots::<T>::iter() {
            ensure!(i < count, "slot index out of range");
            ensure!(
                SlotOf::<T>::get(s.license) == Some(i),
                "SlotOf does not point at its slot"
            );
            ensure!(
                Licenses::<T>::contains_key(s.license),
                "slot of an unknown license"
            );
            ensure!(
                Self::owner_of(s.license).as_ref() == Some(&s.owner),
                "slot owner is not the license owner"
            );
            // Delegated by its current owner: either still delegated as in the slot, or a
            // change is pending for the next epoch.
            let d = Delegations::<T>::get(s.license);
            ensure!(
                d.as_ref()
                    .map_or(false, |d| d.owner == s.owner && d.operator == s.operator)
                    || Pending::<T>::contains_key(s.license),
                "slot not delegated by its owner"
            );
        }
        // Delegations and pending changes.
        let mut per_operator: BTreeMap<T::AccountId, u32> = BTreeMap::new();
        for (license, d) in Delegations::<T>::iter() {
            ensure!(
                Self::owner_of(license).as_ref() == Some(&d.owner),
                "delegation owner is not the license owner"
            );
            ensure!(
                SlotOf::<T>::contains_key(license) || Pending::<T>::contains_key(license),
                "delegation neither active nor pending"
            );
            *per_operator.entry(d.operator).or_insert(0) += 1;
        }
        for (op, info) in Operators::<T>::iter() {
            ensure!(
                per_operator.get(&op).copied().unwrap_or(0) == info.delegated,
                "operator count differs from its delegations"
            );
        }
        let queue = PendingQueue::<T>::get();
        ensure!(
            Pending::<T>::iter().count() == queue.len(),
            "Pending differs from the queue"
        );
        for l in queue.iter() {
            ensure!(
                Pending::<T>::contains_key(l),
                "queued license not marked pending"
            );
        }
        Ok(())
    }
}

impl<T: Config> CheckerSlots<T::AccountId> for Pallet<T> {
    fn current_epoch() -> CheckingEpoch {
        CurrentEpoch::<T>::get()
    }
    fn slot_count() -> u32 {
        SlotCount::<T>::get()
    }
    fn slot(index: u32) -> Option<CheckerSlot<T::AccountId>> {
        Self::slot_at(index)
    }
    fn slot_of(license: LicenseId) -> Option<u32> {
        SlotOf::<T>::get(license)
    }
}

impl<T: Config> CheckingEpochs<BlockNumberFor<T>> for Pallet<T> {
    fn epoch_length() -> BlockNumberFor<T> {
        T::EpochLength::get()
    }
    fn epoch_of(n: BlockNumberFor<T>) -> CheckingEpoch {
        Self::epoch_of(n)
    }
    fn epoch_start(epoch: CheckingEpoch) -> BlockNumberFor<T> {
        use sp_runtime::traits::Saturating;
        BlockNumberFor::<T>::from(epoch).saturating_mul(T::EpochLength::get())
    }
}

impl<T: Config> Referrals<T::AccountId> for Pallet<T> {
    fn referrer_of(who: &T::AccountId) -> Option<T::AccountId> {
        ReferrerOf::<T>::get(who)
    }
}

/// Blocks transfers (and burns) of delegated licenses: set it as `pallet_nfts::Config::Locker`.
impl<T: Config> Locker<T::CollectionId, LicenseId> for Pallet<T> {
    fn is_locked(collection: T::CollectionId, item: LicenseId) -> bool {
        LicenseCollection::<T>::get() == Some(collection)
            && (Delegations::<T>::contains_key(item) || SlotOf::<T>::contains_key(item))
    }
}

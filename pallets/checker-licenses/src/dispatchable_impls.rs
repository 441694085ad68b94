//! The calls' logic (the calls in `lib.rs` check the origin and delegate here).

use super::*;
use alloc::vec::Vec;
use frame_support::{
    ensure,
    pallet_prelude::*,
    traits::{
        fungible::MutateHold,
        tokens::{nonfungibles_v2, Fortitude, Precision, Restriction},
        Randomness,
    },
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_core::H256;
use sp_runtime::{
    traits::{CheckedAdd, CheckedMul, Saturating, Zero},
    Perbill,
};

impl<T: Config> Pallet<T> {
    pub(crate) fn do_open_round(
        start: BlockNumberFor<T>,
        end: BlockNumberFor<T>,
        tiers: BoundedVec<TierTerms<BalanceOf<T>>, T::MaxTiers>,
        cap_per_wallet: u32,
        allow_list_root: Option<H256>,
        beneficiary: T::AccountId,
    ) -> DispatchResult {
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(start >= now && start <= end, Error::<T>::InvalidWindow);
        ensure!(
            !tiers.is_empty() && tiers.iter().all(|t| !t.price.is_zero() && t.supply > 0),
            Error::<T>::InvalidTiers
        );
        ensure!(
            cap_per_wallet >= 1 && cap_per_wallet <= T::MaxPerWallet::get(),
            Error::<T>::InvalidCap
        );
        let sales: Vec<TierSale<BalanceOf<T>>> = tiers
            .into_iter()
            .map(|t| TierSale {
                price: t.price,
                supply: t.supply,
                committed: 0,
                buyers: 0,
                offset: 0,
            })
            .collect();
        let round = NextRoundId::<T>::get();
        let next = round.checked_add(1).ok_or(Error::<T>::Overflow)?;
        Rounds::<T>::insert(
            round,
            Round {
                start,
                end,
                tiers: BoundedVec::truncate_from(sales),
                cap_per_wallet,
                allow_list_root,
                beneficiary,
                status: RoundStatus::Open,
                held: Zero::zero(),
                unclaimed: 0,
            },
        );
        NextRoundId::<T>::put(next);
        Self::deposit_event(Event::RoundOpened { round, start, end });
        Ok(())
    }

    pub(crate) fn do_commit(
        who: T::AccountId,
        round_id: RoundId,
        tier: Tier,
        licenses: u32,
        referral_code: Option<ReferralCode<T>>,
        proof: BoundedVec<H256, T::MaxProofLen>,
    ) -> DispatchResult {
        ensure!(licenses > 0, Error::<T>::ZeroLicenses);
        let mut round = Rounds::<T>::get(round_id).ok_or(Error::<T>::UnknownRound)?;
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(
            round.status == RoundStatus::Open && now >= round.start && now <= round.end,
            Error::<T>::NotInWindow
        );
        let sale = round
            .tiers
            .get_mut(tier as usize)
            .ok_or(Error::<T>::UnknownTier)?;
        if let Some(root) = round.allow_list_root {
            ensure!(
                allow_list::verify_allow_list(&who, &proof, root),
                Error::<T>::NotAllowListed
            );
        }
        let already = Committed::<T>::get(round_id, &who);
        let total = already
            .checked_add(licenses)
            .ok_or(Error::<T>::CapExceeded)?;
        ensure!(total <= round.cap_per_wallet, Error::<T>::CapExceeded);

        let mut commitment = Commitments::<T>::get(round_id, &who).unwrap_or(Commitment {
            tiers: BoundedVec::new(),
            referrer: None,
            held: Zero::zero(),
        });
        // A buyer whose `Committed` is non-zero but has no commitment already claimed; it
        // cannot be in an open round (claims need a settled round), so this is only defensive.
        ensure!(
            already == 0 || !commitment.tiers.is_empty(),
            Error::<T>::NotInWindow
        );
        ensure!(
            !commitment.tiers.iter().any(|c| c.tier == tier),
            Error::<T>::AlreadyCommittedToTier
        );

        let referrer = match referral_code {
            Some(code) => {
                let code =
                    referrals::normalize_code::<T>(&code).ok_or(Error::<T>::UnknownReferralCode)?;
                let owner =
                    ReferralCodes::<T>::get(&code).ok_or(Error::<T>::UnknownReferralCode)?;
                ensure!(owner != who, Error::<T>::SelfReferral);
                if !commitment.tiers.is_empty() {
                    ensure!(
                        commitment.referrer.as_ref() == Some(&owner),
                        Error::<T>::ReferralMismatch
                    );
                }
                Some(owner)
            }
            None => commitment.referrer.clone(),
        };

        let price = sale
            .price
            .checked_mul(&licenses.into())
            .ok_or(Error::<T>::Overflow)?;
        let position = sale.committed;
        sale.committed = sale
            .committed
            .checked_add(licenses)
            .ok_or(Error::<T>::Overflow)?;
        sale.buyers = sale.buyers.saturating_add(1);
        round.held = round.held.checked_add(&price).ok_or(Error::<T>::Overflow)?;
        if commitment.tiers.is_empty() {
            round.unclaimed = round.unclaimed.saturating_add(1);
        }
        commitment
            .tiers
            .try_push(TierCommitment {
                tier,
                units: licenses,
                position,
            })
            .map_err(|_| Error::<T>::UnknownTier)?;
        commitment.referrer = referrer.clone();
        commitment.held = commitment
            .held
            .checked_add(&price)
            .ok_or(Error::<T>::Overflow)?;

        T::Currency::hold(&HoldReason::SaleCommitment.into(), &who, price)
            .map_err(|_| Error::<T>::InsufficientBalance)?;

        if let Some(referrer) = &referrer {
            if !ReferrerOf::<T>::contains_key(&who) {
                ReferrerOf::<T>::insert(&who, referrer);
                Self::deposit_event(Event::ReferrerRecorded {
                    who: who.clone(),
                    referrer: referrer.clone(),
                });
            }
        }
        Committed::<T>::insert(round_id, &who, total);
        Commitments::<T>::insert(round_id, &who, commitment);
        Rounds::<T>::insert(round_id, round);
        Self::deposit_event(Event::Committed {
            round: round_id,
            who,
            tier,
            licenses,
            held: price,
            referrer,
        });
        Ok(())
    }

    pub(crate) fn do_settle(round_id: RoundId) -> DispatchResult {
        let mut round = Rounds::<T>::get(round_id).ok_or(Error::<T>::UnknownRound)?;
        ensure!(
            round.status == RoundStatus::Open,
            Error::<T>::AlreadySettled
        );
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(now > round.end, Error::<T>::RoundNotEnded);
        let (seed, _) = T::Randomness::random(&(b"ksr/licenses", round_id).encode());
        for (i, sale) in round.tiers.iter_mut().enumerate() {
            if sale.committed > sale.supply {
                let h = sp_io::hashing::blake2_256(&(seed.as_ref(), i as u32).encode());
                let r = u64::from_le_bytes(h[0..8].try_into().expect("8 bytes"));
                sale.offset = (r % sale.committed as u64) as u32;
            }
        }
        round.status = RoundStatus::Settled;
        Rounds::<T>::insert(round_id, round);
        Self::deposit_event(Event::RoundSettled { round: round_id });
        Ok(())
    }

    pub(crate) fn do_claim(
        who: T::AccountId,
        round_id: RoundId,
    ) -> Result<ClaimOutcome<BalanceOf<T>>, DispatchError> {
        let mut round = Rounds::<T>::get(round_id).ok_or(Error::<T>::UnknownRound)?;
        ensure!(round.status == RoundStatus::Settled, Error::<T>::NotSettled);
        let commitment =
            Commitments::<T>::take(round_id, &who).ok_or(Error::<T>::NothingToClaim)?;

        let mut licenses = 0u32;
        let mut gross: BalanceOf<T> = Zero::zero();
        let mut mints: Vec<(Tier, u32)> = Vec::new();
        for c in commitment.tiers.iter() {
            let sale = round
                .tiers
                .get(c.tier as usize)
                .ok_or(Error::<T>::UnknownTier)?;
            let a = allocation(
                c.position,
                c.units,
                sale.committed,
                sale.supply,
                sale.offset,
            );
            licenses = licenses.saturating_add(a);
            gross = gross.saturating_add(sale.price.saturating_mul(a.into()));
            mints.push((c.tier, a));
        }
        let (discount, commission) = if commitment.referrer.is_some() {
            (
                T::ReferralDiscount::get().mul_floor(gross),
                T::ReferralCommission::get().mul_floor(gross),
            )
        } else {
            (Zero::zero(), Zero::zero())
        };
        // `gross <= held` (allocations never exceed commitments), and discount + commission
        // <= gross (integrity test), so none of these saturate.
        let cost = gross.saturating_sub(discount);
        let paid = cost.saturating_sub(commission);
        let released = commitment.held.saturating_sub(cost);

        let reason: T::RuntimeHoldReason = HoldReason::SaleCommitment.into();
        if !paid.is_zero() {
            T::Currency::transfer_on_hold(
                &reason,
                &who,
                &round.beneficiary,
                paid,
                Precision::Exact,
                Restriction::Free,
                Fortitude::Force,
            )?;
        }
        if let (Some(referrer), false) = (&commitment.referrer, commission.is_zero()) {
            T::Currency::transfer_on_hold(
                &reason,
                &who,
                referrer,
                commission,
                Precision::Exact,
                Restriction::Free,
                Fortitude::Force,
            )?;
        }
        if !released.is_zero() {
            T::Currency::release(&reason, &who, released, Precision::Exact)?;
        }
        for (tier, count) in mints {
            for _ in 0..count {
                Self::mint_license(&who, tier, Some(round_id))?;
            }
        }

        round.held = round.held.saturating_sub(commitment.held);
        round.unclaimed = round.unclaimed.saturating_sub(1);
        Rounds::<T>::insert(round_id, round);
        Self::deposit_event(Event::Claimed {
            round: round_id,
            who,
            licenses,
            paid,
            commission,
            discount,
            released,
        });
        Ok(ClaimOutcome {
            licenses,
            paid,
            commission,
            discount,
            released,
        })
    }

    pub(crate) fn do_grant(to: T::AccountId, tier: Tier, licenses: u32) -> DispatchResult {
        ensure!(licenses > 0, Error::<T>::ZeroLicenses);
        ensure!(licenses <= T::MaxPerWallet::get(), Error::<T>::CapExceeded);
        for _ in 0..licenses {
            Self::mint_license(&to, tier, None)?;
        }
        Ok(())
    }

    pub(crate) fn do_register_referral_code(
        who: T::AccountId,
        code: ReferralCode<T>,
    ) -> DispatchResult {
        let code = referrals::normalize_code::<T>(&code).ok_or(Error::<T>::InvalidCode)?;
        ensure!(!CodeOf::<T>::contains_key(&who), Error::<T>::AlreadyHasCode);
        ensure!(
            !ReferralCodes::<T>::contains_key(&code),
            Error::<T>::CodeTaken
        );
        ReferralCodes::<T>::insert(&code, &who);
        CodeOf::<T>::insert(&who, &code);
        Self::deposit_event(Event::ReferralCodeRegistered { who, code });
        Ok(())
    }

    pub(crate) fn do_delegate(
        who: T::AccountId,
        license: LicenseId,
        operator: T::AccountId,
    ) -> DispatchResult {
        Self::ensure_owner(&who, license)?;
        let previous = Delegations::<T>::get(license);
        if let Some(d) = &previous {
            ensure!(d.operator != operator, Error::<T>::AlreadyDelegated);
        }
        // Count the license with the new operator (self-delegation needs no registration).
        match Operators::<T>::get(&operator) {
            Some(mut info) => {
                if let Some(max) = info.max_licenses {
                    ensure!(info.delegated < max, Error::<T>::OperatorFull);
                }
                info.delegated = info.delegated.saturating_add(1);
                Operators::<T>::insert(&operator, info);
            }
            None => ensure!(operator == who, Error::<T>::UnknownOperator),
        }
        if let Some(d) = previous {
            Self::uncount(&d.operator);
        }
        Self::queue_change(license)?;
        Delegations::<T>::insert(
            license,
            Delegation {
                owner: who.clone(),
                operator: operator.clone(),
            },
        );
        Self::deposit_event(Event::Delegated {
            license,
            owner: who,
            operator,
            from: CurrentEpoch::<T>::get().saturating_add(1),
        });
        Ok(())
    }

    pub(crate) fn do_undelegate(who: T::AccountId, license: LicenseId) -> DispatchResult {
        let d = Delegations::<T>::get(license).ok_or(Error::<T>::NotDelegated)?;
        ensure!(d.owner == who, Error::<T>::NotOwner);
        Self::queue_change(license)?;
        Self::uncount(&d.operator);
        Delegations::<T>::remove(license);
        Self::deposit_event(Event::Undelegated {
            license,
            owner: who,
            from: CurrentEpoch::<T>::get().saturating_add(1),
        });
        Ok(())
    }

    pub(crate) fn do_set_commission(who: T::AccountId, commission: Perbill) -> DispatchResult {
        ensure!(
            commission <= T::MaxCommission::get(),
            Error::<T>::CommissionTooHigh
        );
        let epoch = CurrentEpoch::<T>::get();
        let (info, from) = match Operators::<T>::get(&who) {
            None => (
                OperatorInfo {
                    commission,
                    pending: None,
                    max_licenses: None,
                    delegated: 0,
                },
                epoch,
            ),
            Some(mut info) => {
                // Fold a matured change first.
                info.commission = info.commission_at(epoch);
                let from = if commission > info.commission {
                    epoch
                        .saturating_add(1)
                        .saturating_add(T::CommissionIncreaseDelay::get())
                } else {
                    epoch.saturating_add(1)
                };
                info.pending = Some((commission, from));
                (info, from)
            }
        };
        Operators::<T>::insert(&who, info);
        Self::deposit_event(Event::CommissionSet {
            operator: who,
            commission,
            from,
        });
        Ok(())
    }

    pub(crate) fn do_set_max_licenses(
        who: T::AccountId,
        max_licenses: Option<u32>,
    ) -> DispatchResult {
        Operators::<T>::try_mutate(&who, |info| -> DispatchResult {
            let info = info.as_mut().ok_or(Error::<T>::UnknownOperator)?;
            info.max_licenses = max_licenses;
            Ok(())
        })?;
        Self::deposit_event(Event::MaxLicensesSet {
            operator: who,
            max_licenses,
        });
        Ok(())
    }

    // ---- helpers ----

    /// The licenses collection, created on first use.
    pub(crate) fn ensure_collection() -> Result<T::CollectionId, DispatchError> {
        if let Some(c) = LicenseCollection::<T>::get() {
            return Ok(c);
        }
        let owner = Self::account_id();
        let config: NftCollectionConfigOf<T> = pallet_nfts::CollectionConfig {
            settings: pallet_nfts::CollectionSettings::all_enabled(),
            max_supply: None,
            mint_settings: Default::default(),
        };
        let collection = <T::Nfts as nonfungibles_v2::Create<
            T::AccountId,
            NftCollectionConfigOf<T>,
        >>::create_collection(&owner, &owner, &config)
        .map_err(|_| Error::<T>::NoCollection)?;
        LicenseCollection::<T>::put(collection);
        Self::deposit_event(Event::CollectionCreated { collection });
        Ok(collection)
    }

    /// Mint the next license to `to` with its attributes.
    pub(crate) fn mint_license(
        to: &T::AccountId,
        tier: Tier,
        round: Option<RoundId>,
    ) -> Result<LicenseId, DispatchError> {
        let collection = Self::ensure_collection()?;
        let id = NextLicenseId::<T>::get();
        let next = id.checked_add(1).ok_or(Error::<T>::NoLicenseIds)?;
        let minted_at = frame_system::Pallet::<T>::block_number();
        let config = pallet_nfts::ItemConfig {
            settings: pallet_nfts::ItemSettings::all_enabled(),
        };
        <T::Nfts as nonfungibles_v2::Mutate<T::AccountId, pallet_nfts::ItemConfig>>::mint_into(
            &collection,
            &id,
            to,
            &config,
            true,
        )?;
        <T::Nfts as nonfungibles_v2::Mutate<T::AccountId, pallet_nfts::ItemConfig>>::set_typed_attribute(&collection, &id, b"tier", &tier)?;
        <T::Nfts as nonfungibles_v2::Mutate<T::AccountId, pallet_nfts::ItemConfig>>::set_typed_attribute(
            &collection, &id, b"round", &round,
        )?;
        <T::Nfts as nonfungibles_v2::Mutate<T::AccountId, pallet_nfts::ItemConfig>>::set_typed_attribute(
            &collection, &id, b"minted_at", &minted_at,
        )?;
        NextLicenseId::<T>::put(next);
        Licenses::<T>::insert(
            id,
            LicenseInfo {
                tier,
                round,
                minted_at,
            },
        );
        Self::deposit_event(Event::LicenseMinted {
            license: id,
            owner: to.clone(),
            tier,
            round,
        });
        Ok(id)
    }

    /// The NFT owner of `license`, which must be `who`.
    fn ensure_owner(who: &T::AccountId, license: LicenseId) -> DispatchResult {
        ensure!(
            Licenses::<T>::contains_key(license),
            Error::<T>::UnknownLicense
        );
        let owner = Self::owner_of(license).ok_or(Error::<T>::UnknownLicense)?;
        ensure!(&owner == who, Error::<T>::NotOwner);
        Ok(())
    }

    /// The NFT owner of `license`.
    pub fn owner_of(license: LicenseId) -> Option<T::AccountId> {
        let collection = LicenseCollection::<T>::get()?;
        <T::Nfts as nonfungibles_v2::Inspect<T::AccountId>>::owner(&collection, &license)
    }

    /// One license less for `operator` (if registered).
    fn uncount(operator: &T::AccountId) {
        Operators::<T>::mutate(operator, |info| {
            if let Some(info) = info {
                info.delegated = info.delegated.saturating_sub(1);
            }
        });
    }

    /// Queue `license` for the next epoch boundary (once).
    fn queue_change(license: LicenseId) -> DispatchResult {
        if Pending::<T>::contains_key(license) {
            return Ok(());
        }
        PendingQueue::<T>::try_mutate(|q| q.try_push(license))
            .map_err(|_| Error::<T>::PendingQueueFull)?;
        Pending::<T>::insert(license, ());
        Ok(())
    }
}

//! Weights for `pallet_checker_licenses`. **Estimated, not measured yet**: each function's
//! formula is written from the closest measured function of another Kaisar pallet with the
//! same reads/writes pattern (named on each function); `scripts/bench-weights.sh` re-measures
//! them from `benchmarking.rs` (the integrator re-runs the bencher).

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::RocksDbWeight, Weight}};

/// Weight functions of `pallet_checker_licenses`.
pub trait WeightInfo {
	fn open_round(t: u32, ) -> Weight;
	fn commit(p: u32, ) -> Weight;
	fn settle(t: u32, ) -> Weight;
	fn claim(n: u32, ) -> Weight;
	fn grant(n: u32, ) -> Weight;
	fn register_referral_code() -> Weight;
	fn delegate() -> Weight;
	fn undelegate() -> Weight;
	fn set_commission() -> Weight;
	fn set_max_licenses() -> Weight;
	fn on_initialize_idle() -> Weight;
	fn on_initialize_epoch(n: u32, ) -> Weight;
}

/// Estimated weights, with the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	// estimated from pallet_points::fund_pot; re-measured by scripts/bench-weights.sh
	fn open_round(t: u32, ) -> Weight {
		Weight::from_parts(20_000_000, 1500)
			.saturating_add(Weight::from_parts(1_000_000, 0).saturating_mul(t.into()))
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	// estimated from pallet_points::fund_pot; re-measured by scripts/bench-weights.sh
	fn commit(p: u32, ) -> Weight {
		Weight::from_parts(65_000_000, 6196)
			.saturating_add(Weight::from_parts(600_000, 0).saturating_mul(p.into()))
			.saturating_add(T::DbWeight::get().reads(7_u64))
			.saturating_add(T::DbWeight::get().writes(5_u64))
	}
	// estimated from pallet_points::spend; re-measured by scripts/bench-weights.sh
	fn settle(t: u32, ) -> Weight {
		Weight::from_parts(15_000_000, 3600)
			.saturating_add(Weight::from_parts(2_000_000, 0).saturating_mul(t.into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	// estimated from pallet_worker_registry::withdraw_deposit; re-measured by scripts/bench-weights.sh
	fn claim(n: u32, ) -> Weight {
		Weight::from_parts(95_000_000, 6196)
			.saturating_add(Weight::from_parts(110_000_000, 0).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(8_u64))
			.saturating_add(T::DbWeight::get().reads((6_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(7_u64))
			.saturating_add(T::DbWeight::get().writes((9_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 3600).saturating_mul(n.into()))
	}
	// estimated from pallet_worker_registry::withdraw_deposit; re-measured by scripts/bench-weights.sh
	fn grant(n: u32, ) -> Weight {
		Weight::from_parts(12_000_000, 3600)
			.saturating_add(Weight::from_parts(110_000_000, 0).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().reads((6_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(0_u64))
			.saturating_add(T::DbWeight::get().writes((9_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 3600).saturating_mul(n.into()))
	}
	// estimated from pallet_points::set_refund_preference; re-measured by scripts/bench-weights.sh
	fn register_referral_code() -> Weight {
		Weight::from_parts(15_000_000, 3600)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	// estimated from pallet_points::spend; re-measured by scripts/bench-weights.sh
	fn delegate() -> Weight {
		Weight::from_parts(35_000_000, 3600)
			.saturating_add(T::DbWeight::get().reads(8_u64))
			.saturating_add(T::DbWeight::get().writes(5_u64))
	}
	// estimated from pallet_points::spend; re-measured by scripts/bench-weights.sh
	fn undelegate() -> Weight {
		Weight::from_parts(28_000_000, 3600)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
	// estimated from pallet_points::set_refund_preference; re-measured by scripts/bench-weights.sh
	fn set_commission() -> Weight {
		Weight::from_parts(12_000_000, 3600)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	// estimated from pallet_points::set_refund_preference; re-measured by scripts/bench-weights.sh
	fn set_max_licenses() -> Weight {
		Weight::from_parts(10_000_000, 3600)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	// estimated from pallet_points::set_refund_preference; re-measured by scripts/bench-weights.sh
	fn on_initialize_idle() -> Weight {
		Weight::from_parts(2_000_000, 1500)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(0_u64))
	}
	// estimated from pallet_worker_registry::sweep; re-measured by scripts/bench-weights.sh
	fn on_initialize_epoch(n: u32, ) -> Weight {
		Weight::from_parts(6_000_000, 1500)
			.saturating_add(Weight::from_parts(16_000_000, 0).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().reads((3_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(3_u64))
			.saturating_add(T::DbWeight::get().writes((4_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 3400).saturating_mul(n.into()))
	}
}

/// The same weights with RocksDB's database weights, for tests and mocks.
impl WeightInfo for () {
	fn open_round(t: u32, ) -> Weight {
		Weight::from_parts(20_000_000, 1500)
			.saturating_add(Weight::from_parts(1_000_000, 0).saturating_mul(t.into()))
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn commit(p: u32, ) -> Weight {
		Weight::from_parts(65_000_000, 6196)
			.saturating_add(Weight::from_parts(600_000, 0).saturating_mul(p.into()))
			.saturating_add(RocksDbWeight::get().reads(7_u64))
			.saturating_add(RocksDbWeight::get().writes(5_u64))
	}
	fn settle(t: u32, ) -> Weight {
		Weight::from_parts(15_000_000, 3600)
			.saturating_add(Weight::from_parts(2_000_000, 0).saturating_mul(t.into()))
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn claim(n: u32, ) -> Weight {
		Weight::from_parts(95_000_000, 6196)
			.saturating_add(Weight::from_parts(110_000_000, 0).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(8_u64))
			.saturating_add(RocksDbWeight::get().reads((6_u64).saturating_mul(n.into())))
			.saturating_add(RocksDbWeight::get().writes(7_u64))
			.saturating_add(RocksDbWeight::get().writes((9_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 3600).saturating_mul(n.into()))
	}
	fn grant(n: u32, ) -> Weight {
		Weight::from_parts(12_000_000, 3600)
			.saturating_add(Weight::from_parts(110_000_000, 0).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().reads((6_u64).saturating_mul(n.into())))
			.saturating_add(RocksDbWeight::get().writes(0_u64))
			.saturating_add(RocksDbWeight::get().writes((9_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 3600).saturating_mul(n.into()))
	}
	fn register_referral_code() -> Weight {
		Weight::from_parts(15_000_000, 3600)
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn delegate() -> Weight {
		Weight::from_parts(35_000_000, 3600)
			.saturating_add(RocksDbWeight::get().reads(8_u64))
			.saturating_add(RocksDbWeight::get().writes(5_u64))
	}
	fn undelegate() -> Weight {
		Weight::from_parts(28_000_000, 3600)
			.saturating_add(RocksDbWeight::get().reads(4_u64))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
	}
	fn set_commission() -> Weight {
		Weight::from_parts(12_000_000, 3600)
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn set_max_licenses() -> Weight {
		Weight::from_parts(10_000_000, 3600)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn on_initialize_idle() -> Weight {
		Weight::from_parts(2_000_000, 1500)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(0_u64))
	}
	fn on_initialize_epoch(n: u32, ) -> Weight {
		Weight::from_parts(6_000_000, 1500)
			.saturating_add(Weight::from_parts(16_000_000, 0).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().reads((3_u64).saturating_mul(n.into())))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
			.saturating_add(RocksDbWeight::get().writes((4_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 3400).saturating_mul(n.into()))
	}
}

//! Weights for `pallet_rewards`: estimated from the closest measured calls (the same storage
//! pattern) until `scripts/bench-weights.sh` measures them on the reference machine.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::RocksDbWeight, Weight}};

/// Weight functions of `pallet_rewards`.
pub trait WeightInfo {
	fn close_era() -> Weight;
	fn claim() -> Weight;
	fn accrue() -> Weight;
}

/// Estimated weights, with the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	// estimated from a hold and three writes; re-measured by scripts/bench-weights.sh
	fn close_era() -> Weight {
		Weight::from_parts(60_000_000, 4000)
			.saturating_add(T::DbWeight::get().reads(5_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
	// estimated from two transfers on hold; re-measured by scripts/bench-weights.sh
	fn claim() -> Weight {
		Weight::from_parts(120_000_000, 8000)
			.saturating_add(T::DbWeight::get().reads(10_u64))
			.saturating_add(T::DbWeight::get().writes(7_u64))
	}
	// estimated: two reads, two writes; re-measured by scripts/bench-weights.sh
	fn accrue() -> Weight {
		Weight::from_parts(20_000_000, 3000)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
}

/// The same weights with RocksDB's database weights, for tests and mocks.
impl WeightInfo for () {
	fn close_era() -> Weight {
		Weight::from_parts(60_000_000, 4000)
			.saturating_add(RocksDbWeight::get().reads(5_u64))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
	}
	fn claim() -> Weight {
		Weight::from_parts(120_000_000, 8000)
			.saturating_add(RocksDbWeight::get().reads(10_u64))
			.saturating_add(RocksDbWeight::get().writes(7_u64))
	}
	fn accrue() -> Weight {
		Weight::from_parts(20_000_000, 3000)
			.saturating_add(RocksDbWeight::get().reads(4_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
}

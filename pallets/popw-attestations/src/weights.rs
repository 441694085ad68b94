//! Weights for `pallet_popw_attestations`. **Estimated, not measured yet**: each function's
//! formula is written from the closest measured function of `pallet_worker_registry` with a
//! similar reads/writes pattern (named on each function); `scripts/bench-weights.sh`
//! re-measures them from `benchmarking.rs` (the integrator re-runs the bencher).

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::RocksDbWeight, Weight}};

/// Weight functions of `pallet_popw_attestations`.
pub trait WeightInfo {
	/// t: assignment draws made (0 when the check is already open)
	fn commit_nonce(t: u32, ) -> Weight;
	fn seal() -> Weight;
	fn reveal() -> Weight;
	/// k: assigned slots (tallies written)
	fn finalize(k: u32, ) -> Weight;
	/// t: assignment draws (slot reads and tallies)
	fn finalize_unopened(t: u32, ) -> Weight;
	fn forget_worker() -> Weight;
	fn on_initialize_idle() -> Weight;
	fn on_initialize_seed() -> Weight;
	fn on_initialize_randomness() -> Weight;
	/// n: tallies removed
	fn on_idle_prune(n: u32, ) -> Weight;
	fn commit_canaries() -> Weight;
	/// n: canaries revealed
	fn reveal_canaries(n: u32, ) -> Weight;
}

/// Estimated weights, with the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	// estimated from pallet_worker_registry::heartbeat; re-measured by scripts/bench-weights.sh
	fn commit_nonce(t: u32, ) -> Weight {
		Weight::from_parts(47_000_000, 7756)
			.saturating_add(Weight::from_parts(12_000_000, 0).saturating_mul(t.into()))
			.saturating_add(T::DbWeight::get().reads(5_u64))
			.saturating_add(T::DbWeight::get().reads((2_u64).saturating_mul(t.into())))
			.saturating_add(T::DbWeight::get().writes(2_u64))
			.saturating_add(Weight::from_parts(0, 3600).saturating_mul(t.into()))
	}
	// estimated from pallet_worker_registry::heartbeat; re-measured by scripts/bench-weights.sh
	fn seal() -> Weight {
		Weight::from_parts(40_000_000, 7756)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	// estimated from pallet_worker_registry::heartbeat; re-measured by scripts/bench-weights.sh
	fn reveal() -> Weight {
		Weight::from_parts(60_000_000, 7756)
			.saturating_add(T::DbWeight::get().reads(5_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	// estimated from pallet_worker_registry::verify_worker; re-measured by scripts/bench-weights.sh
	fn finalize(k: u32, ) -> Weight {
		Weight::from_parts(45_000_000, 7756)
			.saturating_add(Weight::from_parts(5_000_000, 0).saturating_mul(k.into()))
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().reads((1_u64).saturating_mul(k.into())))
			.saturating_add(T::DbWeight::get().writes(3_u64))
			.saturating_add(T::DbWeight::get().writes((1_u64).saturating_mul(k.into())))
			.saturating_add(Weight::from_parts(0, 3600).saturating_mul(k.into()))
	}
	// estimated from pallet_worker_registry::verify_worker; re-measured by scripts/bench-weights.sh
	fn finalize_unopened(t: u32, ) -> Weight {
		Weight::from_parts(45_000_000, 7756)
			.saturating_add(Weight::from_parts(14_000_000, 0).saturating_mul(t.into()))
			.saturating_add(T::DbWeight::get().reads(5_u64))
			.saturating_add(T::DbWeight::get().reads((3_u64).saturating_mul(t.into())))
			.saturating_add(T::DbWeight::get().writes(1_u64))
			.saturating_add(T::DbWeight::get().writes((1_u64).saturating_mul(t.into())))
			.saturating_add(Weight::from_parts(0, 3600).saturating_mul(t.into()))
	}
	// estimated from pallet_worker_registry::report_offline; re-measured by scripts/bench-weights.sh
	fn forget_worker() -> Weight {
		Weight::from_parts(25_000_000, 5012)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	// estimated from pallet_worker_registry::heartbeat; re-measured by scripts/bench-weights.sh
	fn on_initialize_idle() -> Weight {
		Weight::from_parts(5_000_000, 1500)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(0_u64))
	}
	// estimated from pallet_worker_registry::heartbeat; re-measured by scripts/bench-weights.sh
	fn on_initialize_seed() -> Weight {
		Weight::from_parts(20_000_000, 3000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	// estimated from pallet_worker_registry::heartbeat; re-measured by scripts/bench-weights.sh
	fn on_initialize_randomness() -> Weight {
		Weight::from_parts(18_000_000, 3000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	// estimated from pallet_worker_registry::sweep; re-measured by scripts/bench-weights.sh
	fn on_idle_prune(n: u32, ) -> Weight {
		Weight::from_parts(8_000_000, 1500)
			.saturating_add(Weight::from_parts(4_000_000, 0).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
			.saturating_add(T::DbWeight::get().writes((1_u64).saturating_mul(n.into())))
	}
	// estimated from on_initialize_randomness; re-measured by scripts/bench-weights.sh
	fn commit_canaries() -> Weight {
		Weight::from_parts(15_000_000, 3000)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	// estimated from finalize (per canary: its retained votes and K tallies); re-measured by scripts/bench-weights.sh
	fn reveal_canaries(n: u32, ) -> Weight {
		Weight::from_parts(30_000_000, 3000)
			.saturating_add(Weight::from_parts(20_000_000, 0).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().reads((4_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(1_u64))
			.saturating_add(T::DbWeight::get().writes((4_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 3600).saturating_mul(n.into()))
	}
}

/// For tests: the same formulas with RocksDB weights.
impl WeightInfo for () {
	fn commit_nonce(t: u32, ) -> Weight {
		Weight::from_parts(47_000_000, 7756)
			.saturating_add(Weight::from_parts(12_000_000, 0).saturating_mul(t.into()))
			.saturating_add(RocksDbWeight::get().reads(5_u64))
			.saturating_add(RocksDbWeight::get().reads((2_u64).saturating_mul(t.into())))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
			.saturating_add(Weight::from_parts(0, 3600).saturating_mul(t.into()))
	}
	fn seal() -> Weight {
		Weight::from_parts(40_000_000, 7756)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn reveal() -> Weight {
		Weight::from_parts(60_000_000, 7756)
			.saturating_add(RocksDbWeight::get().reads(5_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn finalize(k: u32, ) -> Weight {
		Weight::from_parts(45_000_000, 7756)
			.saturating_add(Weight::from_parts(5_000_000, 0).saturating_mul(k.into()))
			.saturating_add(RocksDbWeight::get().reads(4_u64))
			.saturating_add(RocksDbWeight::get().reads((1_u64).saturating_mul(k.into())))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
			.saturating_add(RocksDbWeight::get().writes((1_u64).saturating_mul(k.into())))
			.saturating_add(Weight::from_parts(0, 3600).saturating_mul(k.into()))
	}
	fn finalize_unopened(t: u32, ) -> Weight {
		Weight::from_parts(45_000_000, 7756)
			.saturating_add(Weight::from_parts(14_000_000, 0).saturating_mul(t.into()))
			.saturating_add(RocksDbWeight::get().reads(5_u64))
			.saturating_add(RocksDbWeight::get().reads((3_u64).saturating_mul(t.into())))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
			.saturating_add(RocksDbWeight::get().writes((1_u64).saturating_mul(t.into())))
			.saturating_add(Weight::from_parts(0, 3600).saturating_mul(t.into()))
	}
	fn forget_worker() -> Weight {
		Weight::from_parts(25_000_000, 5012)
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn on_initialize_idle() -> Weight {
		Weight::from_parts(5_000_000, 1500)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(0_u64))
	}
	fn on_initialize_seed() -> Weight {
		Weight::from_parts(20_000_000, 3000)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn on_initialize_randomness() -> Weight {
		Weight::from_parts(18_000_000, 3000)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn on_idle_prune(n: u32, ) -> Weight {
		Weight::from_parts(8_000_000, 1500)
			.saturating_add(Weight::from_parts(4_000_000, 0).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
			.saturating_add(RocksDbWeight::get().writes((1_u64).saturating_mul(n.into())))
	}
	// estimated from on_initialize_randomness; re-measured by scripts/bench-weights.sh
	fn commit_canaries() -> Weight {
		Weight::from_parts(15_000_000, 3000)
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	// estimated from finalize (per canary: its retained votes and K tallies); re-measured by scripts/bench-weights.sh
	fn reveal_canaries(n: u32, ) -> Weight {
		Weight::from_parts(30_000_000, 3000)
			.saturating_add(Weight::from_parts(20_000_000, 0).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().reads((4_u64).saturating_mul(n.into())))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
			.saturating_add(RocksDbWeight::get().writes((4_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 3600).saturating_mul(n.into()))
	}
}

//! The runtime's benchmarks run: every benchmark of the Kaisar pallets, through the runtime's
//! own `Benchmark::dispatch_benchmark` (the `define_benchmarks!` list in
//! `runtime/src/benchmarks.rs`), on the development genesis, with verification on, at the
//! lowest and the highest value of each component.
//!
//! Only built with `--features runtime-benchmarks` (see `[[test]]` in `Cargo.toml`).
//!
//! The benchmark harness commits and wipes the database between steps, which the plain
//! `TestExternalities` backend does not support; [`BenchBackend`] adds that to an in-memory
//! trie (commit = apply the changes, wipe = back to genesis). It does not count reads and
//! writes or proof sizes, so the numbers this produces are meaningless: this checks that the
//! benchmarks *run* against the real runtime. Weights come from `scripts/bench-weights.sh`.

use std::cell::RefCell;

use frame_benchmarking::{
    runtime_decl_for_benchmark::BenchmarkV2, BenchmarkBatch, BenchmarkConfig, BenchmarkList,
};
use kaisar_runtime::{genesis_config_presets::preset_genesis_config, Block, BuildStorage, Runtime};
use sp_core::{
    storage::{ChildInfo, StateVersion, TrackedStorageKey},
    Blake2Hasher,
};
use sp_state_machine::{
    backend::{Backend, BackendTransaction, IterArgs, StorageIterator},
    ChildStorageCollection, Ext, InMemoryBackend, OverlayedChanges, StorageCollection, StorageKey,
    StorageValue, UsageInfo,
};
use sp_trie::MerkleValue;

type H = Blake2Hasher;
type Mem = InMemoryBackend<H>;
type MemError = <Mem as Backend<H>>::Error;

/// An in-memory trie that the benchmarking host functions can commit to and wipe.
#[derive(Debug)]
struct BenchBackend {
    genesis: Mem,
    state: RefCell<Mem>,
}

impl BenchBackend {
    fn new(genesis: Mem) -> Self {
        Self {
            state: RefCell::new(genesis.clone()),
            genesis,
        }
    }
}

/// Iterates the current state of a [`BenchBackend`].
struct BenchIter(<Mem as Backend<H>>::RawIter);

impl StorageIterator<H> for BenchIter {
    type Backend = BenchBackend;
    type Error = MemError;

    fn next_key(&mut self, backend: &BenchBackend) -> Option<Result<StorageKey, MemError>> {
        self.0.next_key(&backend.state.borrow())
    }

    fn next_pair(
        &mut self,
        backend: &BenchBackend,
    ) -> Option<Result<(StorageKey, StorageValue), MemError>> {
        self.0.next_pair(&backend.state.borrow())
    }

    fn was_complete(&self) -> bool {
        self.0.was_complete()
    }
}

impl Backend<H> for BenchBackend {
    type Error = MemError;
    type TrieBackendStorage = <Mem as Backend<H>>::TrieBackendStorage;
    type RawIter = BenchIter;

    fn storage(&self, key: &[u8]) -> Result<Option<StorageValue>, MemError> {
        self.state.borrow().storage(key)
    }

    fn storage_hash(&self, key: &[u8]) -> Result<Option<sp_core::H256>, MemError> {
        self.state.borrow().storage_hash(key)
    }

    fn closest_merkle_value(
        &self,
        key: &[u8],
    ) -> Result<Option<MerkleValue<sp_core::H256>>, MemError> {
        self.state.borrow().closest_merkle_value(key)
    }

    fn child_closest_merkle_value(
        &self,
        child_info: &ChildInfo,
        key: &[u8],
    ) -> Result<Option<MerkleValue<sp_core::H256>>, MemError> {
        self.state
            .borrow()
            .child_closest_merkle_value(child_info, key)
    }

    fn child_storage(
        &self,
        child_info: &ChildInfo,
        key: &[u8],
    ) -> Result<Option<StorageValue>, MemError> {
        self.state.borrow().child_storage(child_info, key)
    }

    fn child_storage_hash(
        &self,
        child_info: &ChildInfo,
        key: &[u8],
    ) -> Result<Option<sp_core::H256>, MemError> {
        self.state.borrow().child_storage_hash(child_info, key)
    }

    fn next_storage_key(&self, key: &[u8]) -> Result<Option<StorageKey>, MemError> {
        self.state.borrow().next_storage_key(key)
    }

    fn next_child_storage_key(
        &self,
        child_info: &ChildInfo,
        key: &[u8],
    ) -> Result<Option<StorageKey>, MemError> {
        self.state.borrow().next_child_storage_key(child_info, key)
    }

    fn storage_root<'a>(
        &self,
        delta: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>,
        state_version: StateVersion,
    ) -> (sp_core::H256, BackendTransaction<H>) {
        self.state.borrow().storage_root(delta, state_version)
    }

    fn child_storage_root<'a>(
        &self,
        child_info: &ChildInfo,
        delta: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>,
        state_version: StateVersion,
    ) -> (sp_core::H256, bool, BackendTransaction<H>) {
        self.state
            .borrow()
            .child_storage_root(child_info, delta, state_version)
    }

    fn raw_iter(&self, args: IterArgs) -> Result<BenchIter, MemError> {
        self.state.borrow().raw_iter(args).map(BenchIter)
    }

    fn register_overlay_stats(&self, stats: &sp_state_machine::StateMachineStats) {
        self.state.borrow().register_overlay_stats(stats)
    }

    fn usage_info(&self) -> UsageInfo {
        self.state.borrow().usage_info()
    }

    /// Back to the genesis state.
    fn wipe(&self) -> Result<(), MemError> {
        *self.state.borrow_mut() = self.genesis.clone();
        Ok(())
    }

    /// Make the changes part of the state.
    fn commit(
        &self,
        root: sp_core::H256,
        transaction: BackendTransaction<H>,
        _: StorageCollection,
        _: ChildStorageCollection,
    ) -> Result<(), MemError> {
        self.state.borrow_mut().apply_transaction(root, transaction);
        Ok(())
    }

    fn read_write_count(&self) -> (u32, u32, u32, u32) {
        (0, 0, 0, 0)
    }

    fn reset_read_write_count(&self) {}

    fn get_whitelist(&self) -> Vec<TrackedStorageKey> {
        Vec::new()
    }

    fn set_whitelist(&self, _: Vec<TrackedStorageKey>) {}

    fn proof_size(&self) -> Option<u32> {
        None
    }

    fn get_read_and_written_keys(&self) -> Vec<(Vec<u8>, u32, u32, bool)> {
        Vec::new()
    }
}

/// Run `f` with the development genesis as the benchmarking database.
fn with_bench_db<R>(f: impl FnOnce() -> R) -> R {
    let storage = preset_genesis_config("development")
        .expect("preset fits the runtime")
        .build_storage()
        .expect("genesis storage builds");
    let backend = BenchBackend::new(Mem::from((storage, StateVersion::V1)));
    let mut overlay = OverlayedChanges::<H>::default();
    // As the executor does around a runtime call (commit/wipe re-enter it).
    overlay
        .enter_runtime()
        .expect("a fresh overlay is not in the runtime");
    let mut ext = Ext::new(&mut overlay, &backend, None);
    sp_externalities::set_and_run_with_externalities(&mut ext, f)
}

/// The benchmarks the runtime lists for `pallet`.
fn listed(pallet: &str) -> BenchmarkList {
    let (lists, _storage_info) =
        with_bench_db(|| <Runtime as BenchmarkV2<Block>>::benchmark_metadata(false));
    lists
        .into_iter()
        .find(|l| l.pallet == pallet.as_bytes())
        .unwrap_or_else(|| panic!("the runtime does not list the benchmarks of {pallet}"))
}

/// Run every benchmark of `pallet` through `dispatch_benchmark`, with verification, at the
/// lowest and the highest value of its components. Returns how many benchmark runs there were.
fn run_all(pallet: &str) -> usize {
    let list = listed(pallet);
    assert!(!list.benchmarks.is_empty(), "{pallet} has benchmarks");
    let mut runs = 0;
    for benchmark in &list.benchmarks {
        let name = String::from_utf8_lossy(&benchmark.name).into_owned();
        let lowest = benchmark
            .components
            .iter()
            .map(|(p, low, _)| (*p, *low))
            .collect();
        let highest = benchmark
            .components
            .iter()
            .map(|(p, _, high)| (*p, *high))
            .collect();
        let settings: Vec<Vec<_>> = if benchmark.components.is_empty() {
            vec![vec![]]
        } else {
            vec![lowest, highest]
        };
        for components in settings {
            let config = BenchmarkConfig {
                pallet: pallet.as_bytes().to_vec(),
                instance: list.instance.clone(),
                benchmark: benchmark.name.clone(),
                selected_components: components.clone(),
                verify: true,
                internal_repeats: 1,
            };
            let batches: Vec<BenchmarkBatch> =
                with_bench_db(|| <Runtime as BenchmarkV2<Block>>::dispatch_benchmark(config))
                    .unwrap_or_else(|e| panic!("{pallet}::{name} {components:?} failed: {e}"));
            assert_eq!(batches.len(), 1, "{pallet}::{name}: one batch");
            assert!(!batches[0].results.is_empty(), "{pallet}::{name}: a result");
            runs += 1;
        }
    }
    runs
}

#[test]
fn worker_registry_benchmarks_run_against_the_runtime() {
    assert!(run_all("pallet_worker_registry") >= 8);
}

#[test]
fn escrow_benchmarks_run_against_the_runtime() {
    assert!(run_all("pallet_escrow") >= 3);
}

#[test]
fn points_benchmarks_run_against_the_runtime() {
    assert!(run_all("pallet_points") >= 2);
}

#[test]
fn orders_benchmarks_run_against_the_runtime() {
    assert!(run_all("pallet_orders") >= 7);
}

#[test]
fn every_kaisar_pallet_is_listed_for_benchmarking() {
    let (lists, _) = with_bench_db(|| <Runtime as BenchmarkV2<Block>>::benchmark_metadata(false));
    let names: Vec<String> = lists
        .iter()
        .map(|l| String::from_utf8_lossy(&l.pallet).into_owned())
        .collect();
    for pallet in [
        "pallet_worker_registry",
        "pallet_escrow",
        "pallet_points",
        "pallet_orders",
        "pallet_checker_licenses",
        "pallet_popw_attestations",
        "pallet_rewards",
    ] {
        assert!(
            names.iter().any(|n| n == pallet),
            "{pallet} missing from {names:?}"
        );
    }
}

#[test]
fn checker_licenses_benchmarks_run_against_the_runtime() {
    assert!(run_all("pallet_checker_licenses") >= 12);
}

#[test]
fn popw_attestations_benchmarks_run_against_the_runtime() {
    assert!(run_all("pallet_popw_attestations") >= 10);
}

#[test]
fn rewards_benchmarks_run_against_the_runtime() {
    assert!(run_all("pallet_rewards") >= 3);
}

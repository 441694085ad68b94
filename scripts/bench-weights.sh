#!/usr/bin/env bash
# Regenerates every pallet's weights.rs from its frame-benchmarking benchmarks, run in the real
# Wasm runtime by `frame-omni-bencher v1 benchmark pallet` (polkadot-sdk's standalone benchmark
# runner; scripts/setup installs it). The crates.io polkadot-omni-node is built without the
# runtime-benchmarks feature, so its `benchmark pallet` is disabled.
#
#   scripts/bench-weights.sh [pallet ...]    default: all four Kaisar pallets
#   STEPS=50 REPEAT=20                       override the sampling (defaults below)
#
# Run it on reference hardware before a release; the weights in git say where they came from.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/lib/target-dir.sh
steps="${STEPS:-50}"; repeat="${REPEAT:-20}"
bencher="${BENCHER:-$(command -v frame-omni-bencher || echo "$HOME/.cargo/bin/frame-omni-bencher")}"
[ -x "$bencher" ] || { echo "bench-weights: frame-omni-bencher not found (scripts/setup installs it)" >&2; exit 1; }

declare -A dir=(
  [pallet_worker_registry]=pallets/worker-registry
  [pallet_escrow]=pallets/escrow
  [pallet_points]=pallets/points
  [pallet_orders]=pallets/orders
)
pallets=("$@"); [ ${#pallets[@]} -gt 0 ] || pallets=(pallet_worker_registry pallet_escrow pallet_points pallet_orders)

echo "bench-weights: building the runtime with runtime-benchmarks"
cargo build --release -p kaisar-runtime --features runtime-benchmarks
wasm="$(kaisar_wasm_blob release)" || exit 1
# Relative to the clone where it is inside it: the path goes into the weights files' headers.
wasm="${wasm#"$root"/}"
[ -f "$wasm" ] || { echo "bench-weights: no runtime Wasm at $wasm" >&2; exit 1; }

for p in "${pallets[@]}"; do
  [ -n "${dir[$p]:-}" ] || { echo "bench-weights: unknown pallet $p" >&2; exit 2; }
  echo "bench-weights: $p"
  "$bencher" v1 benchmark pallet --runtime "$wasm" --genesis-builder-preset development \
    --pallet "$p" --extrinsic '*' --steps "$steps" --repeat "$repeat" \
    --template scripts/weights/template.hbs --output "${dir[$p]}/src/weights.rs"
done

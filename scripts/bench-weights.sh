#!/usr/bin/env bash
# Regenerates every pallet's weights.rs from its frame-benchmarking benchmarks, run in the real
# Wasm runtime by `frame-omni-bencher v1 benchmark pallet` (polkadot-sdk's standalone benchmark
# runner; scripts/setup installs it). The crates.io polkadot-omni-node is built without the
# runtime-benchmarks feature, so its `benchmark pallet` is disabled.
#
#   scripts/bench-weights.sh [pallet ...]    default: every Kaisar pallet
#   STEPS=50 REPEAT=20                       override the sampling (defaults below)
#
# A run over every Kaisar pallet also benchmarks `pallet_balances::transfer_keep_alive` in the
# same runtime on the same machine and writes docs/weights.md (scripts/weights-report.py): each
# Kaisar call and hook as a ratio to that transfer, the chain's own yardstick.
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
  [pallet_checker_licenses]=pallets/checker-licenses
  [pallet_popw_attestations]=pallets/popw-attestations
  [pallet_rewards]=pallets/rewards
)
all=(pallet_worker_registry pallet_escrow pallet_points pallet_orders pallet_checker_licenses pallet_popw_attestations pallet_rewards)
pallets=("$@"); report=0
[ ${#pallets[@]} -gt 0 ] || { pallets=("${all[@]}"); report=1; }

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

if [ $report = 1 ]; then
  # The yardstick, from the same runtime and machine: written outside the tree (the runtime's
  # pallet_balances weights are upstream's, measured on reference hardware).
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  echo "bench-weights: pallet_balances transfer_keep_alive (the yardstick)"
  "$bencher" v1 benchmark pallet --runtime "$wasm" --genesis-builder-preset development \
    --pallet pallet_balances --extrinsic transfer_keep_alive --steps "$steps" --repeat "$repeat" \
    --template scripts/weights/template.hbs --output "$tmp/balances_weights.rs"
  args=()
  for p in "${all[@]}"; do args+=("$p=${dir[$p]}/src/weights.rs"); done
  python3 scripts/weights-report.py "$tmp/balances_weights.rs" docs/weights.md "${args[@]}"
fi

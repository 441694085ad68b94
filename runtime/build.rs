//! Builds the runtime's Wasm blob (exposed as `WASM_BINARY` when the `std` feature is on).
//! Set `SKIP_WASM_BUILD=1` to build only the native runtime (its `WASM_BINARY` is then `None`).

#[cfg(feature = "std")]
fn main() {
    substrate_wasm_builder::WasmBuilder::build_using_defaults();
}

#[cfg(not(feature = "std"))]
fn main() {}

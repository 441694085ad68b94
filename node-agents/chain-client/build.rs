//! The `#[subxt::subxt]` macro reads `metadata/kaisar.scale` at compile time but does not tell
//! cargo, so a regenerated metadata file (scripts/gen-metadata) would leave stale generated
//! types in an incremental build. This makes cargo rebuild the crate when the file changes.
fn main() {
    println!("cargo:rerun-if-changed=metadata/kaisar.scale");
}

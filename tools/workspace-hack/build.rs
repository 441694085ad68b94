// Empty: it exists so that the [build-dependencies] of Cargo.toml (the features of what build
// scripts and proc-macros link) take part in the build (see scripts/gen-workspace-hack).
fn main() {}

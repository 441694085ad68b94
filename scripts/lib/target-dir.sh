# Cargo's target directory, for the scripts that use what cargo built. Sourced, not run:
#
#   . "$root/scripts/lib/target-dir.sh"
#   target="$(kaisar_target_dir)" || exit 1
#
# `kaisar_target_dir` prints the absolute path cargo builds into, as `cargo metadata` reports it:
# `$CARGO_TARGET_DIR` if set (relative to the current directory), else `build.target-dir` from a
# `.cargo/config.toml`, else `target` in the workspace root. Run it from inside the workspace.
# Scripts never spell out the default path (scripts/check-target-dir fails if one does), so they
# work for developers with a global CARGO_TARGET_DIR, and CI (.ci/run) builds outside the clone.
#
# `kaisar_wasm_blob PROFILE` prints where the runtime's Wasm blob of that cargo profile (debug or
# release) is: substrate-wasm-builder writes it under `<dir>/<profile>/wbuild/kaisar-runtime/`,
# <dir> being cargo's build directory (the target directory unless `build.build-dir` is set).

# The value of a path field of `cargo metadata`'s output (empty if cargo does not report it).
kaisar_cargo_metadata_path() {
  local field="$1" meta
  meta="$(cargo metadata --format-version 1 --no-deps)" || {
    echo "target-dir: \`cargo metadata\` failed (run it in the workspace)" >&2
    return 1
  }
  # No JSON tool is assumed: the field is a plain string (paths with `"` or `\` are refused).
  printf '%s' "$meta" | sed -n "s/.*\"$field\":\"\\([^\"\\\\]*\\)\".*/\\1/p" | head -n 1
}

kaisar_target_dir() {
  local dir
  dir="$(kaisar_cargo_metadata_path target_directory)" || return 1
  if [ -z "$dir" ]; then
    echo "target-dir: no usable target_directory in \`cargo metadata\`'s output" >&2
    return 1
  fi
  printf '%s\n' "$dir"
}

kaisar_wasm_blob() {
  local profile="${1:?kaisar_wasm_blob needs a profile (debug or release)}" dir
  # substrate-wasm-builder works next to the build scripts' output, i.e. in cargo's build
  # directory (`build.build-dir`; the target directory unless set, or with older cargo).
  dir="$(kaisar_cargo_metadata_path build_directory)" || return 1
  [ -n "$dir" ] || dir="$(kaisar_target_dir)" || return 1
  printf '%s\n' "$dir/$profile/wbuild/kaisar-runtime/kaisar_runtime.compact.compressed.wasm"
}

#!/usr/bin/env bash
# Builds the Rust addon from source and copies it to build/turbo_dgram.node, the path lib/native-load.js
# tries first (before any prebuilt addon). Run by `npm run build`, and before `npm test` and
# `npm run bench` in a clone when nothing is built yet (their pre scripts); a project that
# installed the package runs it with `npm explore turbo-dgram -- npm run build` (platforms
# without a prebuilt addon). Not an install or prepare script: npm 11 asks users to approve those.
# Also builds the benchmark's native load generator: build/turbo-dgram-flood
#
# Usage: bash native-build.sh [--debug | --if-missing]
#   --debug        build without optimisations (faster to compile, for development only)
#   --if-missing   do nothing when the addon and the load generator are already in build/
# Environment: CARGO (cargo binary to use, default: cargo on PATH or ~/.cargo/bin/cargo)
set -euo pipefail

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }

profile=release
case "${1:-}" in
  "") ;;
  --debug) profile=debug ;;
  --if-missing)
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    [ -f "$here/build/turbo_dgram.node" ] && [ -x "$here/build/turbo-dgram-flood" ] && exit 0 ;;
  -h|--help) usage; exit 0 ;;
  *) echo "native-build.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

cargo="${CARGO:-}"
if [ -z "$cargo" ]; then
  if command -v cargo >/dev/null 2>&1; then cargo=cargo
  elif [ -x "$HOME/.cargo/bin/cargo" ]; then cargo="$HOME/.cargo/bin/cargo"
  fi
fi
if [ -z "$cargo" ]; then
  cat >&2 <<'MSG'
turbo-dgram: cannot build the native addon: Rust's `cargo` was not found.
  Install Rust (https://rustup.rs), make sure `cargo` is on your PATH, then run
  `npm explore turbo-dgram -- npm run build` in your project (or `npm run build` in a clone).
MSG
  exit 1
fi

flags=()
[ "$profile" = release ] && flags+=(--release)
echo "turbo-dgram: building the native addon ($profile) with $("$cargo" --version)..." >&2
if ! "$cargo" build "${flags[@]}" --locked 2>&1 | sed 's/^/  /' >&2; then
  cat >&2 <<'MSG'
turbo-dgram: the native addon failed to build (see cargo's output above).
  It needs a Rust toolchain (stable, https://rustup.rs) and a C linker (gcc or clang).
MSG
  exit 1
fi

target_dir="${CARGO_TARGET_DIR:-$here/target}"
mkdir -p "$here/build"
cp "$target_dir/$profile/libturbo_dgram.so" "$here/build/turbo_dgram.node.tmp"
mv -f "$here/build/turbo_dgram.node.tmp" "$here/build/turbo_dgram.node"
cp "$target_dir/$profile/turbo-dgram-flood" "$here/build/turbo-dgram-flood.tmp"
mv -f "$here/build/turbo-dgram-flood.tmp" "$here/build/turbo-dgram-flood"
echo "turbo-dgram: addon ready at build/turbo_dgram.node (load generator: build/turbo-dgram-flood)" >&2

#!/usr/bin/env bash
# Builds the Rust addon from source and copies it to build/turbo_dgram.node, the path lib/native-load.js
# tries first (before any prebuilt addon). Run by `npm run build`, and before `npm test` and
# `npm run bench` in a clone when nothing is built yet (their pre scripts); a project that
# installed the package runs it with `npm explore turbo-dgram -- npm run build` (platforms
# without a prebuilt addon). Not an install or prepare script: npm 11 asks users to approve those.
# The benchmark's native load generator, build/turbo-dgram-flood, is built with the addon in a
# developer checkout, and elsewhere only with --loadgen (the bench runs that on first use).
#
# Usage: bash native-build.sh [--debug | --if-missing | --loadgen]
#   --debug        build without optimisations (faster to compile, for development only)
#   --if-missing   do nothing when what a plain run builds is already in build/
#   --loadgen      build only the load generator
# Two kinds of build, told apart by a .git at the package root (a git clone or worktree):
#   developer  a checkout: cargo's target/ stays in the repository (incremental rebuilds), the
#              release profile keeps Cargo.toml's debug info (perf, gdb), and the load generator
#              is built too, for `npm run bench`.
#   install    the package in node_modules (from the registry, a tarball or git): cargo builds in a
#              temporary directory removed afterwards (or in CARGO_TARGET_DIR when set, left as it
#              is), and the addon and load generator are stripped: the package keeps about 1 MB.
# Environment: CARGO (cargo binary, default: cargo on PATH or ~/.cargo/bin/cargo);
#   TURBO_DGRAM_BUILD=developer|install (instead of the .git guess); CARGO_TARGET_DIR.
set -euo pipefail

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

profile=release
what=default
if_missing=0
case "${1:-}" in
  "") ;;
  --debug) profile=debug ;;
  --if-missing) if_missing=1 ;;
  --loadgen) what=loadgen ;;
  -h|--help) usage; exit 0 ;;
  *) echo "native-build.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
esac

kind="${TURBO_DGRAM_BUILD:-}"
if [ -z "$kind" ]; then
  if [ -e "$here/.git" ]; then kind=developer; else kind=install; fi
fi
case "$kind" in
  developer|install) ;;
  *) echo "native-build.sh: TURBO_DGRAM_BUILD must be developer or install, got '$kind'" >&2; exit 2 ;;
esac

# What this run builds: the addon, the load generator (build/turbo-dgram-flood), or both.
addon=0
loadgen=0
case "$what" in
  loadgen) loadgen=1 ;;
  *) addon=1; [ "$kind" = developer ] && loadgen=1 ;;
esac

if [ "$if_missing" = 1 ] &&
   { [ "$addon" = 0 ] || [ -f build/turbo_dgram.node ]; } &&
   { [ "$loadgen" = 0 ] || [ -x build/turbo-dgram-flood ]; }; then
  exit 0
fi

cargo="${CARGO:-}"
if [ -z "$cargo" ]; then
  if command -v cargo >/dev/null 2>&1; then cargo=cargo
  elif [ -x "$HOME/.cargo/bin/cargo" ]; then cargo="$HOME/.cargo/bin/cargo"
  fi
fi
if [ -z "$cargo" ]; then
  if [ "$addon" = 1 ]; then
    cat >&2 <<'MSG'
turbo-dgram: cannot build the native addon: Rust's `cargo` was not found.
  Install Rust (https://rustup.rs), make sure `cargo` is on your PATH, then run
  `npm explore turbo-dgram -- npm run build` in your project (or `npm run build` in a clone).
MSG
  else
    cat >&2 <<'MSG'
turbo-dgram: cannot build the benchmark's load generator (turbo-dgram-flood): Rust's `cargo` was
  not found. Install Rust (https://rustup.rs) and make sure `cargo` is on your PATH.
MSG
  fi
  exit 1
fi

flags=(--locked)
[ "$profile" = release ] && flags+=(--release)
# Only the targets wanted: the library (the addon) and/or the load generator's binary.
[ "$addon" = 1 ] && flags+=(--lib)
[ "$loadgen" = 1 ] && flags+=(--bin turbo-dgram-flood)

if [ "$kind" = install ]; then
  # No debug info, no symbol table: most of the file (7 MB against under 1 MB) is the debug info.
  # Cargo's names for the profiles whose output goes to target/release and target/debug.
  if [ "$profile" = release ]; then profile_var=RELEASE; else profile_var=DEV; fi
  export "CARGO_PROFILE_${profile_var}_DEBUG=0" "CARGO_PROFILE_${profile_var}_STRIP=symbols"
  if [ -z "${CARGO_TARGET_DIR:-}" ]; then
    # Cargo's target directory is about 100 MB: out of the package, and gone after the build.
    scratch="$(mktemp -d "${TMPDIR:-/tmp}/turbo-dgram-build.XXXXXX")"
    trap 'rm -rf "$scratch"' EXIT
    # Interrupted (Ctrl-C, the bench stopping its build): exit, so that the EXIT trap removes it.
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP
    export CARGO_TARGET_DIR="$scratch"
  fi
fi
target_dir="${CARGO_TARGET_DIR:-$here/target}"

names=()
[ "$addon" = 1 ] && names+=("the native addon")
[ "$loadgen" = 1 ] && names+=("the load generator")
label="${names[0]}${names[1]:+ and ${names[1]}}"
echo "turbo-dgram: building $label ($profile, $kind build) with $("$cargo" --version)..." >&2
if ! "$cargo" build "${flags[@]}" 2>&1 | sed 's/^/  /' >&2; then
  cat >&2 <<MSG
turbo-dgram: $label failed to build (see cargo's output above).
  It needs a Rust toolchain (stable, https://rustup.rs) and a C linker (gcc or clang).
MSG
  exit 1
fi

# Copied under a temporary name, then renamed: a process loading the addon meanwhile sees the old
# file or the new one, never half of one.
install_file() {
  cp "$1" "$2.tmp"
  mv -f "$2.tmp" "$2"
}
mkdir -p build
if [ "$addon" = 1 ]; then
  install_file "$target_dir/$profile/libturbo_dgram.so" build/turbo_dgram.node
  echo "turbo-dgram: addon ready at build/turbo_dgram.node" >&2
fi
if [ "$loadgen" = 1 ]; then
  install_file "$target_dir/$profile/turbo-dgram-flood" build/turbo-dgram-flood
  echo "turbo-dgram: load generator ready at build/turbo-dgram-flood" >&2
fi

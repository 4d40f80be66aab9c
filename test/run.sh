#!/usr/bin/env bash
# The test command (`npm test`): Rust unit and integration tests, then the JS suites.
#
# Usage: bash test/run.sh [--js-only | --rust-only] [FILE...]
#   FILE...   JS test files to run instead of all of test/*.test.js and test/*.test.mjs
# Environment:
#   NODE_BIN            node binary for the JS tests (default: node on PATH); its own node:dgram is
#                       the reference the differential tests compare against
#   TEST_CONCURRENCY    test files run at once (default 2: the machine has 2 cores)
#   TEST_TIMEOUT_MS     the limit for any one test, and for any one file (default 300000: the
#                       install test packs and builds; most tests set a tighter limit of their own)
#   CARGO               cargo binary (default: cargo on PATH or ~/.cargo/bin/cargo)
set -euo pipefail

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

run_rust=1
run_js=1
files=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --js-only) run_rust=0 ;;
    --rust-only) run_js=0 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "test/run.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    *) files+=("$1") ;;
  esac
  shift
done

if [ "$run_rust" = 1 ]; then
  cargo="${CARGO:-}"
  if [ -z "$cargo" ]; then
    if command -v cargo >/dev/null 2>&1; then cargo=cargo
    elif [ -x "$HOME/.cargo/bin/cargo" ]; then cargo="$HOME/.cargo/bin/cargo"
    else echo "test/run.sh: cargo not found (needed for the Rust tests; --js-only skips them)" >&2; exit 1
    fi
  fi
  echo "test/run.sh: cargo test" >&2
  (cd "$root" && "$cargo" test --locked)
fi

if [ "$run_js" = 1 ]; then
  node_bin="${NODE_BIN:-node}"
  if [ "${#files[@]}" -eq 0 ]; then
    shopt -s nullglob
    files=("$here"/*.test.js "$here"/*.test.mjs)
    shopt -u nullglob
  fi
  if [ "${#files[@]}" -eq 0 ]; then
    echo "test/run.sh: no JS test files found in $here" >&2
    exit 1
  fi
  echo "test/run.sh: JS tests with $("$node_bin" --version) ($node_bin), ${#files[@]} files" >&2
  cd "$root"
  # --test-force-exit: a file whose sockets would hold its process open must not hang the run
  # (that a socket keeps a process alive, or not, is tested in child processes: lifetime.test.js).
  "$node_bin" --test \
    --test-force-exit \
    --test-concurrency="${TEST_CONCURRENCY:-2}" \
    --test-timeout="${TEST_TIMEOUT_MS:-300000}" \
    "${files[@]}"
fi

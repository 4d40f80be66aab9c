#!/usr/bin/env bash
# Memory checking: the Rust tests and a JS stress run of the addon under valgrind memcheck.
#
# Usage: bash scripts/sanitize.sh [--rust-only | --js-only]
#   1. cargo test --no-run, then every test binary under valgrind (any memcheck error fails).
#   2. node running a stress of the addon (create/bind/send/receive/close churn on both drivers,
#      sends with hostile sizes, close mid-batch, a worker terminated mid-flood) under valgrind;
#      V8's JIT makes memcheck noisy, so only errors with a frame in turbo_dgram count.
# Installs valgrind with apt-get if it is missing. Exit status non-zero on any error found.
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
run_rust=1
run_js=1
case "${1:-}" in
  --rust-only) run_js=0 ;;
  --js-only) run_rust=0 ;;
  -h|--help) usage; exit 0 ;;
  '') ;;
  *) usage >&2; exit 2 ;;
esac

if ! command -v valgrind >/dev/null 2>&1; then
  echo "sanitize: installing valgrind" >&2
  apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
fi
cargo="${CARGO:-$(command -v cargo || echo "$HOME/.cargo/bin/cargo")}"
logdir="$(mktemp -d /tmp/turbo-dgram-sanitize.XXXXXX)"
status=0

if [ "$run_rust" = 1 ]; then
  echo "sanitize: Rust tests under valgrind memcheck (logs in $logdir)" >&2
  mapfile -t bins < <("$cargo" test --locked --no-run --message-format=json 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const l of s.split("\n")){try{const m=JSON.parse(l);if(m.profile&&m.profile.test&&m.executable)console.log(m.executable)}catch{}}})')
  for bin in "${bins[@]}"; do
    name="$(basename "$bin")"
    if valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --log-file="$logdir/$name.log" "$bin" --test-threads=1 -q >"$logdir/$name.out" 2>&1; then
      echo "  $name: $(grep -o 'ERROR SUMMARY: [0-9]* errors' "$logdir/$name.log" | tail -1)" >&2
    else
      echo "  $name: FAILED (see $logdir/$name.log and .out)" >&2
      grep -E 'ERROR SUMMARY|definitely lost' "$logdir/$name.log" >&2 || true
      status=1
    fi
  done
fi

if [ "$run_js" = 1 ]; then
  echo "sanitize: JS stress under valgrind memcheck (slow: a few minutes)" >&2
  log="$logdir/node.log"
  set +e
  timeout 1500 valgrind --tool=memcheck --smc-check=all-non-file --error-limit=no --num-callers=30 \
    --log-file="$log" node --jitless "$root/scripts/sanitize-stress.js" 2>"$logdir/node.stderr"
  code=$?
  # A Rust panic caught at the FFI boundary does not fail the run by itself: count them too.
  panics="$(grep -c 'panicked at' "$logdir/node.stderr" || true)"
  if [ "$panics" != 0 ]; then
    echo "  node stress: $panics Rust panic(s) caught at the boundary:" >&2
    grep -A4 'panicked at' "$logdir/node.stderr" | head -20 >&2
    status=1
  fi
  set -e
  # An error record runs from a line with "==pid== <kind>" to the next blank "==pid==" line.
  ours="$(awk '/^==[0-9]+== [A-Z]/{rec=$0; next} /^==[0-9]+== *$/{if (rec ~ /turbo_dgram/) print rec; rec=""; next} {rec=rec "\n" $0}' "$log" |
    grep -c 'turbo_dgram' || true)"
  echo "  node stress: exit $code, $(grep -o 'ERROR SUMMARY: [0-9]* errors' "$log" | tail -1) in all, $ours with a turbo_dgram frame (log: $log)" >&2
  if [ "$code" != 0 ] || [ "$ours" != 0 ]; then status=1; fi
fi

if [ "$status" = 0 ]; then echo "sanitize: clean" >&2; else echo "sanitize: ERRORS (logs in $logdir)" >&2; fi
exit "$status"

#!/usr/bin/env bash
# Builds the prebuilt addon the published package ships for linux-x64 with glibc:
# prebuilds/linux-x64/turbo-dgram.glibc.node (prebuildify's layout, see lib/native-load.js), linked
# against glibc 2.17 so that it loads on every glibc distribution from 2014 on (RHEL 7, Ubuntu
# 16.04, Amazon Linux 2), whatever glibc the packing machine has. npm runs it before packing
# (the `prepack` script: `npm pack`, `npm publish`). The result is never committed.
#
# Usage: bash scripts/prebuild.sh
# Needs: cargo, and zig with cargo-zigbuild (`pip install ziglang cargo-zigbuild`).
# Environment: CARGO (cargo binary, default: cargo on PATH or ~/.cargo/bin/cargo)
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
  "") ;;
  -h|--help) usage; exit 0 ;;
  *) echo "prebuild.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

# The glibc version is part of the target name: zig links against that version's symbols.
target=x86_64-unknown-linux-gnu
glibc=2.17
out="$here/prebuilds/linux-x64/turbo-dgram.glibc.node"

cargo="${CARGO:-}"
if [ -z "$cargo" ]; then
  if command -v cargo >/dev/null 2>&1; then cargo=cargo
  elif [ -x "$HOME/.cargo/bin/cargo" ]; then cargo="$HOME/.cargo/bin/cargo"
  else echo "prebuild.sh: Rust's cargo was not found (https://rustup.rs)" >&2; exit 1
  fi
fi
if ! "$cargo" zigbuild --help >/dev/null 2>&1; then
  cat >&2 <<'MSG'
prebuild.sh: cannot build the prebuilt addon: `cargo zigbuild` is not available.
  Install it and the zig toolchain with: pip install ziglang cargo-zigbuild
MSG
  exit 1
fi
# The x86_64 linux-gnu standard library comes with the host toolchain on a linux-x64 machine (this
# project's development machines and CI); elsewhere: rustup target add x86_64-unknown-linux-gnu.

echo "prebuild.sh: building $out (glibc <= $glibc) with $("$cargo" --version)..." >&2
# Without the debug info the release profile keeps for developers: it is most of the file (7 MB
# against under 1 MB), and users download it with every install.
CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=debuginfo \
  "$cargo" zigbuild --release --locked --lib --target "$target.$glibc" 2>&1 | sed 's/^/  /' >&2

target_dir="${CARGO_TARGET_DIR:-$here/target}"
mkdir -p "$(dirname "$out")"
cp "$target_dir/$target/release/libturbo_dgram.so" "$out.tmp"
mv -f "$out.tmp" "$out"
echo "prebuild.sh: $out ready" >&2

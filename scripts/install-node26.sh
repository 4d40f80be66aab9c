#!/usr/bin/env bash
# Installs the newest Node.js 26 for linux-x64 and prints the path of its `node`: the same as
# `bash scripts/install-node.sh 26 [DIR]` (kept because the bench's help and README name it).
#
# Usage: bash scripts/install-node26.sh [DIR]
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/install-node.sh" 26 "$@"

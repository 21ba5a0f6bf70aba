#!/usr/bin/env bash
# Installs the project's npm dependencies with Node >= 24 when node_modules is missing or older than the lock.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/ensure-node.sh
stamp=node_modules/.installed-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "atlas-rotator: installing npm dependencies from package-lock.json" >&2
  # Not `npm ci`: npm 11 writes a lock without the other platforms' optional packages (Biome's binaries)
  # and `npm ci` then refuses it as out of sync. `--no-save` installs from the lock without rewriting it.
  npm install --no-audit --no-fund --no-save --loglevel=error >&2
  cp package-lock.json "$stamp"
fi

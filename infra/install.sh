#!/usr/bin/env bash
# Installs what `cdk synth` and the infra tests need, with Node >= 24: the service's dependencies (the
# Lambda bundle is built from src/ and its node_modules) and infra's own (aws-cdk-lib, the CDK CLI, cdk-nag,
# esbuild, vitest) from infra/package-lock.json. Skips each install while its lock is unchanged.
set -euo pipefail
infra="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$infra")"
source "$root/scripts/ensure-node.sh"
bash "$root/scripts/install.sh"
cd "$infra"
stamp=node_modules/.installed-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "atlas-rotator: installing infra's npm dependencies from infra/package-lock.json" >&2
  # Not `npm ci`: npm 11 writes a platform-pruned lock that `npm ci` refuses as out of sync.
  npm install --no-audit --no-fund --no-save --loglevel=error >&2
  cp package-lock.json "$stamp"
fi

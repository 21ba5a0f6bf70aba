#!/usr/bin/env bash
# `npm start`: the embedded default. Builds the project, starts the local AWS endpoint (unless
# AWS_ENDPOINT_URL names one), and runs one real rotation against the Atlas simulator.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/ensure-node.sh
bash scripts/install.sh
npx tsc -p tsconfig.build.json
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  AWS_ENDPOINT_URL="$(bash scripts/aws-emulator.sh start)"
  trap 'bash scripts/aws-emulator.sh stop' EXIT
fi
export AWS_ENDPOINT_URL
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
node --enable-source-maps --optimize-for-size dist/src/adapters/bootstrap/main.js demo

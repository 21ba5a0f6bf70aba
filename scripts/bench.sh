#!/usr/bin/env bash
# `npm run bench`: atlas-rotator vs a template-style rotation (bench/rotation-vs-template.ts); `-- --quick`: one run per figure.
# The older self-comparison stays runnable: `node dist/bench/rotation-throughput.js --aws-endpoint-url URL`. Builds the project with
# bench/, starts the local AWS endpoint (unless AWS_ENDPOINT_URL names one) and runs the benchmark, which
# starts the Atlas simulator in-process. Arguments are passed on: `npm run bench -- --repeats 5`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/ensure-node.sh
bash scripts/install.sh
npx tsc -p tsconfig.bench.json
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  # Its own state directory: stopping it on exit never stops an emulator a test run in this tree is using.
  export AWS_EMULATOR_STATE_DIR="${AWS_EMULATOR_STATE_DIR:-$root/.emulator/bench}"
  AWS_ENDPOINT_URL="$(bash scripts/aws-emulator.sh start)"
  trap 'bash scripts/aws-emulator.sh stop' EXIT
fi
export AWS_ENDPOINT_URL
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
pid_args=()
if [ -f "${AWS_EMULATOR_STATE_DIR:-}/aws-emulator.pid" ]; then pid_args=(--emulator-pid "$(cat "$AWS_EMULATOR_STATE_DIR/aws-emulator.pid")"); fi
node dist/bench/rotation-vs-template.js --aws-endpoint-url "$AWS_ENDPOINT_URL" --region "$AWS_REGION" "${pid_args[@]}" "$@"

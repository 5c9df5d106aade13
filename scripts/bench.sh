#!/usr/bin/env bash
# npm run bench: builds, makes sure the local broker binary exists, and prints figures.
# Benchmarks never fail on timing; they exit non-zero only if they could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
bash scripts/build-kafka-mock.sh
export AWS_EC2_METADATA_DISABLED=true METADATA_SERVER_DETECTION=none
exec node --expose-gc --max-old-space-size=2048 dist/bench/run.js "$@"

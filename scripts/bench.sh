#!/usr/bin/env bash
# npm run bench: builds, makes sure the local broker binary exists, and prints figures.
# Benchmarks never fail on timing; they exit non-zero only if they could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
bash scripts/build-kafka-mock.sh
export AWS_EC2_METADATA_DISABLED=true METADATA_SERVER_DETECTION=none
# The AWS SDK warns once that its 2027 releases will need Node 22; the pinned version runs on 20.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
# The engine and target scenarios run their lanes in this process: give it the young generation
# `run` gives a worker with the default 256 MiB budget (src/cli/v8-heap.ts: a quarter, at most 64 MiB).
exec node --expose-gc --max-old-space-size=2048 --max-semi-space-size=64 dist/bench/run.js "$@"

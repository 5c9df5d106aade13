#!/usr/bin/env bash
# `npm test`: build the TypeScript, make sure the local Kafka broker binary exists, run every
# test file. Exit code = the test runner's.
#
# Extra arguments go to `node --test` (e.g. `npm test -- --test-name-pattern=resume`).
# Set TEST_FILES to run a subset: TEST_FILES="dist/test/dev/local-broker.test.js" npm test
#
# Test files are test/**/*.test.ts, run from dist/. They are listed explicitly instead of
# `node --test dist/test/`: on Node 20 a directory argument named `test` makes *every* .js file
# below it a test file (support modules and child-process fixtures included), and compiled tests
# whose source was deleted would still run from a stale dist/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

npx tsc -p tsconfig.json
bash scripts/build-kafka-mock.sh
bash scripts/install-test-servers.sh

if [[ -n "${TEST_FILES:-}" ]]; then
  read -r -a files <<<"$TEST_FILES"
else
  files=()
  while IFS= read -r source; do
    files+=("dist/${source%.ts}.js")
  done < <(find test -name '*.test.ts' -type f | LC_ALL=C sort)
fi
if ((${#files[@]} == 0)); then
  echo "test.sh: no test files found under test/" >&2
  exit 1
fi

# Keep the cloud SDKs from probing instance-metadata endpoints (169.254.169.254) in tests.
export AWS_EC2_METADATA_DISABLED=true
export METADATA_SERVER_DETECTION=none
# Nothing may fall back to a real cloud account: explicit dummy AWS credentials and no config files.
export AWS_ACCESS_KEY_ID=test-access-key AWS_SECRET_ACCESS_KEY=test-secret-key AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN GOOGLE_APPLICATION_CREDENTIALS

# No --test-force-exit: on Node 20 it can drop tests that ran from the report and still exit 0
# (seen here: a file's last suites went missing from a green run). Every test file closes what it
# opens instead, and a file that hangs fails on the timeout below.
# --test-timeout: on Node 20 it bounds each test *and each test file*, hooks included, so a hung
#   after() hook fails its file after 10 minutes instead of hanging CI forever.
status=0
node --test --test-concurrency=2 --test-timeout=600000 "$@" "${files[@]}" || status=$?
exit "$status"

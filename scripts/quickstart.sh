#!/usr/bin/env bash
# The README's first quick-start command, on a fresh Debian machine with Node 20:
# installs the system package (librdkafka-dev, as root) and the npm packages, builds, then
# runs `terra-fanout dev` (local broker, sample tenant writing to ./out, sample events).
# Extra arguments go to `terra-fanout dev` (see `node dist/src/cli/main.js dev --help`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/install-system-deps.sh

if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi

npx tsc -p tsconfig.json

exec node dist/src/cli/main.js dev "$@"

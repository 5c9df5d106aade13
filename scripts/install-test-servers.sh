#!/usr/bin/env bash
# Installs the npm-packaged local servers the destination tests start (Azurite, and
# firebase-tools for the Firebase Storage emulator's GCS API) into tools/test-servers, with
# --ignore-scripts (nothing there needs a build; re2's would take minutes). Idempotent: when the
# installed tree is newer than tools/test-servers/package-lock.json it does nothing (~0.1 s).
#
# The other servers come from the machine: moto_server (Python, preinstalled), the Firestore
# emulator jar and Java (preinstalled), PostgreSQL and MariaDB (scripts/install-system-deps.sh).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/tools/test-servers"

if [[ -f "$dir/node_modules/.package-lock.json" && "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]]; then
  exit 0
fi
echo "install-test-servers: npm ci in tools/test-servers (azurite, firebase-tools)" >&2
npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error >&2

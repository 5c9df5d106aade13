#!/usr/bin/env bash
# Installs the npm-packaged local servers the destination tests start (Azurite, and
# firebase-tools for the Firebase Storage emulator's GCS API) into tools/test-servers, with
# --ignore-scripts (nothing there needs a build; re2's would take minutes). Idempotent: when the
# installed tree was made from the same package-lock.json (by content hash) it does nothing.
#
# The other servers come from the machine: moto_server (Python, preinstalled), the Firestore
# emulator jar and Java (preinstalled), PostgreSQL and MariaDB (scripts/install-system-deps.sh).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/tools/test-servers"
stamp="$dir/node_modules/.terra-fanout-lock.sha256"
want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
if [[ -L "$dir/node_modules" ]]; then
  echo "install-test-servers: $dir/node_modules is a symlink to a tree made from another lock file; not reinstalling through it" >&2
  exit 1
fi
echo "install-test-servers: npm ci in tools/test-servers (azurite, firebase-tools)" >&2
npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
echo "$want" >"$stamp"

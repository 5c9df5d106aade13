#!/usr/bin/env bash
# Builds .cache/kafka-mock (the local Kafka-protocol broker, librdkafka's mock cluster) from
# src/dev/kafka-mock.c when the binary is missing or older than the source.
#
# Needs gcc and the librdkafka headers (Debian: librdkafka-dev). This script never installs
# anything: when the header is missing it says which command to run and exits 3. Installing
# system packages is scripts/install-system-deps.sh's job, so a plain `npm test` never
# touches apt behind your back.
#
# Usage: scripts/build-kafka-mock.sh [--force]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/src/dev/kafka-mock.c"
out="$root/.cache/kafka-mock"
force="${1:-}"

if [[ "$force" != "--force" && -x "$out" && ! "$src" -nt "$out" ]]; then
  exit 0
fi

cc="${CC:-gcc}"
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "build-kafka-mock: $cc not found; install it with: apt-get install -y gcc" >&2
  exit 3
fi
if ! printf '#include <librdkafka/rdkafka.h>\n#include <librdkafka/rdkafka_mock.h>\n' \
    | "$cc" -E -x c - >/dev/null 2>&1; then
  echo "build-kafka-mock: librdkafka headers missing; run: apt-get install -y librdkafka-dev  (or: bash scripts/install-system-deps.sh)" >&2
  exit 3
fi

mkdir -p "$root/.cache"
# Build to a temporary name, then rename: a concurrent run never sees a half-written binary.
tmp="$(mktemp "$root/.cache/kafka-mock.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
"$cc" -O2 -Wall -Wextra -o "$tmp" "$src" -lrdkafka
chmod 755 "$tmp"
mv -f "$tmp" "$out"
trap - EXIT
echo "build-kafka-mock: built $out" >&2

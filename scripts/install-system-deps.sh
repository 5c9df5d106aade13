#!/usr/bin/env bash
# Installs the system packages the tests and the `dev` command need, then builds the local
# Kafka broker (.cache/kafka-mock). Idempotent: a second run changes nothing and takes ~0.1 s.
#
# Packages (Debian bookworm): librdkafka-dev (the mock cluster), gcc + libc6-dev (only if gcc is
# missing), postgresql and mariadb-server (the SQL tests start throwaway servers), a Java runtime
# (Firestore emulator), prometheus (promtool and a real Prometheus for the alert-rule tests in
# test/deploy, which start their own on free ports). moto_server and the Firestore emulator jar come
# with the machine image
# (PyPI and Google's apt repository are unreachable here); the tests say so when they are missing. Runs `apt-get update` only when apt has no candidate for a package we need.
# Must run as root when something is missing; otherwise it prints the command and exits 1.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

missing=()
# Outputs are captured before matching: with pipefail, `cmd | grep -q` can fail on SIGPIPE.
status="$(dpkg-query -W -f='${Status}' librdkafka-dev 2>/dev/null || true)"
if [[ "$status" != *'install ok installed'* ]]; then
  missing+=(librdkafka-dev)
fi
if ! command -v gcc >/dev/null 2>&1; then
  missing+=(gcc libc6-dev)
fi
# Database servers the sql/supabase tests start their own throwaway instances of.
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  missing+=(postgresql)
fi
if [[ ! -x /usr/sbin/mariadbd ]]; then
  missing+=(mariadb-server)
fi
# Java runs Google's Firestore emulator jar (preinstalled with google-cloud-cli-firestore-emulator).
if ! command -v java >/dev/null 2>&1; then
  missing+=(default-jre-headless)
fi

# promtool checks and unit-tests the alert rules; the prometheus binary runs the end-to-end alert test.
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  missing+=(prometheus)
fi

if ((${#missing[@]} > 0)); then
  if [[ "$(id -u)" != 0 ]]; then
    echo "install-system-deps: missing ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  needs_update=0
  for pkg in "${missing[@]}"; do
    policy="$(apt-cache policy "$pkg" 2>/dev/null || true)"
    if [[ ! "$policy" =~ Candidate:\ [0-9] ]]; then
      needs_update=1
    fi
  done
  if ((needs_update)); then
    echo "install-system-deps: apt-get update" >&2
    apt-get update -qq
  fi
  echo "install-system-deps: apt-get install ${missing[*]}" >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash "$root/scripts/build-kafka-mock.sh"

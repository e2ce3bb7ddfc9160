#!/usr/bin/env bash
# Installs what the tests need beyond the .NET 10 SDK: headless Chromium (SMART app pages), PostgreSQL (feedback store),
# Redis (replay store, rate limits), and the node packages of the loopback test servers (FHIR server, authorization
# server). Idempotent; every step checks before it installs. The test fixtures start the servers themselves, each on a
# free loopback port with its own data directory, once per test run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is required (dotnet on PATH)." >&2
  exit 1
fi

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
if [ "${#need[@]}" -gt 0 ]; then
  echo "Installing ${need[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The node test servers pin their packages (and Node 22, which @medplum needs) in their own package-lock.json.
for dir in tests/servers/*/; do
  [ -f "$dir/package.json" ] || continue
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package.json" -nt "$dir/node_modules" ]; then
    echo "Installing node packages in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-audit --no-fund --loglevel=error)
    touch "$dir/node_modules"
  fi
done

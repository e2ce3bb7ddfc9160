#!/usr/bin/env bash
# Runs every test on a fresh machine with the .NET 10 SDK: installs what the tests need (Chromium, PostgreSQL, Redis,
# the node packages of the loopback test servers; .ci/install-prerequisites.sh), then `dotnet test KetamineCds.sln`.
# The test fixtures start the servers themselves (free loopback ports, temp data directories, one per test run).
# Ends with the line "N passed, N failed" (summed over the test assemblies) and exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

bash .ci/install-prerequisites.sh || { echo "0 passed, 1 failed"; exit 1; }

log=$(mktemp)
dotnet test KetamineCds.sln "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# dotnet test prints one summary per test assembly: "Passed!  - Failed:     0, Passed:    92, Skipped: ..."
passed=0 failed=0
while read -r f p; do
  passed=$((passed + p)); failed=$((failed + f))
done < <(sed -nE 's/.*(Passed|Failed)! +- Failed: +([0-9]+), Passed: +([0-9]+).*/\2 \3/p' "$log")

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # A build error or a crashed test host: no assembly summary says so, but the run failed.
  failed=1
fi
rm -f "$log"
echo "$passed passed, $failed failed"
exit "$status"

#!/usr/bin/env bash
# Builds the service and the harness in Release and runs the harness: bash tests/KetamineCds.LoadHarness/run.sh [mode] [options]
#   compare (default)  --resources 100 --connections 4 --rounds 3 --seconds 10 --validation on|off --signed
#   growth             --sizes 10,100,1000,5000 --seconds 8
#   soak               --minutes 10
#   dump               --resources 100 > request.json   (the request the harness sends)
#   any mode           --single-requests N --rewarm S --patients N --service-dll PATH --spec-dir DIR --trace FILE
#                      --env NAME=VALUE (repeatable: set in the service's environment)
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build -c Release -v q -nologo src/KetamineCds.Api >/dev/null
dotnet build -c Release -v q -nologo tests/KetamineCds.LoadHarness >/dev/null
exec dotnet tests/KetamineCds.LoadHarness/bin/Release/net10.0/KetamineCds.LoadHarness.dll "$@"

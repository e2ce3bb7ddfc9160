#!/usr/bin/env bash
# Installs what the tests need beyond the .NET 10 SDK. Idempotent; every step checks before it installs.
set -euo pipefail
if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is required (dotnet on PATH)." >&2
  exit 1
fi

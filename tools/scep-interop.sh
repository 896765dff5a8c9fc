#!/usr/bin/env bash
# Interop of the SCEP endpoint (/apple/scep) with micromdm's scepclient (Debian package `scep`):
# see tools/scep-interop.ts. Run by .ci/run after `npm test`; `npm test` itself does not need it.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v "${SCEPCLIENT:-scepclient}" >/dev/null; then
  echo "scep interop: ${SCEPCLIENT:-scepclient} not found (apt-get install -y scep)" >&2
  exit 1
fi
exec node -r @swc-node/register tools/scep-interop.ts

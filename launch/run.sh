#!/usr/bin/env bash
# launch/run.sh: set up (install missing packages, build) and run dgcn's main job on the embedded
# default, a generated graph. Extra arguments go to the dgcn command.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/launch/setup.sh"
# shellcheck source=launch/env.sh
. "$here/launch/env.sh"
exec "$here/build/coordinator/dgcn" baseline --out "$here/runs/demo" "$@"

#!/usr/bin/env bash
# launch/run.sh: set up (install missing packages, build) and run dgcn's main job on the embedded
# default: 8 agent processes over ZeroMQ training on a generated graph, beside the centralized
# GCN and MLP. Extra arguments go to dgcn train (e.g. --data ../shared/data/cora --agents 10).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/launch/setup.sh"
# shellcheck source=launch/env.sh
. "$here/launch/env.sh"
# runs/demo is the demo's own run directory: each run replaces the previous one (--force).
# The demo runs on a ring with relay: on the generated graph every pair of 8 BFS parts shares data
# edges, so train's default topology (designed from the required links) would be complete, which
# is centralized training by construction (train says so). Later options override these.
exec "$here/build/coordinator/dgcn" train --out "$here/runs/demo" --force \
  --topology ring --cross-edges relay "$@"

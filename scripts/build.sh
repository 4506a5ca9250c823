#!/usr/bin/env bash
# Configures (once) and builds mae-cpp into build/ (or $MAE_BUILD_DIR). Extra arguments go to the configure step.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MAE_BUILD_DIR:-$root/build}
if [[ ! -f "$build/CMakeCache.txt" || $# -gt 0 ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-Release} "$@"
fi
cmake --build "$build" --parallel "${MAE_BUILD_JOBS:-$(nproc)}"

#!/usr/bin/env bash
# The README's first quick-start command: installs what is missing, builds, and runs the demo pre-training
# (configs/demo_pretrain.json) on the CPU. Extra arguments are passed to mae_pretrain.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh"
cd "$root"
exec "${MAE_BUILD_DIR:-$root/build}/bin/mae_pretrain" --config configs/demo_pretrain.json "$@"

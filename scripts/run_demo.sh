#!/usr/bin/env bash
# The README's first quick-start command: installs what is missing, builds, pre-trains the demo model on the demo
# digits (configs/demo_pretrain.json, a few minutes on 2 CPU cores), and draws reconstructions of held-out digits.
# Extra arguments are passed to mae_pretrain (e.g. --epochs 2).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh"
cd "$root"
bin=${MAE_BUILD_DIR:-$root/build}/bin
out=output_dir/demo_pretrain
"$bin/mae_pretrain" --config configs/demo_pretrain.json --output_dir "$out" "$@"
echo "checkpoint: $out/checkpoint-last.pth   log: $out/log.txt"
echo "reconstructions (original | masked | reconstruction | reconstruction + visible):"
"$bin/mae_visualize" --checkpoint "$out/checkpoint-last.pth" --output_dir "$out/visualize" \
  --images data/demo/val/2/2_450.png data/demo/val/5/5_460.png data/demo/val/7/7_470.png

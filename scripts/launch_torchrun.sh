#!/usr/bin/env bash
# Starts an mae-cpp job on this node under torchrun (one process per GPU), as docs/distributed.md describes.
#
# One node, all its GPUs:
#   scripts/launch_torchrun.sh mae_pretrain --config configs/vit_large.json --data_path /data/imagenet
# Several nodes: run the same command on every node with the rendezvous of node 0 and the node count:
#   NNODES=8 RDZV=node0.cluster:29500 scripts/launch_torchrun.sh mae_pretrain --config configs/vit_large.json ...
#
# Environment: NNODES (default 1), NPROC_PER_NODE (default: the GPUs nvidia-smi lists, else 1), RDZV (host:port of
# the c10d rendezvous for several nodes), RDZV_ID (default mae-cpp), MAX_RESTARTS (default 0: torchrun restarts
# the job this many times after a worker fails; pair it with --resume auto, docs/distributed.md), MAE_BIN (default
# build/bin), PYTHON (default python3: torchrun's host).
set -euo pipefail

if [[ $# -lt 1 ]]; then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
program=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
binary=${MAE_BIN:-$root/build/bin}/$program
if [[ ! -x $binary ]]; then
  echo "launch_torchrun.sh: $binary does not exist: build first (bash scripts/build.sh)" >&2
  exit 2
fi
gpus=$( (nvidia-smi --list-gpus 2>/dev/null || true) | wc -l)
nproc=${NPROC_PER_NODE:-$((gpus > 0 ? gpus : 1))}
nnodes=${NNODES:-1}

if [[ $nnodes -eq 1 ]]; then
  rendezvous=(--standalone)
else
  : "${RDZV:?set RDZV=host:port of node 0 for a multi-node job}"
  rendezvous=(--rdzv-backend c10d --rdzv-endpoint "$RDZV" --rdzv-id "${RDZV_ID:-mae-cpp}")
fi
exec "${PYTHON:-python3}" -m torch.distributed.run --nnodes "$nnodes" --nproc-per-node "$nproc" "${rendezvous[@]}" \
  --max-restarts "${MAX_RESTARTS:-0}" --no-python "$binary" "$@"

#!/usr/bin/env bash
# mae_bench for a GPU machine whose only torch is a Python installation (no OpenCV, no internet): the models, the
# engine core and `mae_bench step` (-DMAE_WITH_DATA=OFF), built against the Python wheel's LibTorch, with the few
# Debian packages the build needs unpacked (not installed) into third_party/device_deps/, an ignored folder that
# travels with the checkout.
#
#   bash scripts/device_build.sh fetch    # here, with internet: download and unpack the packages
#   bash scripts/device_build.sh build    # on the GPU machine: configure and build build-device/bin/mae_bench
#   bash scripts/device_build.sh bench    # on the GPU machine: MAE ViT-L pre-training step in bf16, MFU, and the
#                                         # Python reference's step on the same GPU (docs/BENCHMARKS.md, "GPU")
#   bash scripts/device_build.sh all      # build, then bench
#
# Environment: PYTHON (default python3), PEAK_TFLOPS (default 989, an H100's dense bf16), BATCH (default 64),
# ITERS (default 20).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
deps=$root/third_party/device_deps
build=$root/build-device
python=${PYTHON:-python3}
# Headers (and spdlog/fmt's shared libraries) of the Debian 12 packages setup.sh installs here.
packages=(libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 libcli11-dev nlohmann-json3-dev libgloo-dev)

fetch() {
  local work
  work=$(mktemp -d)
  (cd "$work" && { apt-get download -qq "${packages[@]}" 2>/dev/null || { apt-get update -qq && apt-get download -qq "${packages[@]}"; }; })
  rm -rf "$deps"
  mkdir -p "$deps"
  for deb in "$work"/*.deb; do
    dpkg-deb -x "$deb" "$deps"
  done
  rm -rf "$work"
  echo "unpacked ${#packages[@]} packages into $deps ($(du -sh "$deps" | cut -f1))"
}

configure_and_build() {
  [[ -d $deps/usr ]] || { echo "device_build.sh: $deps is missing: run 'bash scripts/device_build.sh fetch' first" >&2; exit 2; }
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  local multiarch=$deps/usr/lib/x86_64-linux-gnu
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DMAE_WITH_DATA=OFF -DMAE_BUILD_TESTS=OFF -DMAE_USE_CCACHE=OFF -DMAE_USE_MOLD=OFF \
    -DPython3_EXECUTABLE="$(command -v "$python")" \
    -DCMAKE_PREFIX_PATH="$multiarch/cmake;$deps/usr/share/cmake" \
    -DCMAKE_CXX_FLAGS="-isystem $deps/usr/include" \
    -DCMAKE_BUILD_RPATH="$multiarch"
  cmake --build "$build" --target mae_bench --parallel "$(nproc)"
}

bench() {
  local bench=$build/bin/mae_bench
  [[ -x $bench ]] || { echo "device_build.sh: build first ('bash scripts/device_build.sh build')" >&2; exit 2; }
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  "$python" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)'
  for model in mae_vit_large_patch16 mae_vit_base_patch16; do
    "$bench" step --job pretrain --model "$model" --device cuda --amp bf16 --batch_size "${BATCH:-64}" \
      --warmup 5 --iters "${ITERS:-20}" --peak_tflops "${PEAK_TFLOPS:-989}"
  done
  "$python" "$root/scripts/bench_compare.py" --bench "$bench" --device cuda --amp bf16 --jobs pretrain \
    --model mae_vit_large_patch16 --batch_size "${BATCH:-64}" --warmup 5 --iters "${ITERS:-20}"
}

case ${1:-all} in
  fetch) fetch ;;
  build) configure_and_build ;;
  bench) bench ;;
  all) configure_and_build && bench ;;
  *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac

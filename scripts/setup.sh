#!/usr/bin/env bash
# Installs everything mae-cpp needs on a Debian 12 machine, as root. Idempotent: when everything is present it only
# checks and returns in seconds.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

debian_packages=(
  build-essential cmake ninja-build ccache mold pkg-config
  libcli11-dev libspdlog-dev nlohmann-json3-dev libgtest-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libjpeg62-turbo-dev
  libgloo-dev   # headers only: the Gloo code itself is compiled into libtorch_cpu, but the wheel ships no gloo/ headers
)

missing=()
for pkg in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python=${PYTHON:-python3}
# Compare what is installed with the pins first: pip itself takes several seconds even when nothing is to be done.
if ! "$python" - "$here/requirements.txt" <<'PY'
import sys, importlib.metadata as md
for line in open(sys.argv[1]):
    line = line.split('#')[0].strip()
    if not line:
        continue
    name, version = line.split('==')
    try:
        have = md.version(name)
    except md.PackageNotFoundError:
        sys.exit(1)
    if have.split('+')[0] != version:
        sys.exit(1)
PY
then
  echo "setup: installing Python packages from scripts/requirements.txt (torch brings its CUDA libraries: a few GB)"
  "$python" -m pip install --quiet --root-user-action=ignore -r "$here/requirements.txt"
fi
# The demo and test images, cut from Debian packages (scripts/make_demo_data.py; data/ is not committed).
"$python" "$here/make_demo_data.py" "$here/../data"
echo "setup: ok ($("$python" -c 'import torch; print("torch", torch.__version__)'))"

#!/usr/bin/env bash
# Builds mae-cpp on a GPU machine whose only torch is a Python installation and which has no internet, no apt and no
# C++ OpenCV: against the Python wheel's LibTorch, with the Debian packages the build needs unpacked (not installed)
# and OpenCV's source (core, imgproc, imgcodecs) in third_party/device_deps/, an ignored folder that travels with
# the checkout. Of the GPU machine's own software only the compiler and C/C++ runtime, CMake, ninja, the CUDA toolkit
# and the Python torch (with its CUDA libraries) are used.
#
#   bash scripts/device_build.sh fetch    # here, with internet: download and unpack the packages and OpenCV's source
#   bash scripts/device_build.sh build    # on the GPU machine: build-device/bin/mae_bench only (no data layer, no
#                                         # OpenCV: the models, the engine core and `mae_bench step`)
#   bash scripts/device_build.sh opencv   # on the GPU machine: OpenCV core/imgproc/imgcodecs, static, into
#                                         # build-device/opencv
#   bash scripts/device_build.sh trainer  # on the GPU machine: opencv, then the whole trainer (the five executables
#                                         # and mae_tests)
#   bash scripts/device_build.sh bench    # on the GPU machine: MAE ViT-L pre-training step in bf16, MFU, and the
#                                         # Python reference's step on the same GPU (docs/BENCHMARKS.md, "GPU")
#   bash scripts/device_build.sh all      # build, then bench
#
# scripts/gpu_check.sh runs `opencv` and `trainer` and then checks the GPU path (docs/gpu.md).
# Environment: PYTHON (default python3), JOBS (parallel compiles, default nproc), DEVICE_BUILD_DIR (default
# build-device), PEAK_TFLOPS (default 989, an H100's dense bf16), BATCH (default 64), ITERS (default 20).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
deps=$root/third_party/device_deps
multiarch=$deps/usr/lib/x86_64-linux-gnu
build=${DEVICE_BUILD_DIR:-$root/build-device}
python=${PYTHON:-python3}
jobs=${JOBS:-$(nproc)}
opencv_src=$deps/src/opencv
opencv_build=$build/opencv-build
opencv_prefix=$build/opencv
# Headers, static archives and spdlog/fmt's shared libraries of the Debian 12 packages setup.sh installs here.
# jpeg, png and zlib travel as static archives only: the data layer decodes JPEGs itself (libjpeg) and OpenCV's
# imgcodecs reads PNGs through them, so the GPU machine needs no run-time libjpeg, libpng or zlib of its own.
packages=(libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 libcli11-dev nlohmann-json3-dev libgloo-dev libgtest-dev
          libjpeg62-turbo-dev libpng-dev zlib1g-dev)
# OpenCV comes as source: Debian's libopencv-imgcodecs406 pulls in GDAL, TIFF, WebP, OpenEXR, ... (about 170 MB).
opencv_source_package=opencv
opencv_suite=bookworm

die() {
  echo "device_build.sh: $*" >&2
  exit 2
}

# apt-get with a private deb-src list, package lists and cache under $1: the system's apt configuration and state
# are left untouched.
private_apt() {
  local dir=$1
  shift
  apt-get -q -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts="$dir/parts" \
    -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache" -o APT::Sandbox::User=root "$@"
}

# Downloads the Debian source tarball of OpenCV (its hash comes from the signed Sources index that apt verified) and
# unpacks the part a core/imgproc/imgcodecs build reads into $opencv_src. Debian's tarball (+dfsg) has no 3rdparty/
# folder; the codecs' libraries come from the packages above.
fetch_opencv_source() {
  local work=$1 apt_dir=$1/apt
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian" \
    "$opencv_suite main" >"$apt_dir/sources.list"
  private_apt "$apt_dir" update >/dev/null
  # One line per file: 'URL' NAME SIZE SHA256:HASH. The contrib modules' tarball is not needed.
  local line url name hash
  line=$(private_apt "$apt_dir" source --print-uris "$opencv_source_package" | grep -E "'[^']*\.orig\.tar\.xz'")
  read -r url name _ hash <<<"$line"
  url=${url//\'/}
  hash=${hash#SHA256:}
  curl -sSfL -o "$work/$name" "$url"
  echo "$hash  $work/$name" | sha256sum -c --quiet
  rm -rf "$opencv_src"
  mkdir -p "$opencv_src"
  # The top-level CMake files, the cmake/ helpers, the three modules without their tests, benchmarks, bindings and
  # documentation, the two CMakeLists.txt that the top level adds unconditionally, and the files `install` copies.
  tar -xJf "$work/$name" -C "$opencv_src" --strip-components=1 --wildcards --no-wildcards-match-slash \
    --exclude='opencv-*/modules/*/test' --exclude='opencv-*/modules/*/perf' --exclude='opencv-*/modules/*/misc' \
    --exclude='opencv-*/modules/*/doc' \
    'opencv-*/CMakeLists.txt' 'opencv-*/LICENSE' 'opencv-*/cmake' 'opencv-*/include' 'opencv-*/doc/CMakeLists.txt' \
    'opencv-*/data/CMakeLists.txt' 'opencv-*/platforms/scripts/valgrind*.supp' \
    'opencv-*/modules/core' 'opencv-*/modules/imgproc' 'opencv-*/modules/imgcodecs'
  echo "$name sha256 $hash" >"$opencv_src/.source"
}

fetch() {
  local work
  work=$(mktemp -d)
  # shellcheck disable=SC2064  # expand now: $work is local
  trap "rm -rf '$work'" EXIT
  (cd "$work" && { apt-get download -qq "${packages[@]}" 2>/dev/null || { apt-get update -qq && apt-get download -qq "${packages[@]}"; }; })
  rm -rf "$deps"
  mkdir -p "$deps"
  for deb in "$work"/*.deb; do
    dpkg-deb -x "$deb" "$deps"
    dpkg-deb -f "$deb" Package Version | paste -sd' ' >>"$deps/PACKAGES"
  done
  # The -dev packages' .so links point at run-time packages not fetched (or, for zlib, at this machine's /lib): with
  # them gone the linker can only take the static archives.
  rm -f "$multiarch"/libjpeg.so "$multiarch"/libpng.so "$multiarch"/libpng16.so "$multiarch"/libz.so \
    "$deps"/usr/lib/libgloo.so
  fetch_opencv_source "$work"
  echo "unpacked ${#packages[@]} packages and OpenCV's source ($(cut -d' ' -f1 "$opencv_src/.source")) into $deps" \
       "($(du -sh "$deps" | cut -f1))"
}

require_deps() {
  [[ -d $deps/usr && -f $opencv_src/.source ]] ||
    die "$deps is missing or incomplete: run 'bash scripts/device_build.sh fetch' first (on a machine with internet)"
}

generator() {
  if command -v ninja >/dev/null; then echo Ninja; else echo "Unix Makefiles"; fi
}

# OpenCV core, imgproc and imgcodecs (PNG and JPEG only), static, installed into $opencv_prefix. Every optional
# feature is off: none is used by the data layer, and each would need a library the GPU machine may not have.
build_opencv() {
  require_deps
  # shellcheck disable=SC2054  # the commas belong to BUILD_LIST's value
  local features=(
    -DBUILD_LIST=core,imgproc,imgcodecs -DBUILD_SHARED_LIBS=OFF -DENABLE_CCACHE=OFF -DENABLE_PRECOMPILED_HEADERS=OFF
    -DBUILD_TESTS=OFF -DBUILD_PERF_TESTS=OFF -DBUILD_EXAMPLES=OFF -DBUILD_DOCS=OFF -DBUILD_opencv_apps=OFF
    -DBUILD_JAVA=OFF -DBUILD_opencv_python2=OFF -DBUILD_opencv_python3=OFF -DBUILD_opencv_js=OFF -DBUILD_PACKAGE=OFF
    -DBUILD_ZLIB=OFF -DBUILD_PNG=OFF -DBUILD_JPEG=OFF -DBUILD_TIFF=OFF -DBUILD_WEBP=OFF -DBUILD_OPENEXR=OFF
    -DBUILD_OPENJPEG=OFF -DBUILD_JASPER=OFF -DBUILD_TBB=OFF -DBUILD_IPP_IW=OFF -DBUILD_ITT=OFF
    -DWITH_JPEG=ON -DWITH_PNG=ON -DWITH_TIFF=OFF -DWITH_WEBP=OFF -DWITH_OPENEXR=OFF -DWITH_OPENJPEG=OFF
    -DWITH_JASPER=OFF -DWITH_GDAL=OFF -DWITH_GDCM=OFF -DWITH_IMGCODEC_HDR=OFF -DWITH_IMGCODEC_SUNRASTER=OFF
    -DWITH_IMGCODEC_PXM=OFF -DWITH_IMGCODEC_PFM=OFF
    -DWITH_IPP=OFF -DWITH_ITT=OFF -DWITH_EIGEN=OFF -DWITH_LAPACK=OFF -DWITH_OPENCL=OFF -DWITH_OPENGL=OFF
    -DWITH_CUDA=OFF -DWITH_VA=OFF -DWITH_VA_INTEL=OFF -DWITH_GTK=OFF -DWITH_QT=OFF -DWITH_FFMPEG=OFF
    -DWITH_GSTREAMER=OFF -DWITH_V4L=OFF -DWITH_1394=OFF -DWITH_TBB=OFF -DWITH_OPENMP=OFF -DWITH_PROTOBUF=OFF
    -DWITH_QUIRC=OFF -DWITH_VTK=OFF -DWITH_OPENVX=OFF -DWITH_ONNX=OFF -DWITH_CAROTENE=OFF
    -DOPENCV_GENERATE_PKGCONFIG=OFF -DCV_TRACE=OFF
    # Each dispatched instruction set compiles its files once more: AVX2 alone covers today's x86-64 GPU hosts.
    -DCPU_DISPATCH=AVX2
  )
  # OpenCV adds no include folder for a zlib it does not build (it expects the system's zlib.h): name the unpacked
  # headers for every file, as the trainer's build does.
  local include=$deps/usr/include
  local flags="-isystem $include -isystem $include/x86_64-linux-gnu"
  # A rebuild only when the source or these settings changed.
  local stamp
  stamp="$(cat "$opencv_src/.source") ${features[*]} $flags"
  if [[ -f $opencv_prefix/.stamp && $(cat "$opencv_prefix/.stamp") == "$stamp" ]]; then
    echo "device_build.sh: OpenCV already installed in $opencv_prefix"
    return
  fi
  rm -rf "$opencv_build" "$opencv_prefix"
  cmake -S "$opencv_src" -B "$opencv_build" -G "$(generator)" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$opencv_prefix" "${features[@]}" -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DZLIB_LIBRARY="$multiarch/libz.a" -DZLIB_INCLUDE_DIR="$include" \
    -DPNG_LIBRARY="$multiarch/libpng16.a" -DPNG_PNG_INCLUDE_DIR="$include" \
    -DJPEG_LIBRARY="$multiarch/libjpeg.a" -DJPEG_INCLUDE_DIR="$include;$include/x86_64-linux-gnu"
  cmake --build "$opencv_build" --target install --parallel "$jobs"
  echo "$stamp" >"$opencv_prefix/.stamp"
}

# Configures build-device against the wheel's LibTorch and the unpacked packages. $1: ON for the whole trainer
# (data layer, executables, tests), OFF for mae_bench alone.
configure() {
  local with_data=$1
  local options=(-DMAE_WITH_DATA="$with_data" -DMAE_BUILD_TESTS="$with_data")
  if [[ $with_data == ON ]]; then
    options+=(-DOpenCV_DIR="$opencv_prefix/lib/cmake/opencv4"
              -DJPEG_LIBRARY="$multiarch/libjpeg.a" -DJPEG_INCLUDE_DIR="$deps/usr/include")
  fi
  # Each package by its own <name>_DIR, not CMAKE_PREFIX_PATH: third_party/torch.cmake refuses a reconfigure whose
  # CMAKE_PREFIX_PATH does not hold the cached LibTorch, and a second call on the same GPU machine reconfigures (-U:
  # a build folder configured by an earlier version of this script has one cached).
  # MAE_CUDA_INCLUDE_DIR (gpu_check.sh sets it when the CUDA toolkit has no runtime headers): the Python wheel's.
  local cxx_flags="-isystem $deps/usr/include -isystem $deps/usr/include/x86_64-linux-gnu"
  if [[ -n ${MAE_CUDA_INCLUDE_DIR:-} ]]; then
    cxx_flags+=" -isystem $MAE_CUDA_INCLUDE_DIR"
    options+=(-DCUDA_TOOLKIT_INCLUDE="$MAE_CUDA_INCLUDE_DIR" -DCUDAToolkit_INCLUDE_DIR="$MAE_CUDA_INCLUDE_DIR")
  fi
  # -isystem: the unpacked headers (jconfig.h sits in the multiarch folder, as on Debian). --disable-new-dtags: a
  # DT_RPATH also serves libspdlog's own libfmt dependency (a DT_RUNPATH, the default of some linkers, would not).
  cmake -S "$root" -B "$build" -G "$(generator)" -DCMAKE_BUILD_TYPE=Release "${options[@]}" -UCMAKE_PREFIX_PATH \
    -DMAE_USE_CCACHE=OFF -DMAE_USE_MOLD=OFF \
    -DPython3_EXECUTABLE="$(command -v "$python")" \
    -Dspdlog_DIR="$multiarch/cmake/spdlog" -Dfmt_DIR="$multiarch/cmake/fmt" -DGTest_DIR="$multiarch/cmake/GTest" \
    -DCLI11_DIR="$deps/usr/share/cmake/CLI11" -Dnlohmann_json_DIR="$deps/usr/share/cmake/nlohmann_json" \
    -DCMAKE_CXX_FLAGS="$cxx_flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-Wl,--disable-new-dtags" \
    -DCMAKE_BUILD_RPATH="$multiarch"
}

build_bench() {
  [[ -d $deps/usr ]] || die "$deps is missing: run 'bash scripts/device_build.sh fetch' first"
  configure OFF
  cmake --build "$build" --target mae_bench --parallel "$jobs"
}

build_trainer() {
  build_opencv
  configure ON
  cmake --build "$build" --parallel "$jobs"
}

bench() {
  local bench=$build/bin/mae_bench
  [[ -x $bench ]] || die "build first ('bash scripts/device_build.sh build')"
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
  build) build_bench ;;
  opencv) build_opencv ;;
  trainer) build_trainer ;;
  bench) bench ;;
  all) build_bench && bench ;;
  *) sed -n '2,21p' "$0" >&2; exit 2 ;;
esac

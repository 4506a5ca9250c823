#!/usr/bin/env bash
# The one-shot GPU check of issue #17, for a bare GPU node (no internet, no apt, no C++ OpenCV; a Python torch): builds
# the whole trainer against that torch with the dependencies of third_party/device_deps (prepared beforehand, where
# there is internet, by `bash scripts/device_build.sh fetch`), then checks the GPU path. REPORT_DIR receives exactly three
# files, rewritten after every step: report.md, report.json and logs.tgz (logs/<step>.log, each step's full output),
# because the device tool brings back at most 8 files; everything else (the runs, their checkpoints) stays in WORK_DIR.
# docs/gpu.md lists the steps and what each one proves.
#
#   bash scripts/gpu_check.sh REPORT_DIR              # on the GPU node: about 10 minutes on 16 cores
#   bash scripts/gpu_check.sh --isolated REPORT_DIR   # as root: in a private mount namespace where this machine's
#                                                     # OpenCV, spdlog, fmt, CLI11, nlohmann-json, GoogleTest, gloo,
#                                                     # libjpeg, libpng and zlib development files are masked
#   bash scripts/gpu_check.sh --rehearse REPORT_DIR   # without a GPU: the GPU steps run on the CPU at small sizes, to
#                                                     # test this script (their figures are not GPU figures)
#
# nvidia-smi and nvcc are looked for on PATH, then in $CUDA_HOME/bin, $CUDA_PATH/bin, /usr/local/cuda/bin and
# /usr/local/nvidia/bin; without nvcc the CUDA headers and libraries of the Python wheel (site-packages/nvidia/cu13)
# stand in for the toolkit. The report's machine section says what was used.
# Without a GPU (torch.cuda.is_available() false and no NVIDIA device to be seen) the build and its audit run and every
# GPU step is reported as "skipped: no GPU": the dry run. A GPU that is seen (nvidia-smi lists it, or /dev/nvidia0
# exists) but that torch cannot use fails every GPU step instead: a GPU machine never silently runs the dry run.
# A failing step does not stop later steps that do not depend on it.
# Exit status: 0 when no step failed, 1 when one failed (or had no time left), 2 for usage errors.
#
# Environment: PYTHON (default python3: the torch to build against and to launch torchrun), JOBS (parallel compiles,
# default nproc), DEVICE_BUILD_DIR (default build-device), WORK_DIR (the runs' outputs, default
# <DEVICE_BUILD_DIR>/gpu-check), DATA (image folder, default data/demo; without it a synthetic one is made),
# PEAK_TFLOPS (dense bf16 peak for the MFU; default from the GPU's name: H100/H200 SXM 989, A100 312),
# TORCHRUN_NPROC (default 1), BENCH_BATCH (default 64), DEADLINE_S (default 570: every step ends within this many
# seconds of the start, so the report is whole inside a 10-minute limit; none with --rehearse), CAP_SCALE
# (multiplies each step's own time cap, sized for a 16-core GPU node; default 1, 20 with --rehearse; a dry run on 1
# core needs about 50), SKIP_BUILD (set: no build, use the executables already in <DEVICE_BUILD_DIR>/bin). A build
# that completed from the same sources (a rerun on a warm machine) is also reused without configuring or building,
# whatever the copied files' timestamps; FORCE_BUILD=1 builds anyway.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
export DEVICE_BUILD_DIR=${DEVICE_BUILD_DIR:-$root/build-device}
build=$DEVICE_BUILD_DIR
bin=$build/bin
work=${WORK_DIR:-$build/gpu-check}
deps=$root/third_party/device_deps
deadline_s=${DEADLINE_S:-570}
cap_scale=${CAP_SCALE:-1}

isolated=0
rehearse=0
report_dir=

usage() {
  sed -n '2,34p' "$0" >&2
  exit 2
}

parse_args() {
  while [[ $# -gt 0 ]]; do
    case $1 in
      --isolated) isolated=1 ;;
      --rehearse) rehearse=1 ;;
      -h | --help) usage ;;
      -*) echo "gpu_check.sh: unknown option $1" >&2; usage ;;
      *) [[ -z $report_dir ]] || usage; report_dir=$1 ;;
    esac
    shift
  done
  [[ -n $report_dir ]] || usage
}

now() { date +%s.%N; }

# ---------------------------------------------------------------------------------------------------------------
# Isolation: the build must take nothing from this machine's packages of the libraries that travel in device_deps.
# Directories are covered by an empty read-only tmpfs; regular files (headers, archives, libraries) by a file that
# cannot be used (a header that stops the compile with #error, a library the linker and the loader reject). Symbolic
# links are left alone (a bind mount would cover their target): most point into masked files or folders; libz.so
# points at the zlib every program loads, so the audit checks instead that no executable needs libz.
# ---------------------------------------------------------------------------------------------------------------
masked_dirs=(
  /usr/include/opencv4 /usr/include/spdlog /usr/include/fmt /usr/include/CLI /usr/include/nlohmann
  /usr/include/gtest /usr/include/gmock /usr/include/gloo /usr/include/libpng /usr/include/libpng16
  /usr/lib/x86_64-linux-gnu/cmake/opencv4 /usr/lib/x86_64-linux-gnu/cmake/GTest /usr/lib/x86_64-linux-gnu/cmake/fmt
  /usr/lib/x86_64-linux-gnu/cmake/spdlog /usr/lib/cmake/opencv4 /usr/lib/cmake/GTest /usr/share/cmake/CLI11
  /usr/share/cmake/nlohmann_json /usr/share/cmake/Gloo /usr/share/opencv4
)
masked_header_globs=(
  '/usr/include/jpeglib.h' '/usr/include/jerror.h' '/usr/include/jmorecfg.h' '/usr/include/jpegint.h'
  '/usr/include/x86_64-linux-gnu/jconfig.h' '/usr/include/zlib.h' '/usr/include/zconf.h' '/usr/include/png.h'
  '/usr/include/pngconf.h' '/usr/include/pnglibconf.h'
)
masked_library_globs=(
  '/usr/lib/x86_64-linux-gnu/libopencv_*' '/usr/lib/x86_64-linux-gnu/libspdlog*' '/usr/lib/x86_64-linux-gnu/libfmt*'
  '/usr/lib/x86_64-linux-gnu/libgtest*' '/usr/lib/x86_64-linux-gnu/libgmock*' '/usr/lib/x86_64-linux-gnu/libjpeg*'
  '/usr/lib/x86_64-linux-gnu/libpng*' '/usr/lib/x86_64-linux-gnu/libz.a'
)

mask_system_packages() {
  local list=$1 blocker_h=$state/masked.h blocker_lib=$state/masked.lib path
  echo '#error "a system header masked by gpu_check.sh --isolated: the build must use third_party/device_deps"' \
    >"$blocker_h"
  echo 'masked by gpu_check.sh --isolated' >"$blocker_lib"
  : >"$list"
  for path in "${masked_dirs[@]}"; do
    if [[ -d $path && ! -L $path ]]; then
      mount -t tmpfs -o ro,size=4k,mode=0755 gpu-check-mask "$path"
      echo "$path/" >>"$list"
    fi
  done
  shopt -s nullglob
  # shellcheck disable=SC2206  # the globs are meant to expand here
  local headers=(${masked_header_globs[@]}) libraries=(${masked_library_globs[@]})
  shopt -u nullglob
  for path in "${headers[@]}"; do
    if [[ -f $path && ! -L $path ]]; then mount --bind "$blocker_h" "$path" && echo "$path" >>"$list"; fi
  done
  for path in "${libraries[@]}"; do
    if [[ -f $path && ! -L $path ]]; then mount --bind "$blocker_lib" "$path" && echo "$path" >>"$list"; fi
  done
}

# Runs this script again in a private mount namespace (the masks vanish with it), then masks.
enter_isolation() {
  [[ $(id -u) -eq 0 ]] || { echo "gpu_check.sh: --isolated needs root (unshare --mount)" >&2; exit 2; }
  if [[ -z ${GPU_CHECK_IN_NAMESPACE:-} ]]; then
    GPU_CHECK_IN_NAMESPACE=1 exec unshare --mount --propagation private -- bash "$0" "$@"
  fi
}

# ---------------------------------------------------------------------------------------------------------------
# Steps. Each step function runs in a subshell with `set -e`, its output going to logs/<step>.log. It ends by
# returning (passed), `fail REASON` or `skip REASON`; a command that fails under `set -e` fails the step with the log's
# last line as the reason. `figure KEY VALUE` records a figure for the report.
# ---------------------------------------------------------------------------------------------------------------
fail() { echo "$*" >"$GPU_CHECK_REASON"; exit 1; }
skip() { echo "$*" >"$GPU_CHECK_REASON"; exit 3; }
figure() { printf '%s\t%s\n' "$1" "$2" >>"$GPU_CHECK_FIGURES"; }
helper() { "$python" "$state/helper.py" "$@"; }

# Seconds a command of this step may run: its own cap ($1 times CAP_SCALE), and never past the deadline (less a
# margin for writing the report).
budget() {
  local cap=$(($1 * cap_scale)) left
  left=$(( ${deadline%.*} - $(date +%s) - 15 ))
  ((left > 20)) || skip "out of time: too little left of the ${deadline_s}-s deadline (DEADLINE_S)"
  echo $((cap < left ? cap : left))
}

# run_limited CAP OUTPUT_FILE COMMAND...: runs the command under `timeout` (failing the step when it runs out), its
# output into OUTPUT_FILE and the log; its exit status in $last_rc.
run_limited() {
  local seconds output=$2
  seconds=$(budget "$1")
  shift 2
  echo "+ $*"
  set +e
  timeout --kill-after=10 "$seconds" "$@" 2>&1 | tee "$output"
  last_rc=${PIPESTATUS[0]}
  set -e
  if ((last_rc == 124 || last_rc == 137)); then fail "timed out after ${seconds} s: $(basename "$1")"; fi
}

# The first compiler or CMake error of an output, else its last line: what the report shows as the reason.
first_error() {
  grep -m 1 -E 'error:|CMake Error|Error:' "$1" || grep -v '^\s*$' "$1" | tail -n 1
}

# limited CAP OUTPUT_FILE COMMAND...: run_limited, failing the step when the command fails.
limited() {
  run_limited "$@"
  if ((last_rc != 0)); then fail "$(basename "$3") exited with status $last_rc: $(first_error "$2")"; fi
}

require_build() {
  [[ -f $state/build_trainer.ok ]] || skip "the build failed"
}

require_gpu() {
  ((rehearse)) && return 0
  [[ -z $gpu_unusable ]] || fail "$gpu_unusable"
  [[ -z $no_gpu ]] || skip "no GPU: $no_gpu"
}

# What a build is made from: the tree's sources, CMake files and tests, the packages and OpenCV source in
# device_deps, and the torch it is built against. The device tool copies the tree anew on every call, with new
# timestamps, so ninja would rebuild everything on a warm machine; a complete build records this fingerprint, and a
# run that computes the same one reuses that build without configuring or building.
source_fingerprint() {
  {
    (cd "$root" && find CMakeLists.txt src include tests third_party scripts/device_build.sh \
       -path third_party/device_deps -prune -o -type f -print0 | sort -z | xargs -0 sha256sum)
    cat "$deps/PACKAGES" "$deps/src/opencv/.source" 2>/dev/null || true
    "$python" -c 'import torch; print(torch.__version__, torch.__file__)' 2>/dev/null || true
  } | sha256sum | cut -d' ' -f1
}

build_is_current() {
  [[ -z ${FORCE_BUILD:-} && -f $build/.gpu_check_build && $(cat "$build/.gpu_check_build") == "$fingerprint" ]] ||
    return 1
  local program
  for program in mae_pretrain mae_finetune mae_linprobe mae_visualize mae_bench mae_tests; do
    [[ -x $bin/$program ]] || return 1
  done
}

step_build_opencv() {
  [[ -z ${SKIP_BUILD:-} ]] || skip "SKIP_BUILD is set: using the executables in $bin"
  ! build_is_current || skip "reusing the complete build in $build (same sources; FORCE_BUILD=1 rebuilds)"
  [[ -f $deps/src/opencv/.source ]] ||
    fail "$deps is missing or has no OpenCV source: run 'bash scripts/device_build.sh fetch' where there is internet" \
         "and carry third_party/device_deps"
  figure device_deps_mib "$(du -sm --apparent-size "$deps" | cut -f1)"
  limited 400 "$work/build_opencv.txt" bash "$root/scripts/device_build.sh" opencv
  figure opencv "$(cut -d' ' -f1 "$deps/src/opencv/.source")"
  record_cpu_seconds
}

step_build_trainer() {
  if [[ -n ${SKIP_BUILD:-} ]]; then
    [[ -x $bin/mae_tests ]] || fail "SKIP_BUILD is set but $bin has no executables"
    touch "$state/build_trainer.ok"
    skip "SKIP_BUILD is set: using the executables in $bin"
  fi
  if build_is_current; then
    touch "$state/build_trainer.ok"
    skip "reusing the complete build in $build (same sources; FORCE_BUILD=1 rebuilds)"
  fi
  rm -f "$build/.gpu_check_build"
  [[ -f $build/opencv/.stamp ]] || skip "OpenCV was not built"
  local output=$work/build_trainer.txt
  limited 480 "$output" bash "$root/scripts/device_build.sh" trainer
  figure libtorch "$(grep -o 'mae-cpp: LibTorch .*' "$output" | head -n 1 | cut -d' ' -f3-)"
  figure nccl_headers "$(grep -q 'NCCL headers at' "$output" && echo found || echo 'MISSING: no NCCL')"
  record_cpu_seconds
  local missing=() program
  for program in mae_pretrain mae_finetune mae_linprobe mae_visualize mae_bench mae_tests; do
    [[ -x $bin/$program ]] || missing+=("$program")
  done
  ((${#missing[@]} == 0)) || fail "not built: ${missing[*]}"
  touch "$state/build_trainer.ok"
  echo "$fingerprint" >"$build/.gpu_check_build"
}

# Records the user and system CPU seconds of this step's finished child processes: the second line of bash's `times`,
# which must run in the step's own shell (in a pipe or $(...) it would count a fresh subshell's children: none).
record_cpu_seconds() {
  times >"$state/times.txt"
  figure cpu_seconds "$(tail -n 1 "$state/times.txt" | "$python" -c '
import re, sys
print(round(sum(float(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", sys.stdin.read()))))')"
}

# Proves that no header, library or CMake package of the build came from this machine's system packages of the
# libraries that travel in device_deps, and that the executables load only what they should at run time.
step_dependency_audit() {
  require_build
  # A path component that starts with one of these names (so /usr/local/cuda/lib64/libnvjpeg.so is not one).
  local banned='/(lib)?(opencv|spdlog|fmt|CLI|nlohmann|gtest|gmock|GTest|gloo|Gloo|jpeg|jconfig|jerror|jmorecfg|png'
  banned+='|zlib|zconf|z\.)'
  local problems=0 found cache
  # 1. The CMake caches: every library, include folder and package folder that was found.
  for cache in "$build/CMakeCache.txt" "$build/opencv-build/CMakeCache.txt"; do
    [[ -f $cache ]] || { echo "no $cache"; problems=$((problems + 1)); continue; }
    found=$(grep -E "^[A-Za-z][^#/]*=(.*;)?(/usr|/lib)[^;]*$banned" "$cache" | grep -vE "^CMAKE_" || true)
    if [[ -n $found ]]; then echo "system paths in $cache:"; echo "$found"; problems=$((problems + 1)); fi
  done
  # 2. Every header each object was compiled from, as the compiler reported it (ninja's dependency log).
  if command -v ninja >/dev/null && [[ -f $build/.ninja_deps && -f $build/opencv-build/.ninja_deps ]]; then
    local headers system
    headers=$( (ninja -C "$build" -t deps; ninja -C "$build/opencv-build" -t deps) | grep -E '^    /' | sort -u)
    system=$(grep -E "^    /usr(/local)?/include(/[^ ]*)?$banned" <<<"$headers" || true)
    figure headers_read "$(wc -l <<<"$headers")"
    figure headers_from_device_deps "$(grep -c "$deps" <<<"$headers" || true)"
    if [[ -n $system ]]; then echo "system headers used:"; echo "$system"; problems=$((problems + 1)); fi
  fi
  # 3. What the executables need at run time, and where the loader finds it.
  local program needed resolved bad_needed=() bad_resolved=()
  for program in mae_pretrain mae_finetune mae_linprobe mae_visualize mae_bench mae_tests; do
    needed=$(readelf -d "$bin/$program" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    echo "$program needs: $(tr '\n' ' ' <<<"$needed")"
    if grep -qE '^lib(opencv|jpeg|png|z\.so|gtest)' <<<"$needed"; then bad_needed+=("$program"); fi
    resolved=$(ldd "$bin/$program")
    if grep -q 'not found' <<<"$resolved" ||
       grep -E '^\s*lib(opencv|spdlog|fmt)' <<<"$resolved" | grep -qvF "$deps"; then
      grep -E 'not found|^\s*lib(opencv|spdlog|fmt)' <<<"$resolved"
      bad_resolved+=("$program")
    fi
  done
  figure spdlog_at_run_time "$(ldd "$bin/mae_pretrain" | grep -o 'libspdlog[^ ]* => [^ ]*' | sed "s|$root/||")"
  if ((${#bad_needed[@]})); then
    echo "linked to the system's jpeg, png, zlib, OpenCV or gtest: ${bad_needed[*]}"
    problems=$((problems + 1))
  fi
  if ((${#bad_resolved[@]})); then
    echo "run-time libraries not found, or not from device_deps: ${bad_resolved[*]}"
    problems=$((problems + 1))
  fi
  if ((isolated)); then figure masked_system_paths "$(wc -l <"$state/masked.txt")"; fi
  ((problems == 0)) || fail "$problems kind(s) of system dependency found (see the log)"
}

# gtest_step FILTER: runs those tests of mae_tests and reads the outcome from gtest's JSON report.
gtest_step() {
  local filter=$1 output=$work/$GPU_CHECK_STEP.json
  rm -f "$output"
  run_limited 180 "$work/$GPU_CHECK_STEP.txt" "$bin/mae_tests" --gtest_filter="$filter" --gtest_output="json:$output"
  # gtest's report names the failing tests and their messages; without one the run itself broke.
  [[ -f $output ]] ||
    fail "mae_tests exited with status $last_rc and wrote no report: $(tail -n 1 "$work/$GPU_CHECK_STEP.txt")"
  local machine="no GPU: ${no_gpu:-rehearsal}"
  if [[ -n $gpu_unusable ]] || { [[ -z $no_gpu ]] && ((!rehearse)); }; then machine=gpu; fi
  helper gtest "$output" "$machine"
  ((last_rc == 0)) || fail "mae_tests exited with status $last_rc"
}

step_cuda_tests() {
  require_build
  local names
  names=$(helper gpu_tests "$root/tests" GpuParity)
  figure tests "$names:CudaRuntime.*"
  gtest_step "$names:CudaRuntime.*"
}

step_gpu_parity() {
  require_build
  local tolerance="fp32: loss and every gradient within 1e-4 (relative to the loss, to each gradient's largest entry);"
  figure tolerance "$tolerance bf16 autocast: 5e-2"
  gtest_step 'GpuParity.*'
}

require_data() {
  if [[ ! -d $data/train || ! -d $data/val ]]; then
    fail "no image folder at $data (carry data/demo, or unset DATA for a synthetic one)"
  fi
}

# pretrain AMP: ~34 steps (2 epochs of 17 batches of 256 demo digits), then one more epoch resumed from the checkpoint.
pretrain_step() {
  require_build
  require_gpu
  require_data
  local amp=$1 out=$work/pretrain_$1
  rm -rf "$out"
  local args=(--config "$root/configs/demo_pretrain.json" "${run_args[@]}" --data_path "$data" --amp "$amp"
              --batch_size "$pretrain_batch" --save_every 1 --output_dir "$out" --log_dir "$out")
  limited 150 "$work/pretrain_$amp.txt" "$bin/mae_pretrain" "${args[@]}" --epochs 2
  figure precision "$(grep -o 'precision: .*' "$work/pretrain_$amp.txt" | head -n 1 | cut -d' ' -f2-)"
  helper epochs "$work/pretrain_$amp.txt" 0
  helper losses "$out/log.txt" 2 falls
  [[ -f $out/checkpoint-last.pth && -f $out/checkpoint-1.pth ]] || fail "no checkpoint-1.pth / checkpoint-last.pth"
  touch "$state/pretrain_$amp.checkpoint"  # written by this run: the classifier steps may start from it
  figure checkpoint_mib "$(du -m "$out/checkpoint-last.pth" | cut -f1)"
  limited 120 "$work/pretrain_${amp}_resumed.txt" "$bin/mae_pretrain" "${args[@]}" --epochs 3 \
    --resume "$out/checkpoint-last.pth"
  grep -q 'With optim & sched!' "$work/pretrain_${amp}_resumed.txt" || fail "resume: no 'With optim & sched!'"
  ! grep -qE 'Epoch: \[[01]\]' "$work/pretrain_${amp}_resumed.txt" || fail "resume: trained epoch 0 or 1 again"
  grep -q 'Epoch: \[2\]' "$work/pretrain_${amp}_resumed.txt" || fail "resume: epoch 2 did not run"
  helper losses "$out/log.txt" 3 resumed
}

step_pretrain_bf16() { pretrain_step bf16; }
step_pretrain_fp16() { pretrain_step fp16; }

# classifier_step JOB CONFIG: one epoch of fine-tuning or linear probing from the bf16 pre-training checkpoint.
classifier_step() {
  require_build
  require_gpu
  require_data
  local job=$1 config=$2 out=$work/$1 checkpoint=$work/pretrain_bf16/checkpoint-last.pth
  [[ -f $state/pretrain_bf16.checkpoint ]] || skip "pretrain_bf16 wrote no checkpoint"
  rm -rf "$out"
  limited 150 "$work/$job.txt" "$bin/mae_$job" --config "$root/configs/$config" "${run_args[@]}" --data_path "$data" \
    --amp bf16 --epochs 1 --finetune "$checkpoint" --output_dir "$out" --log_dir "$out"
  helper epochs "$work/$job.txt" 0
  helper losses "$out/log.txt" 1 classifier
}

step_finetune() { classifier_step finetune finetune_demo.json; }
step_linprobe() { classifier_step linprobe linprobe_demo.json; }

# One epoch of pre-training under torchrun: process group (NCCL on GPUs, Gloo on the CPU), the start-up broadcast of
# rank 0's weights, and the gradient all-reduce of every step.
step_torchrun() {
  require_build
  require_gpu
  require_data
  local nproc=${TORCHRUN_NPROC:-1} backend=NCCL out=$work/torchrun
  if ((rehearse)); then nproc=${TORCHRUN_NPROC:-2}; backend=Gloo; fi
  rm -rf "$out"
  figure nproc_per_node "$nproc"
  limited 150 "$work/torchrun.txt" "$python" -m torch.distributed.run --standalone --nnodes 1 \
    --nproc-per-node "$nproc" --no-python "$bin/mae_pretrain" --config "$root/configs/demo_pretrain.json" \
    "${run_args[@]}" --data_path "$data" --amp bf16 --epochs 1 --batch_size $((pretrain_batch / 2)) --dist_timeout 120 \
    --output_dir "$out" --log_dir "$out"
  local init
  init=$(grep -o 'distributed init (rank 0): .*' "$work/torchrun.txt" | head -n 1 || true)
  if [[ -z $init ]]; then
    fail "mae_pretrain ran as a single process under torchrun: no process group, no broadcast, no all-reduce" \
         "(LaunchEnv::distributed() should be true under torchrun)"
  fi
  figure init "${init#distributed init (rank 0): }"
  [[ $init == *"backend $backend"* ]] || fail "expected backend $backend: $init"
  helper epochs "$work/torchrun.txt" 0
  helper losses "$out/log.txt" 1 single
}

# bench_step MODEL: `mae_bench step` of MAE pre-training in bf16, images/s and MFU.
bench_step() {
  require_build
  require_gpu
  local model=$1 args=(--device cuda --batch_size "${BENCH_BATCH:-64}" --warmup 5 --iters 20)
  ((rehearse)) && args=(--device cpu --batch_size 2 --warmup 1 --iters 1)
  if [[ -n $peak_tflops ]]; then
    args+=(--peak_tflops "$peak_tflops")
    figure peak_tflops "$peak_tflops ($peak_source)"
  else
    figure mfu "not computed: $peak_source"
  fi
  limited 150 "$work/bench_$model.txt" "$bin/mae_bench" step --job pretrain --model "$model" --amp bf16 "${args[@]}" \
    --json
  helper bench "$work/bench_$model.txt"
}

step_bench_vit_base() { bench_step mae_vit_base_patch16; }
step_bench_vit_large() { bench_step mae_vit_large_patch16; }

# run_step NAME: runs step_NAME in a subshell and records its status, seconds, reason and figures.
run_step() {
  local name=$1 started rc=0
  export GPU_CHECK_STEP=$name GPU_CHECK_REASON=$state/$name.reason GPU_CHECK_FIGURES=$state/$name.figures
  rm -f "$GPU_CHECK_REASON" "$GPU_CHECK_FIGURES"
  touch "$GPU_CHECK_FIGURES"
  echo "gpu_check.sh: $name ..."
  started=$(now)
  set +e
  (
    set -e
    cd "$root"
    "step_$name"
  ) >"$logs/$name.log" 2>&1
  rc=$?
  set -e
  local status=passed
  case $rc in
    0) ;;
    3) status=skipped ;;
    *)
      status=failed
      [[ -s $GPU_CHECK_REASON ]] ||
        echo "exit status $rc: $(grep -v '^\s*$' "$logs/$name.log" | tail -n 1)" >"$GPU_CHECK_REASON"
      ;;
  esac
  [[ -f $GPU_CHECK_REASON ]] || : >"$GPU_CHECK_REASON"
  helper record "$name" "$status" "$started" "$(now)"
  pack_logs
  echo "gpu_check.sh: $name $status $(cat "$GPU_CHECK_REASON")"
}

# The first of these folders that holds an executable named $1 (PATH first), or nothing.
find_tool() {
  local name=$1 dir found
  if found=$(command -v "$name"); then echo "$found"; return; fi
  for dir in ${CUDA_HOME:+"$CUDA_HOME/bin"} ${CUDA_PATH:+"$CUDA_PATH/bin"} /usr/local/cuda/bin /usr/local/nvidia/bin \
             $(ls -d /usr/local/cuda-*/bin 2>/dev/null | sort -rV); do
    if [[ -x $dir/$name ]]; then echo "$dir/$name"; return; fi
  done
}

# Puts nvidia-smi and nvcc on PATH where a GPU image keeps them outside it (torch's CMake finds the toolkit through
# nvcc, and it does not look in /usr/local/cuda by itself), and, where the toolkit has no CUDA runtime headers, names
# the Python wheel's (site-packages/nvidia/cu13/include) for the build. Exports GPU_CHECK_TOOLCHAIN, what was used,
# for the report.
find_gpu_toolchain() {
  local notes=() smi nvcc toolkit wheel_include
  smi=$(find_tool nvidia-smi)
  if [[ -n $smi ]]; then
    PATH=$PATH:$(dirname "$smi")
    notes+=("nvidia-smi: $smi")
  else
    notes+=("nvidia-smi: not found")
  fi
  nvcc=$(find_tool nvcc)
  if [[ -n $nvcc ]]; then
    toolkit=$(cd "$(dirname "$nvcc")/.." && pwd)
    PATH=$(dirname "$nvcc"):$PATH
    export CUDACXX=$nvcc CUDA_HOME=${CUDA_HOME:-$toolkit} CUDAToolkit_ROOT=${CUDAToolkit_ROOT:-$toolkit}
    notes+=("nvcc: $nvcc")
  else
    notes+=("nvcc: not found (torch's CMake needs it to configure a CUDA build)")
  fi
  if [[ -z $toolkit || ! -f $toolkit/include/cuda_runtime_api.h ]]; then
    wheel_include=$("$python" -c 'import os, torch
print(os.path.join(os.path.dirname(os.path.dirname(torch.__file__)), "nvidia", "cu13", "include"))' 2>/dev/null || true)
    if [[ -f $wheel_include/cuda_runtime_api.h ]]; then
      export MAE_CUDA_INCLUDE_DIR=$wheel_include
      notes+=("CUDA headers: the wheel's $wheel_include")
    else
      notes+=("CUDA headers: not found")
    fi
  else
    notes+=("CUDA headers: $toolkit/include")
  fi
  export PATH GPU_CHECK_TOOLCHAIN
  GPU_CHECK_TOOLCHAIN=$(IFS=';'; echo "${notes[*]}")
}

# logs.tgz beside the report: every step's log so far, replaced whole (a run cut short keeps the last complete one).
pack_logs() {
  tar -czf "$state/logs.tgz" -C "$work" logs && mv -f "$state/logs.tgz" "$report_dir/logs.tgz"
}

# Sets no_gpu to why there is no usable GPU, or to "" when there is one; gpu_unusable when a GPU is seen but torch
# cannot use it (the GPU steps then fail, rather than the check passing as a dry run).
detect_gpu() {
  no_gpu= gpu_unusable=
  local seen=
  if command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    seen="nvidia-smi lists $(nvidia-smi -L | grep -c '^GPU') GPU(s)"
  elif [[ -e /dev/nvidia0 ]]; then
    seen="/dev/nvidia0 exists"
  fi
  "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null && return
  if [[ -n $seen ]]; then
    gpu_unusable="a GPU is there ($seen) but torch.cuda.is_available() is false for $python"
    no_gpu=$gpu_unusable
  else
    no_gpu="no NVIDIA GPU seen (no nvidia-smi listing, no /dev/nvidia0) and torch.cuda.is_available() is false"
  fi
}

# Dense bf16 peak of the GPU, for the MFU: PEAK_TFLOPS, else from the name.
pick_peak() {
  peak_tflops=${PEAK_TFLOPS:-}
  peak_source="PEAK_TFLOPS"
  [[ -n $peak_tflops ]] && return
  local name
  name=$( (nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || true) | head -n 1)
  case $name in
    *H100*PCIe* | *H100*NVL* | *H200*NVL*) peak_source="unknown peak for '$name': set PEAK_TFLOPS" ;;
    *H100* | *H200*) peak_tflops=989; peak_source="H100/H200 SXM dense bf16" ;;
    *A100*) peak_tflops=312; peak_source="A100 dense bf16" ;;
    *) peak_source="unknown peak for '${name:-no GPU}': set PEAK_TFLOPS" ;;
  esac
  if ((rehearse)) && [[ -z $peak_tflops ]]; then peak_tflops=1; peak_source="rehearsal: an arbitrary 1 TFLOPS"; fi
}

main() {
  parse_args "$@"
  if ((rehearse)); then  # the CPU is far slower than a GPU at the same steps, and no time limit applies here
    cap_scale=${CAP_SCALE:-20}
    deadline_s=${DEADLINE_S:-86400}
  fi
  ((isolated)) && enter_isolation "$@"
  mkdir -p "$report_dir" "$work"
  report_dir=$(cd "$report_dir" && pwd)
  state=$work/state
  logs=$work/logs
  rm -rf "$state" "$logs" "$report_dir/report.md" "$report_dir/report.json" "$report_dir/logs.tgz"
  mkdir -p "$state" "$logs"
  write_helper "$state/helper.py"
  deadline=$(( $(date +%s) + deadline_s ))
  if ((isolated)); then mask_system_packages "$state/masked.txt"; fi

  find_gpu_toolchain
  detect_gpu
  pick_peak
  fingerprint=$(source_fingerprint)
  local mode="gpu"
  if [[ -n $gpu_unusable ]]; then
    mode="GPU unusable ($gpu_unusable): the GPU steps fail"
  elif [[ -n $no_gpu ]]; then
    mode="no GPU ($no_gpu): dry run"
  fi
  if ((rehearse)); then
    mode="rehearsal on the CPU (${no_gpu:-a GPU is present but unused}): GPU steps at small sizes"
  fi
  # 256 demo digits a step: 17 steps an epoch of data/demo's 4,500.
  run_args=(--device cuda --num_workers 4)
  pretrain_batch=256
  data=${DATA:-$root/data/demo}
  if ((rehearse)); then
    # On the CPU: 400 synthetic images in batches of 32 (12 steps an epoch).
    run_args=(--device cpu --num_workers 2)
    pretrain_batch=32
    if [[ -z ${DATA:-} ]]; then data=$work/rehearsal_data; helper synthetic "$data" 40 10; fi
  elif [[ ! -d $data && -z ${DATA:-} ]]; then
    data=$work/synthetic_demo
    helper synthetic "$data" 450 50
  fi

  # The headline figures (parity, then MFU) come right after the build, so a slow build still leaves them in the
  # report; torchrun, whose NCCL start-up is the likeliest to hang, comes last.
  local steps=(build_opencv build_trainer gpu_parity bench_vit_base bench_vit_large dependency_audit cuda_tests
               pretrain_bf16 pretrain_fp16 finetune linprobe torchrun)
  helper start "$mode" "$isolated" "$data" "${steps[@]}"
  local step
  for step in "${steps[@]}"; do
    run_step "$step"
  done
  helper finish
  echo "gpu_check.sh: report in $report_dir/report.md"
  helper result
}

# ---------------------------------------------------------------------------------------------------------------
# The Python half (standard library only): figures from the runs' outputs, the synthetic image folder, the report.
# ---------------------------------------------------------------------------------------------------------------
write_helper() {
  cat >"$1" <<'PY'
import datetime, json, math, os, pathlib, platform, re, shutil, struct, subprocess, sys, zlib

STATE = pathlib.Path(os.environ.get('GPU_CHECK_STATE', pathlib.Path(__file__).parent))
DESCRIPTIONS = {
    'build_opencv': 'OpenCV core/imgproc/imgcodecs from source, static (device_build.sh opencv)',
    'build_trainer': 'the five executables and mae_tests against the Python torch (device_build.sh trainer)',
    'dependency_audit': 'no header, library or CMake package from system packages; run-time libraries resolve',
    'cuda_tests': 'the gtest cases that skip without a GPU (GpuParity apart), and CudaRuntime.*',
    'gpu_parity': 'MAE loss and gradients on the GPU against the CPU: fp32 1e-4, bf16 autocast 5e-2',
    'pretrain_bf16': 'mae_pretrain --amp bf16: ~34 steps on the demo data, loss finite and falling, resume',
    'pretrain_fp16': 'mae_pretrain --amp fp16 (loss scaling): the same',
    'finetune': 'mae_finetune, one epoch from the bf16 checkpoint',
    'linprobe': 'mae_linprobe, one epoch from the bf16 checkpoint',
    'torchrun': 'mae_pretrain under torchrun: process group, broadcast, gradient all-reduce',
    'bench_vit_base': 'mae_bench step, MAE ViT-B/16 pre-training, bf16',
    'bench_vit_large': 'mae_bench step, MAE ViT-L/16 pre-training, bf16',
}


def fail(reason):
    pathlib.Path(os.environ['GPU_CHECK_REASON']).write_text(reason + '\n')
    sys.exit(1)


def figure(key, value):
    with open(os.environ['GPU_CHECK_FIGURES'], 'a') as f:
        f.write(f'{key}\t{value}\n')


def command(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ''


def machine():
    facts = {}
    smi = command('nvidia-smi', '--query-gpu=name,driver_version,memory.total,compute_cap', '--format=csv,noheader')
    facts['gpu'] = smi.splitlines() if smi else 'none (no nvidia-smi or no GPU)'
    header = re.search(r'CUDA Version: ([\d.]+)', command('nvidia-smi'))
    facts['driver_cuda'] = header.group(1) if header else None
    probe = ('import json, torch; c = torch.cuda.is_available(); print(json.dumps({"torch": torch.__version__, '
             '"torch_cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if c else None, '
             '"nccl": ".".join(map(str, torch.cuda.nccl.version())) if c else None, "cuda_available": c, '
             '"devices": torch.cuda.device_count() if c else 0}))')
    try:
        facts.update(json.loads(command(sys.executable, '-c', probe)))
    except json.JSONDecodeError:
        facts['torch'] = 'cannot import torch'
    facts['python'] = f'{sys.executable} {platform.python_version()}'
    nvcc = shutil.which('nvcc') or ('/usr/local/cuda/bin/nvcc' if os.path.exists('/usr/local/cuda/bin/nvcc') else None)
    facts['nvcc'] = command(nvcc, '--version').splitlines()[-2:] if nvcc else 'not found'
    os_release = pathlib.Path('/etc/os-release')
    pretty = re.search(r'^PRETTY_NAME="?([^"\n]*)', os_release.read_text(), re.M) if os_release.exists() else None
    facts['os'] = pretty.group(1) if pretty else platform.platform()
    facts['kernel'] = platform.release()
    facts['glibc'] = ' '.join(platform.libc_ver())
    facts['cpus'] = os.cpu_count()
    cpu = re.search(r'^model name\s*:\s*(.*)$', pathlib.Path('/proc/cpuinfo').read_text(), re.M)
    facts['cpu'] = cpu.group(1) if cpu else platform.processor()
    facts['c++'] = command('c++', '--version').splitlines()[0] if shutil.which('c++') else 'not found'
    facts['cmake'] = command('cmake', '--version').splitlines()[0] if shutil.which('cmake') else 'not found'
    facts['ninja'] = command('ninja', '--version') or 'not found'
    facts['gpu_toolchain'] = os.environ.get('GPU_CHECK_TOOLCHAIN', '').split(';')
    return facts


def load_state():
    return json.loads((STATE / 'state.json').read_text())


def save_state(state):
    (STATE / 'state.json').write_text(json.dumps(state, indent=1))
    write_report(state)


def number(text):
    try:
        value = float(text)
        return int(value) if value.is_integer() and 'e' not in text.lower() and '.' not in text else value
    except ValueError:
        return text


def fmt(value):
    if value is None:
        return '-'
    if isinstance(value, float):
        return f'{value:.6g}'
    return str(value)


def write_report(state):
    report = pathlib.Path(state['report_dir'])
    steps = []
    for name in state['plan']:
        step = state['steps'].get(name) or {'status': 'not run', 'seconds': None,
                                             'reason': 'the check stopped before this step', 'figures': {}}
        steps.append({'name': name, 'description': DESCRIPTIONS.get(name, ''), **step,
                  'log': f'logs.tgz: logs/{name}.log'})
    counts = {s: sum(1 for step in steps if step['status'] == s) for s in ('passed', 'failed', 'skipped', 'not run')}
    out_of_time = any(step['reason'].startswith('out of time') for step in steps)
    result = 'failed' if counts['failed'] or out_of_time else ('incomplete' if counts['not run'] else 'passed')
    document = {'tool': 'scripts/gpu_check.sh', 'result': result, 'counts': counts, 'mode': state['mode'],
                'isolated': state['isolated'], 'data': state['data'], 'started': state['started'],
                'finished': state.get('finished'), 'total_seconds': state.get('total_seconds'),
                'git': state['git'], 'machine': state['machine'], 'steps': steps}
    (report / 'report.json').write_text(json.dumps(document, indent=2) + '\n')
    lines = ['# mae-cpp GPU check', '',
             f"**{result}**: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
             + (f", {counts['not run']} not run" if counts['not run'] else '')
             + (f" in {state['total_seconds']:.0f} s" if state.get('total_seconds') else ''), '',
             f"- mode: {state['mode']}", f"- isolated from system packages: {'yes' if state['isolated'] else 'no'}",
             f"- data: {state['data']}", f"- commit: {state['git']}",
             f"- started {state['started']}" + (f", finished {state['finished']}" if state.get('finished') else ''),
             '', '## Machine', '', '| | |', '|---|---|']
    for key, value in state['machine'].items():
        shown = '; '.join(value) if isinstance(value, list) else fmt(value)
        lines.append(f'| {key} | {shown} |')
    lines += ['', '## Steps', '', '| step | status | seconds | figures | reason |', '|---|---|---|---|---|']
    for step in steps:
        figures = '<br>'.join(f'{k}: {fmt(v)}' for k, v in step['figures'].items())
        seconds = '' if step['seconds'] is None else f"{step['seconds']:.1f}"
        reason = step['reason'].replace('|', '\\|')
        lines.append(f"| {step['name']} | {step['status']} | {seconds} | {figures.replace('|', '/')} | {reason} |")
    lines += ['', 'What each step checks:', '']
    lines += [f"- `{step['name']}`: {step['description']} (log: `{step['log']}`)" for step in steps]
    (report / 'report.md').write_text('\n'.join(lines) + '\n')


def start(mode, isolated, data, *plan):
    git = command('git', '-C', os.environ['GPU_CHECK_ROOT'], 'describe', '--always', '--dirty')
    state = {'report_dir': os.environ['GPU_CHECK_REPORT_DIR'], 'mode': mode, 'isolated': isolated == '1',
             'data': data, 'started': datetime.datetime.now().isoformat(timespec='seconds'), 'git': git or 'unknown',
             'machine': machine(), 'plan': list(plan), 'steps': {}, 't0': datetime.datetime.now().timestamp()}
    save_state(state)


def record(name, status, started, finished):
    state = load_state()
    figures = {}
    for line in pathlib.Path(os.environ['GPU_CHECK_FIGURES']).read_text().splitlines():
        key, _, value = line.partition('\t')
        figures[key] = number(value)
    reason = pathlib.Path(os.environ['GPU_CHECK_REASON']).read_text().strip()
    state['steps'][name] = {'status': status, 'seconds': round(float(finished) - float(started), 1),
                            'reason': reason, 'figures': figures}
    save_state(state)


def finish():
    state = load_state()
    state['finished'] = datetime.datetime.now().isoformat(timespec='seconds')
    state['total_seconds'] = datetime.datetime.now().timestamp() - state['t0']
    save_state(state)


def result():
    document = json.loads((pathlib.Path(load_state()['report_dir']) / 'report.json').read_text())
    print(f"gpu_check.sh: {document['result']} {json.dumps(document['counts'])}")
    sys.exit(0 if document['result'] == 'passed' else 1)


def gpu_tests(tests_dir, exclude_suite):
    # The test cases that skip themselves without a GPU: a TEST(...) whose body has GTEST_SKIP() << "no GPU.
    names = []
    for path in sorted(pathlib.Path(tests_dir).rglob('*.cpp')):
        text = path.read_text(errors='replace')
        heads = list(re.finditer(r'^TEST(?:_F|_P)?\(\s*(\w+)\s*,\s*(\w+)\s*\)', text, re.M))
        for i, head in enumerate(heads):
            body = text[head.end():heads[i + 1].start() if i + 1 < len(heads) else len(text)]
            if re.search(r'GTEST_SKIP\(\)\s*<<\s*"no GPU', body) and head.group(1) != exclude_suite:
                names.append(f'{head.group(1)}.{head.group(2)}')
    print(':'.join(names))


def gtest(report_path, machine):
    # machine: "gpu", or why there is none: then the GPU tests skip themselves and the step is skipped as a whole
    # (what ran without a GPU is listed in its reason).
    report = json.loads(pathlib.Path(report_path).read_text())
    passed, skipped, failed = [], [], []
    for suite in report.get('testsuites', []):
        for test in suite.get('testsuite', []):
            name = f"{suite['name']}.{test['name']}"
            for key, value in test.items():  # RecordProperty(...) figures
                if key not in {'name', 'file', 'line', 'status', 'result', 'timestamp', 'time', 'classname',
                               'failures', 'skipped'}:
                    figure(f'{name}.{key}', value)
            if test.get('failures'):
                message = ' '.join(test['failures'][0].get('failure', '').split())[:300]
                failed.append(f'{name}: {message}')
            elif test.get('result') == 'SKIPPED':
                skipped.append(name)
            else:
                passed.append(name)
    figure('passed', len(passed))
    figure('skipped', len(skipped))
    figure('failed', len(failed))
    if failed:
        fail(f'{len(failed)} failed: ' + ' / '.join(failed))
    if machine != 'gpu':
        pathlib.Path(os.environ['GPU_CHECK_REASON']).write_text(
            f"{machine} ({len(skipped)} test(s) skipped themselves"
            + (f"; passed without a GPU: {', '.join(passed)}" if passed else '') + ')\n')
        sys.exit(3)
    if skipped:
        fail(f'skipped on a GPU machine: {", ".join(skipped)}')
    if not passed:
        fail('no test ran (check the filter)')


def epochs(output_path, epoch):
    # Steps of one epoch, from the MetricLogger's lines "Epoch: [0]  [ 0/17]  eta: ...  max mem: 9120": on CUDA the
    # allocator's peak (MB), on the CPU (rehearsal) "max rss: N", the process's peak resident set.
    text = pathlib.Path(output_path).read_text(errors='replace')
    positions = re.findall(rf'Epoch: \[{epoch}\]\s+\[\s*(\d+)/(\d+)\]', text)
    if positions:
        figure('steps_per_epoch', int(positions[-1][1]))
    memory = re.findall(r'max (mem|rss): (\d+)', text)
    if memory:
        kind, mib = memory[-1]
        figure(f'max_{kind}_mib', int(mib))
    else:
        fail('no peak memory ("max mem" / "max rss") on the progress lines')
    total = re.search(r'Training time (\S+)', text)
    if total:
        figure('training_time', total.group(1))


def losses(log_path, count, check):
    # log.txt: one JSON line per epoch, as the reference's.
    path = pathlib.Path(log_path)
    if not path.exists():
        fail(f'no {path}')
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    count = int(count)
    if len(lines) != count:
        fail(f'{path.name} has {len(lines)} lines, expected {count}')
    values = [line.get('train_loss') for line in lines]
    if any(not isinstance(v, (int, float)) or not math.isfinite(v) for v in values):
        fail(f'train_loss not finite: {values}')
    if check == 'falls':
        figure('train_loss_epoch0', values[0])
        figure('train_loss_epoch1', values[1])
        if not values[1] < values[0]:
            fail(f'train_loss did not fall: {values}')
    elif check == 'resumed':
        figure('train_loss_epoch2_resumed', values[2])
    elif check == 'classifier':
        line = lines[0]
        figure('train_loss', line['train_loss'])
        for key in ('test_loss', 'test_acc1'):
            if not isinstance(line.get(key), (int, float)) or not math.isfinite(line[key]):
                fail(f'{key} not finite: {line.get(key)}')
            figure(key, line[key])
    else:
        figure('train_loss', values[0])


def bench(output_path):
    results = [json.loads(line) for line in pathlib.Path(output_path).read_text().splitlines()
               if line.startswith('{')]
    if not results:
        fail('mae_bench printed no JSON line')
    r = results[-1]
    figure('images_per_second', round(r['images_per_second'], 2))
    figure('step_ms', round(r['median_step_seconds'] * 1e3, 1))
    figure('batch', r['batch_size'])
    figure('achieved_tflops', float(f"{r['achieved_tflops']:.3g}"))
    if r.get('mfu') is not None:
        figure('mfu_percent', round(r['mfu'] * 100, 1))
    figure('peak_memory_mib', round(r['peak_memory_bytes'] / 2**20))
    figure('precision', r['precision'])
    if not r['images_per_second'] > 0:
        fail('no images/s')


def png(path, width, height, pixels):
    # An 8-bit grey PNG: the signature, IHDR, one IDAT (every row with filter 0), IEND.
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    rows = b''.join(b'\0' + bytes(pixels[y * width:(y + 1) * width]) for y in range(height))
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0))
                     + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))


def synthetic(folder, train, val):
    # An image folder of data/demo's shape (10 classes of 20x20 grey PNGs; train + val images a class): class c is a
    # stripe pattern of orientation c with a per-image phase and period, so the loss can fall and the classes can be
    # learnt. For a node the digits did not travel to (450 + 50), and for the CPU rehearsal (40 + 10).
    import random
    rng = random.Random(0)
    root = pathlib.Path(folder)
    shutil.rmtree(root, ignore_errors=True)
    train, val = int(train), int(val)
    for c in range(10):
        angle = math.pi * c / 10
        for i in range(train + val):
            split = 'train' if i < train else 'val'
            (root / split / str(c)).mkdir(parents=True, exist_ok=True)
            phase, period = rng.uniform(0, 2 * math.pi), rng.uniform(4, 7)
            pixels = [int(127.5 + 100 * math.sin((x * math.cos(angle) + y * math.sin(angle)) * 2 * math.pi / period
                                                 + phase) + rng.uniform(-20, 20)) for y in range(20) for x in range(20)]
            png(root / split / str(c) / f'{c}_{i:03d}.png', 20, 20, [min(255, max(0, p)) for p in pixels])
    print(f'gpu_check.sh: wrote a synthetic image folder ({train} + {val} images of each of 10 classes) at {root}')


if __name__ == '__main__':
    globals()[sys.argv[1]](*sys.argv[2:])
PY
  export GPU_CHECK_STATE=$state GPU_CHECK_REPORT_DIR=$report_dir GPU_CHECK_ROOT=$root
}

main "$@"

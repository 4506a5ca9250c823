#pragma once
// mae_bench's training-step measurements: one job's step (forward, backward, optimizer step) as the training loops
// run it, timed after warm-up on synthetic or real data, with model FLOPs, achieved FLOP/s and peak memory.
#include <ATen/core/Tensor.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "mae/models/architecture.h"

namespace mae::engine {

struct StepBenchOptions {
  std::string job = "pretrain";  // pretrain | finetune | linprobe | inference
  std::string model = "mae_vit_base_patch16";  // an MAE or a classifier name; each job takes the matching one
  int batch_size = 16;
  int input_size = 224;
  std::string amp = "off";  // off | bf16
  std::string device = "cpu";
  int warmup = 2;
  int iters = 5;
  double mask_ratio = 0.75;
  std::string data;  // an image folder: the real threaded loader instead of synthetic batches (loader_batches)
  int num_workers = 2;
  double peak_tflops = 0.0;  // the device's peak for the precision, for the MFU; 0: not reported
  uint64_t seed = 0;
};

struct StepBenchResult {
  models::MaeOptions architecture;  // the encoder (and, for pre-training, the decoder) that ran
  int64_t num_classes = 0;
  double median_step_seconds = 0.0;
  double images_per_second = 0.0;
  double flops_per_image = 0.0;  // of the whole step: 3x forward when training the full model
  double achieved_flops = 0.0;
  std::optional<double> mfu;  // achieved / peak
  int64_t peak_memory_bytes = 0;
  std::string memory_kind;  // "peak RSS" on the CPU, "CUDA allocator peak" on a GPU
  int threads = 0;
};

// The next (images, labels) batch; run_step_bench moves it to the device (a no-op when it is there).
using BatchSource = std::function<std::pair<at::Tensor, at::Tensor>()>;

// Times options.iters steps after options.warmup, on `batches` when given, else on one synthetic batch
// (N(0, 1) images, uniform labels).
StepBenchResult run_step_bench(const StepBenchOptions& options, const BatchSource& batches = {});

// One line of JSON with every option and result, for scripts/bench_compare.py.
std::string to_json(const StepBenchOptions& options, const StepBenchResult& result);

}  // namespace mae::engine

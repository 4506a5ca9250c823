#pragma once
// mae_bench's training-step measurements: one job's step (forward, backward, optimizer step) as the training loops
// run it, timed after warm-up on synthetic or real data, with model FLOPs, achieved FLOP/s and peak memory.
#include <ATen/core/Tensor.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "mae/config/tool_configs.h"
#include "mae/models/architecture.h"

namespace mae::jobs {

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
  std::string device;       // the device that ran (an explicit cuda:N)
  std::string precision;    // what --amp resolved to: "fp32", "bf16 autocast", "fp16 autocast with loss scaling"
  int threads = 0;
};

// The next (images, labels) batch; run_step_bench moves it to the device (a no-op when it is there).
using BatchSource = std::function<std::pair<at::Tensor, at::Tensor>()>;

// Times config.iters steps after config.warmup, on `batches` when given, else on one synthetic batch (N(0, 1)
// images, uniform labels). Each step is the jobs' own: the forward pass under autocast, then TrainingStep.
StepBenchResult run_step_bench(const config::StepBenchConfig& config, const BatchSource& batches = {});

// One line of JSON with every setting and result, for scripts/bench_compare.py.
std::string to_json(const config::StepBenchConfig& config, const StepBenchResult& result);

// The text report of one step benchmark.
std::string describe(const config::StepBenchConfig& config, const StepBenchResult& result);

}  // namespace mae::jobs

#pragma once
// What every job sets up the same way: the device, the precision, the seeds, and log.txt.
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "mae/data/loader_options.h"
#include "mae/engine/autocast.h"
#include "mae/engine/step_profiler.h"
#include "mae/distributed/communicator.h"
#include "mae/distributed/launch_env.h"

namespace mae::config {
class JobConfig;
}

namespace mae::jobs {

struct RunContext {
  c10::Device device{c10::kCPU};
  engine::Precision precision;                              // autocast on `device` and loss scaling, from --amp
  distributed::LaunchEnv launch;                            // this process's rank and the job's size
  std::shared_ptr<distributed::Communicator> communicator;  // only in a multi-process job
  std::optional<c10::ScalarType> grad_compression;          // --grad_compression bf16 / fp16; none: fp32 buckets

  int rank() const { return launch.rank; }
  int world_size() const { return launch.world_size; }
  bool main_process() const { return rank() == 0; }  // the one that writes logs and checkpoints
};

// Binds the device (distributed::bind_device: every cuda becomes an explicit cuda:N, a rank's from its local rank;
// cudnn.benchmark on, as main_*.py), joins the multi-process job the launcher started, if any (`launch`), resolves
// --amp, seeds torch with seed + rank (the reference's torch.manual_seed(args.seed + misc.get_rank())), and logs the
// choices.
RunContext make_run_context(const config::JobConfig& config, const distributed::LaunchEnv& launch);

// Once a job has resolved its shape settings (from --model, the shape flags or the checkpoint it starts from): rank
// 0 writes <output_dir>/config.json, which then equals the `args` of the checkpoints the job writes, and the
// settings are logged.
void record_resolved_config(const config::JobConfig& config, const distributed::LaunchEnv& launch);

// The training loader's settings, for an image folder or tar shards alike, from --batch_size, --num_workers,
// --pin_mem, --seed, --strict_data, --max_image_pixels and, for shards, --shuffle_buffer, --samples_per_epoch and
// --pipe_timeout (shuffled, drop_last, as the reference's training loaders).
data::LoaderOptions training_loader_options(const config::JobConfig& config, const RunContext& context);

// The profiler of --profile_steps (disarmed without it), writing <profile_dir or output_dir/profile>/<job>.rank<R>.
// steps<A>-<B>.pt.trace.json: each rank its own trace, named so that TensorBoard's profile plugin finds it.
std::unique_ptr<engine::StepProfiler> make_step_profiler(const config::JobConfig& config, const RunContext& context,
                                                         const std::string& job);

// Reseeds torch's generators for one training step from (seed, rank, epoch, step), so that random masking and drop
// path depend only on the step: a resumed run continues exactly as an uninterrupted one.
void seed_step(int64_t seed, int rank, int64_t epoch, int64_t step);

using LogValue = std::variant<double, int64_t>;
// Appends one JSON object (keys in the given order) as a line to <output_dir>/log.txt, as the reference does.
void append_log_txt(const std::string& output_dir, const std::vector<std::pair<std::string, LogValue>>& fields);

}  // namespace mae::jobs

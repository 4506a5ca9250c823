#include "mae/jobs/run_context.h"

#include <ATen/Context.h>
#include <torch/utils.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mae/config/config_file.h"
#include "mae/config/job_config.h"
#include "mae/distributed/device_binding.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/smoke_steps.h"
#include "mae/util/strings.h"

namespace mae::jobs {

RunContext make_run_context(const config::JobConfig& config, const distributed::LaunchEnv& launch) {
  RunContext context;
  context.launch = launch;
  context.device = distributed::bind_device(config.device, launch);
  if (context.device.is_cuda()) {
    at::globalContext().setBenchmarkCuDNN(true);  // main_*.py: cudnn.benchmark = True
  }
  if (context.launch.distributed()) {
    // On every rank: where each process of a many-node job landed is what one looks for first when it hangs.
    log::every_rank(text("distributed init (rank ", context.rank(), "): ", context.launch.launcher, ", world size ",
                         context.world_size(), "; ", distributed::describe_place(context.launch), "; rendezvous ",
                         context.launch.master_addr, ":", context.launch.master_port,
                         context.launch.agent_hosts_store ? " (torchrun's store)" : "", ", backend ",
                         context.device.is_cuda() ? "NCCL" : "Gloo"));
    context.communicator = std::make_shared<distributed::Communicator>(context.launch, context.device,
                                                                       std::chrono::seconds(config.dist_timeout));
  }
  if (config.grad_compression != "none") {
    context.grad_compression = config.grad_compression == "bf16" ? c10::kBFloat16 : c10::kHalf;
  }
  context.precision =
      engine::resolve_precision(config.amp, context.device.is_cuda(), engine::native_bf16(context.device));
  torch::manual_seed(static_cast<uint64_t>(config.seed + context.rank()));
  log::info(text("device: ", context.device.str(), ", precision: ", engine::describe(context.precision), " (",
                 context.precision.reason, ")"));
  if (const auto steps = smoke_steps()) {
    log::warn(text("MAE_SMOKE_STEPS=", *steps, ": a smoke run, each epoch trains at most ", *steps, " steps and each ",
                   "evaluation reads at most ", *steps, " batches; its figures mean nothing"));
  }
  return context;
}

void record_resolved_config(const config::JobConfig& config, const distributed::LaunchEnv& launch) {
  if (!config.output_dir.empty() && launch.rank == 0) {
    log::info(text("resolved configuration written to ", config::write_resolved_config(config, config.output_dir)));
  }
  log::info(config::to_json(config));
}

data::LoaderOptions training_loader_options(const config::JobConfig& config, const RunContext& context) {
  data::LoaderOptions options;
  options.batch_size = config.batch_size;
  options.num_workers = config.num_workers;
  options.pin_memory = config.pin_mem && context.device.is_cuda();
  options.seed = static_cast<uint64_t>(config.seed);
  options.rank = context.rank();
  options.world_size = context.world_size();
  options.strict_data = config.strict_data;
  options.max_image_pixels = config.max_image_pixels;
  options.max_batches = smoke_steps().value_or(0);
  options.shuffle_buffer = config.shuffle_buffer;
  options.samples_per_epoch = config.samples_per_epoch;
  options.pipe_timeout = std::chrono::seconds(config.pipe_timeout);
  return options;
}

std::unique_ptr<engine::StepProfiler> make_step_profiler(const config::JobConfig& config, const RunContext& context,
                                                         const std::string& job) {
  if (config.profile_steps.empty()) {
    return std::make_unique<engine::StepProfiler>();
  }
  const engine::ProfileWindow window = engine::parse_profile_window(config.profile_steps);
  std::filesystem::path folder = config.profile_dir;
  if (folder.empty()) {
    if (config.output_dir.empty()) {
      throw UsageError("--profile_steps needs --profile_dir or --output_dir: the trace has nowhere to go");
    }
    folder = std::filesystem::path(config.output_dir) / "profile";
  }
  const std::filesystem::path trace =
      folder / text(job, ".rank", context.rank(), ".steps", window.first, "-", window.end, ".pt.trace.json");
  log::info(text("profiling training steps ", window.first, " to ", window.end - 1, " (epoch x iterations per epoch + "
                 "iteration) into ", trace.string()));
  return std::make_unique<engine::StepProfiler>(window, trace.string(), context.device);
}

void seed_step(int64_t seed, int rank, int64_t epoch, int64_t step) {
  // A fixed mix of the four numbers; any injective-enough function works, it only has to be the same on resume.
  uint64_t x = static_cast<uint64_t>(seed + rank) * 0x9e3779b97f4a7c15ULL;
  x ^= static_cast<uint64_t>(epoch) * 0xbf58476d1ce4e5b9ULL + static_cast<uint64_t>(step) * 0x94d049bb133111ebULL;
  torch::manual_seed(x);
}

void append_log_txt(const std::string& output_dir, const std::vector<std::pair<std::string, LogValue>>& fields) {
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  for (const auto& [key, value] : fields) {
    std::visit([&](auto v) { line[key] = v; }, value);
  }
  const auto path = std::filesystem::path(output_dir) / "log.txt";
  std::ofstream out(path, std::ios::app);
  out << line.dump() << '\n';
  if (!out) {
    throw IoError(text("cannot append to '", path.string(), "'"));
  }
}

}  // namespace mae::jobs

// mae_bench: throughput measurements (docs/BENCHMARKS.md).
//   mae_bench step: one job's training step (or inference) on synthetic or real data: images/s, step time, FLOPs,
//                   MFU, peak memory; scripts/bench_reference.py times the same step in Python PyTorch.
//   mae_bench data: the pre-training input pipeline (decode + RandomResizedCrop + flip + normalise + batching)
//                   through the threaded loader; scripts/bench_data.py runs it in torchvision.
#include <algorithm>
#include <iostream>
#include <string_view>

#include "cli/run_app.h"
#include "mae/config/tool_configs.h"
#include "mae/jobs/step_bench.h"
#ifdef MAE_WITH_DATA  // the full build; -DMAE_WITH_DATA=OFF (a GPU machine without OpenCV) has no data layer
#include "mae/jobs/bench_loader.h"
#endif
#include "mae/util/error.h"
#include "mae/util/smoke_steps.h"
#include "mae/util/strings.h"

namespace {

constexpr std::string_view kUsage =
    "mae-cpp benchmarks\n"
    "Usage: mae_bench step [--job pretrain|finetune|linprobe|inference] [--model NAME] ... (mae_bench step --help)\n"
    "       mae_bench data --data_path FOLDER [--num_workers N] ...                     (mae_bench data --help)\n"
    "See docs/BENCHMARKS.md.\n";

int bench_step(int argc, const char* const* argv) {
  mae::config::StepBenchConfig config;
  return mae::apps::run_app(
      {"mae_bench step", "Training-step (or inference) throughput of one job",
       "Example: mae_bench step --job pretrain --model mae_vit_base_patch16 --batch_size 16\n"
       "More: docs/BENCHMARKS.md\n"},
      config, argc, argv, [&] {
        if (const auto steps = mae::smoke_steps()) {  // the docs test: a smoke run, as the report's counts say
          config.iters = std::min(config.iters, *steps);
          config.warmup = std::min(config.warmup, 1);
          config.batch_size = std::min(config.batch_size, 2);
        }
        mae::jobs::BatchSource batches;
        if (!config.data_path.empty()) {
#ifdef MAE_WITH_DATA
          batches = mae::jobs::loader_batches(config);
#else
                                throw mae::UsageError(
                                    "--data_path: this build has no data layer (configured with -DMAE_WITH_DATA=OFF)");
#endif
        }
        const auto result = mae::jobs::run_step_bench(config, batches);
        std::cout << (config.json ? mae::jobs::to_json(config, result) + "\n" : mae::jobs::describe(config, result));
      });
}

#ifdef MAE_WITH_DATA
int bench_data(int argc, const char* const* argv) {
  mae::config::DataBenchConfig config;
  return mae::apps::run_app(
      {"mae_bench data", "Images/s of the pre-training input pipeline",
       "Example: mae_bench data --data_path data/bench --num_workers 2\nMore: docs/BENCHMARKS.md\n"},
      config, argc, argv, [&] {
        const auto r = mae::jobs::run_data_bench(config);
        std::cout << mae::text("mae-cpp data pipeline: ", r.images, " images, ", config.num_workers, " worker thread(s), ",
                               "input ", config.input_size, ": ", static_cast<int64_t>(r.median_images_per_second),
                               " images/s (median of ", r.timed_epochs, " epochs), ",
                               static_cast<int64_t>(r.median_images_per_second / std::max(config.num_workers, 1)),
                               " images/s per thread\n");
      });
}
#endif

}  // namespace

int main(int argc, char** argv) {
  const std::string_view command = argc > 1 ? argv[1] : "";
  // The subcommand's own frame sees "mae_bench step ..." as its program and the rest as its flags.
  if (command == "step") {
    return bench_step(argc - 1, argv + 1);
  }
  if (command == "data") {
#ifdef MAE_WITH_DATA
    return bench_data(argc - 1, argv + 1);
#else
    std::cerr << "mae_bench: 'data' needs the data layer, which this build leaves out (-DMAE_WITH_DATA=OFF)\n";
    return 2;
#endif
  }
  if (command == "-h" || command == "--help") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << (command.empty() ? std::string("mae_bench: give a benchmark, step or data\n")
                                : mae::text("mae_bench: unknown benchmark '", command, "' (choose step or data)\n"))
            << kUsage;
  return 2;
}

// mae_bench: throughput measurements (docs/BENCHMARKS.md).
//   mae_bench step: one job's training step (or inference) on synthetic or real data: images/s, step time, FLOPs,
//                   MFU, peak memory; scripts/bench_reference.py times the same step in Python PyTorch.
//   mae_bench data: the pre-training input pipeline (decode + RandomResizedCrop + flip + normalise + batching)
//                   through the threaded loader; scripts/bench_data.py runs it in torchvision.
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>

#include "mae/engine/step_bench.h"
#ifdef MAE_WITH_DATA  // the full build; the GPU build (scripts/device_build.sh) has no data layer and no OpenCV
#include "mae/data/loader.h"
#include "mae/data/pipelines.h"
#include "mae/engine/bench_loader.h"
#endif
#include "mae/util/allocator.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace {

#ifdef MAE_WITH_DATA
struct DataBenchOptions {
  std::string data;
  int workers = 1;
  int64_t batch_size = 64;
  int input_size = 224;
  int epochs = 3;
};

void bench_data(const DataBenchOptions& options) {
  using Clock = std::chrono::steady_clock;
  auto dataset = mae::data::ImageFolder::without_labels(options.data);
  mae::data::LoaderOptions loader_options;
  loader_options.batch_size = options.batch_size;
  loader_options.num_workers = options.workers;
  loader_options.drop_last = false;
  mae::data::DataLoader loader(dataset, mae::data::pretrain_transform(options.input_size), loader_options);
  // Epoch 0 warms the page cache and the allocator; the others are timed.
  std::vector<double> rates;
  for (int epoch = 0; epoch <= options.epochs; ++epoch) {
    const auto start = Clock::now();
    int64_t images = 0;
    loader.start_epoch(epoch);
    while (auto batch = loader.next()) {
      images += batch->images.size(0);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (epoch > 0) {
      rates.push_back(static_cast<double>(images) / seconds);
    }
  }
  std::sort(rates.begin(), rates.end());
  const double median = rates[rates.size() / 2];
  std::cout << mae::text("mae-cpp data pipeline: ", dataset.size(), " images, ", options.workers, " worker thread(s), ",
                         "input ", options.input_size, ": ", static_cast<int64_t>(median), " images/s (median of ",
                         rates.size(), " epochs), ", static_cast<int64_t>(median / std::max(options.workers, 1)),
                         " images/s per thread\n");
}
#endif

void print_step(const mae::engine::StepBenchOptions& o, const mae::engine::StepBenchResult& r, bool json) {
  if (json) {
    std::cout << mae::engine::to_json(o, r) << '\n';
    return;
  }
  std::cout << mae::text("mae-cpp ", o.job, " step, ", o.model, " at ", o.input_size, " px, batch ", o.batch_size, ", ",
                         o.amp == "off" ? "fp32" : o.amp, " on ", o.device, " (", r.threads, " threads), ",
                         o.data.empty() ? "synthetic data" : "data from " + o.data, ":\n",
                         "  step time ", mae::fixed(r.median_step_seconds * 1e3, 1), " ms (median of ", o.iters,
                         " after ", o.warmup, " warm-up), ", mae::fixed(r.images_per_second, 2), " images/s\n",
                         "  model FLOPs ", mae::fixed(r.flops_per_image / 1e9, 2), " GFLOP/image, achieved ",
                         mae::fixed(r.achieved_flops / 1e12, 3), " TFLOP/s",
                         r.mfu ? mae::text(", MFU ", mae::fixed(*r.mfu * 100, 1), "%") : std::string(), "\n",
                         "  memory: ", r.memory_kind, " ", mae::fixed(static_cast<double>(r.peak_memory_bytes) / (1 << 20), 0),
                         " MiB\n");
}

}  // namespace

int main(int argc, char** argv) {
  mae::tune_allocator_for_training();  // as the training executables, so the figures are theirs
  CLI::App app("mae-cpp benchmarks", "mae_bench");
  app.require_subcommand(1);
#ifdef MAE_WITH_DATA
  DataBenchOptions data;
  auto* data_command = app.add_subcommand("data", "Images/s of the pre-training input pipeline");
  data_command->add_option("--data", data.data, "Folder of images")->required();
  data_command->add_option("--workers", data.workers, "Loader worker threads (0: in the calling thread)")
      ->capture_default_str();
  data_command->add_option("--batch_size", data.batch_size, "Images per batch")->capture_default_str();
  data_command->add_option("--input_size", data.input_size, "Output size")->capture_default_str();
  data_command->add_option("--epochs", data.epochs, "Timed passes over the folder")->capture_default_str();
#endif
  mae::engine::StepBenchOptions step;
  bool json = false;
  auto* step_command = app.add_subcommand("step", "Training-step (or inference) throughput of one job");
  step_command->add_option("--job", step.job, "pretrain, finetune, linprobe or inference")->capture_default_str();
  step_command->add_option("--model", step.model, "Model name (MAE or classifier; each job takes its own)")
      ->capture_default_str();
  step_command->add_option("--batch_size", step.batch_size, "Images per step")->capture_default_str();
  step_command->add_option("--input_size", step.input_size, "Image size")->capture_default_str();
  step_command->add_option("--amp", step.amp, "off (fp32) or bf16 autocast")->capture_default_str();
  step_command->add_option("--device", step.device, "cpu, cuda or cuda:N")->capture_default_str();
  step_command->add_option("--warmup", step.warmup, "Untimed steps first")->capture_default_str();
  step_command->add_option("--iters", step.iters, "Timed steps (the median is reported)")->capture_default_str();
  step_command->add_option("--mask_ratio", step.mask_ratio, "Pre-training masking ratio")->capture_default_str();
  step_command->add_option("--data", step.data, "Image folder: feed the steps through the real loader");
  step_command->add_option("--num_workers", step.num_workers, "Loader threads with --data")->capture_default_str();
  step_command->add_option("--peak_tflops", step.peak_tflops, "The device's peak TFLOP/s, to report the MFU");
  step_command->add_option("--seed", step.seed, "Seed of the weights and synthetic data")->capture_default_str();
  step_command->add_flag("--json", json, "Print one JSON line instead of text");
  try {
    app.parse(argc, argv);
#ifdef MAE_WITH_DATA
    if (*data_command) {
      bench_data(data);
    }
    const mae::engine::BatchSource batches = step.data.empty() ? nullptr : mae::engine::loader_batches(step);
#else
    if (!step.data.empty()) {
      throw mae::UsageError("--data: this build has no data layer (configured with -DMAE_WITH_DATA=OFF)");
    }
    const mae::engine::BatchSource batches;
#endif
    if (*step_command) {
      print_step(step, mae::engine::run_step_bench(step, batches), json);
    }
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const std::exception& error) {
    mae::log::error(mae::text("mae_bench: ", error.what()));
    return mae::exit_code_for(error);
  }
  return 0;
}

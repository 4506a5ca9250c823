// mae_bench: throughput measurements. `mae_bench data` times the pre-training input pipeline (decode +
// RandomResizedCrop + flip + normalise + batching) through the threaded loader; scripts/bench_data.py runs the same
// pipeline in torchvision for comparison (docs/BENCHMARKS.md).
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>

#include "mae/data/loader.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace {

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("mae-cpp benchmarks", "mae_bench");
  app.require_subcommand(1);
  DataBenchOptions data;
  auto* data_command = app.add_subcommand("data", "Images/s of the pre-training input pipeline");
  data_command->add_option("--data", data.data, "Folder of images")->required();
  data_command->add_option("--workers", data.workers, "Loader worker threads (0: in the calling thread)")
      ->capture_default_str();
  data_command->add_option("--batch_size", data.batch_size, "Images per batch")->capture_default_str();
  data_command->add_option("--input_size", data.input_size, "Output size")->capture_default_str();
  data_command->add_option("--epochs", data.epochs, "Timed passes over the folder")->capture_default_str();
  try {
    app.parse(argc, argv);
    if (*data_command) {
      bench_data(data);
    }
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const std::exception& error) {
    mae::log::error(mae::text("mae_bench: ", error.what()));
    return mae::exit_code_for(error);
  }
  return 0;
}

#include "mae/jobs/bench_loader.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "mae/data/data_source.h"
#include "mae/data/augment/pipelines.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::jobs {
namespace {

data::SampleTransform transform_for(const std::string& job, int input_size) {
  if (job == "pretrain") {
    return data::pretrain_transform(input_size);
  }
  if (job == "finetune") {
    data::FinetuneAugmentation augmentation;
    augmentation.input_size = input_size;
    return data::finetune_train_transform(augmentation);
  }
  return job == "linprobe" ? data::linprobe_train_transform(input_size) : data::eval_transform(input_size);
}

}  // namespace

BatchSource loader_batches(const config::StepBenchConfig& o) {
  data::LoaderOptions loader_options;
  loader_options.batch_size = o.batch_size;
  loader_options.num_workers = o.num_workers;
  loader_options.pin_memory = o.device.starts_with("cuda");
  loader_options.seed = static_cast<uint64_t>(o.seed);
  std::shared_ptr<data::BatchStream> loader =
      data::open_batches(data::pretraining_source(o.data_path), transform_for(o.job, o.input_size), loader_options);
  if (loader->batches_per_epoch() == 0) {
    throw UsageError(text("--data_path ", o.data_path, " has fewer images than --batch_size ", o.batch_size));
  }
  auto epoch = std::make_shared<int64_t>(0);
  loader->start_epoch(*epoch);
  return [loader, epoch] {
    auto batch = loader->next();
    if (!batch) {
      loader->start_epoch(++*epoch);
      batch = loader->next();
    }
    return std::make_pair(batch->images, batch->labels);
  };
}

DataBenchResult run_data_bench(const config::DataBenchConfig& config) {
  using Clock = std::chrono::steady_clock;
  const data::DataSource source = data::pretraining_source(config.data_path);
  data::LoaderOptions options;
  options.batch_size = config.batch_size;
  options.num_workers = config.num_workers;
  options.shuffle_buffer = config.shuffle_buffer;
  // Every image of a folder once, the last batch partial; shards as training reads them: an epoch of the index's
  // samples in full batches.
  options.drop_last = source.from_shards();
  const std::unique_ptr<data::BatchStream> loader =
      data::open_batches(source, data::pretrain_transform(config.input_size), options);
  std::vector<double> rates;
  for (int epoch = 0; epoch <= config.epochs; ++epoch) {
    const auto start = Clock::now();
    int64_t images = 0;
    loader->start_epoch(epoch);
    while (auto batch = loader->next()) {
      images += batch->images.size(0);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (epoch > 0) {
      rates.push_back(static_cast<double>(images) / seconds);
    }
  }
  std::sort(rates.begin(), rates.end());
  return {source.size(), rates[rates.size() / 2], static_cast<int>(rates.size())};
}

}  // namespace mae::jobs

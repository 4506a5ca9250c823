#include "mae/jobs/pretraining_data.h"

#include <filesystem>

#include "mae/config/job_config.h"
#include "mae/data/image_folder.h"
#include "mae/data/loader.h"
#include "mae/data/shard_list.h"
#include "mae/data/shard_loader.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::jobs {
namespace fs = std::filesystem;
namespace {

// The shard spec of the training data, if --data_path names shards: itself, or its train/ folder.
std::optional<std::string> training_shards(const std::string& data_path) {
  if (data::is_shard_spec(data_path)) {
    return data_path;
  }
  const std::string train = (fs::path(data_path) / "train").string();
  if (fs::is_directory(train) && data::is_shard_spec(train)) {
    return train;
  }
  return std::nullopt;
}

}  // namespace

TrainingData pretraining_data(const config::PretrainConfig& config, const RunContext& context,
                              data::SampleTransform transform) {
  const data::LoaderOptions options = training_loader_options(config, context);
  TrainingData result;
  if (const auto spec = training_shards(config.data_path)) {
    std::vector<std::string> shards = data::expand_shard_spec(*spec);
    data::ShardLoaderOptions shard_options;
    shard_options.batch_size = options.batch_size;
    shard_options.num_workers = options.num_workers;
    shard_options.seed = options.seed;
    shard_options.rank = options.rank;
    shard_options.world_size = options.world_size;
    shard_options.shuffle_buffer = config.shuffle_buffer;
    shard_options.samples_per_epoch = config.samples_per_epoch;
    shard_options.strict_data = options.strict_data;
    shard_options.max_batches = options.max_batches;
    const std::size_t count = shards.size();
    auto loader = std::make_unique<data::ShardLoader>(std::move(shards), std::move(transform), shard_options);
    result.description = text(count, " shards of ", *spec, ", ", loader->samples_per_epoch(), " samples an epoch",
                              config.samples_per_epoch > 0 ? " (--samples_per_epoch)" : " (index.json)", ", ",
                              loader->workers(), " worker(s) a rank, shuffle buffer ", config.shuffle_buffer);
    result.loader = std::move(loader);
    return result;
  }
  const data::ImageFolder dataset = data::training_images(config.data_path, /*labelled=*/false);
  data::report_unreadable(dataset, config.strict_data);
  result.description = text(dataset.size(), " images under ", dataset.root());
  auto loader = std::make_unique<data::DataLoader>(dataset, std::move(transform), options);
  if (loader->batches_per_epoch() == 0) {
    throw UsageError(text("--batch_size ", config.batch_size, " is larger than the ", dataset.size(),
                          " training images: no full batch per epoch"));
  }
  result.loader = std::move(loader);
  return result;
}

}  // namespace mae::jobs

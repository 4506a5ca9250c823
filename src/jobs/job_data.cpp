#include "mae/jobs/job_data.h"

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

// A training ShardLoader over `shards` (the expansion of `spec`), and the line that describes it.
std::unique_ptr<data::ShardLoader> training_shards(const std::string& spec, std::vector<std::string> shards,
                                                   data::SampleTransform transform,
                                                   const data::LoaderOptions& options, std::string& description,
                                                   const config::JobConfig& config) {
  const std::size_t count = shards.size();
  auto loader = std::make_unique<data::ShardLoader>(std::move(shards), std::move(transform), options);
  description = text(count, " shards of ", spec, ", ", loader->samples_per_epoch(), " samples an epoch",
                     config.samples_per_epoch > 0 ? " (--samples_per_epoch)" : " (index.json)", ", ",
                     loader->workers(), " worker(s) a rank, shuffle buffer ", config.shuffle_buffer);
  return loader;
}

}  // namespace

std::optional<std::string> shards_at(const std::string& path, const std::string& split) {
  if (split.empty() && data::is_shard_spec(path)) {
    return path;
  }
  const std::string folder = (fs::path(path) / split).string();
  if (!split.empty() && fs::is_directory(folder) && data::is_shard_spec(folder)) {
    return folder;
  }
  return std::nullopt;
}

TrainingData pretraining_data(const config::JobConfig& config, const RunContext& context,
                              data::SampleTransform transform) {
  const data::LoaderOptions options = training_loader_options(config, context);
  TrainingData result;
  const auto spec = shards_at(config.data_path, "");
  if (const auto found = spec ? spec : shards_at(config.data_path, "train")) {
    result.loader = training_shards(*found, data::expand_shard_spec(*found), std::move(transform), options,
                                    result.description, config);
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

ClassificationData classification_data(const config::ClassifierConfig& config, const RunContext& context,
                                       data::SampleTransform train_transform, data::SampleTransform eval_transform) {
  const data::LoaderOptions train_options = training_loader_options(config, context);
  ClassificationData result;
  const auto train_spec = shards_at(config.data_path, "train");
  const auto val_spec = shards_at(config.data_path, "val");
  if (train_spec || val_spec) {
    if (!train_spec || !val_spec) {
      throw UsageError(text("--data_path '", config.data_path, "': ", train_spec ? "train/" : "val/", " holds shards ",
                            "and ", train_spec ? "val/" : "train/", " does not; pack both (mae_shard packs train/ and ",
                            "val/ together)"));
    }
    data::LoaderOptions options = train_options;
    options.require_labels = true;
    options.num_classes = config.nb_classes;
    std::vector<std::string> train_shards = data::expand_shard_spec(*train_spec);
    std::vector<std::string> val_shards = data::expand_shard_spec(*val_spec);
    const auto train_index = data::find_shard_index(train_shards);
    const auto val_index = data::find_shard_index(val_shards);
    if (!train_index || !val_index || train_index->classes != val_index->classes) {
      throw UsageError(text("the shards of '", *train_spec, "' and '", *val_spec, "' need index.json files with the ",
                            "same classes (mae_shard writes them)"));
    }
    std::string train_description;
    auto train = training_shards(*train_spec, std::move(train_shards), std::move(train_transform), options,
                                 train_description, config);
    options.drop_last = false;  // the shards' evaluation mode (loader_options.h)
    if (!config.dist_eval) {  // every rank evaluates the whole set
      options.rank = 0;
      options.world_size = 1;
    }
    result.train = std::move(train);
    result.val = std::make_unique<data::ShardLoader>(std::move(val_shards), std::move(eval_transform), options);
    result.classes = train_index->classes;
    result.val_images = val_index->total;
    result.val_counted_by_evaluation = true;
    result.description = text("training: ", train_description, "; validation: ", val_index->total, " samples of ",
                              *val_spec, "; ", result.classes.size(), " classes");
    return result;
  }
  const auto train_set = data::training_images(config.data_path, /*labelled=*/true);
  const auto val_set = data::validation_images(config.data_path, train_set);
  data::report_unreadable(train_set, config.strict_data);
  data::report_unreadable(val_set, config.strict_data);
  data::LoaderOptions val_options = train_options;
  // --dist_eval: DistributedSampler(shuffle=True) with its default seed 0 and never a new epoch, so every evaluation
  // sees the same order (shuffled "to reduce monitor bias", padded to a multiple of the ranks); else sequential.
  val_options.shuffle = config.dist_eval;
  val_options.seed = 0;
  val_options.drop_last = false;
  val_options.replace_unreadable = false;
  if (!config.dist_eval) {  // every rank evaluates the whole set
    val_options.rank = 0;
    val_options.world_size = 1;
  }
  result.classes = train_set.classes();
  result.val_images = static_cast<int64_t>(val_set.size());
  result.description = text(train_set.size(), " training and ", val_set.size(), " validation images in ",
                            train_set.classes().size(), " classes");
  result.train = std::make_unique<data::DataLoader>(train_set, std::move(train_transform), train_options);
  result.val = std::make_unique<data::DataLoader>(val_set, std::move(eval_transform), val_options);
  return result;
}

}  // namespace mae::jobs

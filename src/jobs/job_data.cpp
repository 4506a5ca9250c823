#include "mae/jobs/job_data.h"

#include <algorithm>

#include "mae/config/job_config.h"
#include "mae/data/data_source.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::jobs {
namespace {

// How a training loader reads `source`: for shards, the epoch's length and where it comes from, the workers and the
// shuffle buffer.
std::string describe_training(const data::DataSource& source, const data::LoaderOptions& options) {
  if (!source.from_shards()) {
    return source.describe();
  }
  const int64_t samples = options.samples_per_epoch > 0 ? options.samples_per_epoch : source.size();
  return text(source.shards.size(), " shards of ", source.location, ", ", samples, " samples an epoch",
              options.samples_per_epoch > 0 ? " (--samples_per_epoch)" : " (index.json)", ", ",
              std::max(options.num_workers, 1), " worker(s) a rank, shuffle buffer ", options.shuffle_buffer);
}

}  // namespace

TrainingData pretraining_data(const config::JobConfig& config, const RunContext& context,
                              data::SampleTransform transform) {
  const data::LoaderOptions options = training_loader_options(config, context);
  const data::DataSource source =
      data::pretraining_source(config.data_path, /*with_index=*/options.samples_per_epoch == 0);
  if (!source.from_shards()) {
    data::report_unreadable(source.folder, config.strict_data);
  }
  TrainingData result;
  result.loader = data::open_batches(source, std::move(transform), options);
  result.description = describe_training(source, options);
  if (!source.from_shards() && result.loader->batches_per_epoch() == 0) {
    throw UsageError(text("--batch_size ", config.batch_size, " is larger than the ", source.size(),
                          " training images: no full batch per epoch"));
  }
  return result;
}

ClassificationData classification_data(const config::ClassifierConfig& config, const RunContext& context,
                                       data::SampleTransform train_transform, data::SampleTransform eval_transform) {
  const data::ClassificationSources sources = data::classification_sources(config.data_path);
  data::LoaderOptions train_options = training_loader_options(config, context);
  data::LoaderOptions val_options = train_options;
  val_options.drop_last = false;  // every image once (a ShardLoader's evaluation mode, loader_options.h)
  if (!config.dist_eval) {  // every rank evaluates the whole set
    val_options.rank = 0;
    val_options.world_size = 1;
  }
  ClassificationData result;
  result.classes = sources.train.classes();
  result.val_images = sources.val.size();
  if (sources.train.from_shards()) {
    train_options.require_labels = true;
    train_options.num_classes = config.nb_classes;
    val_options.require_labels = true;
    val_options.num_classes = config.nb_classes;
    result.val_counted_by_evaluation = true;
    result.description = text("training: ", describe_training(sources.train, train_options), "; validation: ",
                              sources.val.size(), " samples of ", sources.val.location, "; ", result.classes.size(),
                              " classes");
  } else {
    data::report_unreadable(sources.train.folder, config.strict_data);
    data::report_unreadable(sources.val.folder, config.strict_data);
    // --dist_eval: DistributedSampler(shuffle=True) with its default seed 0 and never a new epoch, so every evaluation
    // sees the same order (shuffled "to reduce monitor bias", padded to a multiple of the ranks); else sequential.
    val_options.shuffle = config.dist_eval;
    val_options.seed = 0;
    val_options.replace_unreadable = false;
    result.description = text(sources.train.size(), " training and ", sources.val.size(), " validation images in ",
                              result.classes.size(), " classes");
  }
  result.train = data::open_batches(sources.train, std::move(train_transform), train_options);
  result.val = data::open_batches(sources.val, std::move(eval_transform), val_options);
  return result;
}

}  // namespace mae::jobs

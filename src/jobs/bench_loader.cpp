#include "mae/engine/bench_loader.h"

#include <memory>

#include "mae/data/loader.h"
#include "mae/data/pipelines.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::engine {
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

BatchSource loader_batches(const StepBenchOptions& o) {
  data::LoaderOptions loader_options;
  loader_options.batch_size = o.batch_size;
  loader_options.num_workers = o.num_workers;
  loader_options.pin_memory = o.device.starts_with("cuda");
  loader_options.seed = o.seed;
  auto loader = std::make_shared<data::DataLoader>(data::ImageFolder::without_labels(o.data),
                                                   transform_for(o.job, o.input_size), loader_options);
  if (loader->batches_per_epoch() == 0) {
    throw UsageError(text("--data ", o.data, " has fewer images than --batch_size ", o.batch_size));
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

}  // namespace mae::engine

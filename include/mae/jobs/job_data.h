#pragma once
// The data a job reads, from --data_path as clusters store it: WebDataset tar shards (a brace pattern, a list file,
// a folder of .tar files, pipe: URLs; data/shards/shard_list.h) or an image folder, found and opened by
// data/data_source.h with the job's loader options.
#include <memory>
#include <string>
#include <vector>

#include "mae/data/batch_stream.h"
#include "mae/data/augment/pipelines.h"
#include "mae/jobs/run_context.h"

namespace mae::config {
class JobConfig;
class ClassifierConfig;
}  // namespace mae::config

namespace mae::jobs {

struct TrainingData {
  std::unique_ptr<data::BatchStream> loader;
  std::string description;  // "4500 images under data/demo/train", "12 shards of ..., 4500 samples an epoch ..."
};

// Pre-training's images: shards when --data_path (or its train/) names them, else the image folder
// <data_path>/train when it exists, else <data_path>. Shuffled, drop_last, the loader options of
// training_loader_options.
TrainingData pretraining_data(const config::JobConfig& config, const RunContext& context,
                              data::SampleTransform transform);

struct ClassificationData {
  std::unique_ptr<data::BatchStream> train;
  std::unique_ptr<data::BatchStream> val;  // every image once; one rank's part with --dist_eval, else all
  std::vector<std::string> classes;        // in label order
  int64_t val_images = 0;                  // in the whole validation set (the reference's len(dataset_val))
  // Shards: each sample is evaluated exactly once, so the images an evaluation reports are those it evaluated (an
  // index.json that miscounts its shards does not change them); folders report val_images less the unreadable.
  bool val_counted_by_evaluation = false;
  std::string description;
};

// Fine-tuning's and linear probing's <data_path>/train and <data_path>/val: two folders of shards (as mae_shard
// packs an ImageFolder with train/ and val/), or two image folders; the classes of val must be those of train.
// The validation loader keeps the last partial batch and leaves unreadable images out; with --dist_eval it is
// sharded over the ranks (the folder's shuffled once with seed 0, as the reference's DistributedSampler).
ClassificationData classification_data(const config::ClassifierConfig& config, const RunContext& context,
                                       data::SampleTransform train_transform, data::SampleTransform eval_transform);

}  // namespace mae::jobs

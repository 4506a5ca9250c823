#pragma once
// Pre-training's data, from --data_path as clusters store it: WebDataset tar shards (a brace pattern, a list file,
// a folder of .tar files, pipe: URLs; data/shard_list.h) read by a ShardLoader, or an image folder read by a
// DataLoader.
#include <memory>
#include <string>
#include <vector>

#include "mae/data/batch_stream.h"
#include "mae/data/pipelines.h"
#include "mae/jobs/run_context.h"

namespace mae::config {
class PretrainConfig;
}

namespace mae::jobs {

struct TrainingData {
  std::unique_ptr<data::BatchStream> loader;
  std::string description;           // "4500 images under data/demo/train", "12 shards, 4500 samples an epoch"
};

// Pre-training's images: shards when --data_path (or its train/) names them, else the image folder
// <data_path>/train when it exists, else <data_path>. Shuffled, drop_last, the loader options of
// training_loader_options, plus --shuffle_buffer and --samples_per_epoch for shards.
TrainingData pretraining_data(const config::PretrainConfig& config, const RunContext& context,
                              data::SampleTransform transform);

}  // namespace mae::jobs

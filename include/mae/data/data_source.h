#pragma once
// The one way from --data_path to batches: where the images are (tar shards or an image folder, told apart in one
// place) and the one function that opens a loader over them. Every reader goes through here: training and evaluation
// in the jobs, feature extraction, the kNN monitor and mae_bench.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mae/data/batch_stream.h"
#include "mae/data/folder/image_folder.h"
#include "mae/data/loader_options.h"
#include "mae/data/augment/pipelines.h"
#include "mae/data/shards/shard_loader.h"

namespace mae::data {

// Images to read: tar shards (with the packer's index beside them, when there is one) or an image folder.
struct DataSource {
  std::string location;              // the shard spec, or the folder's root
  std::vector<std::string> shards;   // the shards the spec names; empty for an image folder
  std::optional<ShardIndex> index;   // shards only: index.json, when they have one
  ImageFolder folder;                // image folder only

  bool from_shards() const { return !shards.empty(); }
  // Class names in label order (the folder's, or the index's); empty without labels.
  const std::vector<std::string>& classes() const;
  // The samples it holds: the folder's images, the index's total; 0 when unknown (shards without an index).
  int64_t size() const;
  // "4500 images under data/demo/train", "12 shards of /data/train-{000..011}.tar (4500 samples)".
  std::string describe() const;
};

// The shard spec `path` is (`split` empty), or that its `split` folder is (a packed ImageFolder's train/ or val/);
// nothing for an image folder. The one place that tells shards from a folder.
std::optional<std::string> shards_at(const std::string& path, const std::string& split = "");

// The shards `spec` names (shard_list.h), with their index unless `with_index` is false: training with
// --samples_per_epoch needs none, and then does not read one (which may be stale, or another packer's).
DataSource shard_source(const std::string& spec, bool with_index = true);

// Pre-training's images, unlabelled: shards when data_path or its train/ names them, else the image folder
// <data_path>/train when it exists, else <data_path> (training_images). `with_index`: as for shard_source.
DataSource pretraining_source(const std::string& data_path, bool with_index = true);

// Classification's <data_path>/train and /val: two folders of shards (as mae_shard packs an ImageFolder with train/
// and val/), each with an index.json and the same classes, or two class folders with the same classes
// (validation_images). A UsageError names what does not fit.
struct ClassificationSources {
  DataSource train;
  DataSource val;
};
ClassificationSources classification_sources(const std::string& data_path);

// Images to extract features from: shards when `path` names them, else a folder of class folders (labelled) or of
// images (unlabelled).
DataSource extraction_source(const std::string& path);

// The loader over `source`: a DataLoader over the folder, a ShardLoader over the shards (which evaluates when
// options.drop_last is false, loader_options.h). Every batch names its samples (Batch::names).
std::unique_ptr<BatchStream> open_batches(const DataSource& source, SampleTransform transform,
                                          const LoaderOptions& options);

}  // namespace mae::data

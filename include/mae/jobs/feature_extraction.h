#pragma once
// An encoder's features of every image of a folder or of tar shards (data/data_source.h), for mae_extract and the kNN
// monitor: each rank extracts its part of the images and every rank ends with all of them.
#include <ATen/core/Tensor.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "mae/data/data_source.h"
#include "mae/data/image/image_header.h"
#include "mae/jobs/feature_set.h"
#include "mae/jobs/run_context.h"
#include "mae/models/features.h"
#include "mae/models/vit.h"

namespace mae::jobs {

struct ExtractionOptions {
  models::FeaturePool pool = models::FeaturePool::cls;
  int input_size = 224;  // the evaluation transform's: Resize(size / crop_pct) + CenterCrop(size)
  int in_chans = 3;
  int batch_size = 64;
  int num_workers = 4;
  // An unreadable image stops the extraction (naming it) when true; otherwise (the kNN monitor: a long run does not
  // stop for one bad file) a warning counts them, and in a folder the next readable image takes its place in the row,
  // while from shards the sample is left out.
  bool strict_data = true;
  int64_t max_image_pixels = data::kPilPixelLimit;  // a larger image is unreadable (data/image/image_header.h); 0: none
  // A pipe: shard silent this long is killed (data/shards/shard_source.h); 0: none.
  std::chrono::seconds pipe_timeout{300};
  int64_t max_batches = 0;  // shards: each rank reads at most this many batches (a smoke run's kNN monitor); 0: all
  std::string what = "Extract";  // the progress lines' header
};

// Every image of `source` through the evaluation transform and `encoder` (eval mode, no grad, the context's
// autocast), pooled as options.pool; every rank returns the same whole set. Progress goes to the log in
// MetricLogger's format (with an ETA).
// - An image folder: each rank reads the images DistributedSampler(shuffle=False) gives it, and the rows come in the
//   folder's order, labelled when it has class folders.
// - Tar shards: each rank evaluates its shards (shard i is rank i % world_size's; the ShardLoader's evaluation mode,
//   which needs index.json), and the rows come rank by rank in the loader's order, which is the shards' order with
//   one loader worker in one process; labelled (from .cls, a sample without one unreadable) when the index names
//   classes. An unreadable sample is left out, or with strict_data stops the extraction, naming the shard and key.
FeatureSet extract_features(models::VisionTransformerImpl& encoder, const data::DataSource& source,
                            const ExtractionOptions& options, const RunContext& context);

}  // namespace mae::jobs

#pragma once
// An encoder's features of every image of a folder (or of tar shards), for mae_extract and the kNN monitor: each
// rank extracts its part of the images and every rank ends with all of them.
#include <ATen/core/Tensor.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "mae/data/image_folder.h"
#include "mae/data/image_header.h"
#include "mae/jobs/run_context.h"
#include "mae/models/features.h"
#include "mae/models/vit.h"

namespace mae::jobs {

struct FeatureSet {
  at::Tensor features;                 // [N, D] float32 (or float16 as read from a file), on the CPU
  std::optional<at::Tensor> labels;    // [N] int64 (as stored, when read from a file), when the images had classes
  std::vector<std::string> paths;      // the N images, in row order
  std::vector<std::string> classes;    // class names in label order (empty without labels)
};

struct ExtractionOptions {
  models::FeaturePool pool = models::FeaturePool::cls;
  int input_size = 224;  // the evaluation transform's: Resize(size / crop_pct) + CenterCrop(size)
  int in_chans = 3;
  int batch_size = 64;
  int num_workers = 4;
  // An unreadable image stops the extraction (naming it) when true; otherwise the next readable image takes its
  // place in the row (the kNN monitor: a long run does not stop for one bad file) and a warning counts them.
  bool strict_data = true;
  int64_t max_image_pixels = data::kPilPixelLimit;  // a larger image is unreadable (data/image_header.h); 0: none
  std::chrono::seconds pipe_timeout{300};  // a pipe: shard silent this long is killed (data/shard_source.h); 0: none
  std::string what = "Extract";  // the progress lines' header
};

// Every image of `images` through the evaluation transform and `encoder` (eval mode, no grad, the context's autocast),
// pooled as options.pool. In a multi-process job each rank reads the images DistributedSampler(shuffle=False) gives
// it, and the rows are summed into place across the ranks, so every rank returns the same whole set, in image order.
// Progress goes to the log in MetricLogger's format (with an ETA).
FeatureSet extract_features(models::VisionTransformerImpl& encoder, const data::ImageFolder& images,
                            const ExtractionOptions& options, const RunContext& context);

// The same from tar shards (data/shard_list.h), in one process: every sample once in the shards' order, its path
// "<shard>:<key>", labels when every sample has a .cls; an unreadable sample stops it, naming the shard and member.
FeatureSet extract_shard_features(models::VisionTransformerImpl& encoder, const std::vector<std::string>& shards,
                                  const ExtractionOptions& options, const RunContext& context);

}  // namespace mae::jobs

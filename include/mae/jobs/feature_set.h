#pragma once
// Features of a set of images with their labels and names: what extraction returns, the features file holds, and
// the kNN classifier compares. Apart from feature_extraction.h so that the file and kNN code need no data layer.
#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <vector>

namespace mae::jobs {

struct FeatureSet {
  at::Tensor features;                 // [N, D] float32 (or float16 as read from a file), on the CPU
  std::optional<at::Tensor> labels;    // [N] int64 (as stored, when read from a file), when the images had classes
  // The N images, in row order: the image files, or "<shard>:<key>". Empty for shards read by several ranks, whose
  // names no rank has all of (the kNN monitor needs none; mae_extract reads shards in one process).
  std::vector<std::string> paths;
  std::vector<std::string> classes;    // class names in label order (empty without labels)
};

}  // namespace mae::jobs

#pragma once
// The features file mae_extract writes and reads: safetensors with the features, labels and class names, and the
// image paths beside it in a text file tied to it by a fingerprint.
#include <string>

#include "mae/io/safetensors.h"
#include "mae/jobs/feature_set.h"

namespace mae::jobs {

// The features file: safetensors with "features" [N, D] (float32, or float16 with `fp16`) and "labels" [N] int64
// when labelled, metadata {format, pool, classes (a JSON list), count, paths_fnv1a64, ...`extra`}; the image paths,
// one per line in row order, in feature_paths_file(path), whose fingerprint paths_fnv1a64 is. Both are written in
// full before the paths file, then the features file, takes its name: a failed write changes neither, and a crash
// between the two renames leaves a pair that load_feature_file refuses.
void save_feature_file(const std::string& path, const FeatureSet& set, bool fp16, const io::Metadata& extra);
// The sidecar of a features file: "x.safetensors" -> "x.paths.txt" (any other name: "<name>.paths.txt").
std::string feature_paths_file(const std::string& path);
// Reads a features file (features and labels as stored; the paths file when present). UsageError naming the path for
// a file without "features", and naming both files for a paths file not written with it (another number of rows or
// fingerprint).
FeatureSet load_feature_file(const std::string& path);

}  // namespace mae::jobs

#pragma once
// DINO's weighted kNN classifier between two features files (mae_extract --knn_train/--knn_test): both labelled,
// with the same classes.
#include <string>

#include "mae/jobs/feature_set.h"

namespace mae::config {
class ExtractConfig;
}

namespace mae::jobs {

// Logs the top-1/top-5 accuracy of `test`'s rows classified against `train`'s with --knn_k and --knn_temperature.
// UsageError naming the file without labels, or both files when their classes differ.
void evaluate_knn(const FeatureSet& train, const std::string& train_path, const FeatureSet& test,
                  const std::string& test_path, const config::ExtractConfig& config);

}  // namespace mae::jobs

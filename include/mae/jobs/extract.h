#pragma once
// mae_extract: an encoder's features of a folder of images (or tar shards) to a features file, and DINO's kNN
// classifier on such files.
namespace mae::config {
class ExtractConfig;
}

namespace mae::jobs {

// mae_extract: extraction (checkpoint -> --output), then the kNN classifier when --knn_train is given; or the kNN
// classifier on --knn_test against --knn_train alone.
void run_extract(const config::ExtractConfig& config);

}  // namespace mae::jobs

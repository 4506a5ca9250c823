// mae_extract: an encoder's features of every image of a folder into a safetensors file, and the weighted kNN
// classifier on feature files (docs/features.md).
#include "cli/run_app.h"
#include "mae/config/tool_configs.h"
#include "mae/jobs/extract.h"

int main(int argc, char** argv) {
  mae::config::ExtractConfig config;
  return mae::apps::run_app(
      {"mae_extract",
       "Extract an encoder's features of a folder of images into a safetensors file (one process, or one per GPU "
       "under torchrun), and evaluate feature files with the weighted kNN classifier",
       "Examples:\n  mae_extract --checkpoint output_dir/checkpoint-last.pth --data_path data/demo/train --output "
       "train.safetensors --device cpu\n  mae_extract --knn_train train.safetensors --knn_test val.safetensors\n"
       "More: docs/features.md\n"},
      config, argc, argv, [&] { mae::jobs::run_extract(config); });
}

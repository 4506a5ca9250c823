#pragma once
// mae_bench's input side: `step --data_path` feeds the step benchmark from the real threaded loader, and `data` times
// the pre-training input pipeline alone. Apart from step_bench because it needs the data layer (OpenCV), which the
// -DMAE_WITH_DATA=OFF build leaves out.
#include <cstdint>

#include "mae/config/tool_configs.h"
#include "mae/jobs/step_bench.h"

namespace mae::jobs {

// The loader over config.data_path's images as pre-training finds them (data/data_source.h: shards, <data_path>/train
// or the folder itself; a folder's labels are 0) with the job's training transform, config.num_workers threads,
// pinned batches when config.device is CUDA, cycling through epochs. UsageError when there are fewer images than one batch.
BatchSource loader_batches(const config::StepBenchConfig& config);

struct DataBenchResult {
  int64_t images = 0;                     // in the folder, or in the shards' index
  double median_images_per_second = 0.0;  // over the timed epochs
  int timed_epochs = 0;
};

// Decode + RandomResizedCrop + flip + normalise + batching of every image pre-training finds at config.data_path
// (shards: an epoch of their index's samples), config.epochs times after one untimed epoch that warms the page cache
// and the allocator.
DataBenchResult run_data_bench(const config::DataBenchConfig& config);

}  // namespace mae::jobs

#pragma once
// mae_bench step --data: batches from the real threaded loader with the job's training transform, cycling through
// epochs. Lives apart from step_bench (the engine core) because it needs the data layer and OpenCV.
#include "mae/engine/step_bench.h"

namespace mae::engine {

// The loader over the images under options.data (labels 0), options.num_workers threads, pinned batches when
// options.device is CUDA. UsageError when the folder has fewer images than one batch.
BatchSource loader_batches(const StepBenchOptions& options);

}  // namespace mae::engine

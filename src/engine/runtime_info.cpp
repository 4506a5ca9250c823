#include "mae/engine/runtime_info.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include "mae/util/strings.h"

namespace mae::engine {

std::string describe_runtime() {
  const bool cuda = torch::cuda::is_available();
  return text("LibTorch ", TORCH_VERSION, ", ", at::get_num_threads(), " CPU threads, CUDA ",
             cuda ? text("available (", torch::cuda::device_count(), " devices)") : std::string("not available"));
}

}  // namespace mae::engine

#include "mae/distributed/device_binding.h"

#include <ATen/detail/CUDAHooksInterface.h>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::distributed {

c10::Device bind_device(const std::string& device, const LaunchEnv& launch, int device_count, int current_device) {
  const c10::Device asked(device);
  if (!asked.is_cuda()) {
    return asked;
  }
  if (device_count < 1) {
    throw UsageError(text("--device ", device,
                          ": CUDA is not available on this machine (LibTorch sees no GPU); use "
                          "--device cpu"));
  }
  if (!asked.has_index()) {
    const int index = launch.distributed() ? launch.local_rank % device_count : current_device;
    return {c10::kCUDA, static_cast<c10::DeviceIndex>(index)};
  }
  if (asked.index() >= device_count) {
    throw UsageError(text("--device ", device, ": this process sees ", device_count, " GPU",
                          device_count == 1 ? "" : "s", " (cuda:0",
                          device_count > 1 ? text("..cuda:", device_count - 1) : "",
                          "); check CUDA_VISIBLE_DEVICES or the scheduler's GPU binding"));
  }
  // With one visible GPU per rank (SLURM --gpus-per-task=1) every rank's cuda:0 is a GPU of its own.
  if (launch.distributed() && launch.local_world_size > 1 && device_count > 1) {
    throw UsageError(text("--device ", device, " with ", launch.local_world_size,
                          " processes on this node would put "
                          "all of them on GPU ",
                          static_cast<int>(asked.index()),
                          ": use --device cuda (each rank then takes cuda:", "LOCAL_RANK % number of visible GPUs)"));
  }
  return asked;
}

c10::Device bind_device(const std::string& device, const LaunchEnv& launch) {
  const bool cuda = c10::Device(device).is_cuda();
  const auto& hooks = at::detail::getCUDAHooks();
  const int count = cuda && hooks.hasCUDA() ? hooks.deviceCount() : 0;
  return bind_device(device, launch, count, count > 0 ? hooks.current_device() : 0);
}

}  // namespace mae::distributed

#include "mae/engine/peak_memory.h"

#include <c10/cuda/CUDACachingAllocator.h>
#include <sys/resource.h>

namespace mae::engine {

PeakMemory peak_memory(const c10::Device& device) {
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    return {"max mem", stats.allocated_bytes[static_cast<std::size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak};
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return {"max rss", static_cast<int64_t>(usage.ru_maxrss) * 1024};  // Linux reports KiB
}

}  // namespace mae::engine

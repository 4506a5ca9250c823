#pragma once
// The peak memory a progress line shows. On CUDA it is the caching allocator's peak of allocated bytes on that device,
// torch.cuda.max_memory_allocated(), which the reference's MetricLogger prints as "max mem" (MB = 2^20 bytes). On the
// CPU it is the process's peak resident set (getrusage), shown as "max rss" so it is never read as the other.
#include <c10/core/Device.h>

#include <cstdint>
#include <string>

namespace mae::engine {

struct PeakMemory {
  std::string label;  // "max mem" (CUDA allocator peak) or "max rss" (the process's peak resident set)
  int64_t bytes = 0;
};

PeakMemory peak_memory(const c10::Device& device);

}  // namespace mae::engine

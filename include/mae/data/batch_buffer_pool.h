#pragma once
// Batch tensors recycled between the loader's workers and its consumer. A fresh [64, 3, 224, 224] float tensor per
// batch (38 MiB) costs a page fault and a kernel zero-fill per 4 KiB page on first write: 15 % of the input
// pipeline's time under `perf`, before this pool. The workers write each sample straight into its slot.
#include <ATen/core/Tensor.h>

#include <cstddef>
#include <mutex>
#include <vector>

namespace mae::data {

class BatchBufferPool {
 public:
  explicit BatchBufferPool(std::size_t capacity) : capacity_(capacity) {}

  // An uninitialised float tensor of `sizes`: a pooled one that nobody else references any more (no tensor, no view
  // of its storage), else a new one, which the pool keeps while it has room. Thread-safe.
  at::Tensor acquire(at::IntArrayRef sizes, bool pinned);

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::vector<at::Tensor> buffers_;
};

}  // namespace mae::data

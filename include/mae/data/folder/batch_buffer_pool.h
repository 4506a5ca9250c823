#pragma once
// Batch tensors recycled between the loader's workers and its consumer. A fresh [64, 3, 224, 224] float tensor per
// batch (38 MiB) costs a page fault and a kernel zero-fill per 4 KiB page on first write: 15 % of the input
// pipeline's time under `perf`, before this pool. The workers write each sample straight into its slot.
//
// Pinned (page-locked) batches are not pooled here: a batch's asynchronous copy to the GPU holds no reference to it,
// so "nobody references it" does not mean "its copy has finished". ATen's caching host allocator, which pinned
// tensors come from, records a CUDA event behind every non_blocking copy out of a block and hands the block out
// again only once that event has completed; it rounds each block up to a power of two (a 38.5 MiB batch of 64
// ViT images takes 64 MiB) and keeps freed blocks for reuse, so a rank holds at most (batches in flight + the ones
// still being copied) such blocks.
#include <ATen/core/Tensor.h>

#include <cstddef>
#include <mutex>
#include <vector>

namespace mae::data {

class BatchBufferPool {
 public:
  explicit BatchBufferPool(std::size_t capacity) : capacity_(capacity) {}

  // An uninitialised float tensor of `sizes`. Pageable: a pooled one that nobody else references any more (no tensor,
  // no view of its storage), else a new one, which the pool keeps while it has room. Pinned: a block of ATen's
  // caching host allocator (see above). Thread-safe.
  at::Tensor acquire(at::IntArrayRef sizes, bool pinned);

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::vector<at::Tensor> buffers_;
};

}  // namespace mae::data

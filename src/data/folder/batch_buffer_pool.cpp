#include "mae/data/folder/batch_buffer_pool.h"

#include <ATen/ATen.h>

namespace mae::data {

at::Tensor BatchBufferPool::acquire(at::IntArrayRef sizes, bool pinned) {
  if (pinned) {
    return at::empty(sizes, at::TensorOptions().dtype(at::kFloat).pinned_memory(true));
  }
  std::lock_guard lock(mutex_);
  for (const at::Tensor& buffer : buffers_) {
    // Only the pool holds it: nobody can take a new reference behind the lock, so it is free for good.
    const bool unused = buffer.use_count() == 1 && buffer.storage().use_count() == 1;
    if (unused && buffer.sizes() == sizes) {
      return buffer;
    }
  }
  at::Tensor fresh = at::empty(sizes, at::TensorOptions().dtype(at::kFloat));
  if (buffers_.size() < capacity_) {
    buffers_.push_back(fresh);
  }
  return fresh;
}

}  // namespace mae::data
